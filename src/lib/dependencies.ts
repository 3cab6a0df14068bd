import { z } from "@hono/zod-openapi";

/** Everything outside the Worker that a request may wait on. */
export const dependencies = ["postgres", "redis", "s3", "mail", "matchmaker", "session room", "turn"] as const;
export type Dependency = (typeof dependencies)[number];

/** `/health/ready`'s verdict on each dependency it asks, in its answer and in its 503. */
export const ReadinessChecksSchema = z
  .record(z.string(), z.enum(["ok", "failing"]))
  .openapi({ example: { postgres: "ok", redis: "ok" } });

/** Whether calls get TURN relays (Cloudflare Realtime TURN configured) or STUN only. */
export const TurnModeSchema = z
  .enum(["on", "off"])
  .openapi({ description: "Whether calls get TURN relays (Cloudflare Realtime TURN configured) or STUN only." });

/**
 * A dependency did not answer in time or could not be reached. The request answers
 * 503 `DEPENDENCY_UNAVAILABLE` naming it; the cause goes to the log only.
 */
export class DependencyUnavailableError extends Error {
  readonly dependency: Dependency;
  readonly timedOut: boolean;

  constructor(dependency: Dependency, options: { cause?: unknown; timedOut?: boolean } = {}) {
    super(options.timedOut ? `${dependency} did not answer in time` : `${dependency} is unavailable`, {
      cause: options.cause,
    });
    this.name = "DependencyUnavailableError";
    this.dependency = dependency;
    this.timedOut = options.timedOut ?? false;
  }
}

export class DeadlineExceededError extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = "DeadlineExceededError";
  }
}

/**
 * Runs one call to `dependency` with a deadline: the work gets an `AbortSignal` that fires at
 * the deadline (for clients that can cancel, such as `fetch`), and the call is given up at the
 * deadline even if the work ignores the signal. Every failure, the deadline included, becomes a
 * `DependencyUnavailableError` naming the dependency.
 */
export async function callDependency<T>(
  dependency: Dependency,
  timeoutMs: number,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new DeadlineExceededError(timeoutMs);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    return await Promise.race([work(controller.signal), deadline]);
  } catch (error) {
    if (error instanceof DependencyUnavailableError) throw error;
    throw new DependencyUnavailableError(dependency, {
      cause: error,
      timedOut: error instanceof DeadlineExceededError || isTimeout(error),
    });
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/** Whether `error` is the runtime's own report of a timed-out signal or socket. */
export function isTimeout(error: unknown): boolean {
  return (
    error instanceof DeadlineExceededError ||
    (error instanceof Error && (error.name === "TimeoutError" || /timeout/i.test(error.message)))
  );
}
