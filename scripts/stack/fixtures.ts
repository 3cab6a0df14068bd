import { once } from "node:events";
import { type AddressInfo, createServer, type Socket } from "node:net";
import type { FaultFixtures } from "./bindings.ts";
import { freePort, startUpstashRest } from "./redis.ts";

export async function startFaultFixtures(token: string): Promise<FaultFixtures & { stop(): Promise<void> }> {
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
  return {
    blackhole: `127.0.0.1:${port}`,
    unreachableRedisRestUrl: unreachable.url,
    stop: async () => {
      for (const socket of held) socket.destroy();
      await new Promise<void>((resolve) => blackhole.close(() => resolve()));
      await unreachable.stop();
    },
  };
}
