import { sql } from "drizzle-orm";
import { boolean, check, index, integer, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, instant } from "./columns";
import { adminSourceEnum, authProviderEnum, levelEnum, reportReasonEnum, userRoleEnum, userStatusEnum } from "./enums";

export const users = pgTable(
  "users",
  {
    id: id(),
    // Stored lower-cased, so a plain unique index is case-insensitive without citext.
    email: text().notNull(),
    role: userRoleEnum().notNull().default("user"),
    adminSource: adminSourceEnum(),
    status: userStatusEnum().notNull().default("active"),
    /**
     * Since when the account is held for review: enough distinct reporters within the window
     * (docs/moderation.md#automatic-holds). Null when not held; closing the last open report with
     * `none` or `warn` clears it, and a suspension replaces it.
     */
    heldAt: instant(),
    /** Since when the account is suspended; null while it is active. */
    suspendedAt: instant(),
    /**
     * The reason category of the report a suspension closed, which the suspended user is told (never
     * who reported them); null while active, or for a suspension no report asked for.
     */
    suspensionReason: reportReasonEnum(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("users_email_key").on(t.email),
    check("users_email_lowercase", sql`${t.email} = lower(${t.email})`),
    check("users_admin_source", sql`(${t.role} = 'admin') = (${t.adminSource} is not null)`),
    index("users_created_at_idx").on(t.createdAt),
  ],
);

export const authIdentities = pgTable(
  "auth_identities",
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    provider: authProviderEnum().notNull(),
    providerUserId: text().notNull(),
    email: text().notNull(),
    emailVerified: boolean().notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("auth_identities_provider_user_key").on(t.provider, t.providerUserId),
    index("auth_identities_user_id_idx").on(t.userId),
  ],
);

/**
 * One row per sign-in request (its id is the `login_id` the requester got back): several may be
 * pending for one address, and wrong guesses count against their own row only.
 */
export const authEmailTokens = pgTable(
  "auth_email_tokens",
  {
    id: id(),
    email: text().notNull(),
    codeHash: text().notNull(),
    expiresAt: instant().notNull(),
    usedAt: instant(),
    attempts: integer().notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [index("auth_email_tokens_email_idx").on(t.email), index("auth_email_tokens_expires_at_idx").on(t.expiresAt)],
);

export const refreshTokens = pgTable(
  "refresh_tokens",
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    familyId: uuid().notNull(),
    tokenHash: text().notNull(),
    expiresAt: instant().notNull(),
    usedAt: instant(),
    revokedAt: instant(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("refresh_tokens_token_hash_key").on(t.tokenHash),
    index("refresh_tokens_user_id_idx").on(t.userId),
    index("refresh_tokens_family_id_idx").on(t.familyId),
    index("refresh_tokens_created_at_idx").on(t.createdAt),
    index("refresh_tokens_expires_at_idx").on(t.expiresAt),
  ],
);

export const profiles = pgTable(
  "profiles",
  {
    userId: uuid()
      .primaryKey()
      .references(() => users.id, { onDelete: "cascade" }),
    displayName: text(),
    about: text(),
    level: levelEnum(),
    timezone: text().notNull().default("UTC"),
    interests: text().array().notNull().default(sql`'{}'::text[]`),
    avatarUrl: text(),
    updatedAt: createdAt(),
  },
  (t) => [index("profiles_level_idx").on(t.level)],
);
