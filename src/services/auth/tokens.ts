import { and, eq, isNull, sql } from "drizzle-orm";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import type { Database, PoolDatabase, Queryable } from "../../db/client";
import { refreshTokens, type users } from "../../db/schema";
import { hmacSha256Hex, randomToken, sha256Hex } from "../../lib/crypto";
import type { SuspensionDetails } from "../../lib/errors";
import { suspensionOf, type User } from "./accounts";

export const accessTokenTtlSeconds = 15 * 60;
export const refreshTokenTtlMs = 7 * 24 * 60 * 60 * 1000;
const issuer = "gaplash";
const audience = "gaplash-api";
const algorithm = "HS256";

export type Role = (typeof users.$inferSelect)["role"];

export interface AccessClaims {
  userId: string;
  role: Role;
}

/** What a verified access token says, with when it was issued and when it expires (epoch ms). */
export interface VerifiedAccess extends AccessClaims {
  issuedAt: number;
  expiresAt: number;
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: "Bearer";
  expires_in: number;
}

const encoder = new TextEncoder();

/** An HMAC key and the id a token's header names it by (RFC 7515 §4.1.4 `kid`). */
interface SigningKey {
  id: string;
  key: CryptoKey;
}
const signingKeys = new Map<string, Promise<SigningKey>>();

/**
 * Imported once per isolate and secret: every authenticated request verifies with it. The id is
 * an HMAC of a fixed label under the secret: it tells keys apart and reveals nothing of them.
 */
function signingKey(secret: string): Promise<SigningKey> {
  let key = signingKeys.get(secret);
  if (!key) {
    key = Promise.all([
      hmacSha256Hex(secret, "gaplash access-token key id"),
      crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
        "sign",
        "verify",
      ]),
    ]).then(([mac, imported]) => ({ id: mac.slice(0, 16), key: imported }));
    signingKeys.set(secret, key);
  }
  return key;
}

/**
 * The keys access tokens are verified with: the current one, and after a rotation the one it
 * replaced with when it was retired (epoch ms).
 */
export interface AccessTokenKeys {
  current: string;
  previous?: { secret: string; retiredAt: number };
}

const clockToleranceSec = 60;

export async function signAccessToken(secret: string, claims: AccessClaims, now: Date): Promise<string> {
  const issuedAt = Math.floor(now.getTime() / 1000);
  const { id, key } = await signingKey(secret);
  return new SignJWT({ role: claims.role, typ: "access" })
    .setProtectedHeader({ alg: algorithm, typ: "JWT", kid: id })
    .setSubject(claims.userId)
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + accessTokenTtlSeconds)
    .setJti(crypto.randomUUID())
    .sign(key);
}

export class InvalidAccessTokenError extends Error {
  /** Whether the token was valid but has expired: the one case a refresh mends. */
  readonly expired: boolean;

  constructor(reason: string, expired = false) {
    super(reason);
    this.name = "InvalidAccessTokenError";
    this.expired = expired;
  }
}

/**
 * Verifies signature, algorithm, issuer, audience and expiry (60 s of clock skew at most), with
 * the key the token's `kid` names: the current key (also for a token that names none, as tokens
 * issued before keys had ids), or the previous one for a token it signed before it was retired
 * (`iat` at most the skew past `retiredAt`). A rotation thus fails no token early: each keeps its
 * 15 minutes. No token lives longer than that (`exp - iat`), so the previous key verifies nothing
 * once `retiredAt` + 15 minutes and twice the skew have passed, whatever a token claims.
 * Throws `InvalidAccessTokenError`, with `expired` set when only the expiry failed.
 */
export async function verifyAccessToken(
  keys: AccessTokenKeys,
  token: string,
  now = new Date(),
): Promise<VerifiedAccess> {
  try {
    const current = await signingKey(keys.current);
    const previous = keys.previous ? await signingKey(keys.previous.secret) : undefined;
    let signedByPrevious = false;
    const { payload } = await jwtVerify(
      token,
      (header) => {
        if (header.kid === undefined || header.kid === current.id) return current.key;
        if (previous && header.kid === previous.id) {
          signedByPrevious = true;
          return previous.key;
        }
        throw new InvalidAccessTokenError("the token names a key this API does not have");
      },
      {
        algorithms: [algorithm],
        issuer,
        audience,
        clockTolerance: clockToleranceSec,
        currentDate: now,
        requiredClaims: ["sub", "exp", "iat"],
      },
    );
    if (Number(payload.exp) - Number(payload.iat) > accessTokenTtlSeconds) {
      throw new InvalidAccessTokenError("the token claims a longer life than access tokens have");
    }
    if (
      signedByPrevious &&
      keys.previous &&
      Number(payload.iat) * 1000 > keys.previous.retiredAt + clockToleranceSec * 1000
    ) {
      throw new InvalidAccessTokenError("the token was signed with a retired key");
    }
    if (payload.typ !== "access") throw new InvalidAccessTokenError("not an access token");
    if (payload.role !== "user" && payload.role !== "admin") throw new InvalidAccessTokenError("unknown role");
    return {
      userId: String(payload.sub),
      role: payload.role,
      issuedAt: Number(payload.iat) * 1000,
      expiresAt: Number(payload.exp) * 1000,
    };
  } catch (error) {
    if (error instanceof InvalidAccessTokenError) throw error;
    if (error instanceof joseErrors.JWTExpired) throw new InvalidAccessTokenError("the token has expired", true);
    throw new InvalidAccessTokenError("the token is not valid");
  }
}

