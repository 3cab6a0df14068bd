import { and, eq, lt } from "drizzle-orm";
import type { Database } from "../../db/client";
import { authEmailTokens } from "../../db/schema";
import { constantTimeEqual, hmacSha256Hex, randomDigits } from "../../lib/crypto";
import type { Mailer } from "../mailer";
import { type Identity, signInWithIdentity, type User } from "./accounts";
import type { Queryable } from "./tokens";

export const codeTtlMs = 10 * 60 * 1000;
export const resendCooldownMs = 60 * 1000;
export const maxCodeAttempts = 5;

/** Codes are stored only as an HMAC bound to the address, so a leaked table reveals no code. */
function hashCode(secret: string, email: string, code: string): Promise<string> {
  return hmacSha256Hex(secret, `${email}\n${code}`);
}

export type IssueOutcome = { kind: "sent" } | { kind: "cooldown"; retryAfterSeconds: number };

/**
 * Creates a fresh code for `email`, replacing any earlier one, and mails it. A second request
 * within a minute changes nothing. The database decides that atomically, so two racing
 * requests cannot both send.
 */
export async function issueEmailCode(
  deps: { db: Database; mailer: Mailer; authSecret: string; now: Date },
  email: string,
): Promise<IssueOutcome> {
  const { db, now } = deps;
  const code = randomDigits(6);
  const fresh = {
    codeHash: await hashCode(deps.authSecret, email, code),
    expiresAt: new Date(now.getTime() + codeTtlMs),
    usedAt: null,
    attempts: 0,
    createdAt: now,
  };
  const [issued] = await db
    .insert(authEmailTokens)
    .values({ email, ...fresh })
    .onConflictDoUpdate({
      target: authEmailTokens.email,
      set: fresh,
      setWhere: lt(authEmailTokens.createdAt, new Date(now.getTime() - resendCooldownMs)),
    })
    .returning({ id: authEmailTokens.id });

  if (!issued) {
    const [current] = await db
      .select({ createdAt: authEmailTokens.createdAt })
      .from(authEmailTokens)
      .where(eq(authEmailTokens.email, email));
    const waitMs = (current?.createdAt.getTime() ?? now.getTime()) + resendCooldownMs - now.getTime();
    return { kind: "cooldown", retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }

  try {
    await deps.mailer.send({
      to: email,
      subject: `${code} is your Gaplash sign-in code`,
      text: `Your Gaplash sign-in code is ${code}.\n\nIt works once, for 10 minutes. If you did not ask for it, ignore this mail.`,
    });
  } catch (error) {
    // Without the mail the code is useless; drop it so the user may ask again at once.
    await db
      .delete(authEmailTokens)
      .where(and(eq(authEmailTokens.id, issued.id), eq(authEmailTokens.codeHash, fresh.codeHash)));
    throw error;
  }
  return { kind: "sent" };
}

export type VerifyOutcome =
  | { kind: "signed-in"; user: User }
  | { kind: "invalid"; attemptsLeft: number }
  | { kind: "expired" }
  | { kind: "used" }
  | { kind: "too-many-attempts" };

/**
 * Checks `code` for `email` and, when it is right, spends it and signs the user in, all in
 * `tx`. A wrong code counts an attempt; the fifth wrong one kills the code.
 * The outcome is returned, never thrown, so the attempt count commits with the transaction.
 */
export async function verifyEmailCode(
  tx: Queryable,
  deps: { authSecret: string; adminEmails: ReadonlySet<string>; now: Date },
  email: string,
  code: string,
): Promise<VerifyOutcome> {
  const { now } = deps;
  const [token] = await tx.select().from(authEmailTokens).where(eq(authEmailTokens.email, email)).for("update");
  const presented = await hashCode(deps.authSecret, email, code);
  if (!token) return { kind: "invalid", attemptsLeft: maxCodeAttempts };
  if (token.usedAt) return { kind: "used" };
  if (token.attempts >= maxCodeAttempts) return { kind: "too-many-attempts" };
  if (token.expiresAt <= now) return { kind: "expired" };

  if (!constantTimeEqual(token.codeHash, presented)) {
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
