import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { getConfig } from "../../src/config";
import { type DatabaseHandle, openDatabase } from "../../src/db/client";
import { authEmailTokens, users } from "../../src/db/schema";

/** A database handle on the same driver path the Worker uses; close it when done. */
export function testDatabase(): DatabaseHandle {
  return openDatabase(getConfig(env).database, (error) => {
    throw error;
  });
}

export function uniqueEmail(label = "user"): string {
  return `${label}-${crypto.randomUUID()}@example.com`;
}

export async function insertUsers(handle: DatabaseHandle, count: number): Promise<{ id: string; email: string }[]> {
  return handle.db
    .insert(users)
    .values(Array.from({ length: count }, () => ({ email: uniqueEmail() })))
    .returning({ id: users.id, email: users.email });
}

/** Moves the last code request of `email` two minutes into the past, past the one-a-minute cooldown. */
export async function passResendCooldown(handle: DatabaseHandle, email: string): Promise<void> {
  await handle.db
    .update(authEmailTokens)
    .set({ createdAt: sql`${authEmailTokens.createdAt} - interval '2 minutes'` })
    .where(eq(authEmailTokens.email, email));
}
