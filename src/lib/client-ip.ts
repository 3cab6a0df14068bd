import type { Context } from "hono";
import ipaddr from "ipaddr.js";

/** What `clientIp` answers when the request did not come through Cloudflare's edge (local tests). */
export const unknownClient = "unknown";

/** The caller's address as Cloudflare's edge saw it; clients cannot forge this header past the edge. */
export function clientIp(c: Context): string {
  return c.req.header("cf-connecting-ip") ?? unknownClient;
}

/**
 * The network a request comes from, as per-requester limits count it: an IPv4 address as it is
 * (an IPv4-mapped IPv6 address too), an IPv6 address by its /64 prefix, since one subscriber
 * is handed a whole /64 and could otherwise take a fresh address for every request (RFC 6177).
 * Anything else is `unknownClient`.
 */
export function requesterNetwork(c: Context): string {
  const ip = clientIp(c);
  if (!ipaddr.isValid(ip)) return unknownClient;
  const address = ipaddr.process(ip);
  if (address.kind() === "ipv4") return address.toString();
  const prefix = (address as ipaddr.IPv6).parts.slice(0, 4).map((part) => part.toString(16));
  return `${prefix.join(":")}::/64`;
}
