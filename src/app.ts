import type { Context } from "hono";
import { requestId } from "hono/request-id";
import packageJson from "../package.json" with { type: "json" };
import { asDatabaseUnavailable } from "./db/client";
import { allowedMethods } from "./lib/allowed-methods";
import { asyncApiDocument } from "./lib/asyncapi";
import { createRouter } from "./lib/create-router";
import { ApiError, problemResponse, routeNotFound, toApiError } from "./lib/errors";
import { describeError, log } from "./lib/logger";
import { responseHeaders } from "./lib/openapi";
import { swaggerPage } from "./lib/swagger-page";
import type { AppBindings } from "./lib/types";
import { bodyLimit } from "./middleware/body-limit";
import { cors } from "./middleware/cors";
import { refundUnsuccessful } from "./middleware/refund-unsuccessful";
import { requestLog } from "./middleware/request-log";
import {
  appContentSecurityPolicy,
  secureResponseHeaders,
  swaggerContentSecurityPolicy,
} from "./middleware/secure-headers";
import { services } from "./middleware/services";
import { adminRouter } from "./routes/admin/admin.index";
import { authRouter } from "./routes/auth/auth.index";
import { blocksRouter } from "./routes/blocks/blocks.index";
import { devRouter } from "./routes/dev/dev.index";
import { healthRouter } from "./routes/health/health.index";
import { matchRouter } from "./routes/match/match.index";
import { meRouter } from "./routes/me/me.index";
import { messagesRouter } from "./routes/messages/messages.index";
import { presenceRouter } from "./routes/presence/presence.index";
import { progressRouter } from "./routes/progress/progress.index";
import { reportsRouter } from "./routes/reports/reports.index";
import { sessionsRouter } from "./routes/sessions/sessions.index";
import { uploadsRouter } from "./routes/uploads/uploads.index";

export function createApp() {
  const app = createRouter();

  app.use(requestId({ limitLength: 128 }));
  app.use(requestLog);
  app.use(secureResponseHeaders);
  app.use(services);
  app.use(refundUnsuccessful);
  app.use(cors);
  app.use(bodyLimit);

  // The web client's pages come from the static assets with the CSP that names object storage.
  const page = async (c: Context<AppBindings>) => {
    const asset = await c.env.ASSETS.fetch(c.req.raw);
    const response = new Response(asset.body, asset);
    response.headers.set("Content-Security-Policy", appContentSecurityPolicy(c.get("config").s3));
    return response;
  };
  // The moderator console's page (docs/console.md), before the admin API's guard on /admin/*: the
  // page holds no data and anyone may load it; every figure it shows comes from the guarded API.
  app.get("/admin", page);
  app.get("/admin/index.html", page);

  const routes = app
    .route("/", healthRouter)
    .route("/", authRouter)
    .route("/", meRouter)
    .route("/", uploadsRouter)
    .route("/", presenceRouter)
    .route("/", matchRouter)
    .route("/", blocksRouter)
    .route("/", sessionsRouter)
    .route("/", messagesRouter)
    .route("/", progressRouter)
    .route("/", reportsRouter)
    .route("/", adminRouter)
    .route("/", devRouter);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "The `access_token` from sign-in, valid for 15 minutes.",
  });
  for (const [name, header] of Object.entries(responseHeaders)) {
    app.openAPIRegistry.registerComponent("headers", name, header);
  }
  app.doc31("/openapi.json", (c) => ({
    openapi: "3.1.0",
    info: {
      title: "Gaplash API",
      version: packageJson.version,
      description: "One-to-one speaking practice: sign in, match with a partner of your level, talk.",
      contact: { name: "Gaplash API team", email: "api@gaplash.com" },
      // The description, not the service: anyone may build on it, e.g. generate a client.
      license: { name: "CC BY 4.0", identifier: "CC-BY-4.0" },
    },
    // Whoever serves the document is the server it describes: production, preview or local.
    servers: [{ url: new URL(c.req.url).origin }],
  }));
  // The sockets' contract, from the same zod schemas their Durable Objects use.
  app.get("/asyncapi.json", (c) => c.json(asyncApiDocument(new URL(c.req.url).origin, packageJson.version)));
  app.get(
    "/swagger",
    async (c, next) => {
      await next();
      c.header("Content-Security-Policy", swaggerContentSecurityPolicy);
    },
    swaggerPage,
  );
  app.get("/", page);
  // Not strict about a trailing slash: "/app" is "/app/" too (the assets redirect it there).
  app.get("/app", page);
  app.get("/app/index.html", page);

  const methodsAt = allowedMethods(app.routes);
  app.notFound((c) => {
    const allowed = methodsAt(c.req.path);
    if (allowed.length === 0) return problemResponse(c, routeNotFound(c));
    return problemResponse(
      c,
      new ApiError("METHOD_NOT_ALLOWED", {
        detail: `${c.req.path} answers ${allowed.join(", ")}, not ${c.req.method}.`,
        headers: { Allow: allowed.join(", ") },
      }),
    );
  });
  app.onError((error, c) => {
    const apiError = toApiError(asDatabaseUnavailable(error) ?? error);
    if (apiError.status >= 500) {
      log("error", "request failed", { request_id: c.get("requestId"), ...describeError(error) });
    }
    return problemResponse(c, apiError);
  });

  return routes;
}

export const app = createApp();
export type AppType = typeof app;
