import { once } from "node:events";
import { type AddressInfo, createServer, type Socket } from "node:net";
import type { FaultFixtures } from "./bindings.ts";
import { Distance } from "./distance.ts";
import { freePort, startUpstashRest } from "./redis.ts";

/** How far the distant Redis endpoint is: far past any deadline a test sets under it. */
const distantRedisRttMs = 400;

export async function startFaultFixtures(
  token: string,
  redisUrl: string,
): Promise<FaultFixtures & { stop(): Promise<void> }> {
  const held = new Set<Socket>();
  const blackhole = createServer((socket) => {
    held.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => held.delete(socket));
  });
  blackhole.listen(0, "127.0.0.1");
  await once(blackhole, "listening");
  const { port } = blackhole.address() as AddressInfo;
  const unreachable = await startUpstashRest({
    redisUrl: `redis://127.0.0.1:${await freePort()}`,
    token,
    allowUnreachable: true,
    // Unreachable on purpose: nothing to tell.
    incidents: () => {},
  });
  const distant = await startUpstashRest({ redisUrl, token, distance: new Distance(distantRedisRttMs) });
  return {
    blackhole: `127.0.0.1:${port}`,
    unreachableRedisRestUrl: unreachable.url,
    distantRedisRestUrl: distant.url,
    distantRedisRttMs,
    stop: async () => {
      for (const socket of held) socket.destroy();
      await new Promise<void>((resolve) => blackhole.close(() => resolve()));
      await unreachable.stop();
      await distant.stop();
    },
  };
}
