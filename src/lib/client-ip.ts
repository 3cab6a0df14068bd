import type { Context } from "hono";

/** The caller's address as Cloudflare's edge saw it; clients cannot forge this header past the edge. */
export function clientIp(c: Context): string {
  return c.req.header("cf-connecting-ip") ?? "unknown";
}