/**
 * Issues an access token and a new refresh token in `familyId` (a new family when signing in).
 * Runs in the caller's sign-in transaction, so the refresh token commits with the sign-in.
 * `refreshToken` is the token to issue when it is decided already (a rotation's successor);
 * otherwise a random one.
 */
export async function issueTokenPair(
  db: Queryable,
  secret: string,
  claims: AccessClaims,
  now: Date,
  familyId: string = crypto.randomUUID(),
  refreshToken: string = randomToken(),
): Promise<TokenPair> {
  await db.insert(refreshTokens).values({
    userId: claims.userId,
    familyId,
    tokenHash: await sha256Hex(refreshToken),
    expiresAt: new Date(now.getTime() + refreshTokenTtlMs),
    createdAt: now,
  });
  return accessWith(secret, claims, refreshToken, now);
}

async function accessWith(secret: string, claims: AccessClaims, refreshToken: string, now: Date): Promise<TokenPair> {
  return {
    access_token: await signAccessToken(secret, claims, now),
    refresh_token: refreshToken,
    token_type: "Bearer",
    expires_in: accessTokenTtlSeconds,
  };
}

/**
 * The refresh token that rotating `presented` issues: derived from it with a server secret, so a
 * retry of the same rotation gets the same successor back (nothing stored holds it in clear) and
 * no retry can fork the sign-in into two live lines.
 */
function successorOf(authSecret: string, presented: string): Promise<string> {
  return hmacSha256Hex(authSecret, `refresh-successor\n${presented}`);
}

export type RotationOutcome =
  | { kind: "rotated"; user: User; pair: TokenPair }
  | { kind: "invalid" }
  | { kind: "reused" }
  | { kind: "suspended"; suspension: SuspensionDetails };

/**
 * Spends a refresh token for a new pair in the same family. A token presented again within
 * `reuseIntervalMs` (ms) of its rotation is the same client retrying (two tabs sharing storage, a
 * mobile retry after a lost answer): it gets the same successor again, with a fresh access token,
 * as long as that successor is itself still valid, which is what Supabase Auth's
 * `refresh_token_reuse_interval` does (SPEC §10). Presented later, it means the token leaked: the
 * whole family is revoked, so neither holder can continue. An interactive transaction on the
 * request's pool: the presented token is claimed with a guarded update, so of two racing
 * rotations one spends it and the other, once the first committed, reads when it was spent. A
 * token of a suspended account is `suspended` (with since when and why) when it was still live as
 * the suspension revoked it (`revokedBySuspension`); any other revoked, expired or unknown token
 * is `invalid`, whoever holds it.
 */
export async function rotateRefreshToken(
  db: PoolDatabase,
  secrets: { jwtSecret: string; authSecret: string },
  presented: string,
  now: Date,
  reuseIntervalMs: number,
): Promise<RotationOutcome> {
  const tokenHash = await sha256Hex(presented);
  const successor = await successorOf(secrets.authSecret, presented);
  return db.transaction(async (tx) => {
    const row = await tx.query.refreshTokens.findFirst({
      where: eq(refreshTokens.tokenHash, tokenHash),
      with: { user: true },
    });
    if (!row || row.expiresAt <= now) return { kind: "invalid" as const };
    // A suspension revokes the account's refresh tokens: the token that stopped working says why,
    // or the user would learn it only by signing in again (docs/moderation.md#users-are-told). Only
    // a token the suspension itself took (revoked at its instant) that was still live then (unspent,
    // or spent within the reuse interval, a retry): one signed out, revoked for reuse or rotated long
    // before stopped working for its holder already, and tells them nothing about the account.
    if (row.user.status === "suspended" && revokedBySuspension(row, now, reuseIntervalMs)) {
      return { kind: "suspended" as const, suspension: suspensionOf(row.user) };
    }
    if (row.revokedAt) return { kind: "invalid" as const };
    const [claimed] = await tx
      .update(refreshTokens)
      .set({ usedAt: now })
      .where(and(eq(refreshTokens.id, row.id), isNull(refreshTokens.usedAt), isNull(refreshTokens.revokedAt)))
      .returning({ id: refreshTokens.id });
    const retry = claimed ? false : await isRetry(tx, row.id, successor, now, reuseIntervalMs);
    if (!claimed && !retry) {
      await revokeFamily(tx, row.familyId, now);
      return { kind: "reused" as const };
    }
    if (row.user.status === "suspended") {
      await revokeFamily(tx, row.familyId, now);
      return { kind: "suspended" as const, suspension: suspensionOf(row.user) };
    }
    const claims = { userId: row.user.id, role: row.user.role };
    const pair = retry
      ? await accessWith(secrets.jwtSecret, claims, successor, now)
      : await issueTokenPair(tx, secrets.jwtSecret, claims, now, row.familyId, successor);
    return { kind: "rotated" as const, user: row.user, pair };
  });
}

