import { and, eq } from "drizzle-orm";
import type { Queryable } from "../../db/client";
import { auditLogs, authIdentities, profiles, users } from "../../db/schema";
import type { SuspensionDetails } from "../../lib/errors";

export type User = typeof users.$inferSelect;

/** What a suspended account is told when it is refused: since when and the reason category. */
export function suspensionOf(user: Pick<User, "suspendedAt" | "suspensionReason">): SuspensionDetails {
  return { since: user.suspendedAt, reason: user.suspensionReason };
}

export interface Identity {
  provider: "email" | "google";
  providerUserId: string;
  email: string;
  emailVerified: boolean;
}

/**
 * Finds the account that `identity` signs in to, creating it (with an empty profile) on first
 * sign-in, and records the identity. A verified address already known through the other
 * provider is the same account: one user, two identities. `ADMIN_EMAILS` is applied at every
 * sign-in: a listed address becomes an admin, and one no longer listed loses the role that the
 * list gave it. Run inside a transaction: the caller's, on the request's pool (the code check or
 * the Google callback), since each step reads what the one before wrote and the account must
 * commit with the refresh token issued for it.
 */
export async function signInWithIdentity(
  tx: Queryable,
  identity: Identity,
  options: { isAdminEmail: boolean; now: Date },
): Promise<User> {
  const [known] = await tx
    .select({ user: users })
    .from(authIdentities)
    .innerJoin(users, eq(users.id, authIdentities.userId))
    .where(
      and(eq(authIdentities.provider, identity.provider), eq(authIdentities.providerUserId, identity.providerUserId)),
    );

  let user = known?.user;
  if (!user) {
    const [created] = await tx
      .insert(users)
      .values({
        email: identity.email,
        role: options.isAdminEmail ? "admin" : "user",
        adminSource: options.isAdminEmail ? "config" : null,
        createdAt: options.now,
      })
      .onConflictDoNothing({ target: users.email })
      .returning();
    if (created) {
      await tx.insert(profiles).values({ userId: created.id, updatedAt: options.now });
      user = created;
    } else {
      const [existing] = await tx.select().from(users).where(eq(users.email, identity.email));
      if (!existing) throw new Error("user vanished between insert and select");
      user = existing;
    }
    await tx
      .insert(authIdentities)
      .values({ userId: user.id, ...identity, createdAt: options.now })
      .onConflictDoNothing({ target: [authIdentities.provider, authIdentities.providerUserId] });
  }

  if (options.isAdminEmail && user.role !== "admin") {
    const [promoted] = await tx
      .update(users)
      .set({ role: "admin", adminSource: "config" })
      .where(eq(users.id, user.id))
      .returning();
    if (promoted) user = promoted;
  } else if (!options.isAdminEmail && user.role === "admin" && user.adminSource === "config") {
    // The address left ADMIN_EMAILS: the role it gave goes with it (a role an admin granted stays).
    const [demoted] = await tx
      .update(users)
      .set({ role: "user", adminSource: null })
      .where(eq(users.id, user.id))
      .returning();
    await tx.insert(auditLogs).values({
      actorId: null,
      action: "user.role.revoke",
      targetType: "user",
      targetId: user.id,
      metadata: { previous_role: "admin", role: "user", reason: "no longer in ADMIN_EMAILS" },
      createdAt: options.now,
    });
    if (demoted) user = demoted;
  }
  return user;
}
