import { relations } from "drizzle-orm";
import { moderationNotices } from "./safety";
import { authIdentities, profiles, refreshTokens, users } from "./users";

export const usersRelations = relations(users, ({ one, many }) => ({
  profile: one(profiles, { fields: [users.id], references: [profiles.userId] }),
  identities: many(authIdentities),
  notices: many(moderationNotices),
}));

export const moderationNoticesRelations = relations(moderationNotices, ({ one }) => ({
  user: one(users, { fields: [moderationNotices.userId], references: [users.id] }),
}));

export const authIdentitiesRelations = relations(authIdentities, ({ one }) => ({
  user: one(users, { fields: [authIdentities.userId], references: [users.id] }),
}));

export const refreshTokensRelations = relations(refreshTokens, ({ one }) => ({
  user: one(users, { fields: [refreshTokens.userId], references: [users.id] }),
}));
