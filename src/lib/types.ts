import type { OpenAPIHono, RouteConfig, RouteHandler } from "@hono/zod-openapi";
import type { Config } from "../config";
import type { VerifiedAccess } from "../services/auth/tokens";
import type { Services } from "../services/services";
import type { RateLimitCheck } from "./rate-limit-rule";

export interface AppBindings {
  Bindings: Env;
  Variables: {
    requestId: string;
    config: Config;
    services: Services;
    /** Set by `requireAuth` once the caller is authenticated. */
    auth?: VerifiedAccess;
    /** The authenticated user's id; the request log carries it. */
    userId?: string;
    /** What this request was counted against (see `enforceRateLimits`), to give back if it fails. */
    rateLimitCharges?: RateLimitCheck[];
  };
}

export type AppOpenAPI = OpenAPIHono<AppBindings>;

export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppBindings>;
