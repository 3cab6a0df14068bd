import WebSocket from "ws";

/** One function of a V8 CPU profile (Chrome DevTools protocol, `Profiler.ProfileNode`). */
export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** A V8 CPU profile (`Profiler.Profile`): times in µs. */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

interface Target {
  webSocketDebuggerUrl?: string;
}

/**
 * Runs `work` while V8 samples the CPU of a local Worker's isolate through workerd's inspector
 * (`wrangler dev --inspector-port`, which wrangler proxies to the runtime), every
 * `intervalUs` µs. A Worker's Durable Objects run in the same isolate, so their work is in the
 * same profile. Throws when the inspector lists no target or does not answer.
 */
export async function profileWorker<T>(
  inspectorPort: number,
  work: () => Promise<T>,
  intervalUs = 100,
): Promise<{ result: T; profile: CpuProfile }> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as Target[];
  const address = targets.find((target) => target.webSocketDebuggerUrl)?.webSocketDebuggerUrl;
  if (!address) throw new Error(`the inspector on port ${inspectorPort} lists no target`);
  const socket = new WebSocket(address);
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  const answers = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
  socket.on("message", (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
    const waiting = message.id === undefined ? undefined : answers.get(message.id);
    if (!waiting || message.id === undefined) return;
    answers.delete(message.id);
    if (message.error) waiting.reject(new Error(`inspector: ${message.error.message}`));
    else waiting.resolve(message.result);
  });
  // A socket that fails or closes mid-profile fails every call still waiting, rather than leaving it hanging.
  const failWaiting = (error: Error) => {
    for (const waiting of answers.values()) waiting.reject(error);
    answers.clear();
  };
  socket.on("error", failWaiting);
  socket.on("close", () => failWaiting(new Error(`the inspector on port ${inspectorPort} closed`)));
  let lastId = 0;
  const call = <R>(method: string, params: object = {}) =>
    new Promise<R>((resolve, reject) => {
      lastId += 1;
      answers.set(lastId, { resolve: (result) => resolve(result as R), reject });
      socket.send(JSON.stringify({ id: lastId, method, params }));
    });
  try {
    await call("Profiler.enable");
    await call("Profiler.setSamplingInterval", { interval: intervalUs });
    await call("Profiler.start");
    const result = await work();
    const { profile } = await call<{ profile: CpuProfile }>("Profiler.stop");
    return { result, profile };
  } finally {
    socket.close();
  }
}

/**
 * Where a profile's samples went: `busy` counts every sample but V8's `(idle)` ones, and each of
 * `groups` the share (0–1) of the busy samples whose stack (function names, innermost first) it
 * accepts; groups may overlap. Shares of samples, not times: under workerd the gaps between
 * samples are uneven (a wait for I/O is not always reported idle), so a sample's gap says little
 * about how long its function ran, while how often it is caught running does.
 */
export function attribute(
  profile: CpuProfile,
  groups: Record<string, (stack: string[]) => boolean>,
): { samples: number; busy: number; groups: Record<string, number> } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const stacks = new Map<number, string[]>();
  const stackOf = (id: number) => {
    let stack = stacks.get(id);
    if (!stack) {
      stack = [];
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        stack.push(byId.get(at)?.callFrame.functionName ?? "");
      }
      stacks.set(id, stack);
    }
    return stack;
  };
  const counts: Record<string, number> = Object.fromEntries(Object.keys(groups).map((name) => [name, 0]));
  let busy = 0;
  for (const id of profile.samples) {
    const stack = stackOf(id);
    if (stack[0] === "(idle)") continue;
    busy += 1;
    for (const [name, accepts] of Object.entries(groups)) if (accepts(stack)) counts[name] = (counts[name] ?? 0) + 1;
  }
  return {
    samples: profile.samples.length,
    busy,
    groups: Object.fromEntries(Object.entries(counts).map(([name, count]) => [name, busy === 0 ? 0 : count / busy])),
  };
}

/**
 * The `count` named functions found on the most busy samples' stacks (each sample counted once per
 * function): their inclusive share (0–1) of the busy samples. V8's `(program)` and
 * `(garbage collector)` are among them; anonymous functions, whose bundle positions say little, are not.
 */
export function topFunctions(profile: CpuProfile, count: number): { name: string; share: number }[] {
  const names = new Set(
    profile.nodes.map((node) => node.callFrame.functionName).filter((name) => name !== "" && name !== "(root)"),
  );
  names.delete("(idle)");
  const { groups } = attribute(
    profile,
    Object.fromEntries([...names].map((name) => [name, (stack: string[]) => stack.includes(name)])),
  );
  return Object.entries(groups)
    .map(([name, share]) => ({ name, share }))
    .sort((a, b) => b.share - a.share)
    .slice(0, count);
}
