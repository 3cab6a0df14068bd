export type CheckState = "ok" | "failing";

export interface ReadinessProbe {
  name: string;
  check(): Promise<unknown>;
}

export interface Readiness {
  ready: boolean;
  checks: Record<string, CheckState>;
  failures: { name: string; error: unknown }[];
}

/** Runs every probe at once; a probe that throws or outlives `timeoutMs` is failing. */
export async function checkReadiness(probes: ReadinessProbe[], timeoutMs: number): Promise<Readiness> {
  const outcomes = await Promise.allSettled(probes.map((probe) => withTimeout(probe.check(), timeoutMs, probe.name)));
  const checks: Record<string, CheckState> = {};
  const failures: Readiness["failures"] = [];
  outcomes.forEach((outcome, index) => {
    const name = probes[index]?.name ?? String(index);
    checks[name] = outcome.status === "fulfilled" ? "ok" : "failing";
    if (outcome.status === "rejected") failures.push({ name, error: outcome.reason });
  });
  return { ready: failures.length === 0, checks, failures };
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, name: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => timer !== undefined && clearTimeout(timer));
}
