import { z } from "zod";
import type { Config } from "../config";
import { callDependency, DependencyUnavailableError } from "../lib/dependencies";

export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

/** Without TURN, calls still connect wherever the two learners can reach each other directly. */
export const stunOnly: IceServer[] = [{ urls: ["stun:stun.cloudflare.com:3478", "stun:stun.cloudflare.com:53"] }];

const GeneratedSchema = z.object({
  iceServers: z
    .array(
      z.object({
        urls: z.union([z.string(), z.array(z.string())]),
        username: z.string().optional(),
        credential: z.string().optional(),
      }),
    )
    .min(1),
});

/**
 * ICE servers for one learner's call: STUN, and TURN credentials that expire after the
 * configured TTL, from Cloudflare Realtime TURN's credentials API (locally, its stand-in in front
 * of coturn). Unconfigured, STUN only.
 */
export async function iceServers(
  turn: Config["turn"],
  now: Date,
): Promise<{ iceServers: IceServer[]; expiresAt: Date | null }> {
  if (!turn) return { iceServers: stunOnly, expiresAt: null };
  const url = `${turn.apiUrl}/v1/turn/keys/${encodeURIComponent(turn.keyId)}/credentials/generate-ice-servers`;
  const response = await callDependency("turn", turn.timeoutMs, (signal) =>
    fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${turn.apiToken}`, "content-type": "application/json" },
      body: JSON.stringify({ ttl: turn.credentialTtlSeconds }),
      signal,
    }),
  );
  const parsed = response.ok ? GeneratedSchema.safeParse(await response.json().catch(() => null)) : undefined;
  if (!parsed?.success) {
    throw new DependencyUnavailableError("turn", {
      cause: new Error(`TURN credentials API answered ${response.status}`),
    });
  }
  return {
    iceServers: parsed.data.iceServers.map((server) => ({
      urls: typeof server.urls === "string" ? [server.urls] : server.urls,
      ...(server.username ? { username: server.username } : {}),
      ...(server.credential ? { credential: server.credential } : {}),
    })),
    expiresAt: new Date(now.getTime() + turn.credentialTtlSeconds * 1000),
  };
}
