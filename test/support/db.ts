import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { getConfig } from "../../src/config";
import { type DatabaseHandle, openPoolDatabase, type PoolDatabase } from "../../src/db/client";
import { users } from "../../src/db/schema";
import { unknownClient } from "../../src/lib/client-ip";
import { getRedis } from "../../src/lib/redis";
import { resendCooldownKey } from "../../src/services/auth/email-codes";

/** A database connection over the same driver the Worker's transactions use; close it when done. */
export function testDatabase(): DatabaseHandle<PoolDatabase> {
  return openPoolDatabase(getConfig(env).database, (error) => {
    throw error;
  });
}

export function uniqueEmail(label = "user"): string {
  return `${label}-${crypto.randomUUID()}@example.com`;
}

export async function insertUsers(
  handle: DatabaseHandle<PoolDatabase>,
  count: number,
): Promise<{ id: string; email: string }[]> {
  return handle.db
    .insert(users)
    .values(Array.from({ length: count }, () => ({ email: uniqueEmail() })))
    .returning({ id: users.id, email: users.email });
}

/**
 * Ends the one-a-minute cooldown of `email` for one requester network (by default the one tests
 * without `cf-connecting-ip` come from) now, as if the minute had passed.
 */
export async function passResendCooldown(email: string, requester = unknownClient): Promise<void> {
  await getRedis(getConfig(env).redis).del(resendCooldownKey(email, requester));
}

/** Makes a signed-in user an admin as another admin's grant would: rights are read from the database. */
export async function makeAdmin(handle: DatabaseHandle<PoolDatabase>, userId: string): Promise<void> {
  await handle.db.update(users).set({ role: "admin", adminSource: "grant" }).where(eq(users.id, userId));
}
