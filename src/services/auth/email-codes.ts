import type { Redis } from "@upstash/redis/cloudflare";
import { and, eq } from "drizzle-orm";
import { timingSafeEqual } from "hono/utils/buffer";
import type { Database, PoolDatabase, Queryable } from "../../db/client";
import { authEmailTokens } from "../../db/schema";
import { hmacSha256Hex, randomDigits } from "../../lib/crypto";
import type { SuspensionDetails } from "../../lib/errors";
import { fromRedis } from "../../lib/redis";
import type { Mailer } from "../mailer";
import { type Identity, signInWithIdentity, suspensionOf, type User } from "./accounts";
import { issueTokenPair, type TokenPair } from "./tokens";

export const codeTtlMs = 10 * 60 * 1000;
export const resendCooldownMs = 60 * 1000;
export const maxCodeAttempts = 5;

/** Codes are stored only as an HMAC bound to their login and address, so a leaked table reveals no code. */
function hashCode(secret: string, loginId: string, email: string, code: string): Promise<string> {
  return hmacSha256Hex(secret, `${loginId}\n${email}\n${code}`);
}

/**
 * The one-a-minute cooldown of an address for one requester network, kept in Redis for exactly
 * that minute. Per requester, so that a stranger asking for the owner's address every minute
 * holds up only themselves; mails to the address in all are capped by the hourly limit.
 */
export const resendCooldownKey = (email: string, requester: string) => `code-cooldown:${email}:${requester}`;

/** How long a network the owner signed in from stays known to the address (90 days). */
export const knownRequesterTtlSeconds = 90 * 24 * 3600;

/** Marks that the owner of `email` signed in from `requester`: that network is theirs. */
export const knownRequesterKey = (email: string, requester: string) => `code-known-network:${email}:${requester}`;

/**
 * Remembers, after a sign-in by email code, that the owner of `email` uses `requester`: their code
 * requests from it are not held to the cap that strangers can use up (see `issueEmailCode`).
 */
export async function rememberRequester(redis: Redis, email: string, requester: string): Promise<void> {
  await fromRedis(redis.set(knownRequesterKey(email, requester), 1, { ex: knownRequesterTtlSeconds }));
}

/**
 * Starts the cooldown unless one is running, in one atomic Redis step, so two racing requests
 * cannot both mail, and reads in the same round trip whether the requester is known to the
 * address. The cooldown holds `owner`, so that only the request that started it lifts it again
 * (`liftCooldown`). Returns the seconds left when a cooldown is running.
 */
async function startCooldown(
  redis: Redis,
  keys: { cooldown: string; known: string },
  owner: string,
): Promise<{ retryAfterSeconds: number | null; known: boolean }> {
  const pipeline = redis.pipeline();
  pipeline.set(keys.cooldown, owner, { nx: true, px: resendCooldownMs });
  pipeline.pttl(keys.cooldown);
  pipeline.exists(keys.known);
  const [started, remainingMs, known] = await fromRedis(pipeline.exec<[string | null, number, number]>());
  return {
    retryAfterSeconds: started === "OK" ? null : Math.max(1, Math.ceil(remainingMs / 1000)),
    known: known === 1,
  };
}