/**
 * Whether the account's suspension revoked this token while it was still the sign-in's live one:
 * revoked at the suspension's instant (`suspend` writes both with one `now`), and unspent or spent
 * less than `reuseIntervalMs` ago.
 */
function revokedBySuspension(
  row: { revokedAt: Date | null; usedAt: Date | null; user: Pick<User, "suspendedAt"> },
  now: Date,
  reuseIntervalMs: number,
): boolean {
  const { suspendedAt } = row.user;
  if (!row.revokedAt || !suspendedAt || row.revokedAt.getTime() < suspendedAt.getTime()) return false;
  return !row.usedAt || now.getTime() - row.usedAt.getTime() < reuseIntervalMs;
}

/**
 * Whether a spent token presented again is a retry: spent less than `reuseIntervalMs` ago, not
 * revoked, and its successor still valid (not revoked, not expired). Read again inside the
 * transaction: a racing rotation may have spent it after the first read.
 */
async function isRetry(
  tx: Queryable,
  tokenId: string,
  successor: string,
  now: Date,
  reuseIntervalMs: number,
): Promise<boolean> {
  const [spent] = await tx
    .select({ usedAt: refreshTokens.usedAt, revokedAt: refreshTokens.revokedAt })
    .from(refreshTokens)
    .where(eq(refreshTokens.id, tokenId));
  // A racing request that began before the rotation but read after it sees the spending in its
  // future: that is the same moment, not a stale token.
  const sinceSpentMs = spent?.usedAt ? Math.max(0, now.getTime() - spent.usedAt.getTime()) : Number.POSITIVE_INFINITY;
  if (!spent || spent.revokedAt || sinceSpentMs >= reuseIntervalMs) return false;
  const [next] = await tx
    .select({ revokedAt: refreshTokens.revokedAt, expiresAt: refreshTokens.expiresAt })
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, await sha256Hex(successor)));
  return next !== undefined && next.revokedAt === null && next.expiresAt > now;
}

/**
 * Revokes the family of `presented`, if it is one of ours; unknown tokens change nothing. Two
 * statements over the HTTP path, not a transaction: a family once revoked stays revoked, and a
 * token rotated in between belongs to the same family.
 */
export async function revokeRefreshToken(db: Database, presented: string, now: Date): Promise<void> {
  const tokenHash = await sha256Hex(presented);
  const [row] = await db
    .select({ familyId: refreshTokens.familyId })
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, tokenHash));
  if (row) await revokeFamily(db, row.familyId, now);
}

/**
 * Revokes every sign-in of the user whose current refresh token `presented` is, in one
 * statement, and returns that user's id with their active sessions (whose rooms hold sockets to
 * close). A token that is unknown, expired, already spent or revoked changes nothing: an old
 * leaked token cannot sign anyone out. It runs on the HTTP path.
 */
export async function revokeEverySignIn(
  db: Database,
  presented: string,
  now: Date,
): Promise<{ userId: string; activeSessions: string[] } | null> {
  const tokenHash = await sha256Hex(presented);
  const result = await db.execute<{ user_id: string; active_sessions: string[] | null }>(sql`
    with owner as (
      select user_id from refresh_tokens
      where token_hash = ${tokenHash} and expires_at > ${now} and used_at is null and revoked_at is null
    ), revoked as (
      update refresh_tokens set revoked_at = ${now}
      where user_id in (select user_id from owner) and revoked_at is null
    )
    select o.user_id,
      (select array_agg(p.session_id) from session_participants p
       join sessions s on s.id = p.session_id and s.status = 'active'
       where p.user_id = o.user_id) as active_sessions
    from owner o
  `);
  const row = result.rows[0];
  return row ? { userId: row.user_id, activeSessions: row.active_sessions ?? [] } : null;
}

async function revokeFamily(db: Database | Queryable, familyId: string, now: Date): Promise<void> {
  await db
    .update(refreshTokens)
    .set({ revokedAt: now })
    .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)));
}
