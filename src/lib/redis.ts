import { Redis } from "@upstash/redis/cloudflare";
import type { Config } from "../config";

const clients = new Map<string, Redis>();

/**
 * One client per isolate: `@upstash/redis` speaks stateless HTTP, so unlike a database
 * connection it may be shared by every request the isolate serves.
 */
export function getRedis(config: Config["redis"]): Redis {
  const key = `${config.url}\n${config.token}`;
  let client = clients.get(key);
  if (!client) {
    client = new Redis({
      url: config.url,
      token: config.token,
      enableTelemetry: false,
      // A request waits on Redis at most a few hundred milliseconds before it gives up.
      retry: { retries: 2, backoff: (attempt) => 50 * 2 ** attempt },
    });
    clients.set(key, client);
  }
  return client;
}
