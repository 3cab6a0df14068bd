import { date, integer, pgTable, primaryKey, uuid } from "drizzle-orm/pg-core";
import { createdAt } from "./columns";
import { badgeEnum } from "./enums";
import { users } from "./users";

export const streaks = pgTable("streaks", {
  userId: uuid()
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  current: integer().notNull().default(0),
  longest: integer().notNull().default(0),
  // The participant's local calendar day, not a UTC instant.
  lastActiveDate: date({ mode: "string" }),
});

export const userBadges = pgTable(
  "user_badges",
  {
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    badge: badgeEnum().notNull(),
    awardedAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.badge] })],
);