/** Deletes a key only while it still holds `owner`: a later request's cooldown is not ours to lift. */
const liftScript = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0`;

/**
 * Lifts the cooldown `owner` started, as nothing was sent; best effort (a Redis that cannot answer
 * leaves it to expire within the minute).
 */
async function liftCooldown(redis: Redis, key: string, owner: string): Promise<void> {
  await fromRedis(redis.eval(liftScript, [key], [owner])).catch(() => {});
}

export type IssueOutcome =
  | { kind: "sent"; loginId: string }
  | { kind: "cooldown"; retryAfterSeconds: number }
  | { kind: "not-sent"; error: unknown };

/**
 * Starts a sign-in for `email` asked from `requester` (a network, see `requesterNetwork`): a
 * fresh code bound to a new `loginId`, mailed to the address. Several sign-ins may be pending
 * for one address (each counts its own wrong guesses), but one requester gets at most one mail
 * to an address a minute. The cooldown is checked first and a request it refuses counts against
 * no quota; `reserve` then counts the request against the hourly limits (it throws a 429 to
 * refuse, and the cooldown is lifted again, as nothing was sent), told whether the owner signed
 * in from this network before (`rememberRequester`). The code is one statement over the HTTP
 * path; the cooldown is a Redis key.
 */
export async function issueEmailCode(
  deps: {
    db: Database;
    redis: Redis;
    mailer: Mailer;
    authSecret: string;
    now: Date;
    reserve: (knownRequester: boolean) => Promise<void>;
  },
  email: string,
  requester: string,
): Promise<IssueOutcome> {
  const { db, redis, now } = deps;
  const cooldownKey = resendCooldownKey(email, requester);
  const owner = crypto.randomUUID();
  let cooldown: Awaited<ReturnType<typeof startCooldown>>;
  try {
    cooldown = await startCooldown(redis, { cooldown: cooldownKey, known: knownRequesterKey(email, requester) }, owner);
  } catch (error) {
    // Redis may have started the cooldown and missed only its answer's deadline: this request
    // answers 503 and sent nothing, so a retry must not find the address cooling down.
    await liftCooldown(redis, cooldownKey, owner);
    throw error;
  }
  const { retryAfterSeconds, known } = cooldown;
  if (retryAfterSeconds !== null) return { kind: "cooldown", retryAfterSeconds };
  try {
    await deps.reserve(known);
  } catch (error) {
    await liftCooldown(redis, cooldownKey, owner);
    throw error;
  }

  const loginId = crypto.randomUUID();
  const code = randomDigits(6);
  // Whatever stops the code reaching the inbox drops it and the cooldown, so the user may ask again at once.
  const withdraw = () =>
    Promise.allSettled([
      db.delete(authEmailTokens).where(eq(authEmailTokens.id, loginId)),
      liftCooldown(redis, cooldownKey, owner),
    ]);
  try {
    await db.insert(authEmailTokens).values({
      id: loginId,
      email,
      codeHash: await hashCode(deps.authSecret, loginId, email, code),
      expiresAt: new Date(now.getTime() + codeTtlMs),
      createdAt: now,
    });
  } catch (error) {
    await withdraw();
    throw error;
  }
  try {
    await deps.mailer.send({
      to: email,
      subject: `${code} is your Gaplash sign-in code`,
      text: `Your Gaplash sign-in code is ${code}.\n\nIt works once, for 10 minutes. If you did not ask for it, ignore this mail.`,
      // Which sign-in the code belongs to, when one address asked twice (a client reading the dev mailbox).
      tags: [{ name: "login_id", value: loginId }],
    });
  } catch (error) {
    await withdraw();
    return { kind: "not-sent", error };
  }
  return { kind: "sent", loginId };
}

export type VerifyOutcome =
  | { kind: "signed-in"; user: User }
  | { kind: "invalid"; attemptsLeft: number }
  | { kind: "unknown-login" }
  | { kind: "expired" }
  | { kind: "used" }
  | { kind: "too-many-attempts" };

/**
 * Checks `code` for the sign-in `loginId` of `email` and, when it is right, spends it and signs
 * the user in, all in `tx`. A wrong code counts an attempt of this sign-in only; the fifth wrong
 * one kills it, so a stranger guessing at an address kills only the sign-in they started.
 * The outcome is returned, never thrown, so the attempt count commits with the transaction. `tx`
 * is an interactive transaction on the request's pool: the code row is locked and read before it
 * is spent.
 */
export async function verifyEmailCode(
  tx: Queryable,
  deps: { authSecret: string; adminEmails: ReadonlySet<string>; now: Date },
  login: { email: string; loginId: string; code: string },
): Promise<VerifyOutcome> {
  const { now } = deps;
  const { email, loginId, code } = login;
  const [token] = await tx
    .select()
    .from(authEmailTokens)
    .where(and(eq(authEmailTokens.id, loginId), eq(authEmailTokens.email, email)))
    .for("update");
  const presented = await hashCode(deps.authSecret, loginId, email, code);
  if (!token) return { kind: "unknown-login" };
  if (token.usedAt) return { kind: "used" };
  if (token.attempts >= maxCodeAttempts) return { kind: "too-many-attempts" };
  if (token.expiresAt <= now) return { kind: "expired" };

  if (!(await timingSafeEqual(token.codeHash, presented))) {
    const attempts = token.attempts + 1;
    await tx.update(authEmailTokens).set({ attempts }).where(eq(authEmailTokens.id, token.id));
    return attempts >= maxCodeAttempts
      ? { kind: "too-many-attempts" }
      : { kind: "invalid", attemptsLeft: maxCodeAttempts - attempts };
  }

  await tx.update(authEmailTokens).set({ usedAt: now }).where(eq(authEmailTokens.id, token.id));
  const identity: Identity = { provider: "email", providerUserId: email, email, emailVerified: true };
  const user = await signInWithIdentity(tx, identity, { isAdminEmail: deps.adminEmails.has(email), now });
  return { kind: "signed-in", user };
}

/**
 * `verifyEmailCode` and, for an account that is not suspended, the token pair of the sign-in,
 * in one interactive transaction on `pool`: the refresh token commits with the spent code, so a
 * sign-in is never half made. A suspended account is `suspended`, with no pair.
 */
export async function signInWithEmailCode(
  pool: PoolDatabase,
  deps: { authSecret: string; jwtSecret: string; adminEmails: ReadonlySet<string>; now: Date },
  login: { email: string; loginId: string; code: string },
): Promise<
  | Exclude<VerifyOutcome, { kind: "signed-in" }>
  | { kind: "suspended"; suspension: SuspensionDetails }
  | { kind: "signed-in"; user: User; pair: TokenPair }
> {
  return pool.transaction(async (tx) => {
    const outcome = await verifyEmailCode(tx, deps, login);
    if (outcome.kind !== "signed-in") return outcome;
    if (outcome.user.status === "suspended")
      return { kind: "suspended" as const, suspension: suspensionOf(outcome.user) };
    const claims = { userId: outcome.user.id, role: outcome.user.role };
    return {
      kind: "signed-in" as const,
      user: outcome.user,
      pair: await issueTokenPair(tx, deps.jwtSecret, claims, deps.now),
    };
  });
}
