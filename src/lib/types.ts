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
    /** Set by `requireAuth` once the caller's token is verified. */
    auth?: VerifiedAccess;
    /**
     * Whether the caller's tokens were revoked after this one was issued: refuses with the problem
     * if so. Started on first call, then the same answer; set by every mode of `authenticate`
     * (`requireAuth` and its kin, see `AccessCheckMode`).
     */
    accessCheck?: () => Promise<void>;
    /** The authenticated user's id; the request log carries it. */
    userId?: string;
    /** What this request was counted against (see `enforceRateLimits`), to give back if it fails. */
    rateLimitCharges?: RateLimitCheck[];
  };
}

export type AppOpenAPI = OpenAPIHono<AppBindings>;

export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppBindings>;
