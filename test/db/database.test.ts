import { and, desc, eq, lt, or, sql } from "drizzle-orm";
import { afterAll, describe, expect, inject, it } from "vitest";
import { messages, sessionParticipants, sessions, streaks, users } from "../../src/db/schema";
import { decodeCursor, encodeCursor } from "../../src/lib/pagination";
import { insertUsers, testDatabase } from "../support/db";

const handle = testDatabase();
const { db } = handle;

afterAll(async () => {
  await handle.close();
});

async function createSessionWith(userIds: string[]): Promise<string> {
  const [session] = await db.insert(sessions).values({ level: "B1" }).returning({ id: sessions.id });
  if (!session) throw new Error("no session row");
  await db.insert(sessionParticipants).values(userIds.map((userId) => ({ sessionId: session.id, userId })));
  return session.id;
}

describe(`the database path (${inject("database")})`, () => {
  it("runs the migrations: every table and the trigram index exist", async () => {
    const tables = await db.execute<{ table_name: string }>(
      sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
    );
    expect(tables.rows.map((row) => row.table_name)).toEqual(
      expect.arrayContaining([
        "audit_logs",
        "auth_email_tokens",
        "auth_identities",
        "blocks",
        "match_attempts",
        "messages",
        "profiles",
        "refresh_tokens",
        "reports",
        "session_participants",
        "sessions",
        "streaks",
        "user_badges",
        "users",
      ]),
    );
    const indexes = await db.execute<{ indexdef: string }>(
      sql`select indexdef from pg_indexes where indexname = 'messages_text_trgm_idx'`,
    );
    expect(indexes.rows[0]?.indexdef).toContain("gin_trgm_ops");
  });

  it("inserts and reads back rows with defaults filled in", async () => {
    const [user] = await insertUsers(handle, 1);
    const [row] = await db
      .select()
      .from(users)
      .where(eq(users.id, user?.id ?? ""));
    expect(row).toMatchObject({ email: user?.email, role: "user", status: "active" });
    expect(row?.createdAt).toBeInstanceOf(Date);
  });

  it("keeps emails unique and lower-case", async () => {
    const [user] = await insertUsers(handle, 1);
    await expect(db.insert(users).values({ email: user?.email ?? "" })).rejects.toThrow();
    await expect(db.insert(users).values({ email: "Mixed@Example.com" })).rejects.toThrow();
  });

  it("stores a retried message once: (session, sender, client_id) is unique", async () => {
    const [a, b] = await insertUsers(handle, 2);
    const sessionId = await createSessionWith([a?.id ?? "", b?.id ?? ""]);
    const clientId = crypto.randomUUID();
    const send = () =>
      db
        .insert(messages)
        .values({ sessionId, senderId: a?.id, type: "text", text: "salom", clientId })
        .onConflictDoNothing()
        .returning({ id: messages.id });
    expect(await send()).toHaveLength(1);
    expect(await send()).toHaveLength(0);
    const stored = await db.select().from(messages).where(eq(messages.sessionId, sessionId));
    expect(stored).toHaveLength(1);
  });

  it("pages newest first with an opaque keyset cursor, 20 then 5", async () => {
    const [a, b] = await insertUsers(handle, 2);
    const sessionId = await createSessionWith([a?.id ?? "", b?.id ?? ""]);
    const base = Date.parse("2026-11-26T09:00:00Z");
    await db.insert(messages).values(
      Array.from({ length: 25 }, (_, i) => ({
        sessionId,
        senderId: i % 2 === 0 ? a?.id : b?.id,
        type: "text" as const,
        text: `message ${i}`,
        // Two messages share each timestamp so the id tie-break is exercised.
        createdAt: new Date(base + Math.floor(i / 2) * 1000),
      })),
    );
    const page = async (cursor?: string) => {
      const after = cursor ? decodeCursor(cursor) : undefined;
      const rows = await db
        .select({ id: messages.id, text: messages.text, createdAt: messages.createdAt })
        .from(messages)
        .where(
          and(
            eq(messages.sessionId, sessionId),
            after
              ? or(lt(messages.createdAt, after.at), and(eq(messages.createdAt, after.at), lt(messages.id, after.id)))
              : undefined,
          ),
        )
        .orderBy(desc(messages.createdAt), desc(messages.id))
        .limit(21);
      const items = rows.slice(0, 20);
      const last = items.at(-1);
      return { items, next: rows.length > 20 && last ? encodeCursor({ at: last.createdAt, id: last.id }) : null };
    };
    const first = await page();
    expect(first.items).toHaveLength(20);
    expect(first.next).not.toBeNull();
    const second = await page(first.next ?? undefined);
    expect(second.items).toHaveLength(5);
    expect(second.next).toBeNull();
    const all = [...first.items, ...second.items];
    expect(new Set(all.map((item) => item.id)).size).toBe(25);
    const keys = all.map((item) => `${item.createdAt.toISOString()}|${item.id}`);
    expect(keys).toEqual([...keys].sort().reverse());
    expect(all[0]?.text).toBe("message 24");
    expect(["message 0", "message 1"]).toContain(all.at(-1)?.text);
  });

  it("ranks messages by trigram similarity", async () => {
    const [a, b] = await insertUsers(handle, 2);
    const sessionId = await createSessionWith([a?.id ?? "", b?.id ?? ""]);
    await db.insert(messages).values(
      ["I went to the market yesterday", "The weather is lovely", "Markets open early here"].map((text) => ({
        sessionId,
        senderId: a?.id,
        type: "text" as const,
        text,
      })),
    );
    const query = "market";
    const ranked = await db
      .select({ text: messages.text, score: sql<number>`word_similarity(${query}, ${messages.text})` })
      .from(messages)
      .where(and(eq(messages.sessionId, sessionId), sql`${query} <% ${messages.text}`))
      .orderBy(sql`word_similarity(${query}, ${messages.text}) desc`);
    expect(ranked.map((row) => row.text)).toEqual(["I went to the market yesterday", "Markets open early here"]);
  });

  it("never interleaves two concurrent transactions on the same row", async () => {
    const [user] = await insertUsers(handle, 1);
    const userId = user?.id ?? "";
    await db.insert(streaks).values({ userId, current: 0, longest: 0 });
    const increment = () =>
      db.transaction(async (tx) => {
        const [row] = await tx.select().from(streaks).where(eq(streaks.userId, userId)).for("update");
        await tx
          .update(streaks)
          .set({ current: (row?.current ?? 0) + 1 })
          .where(eq(streaks.userId, userId));
      });
    await Promise.all(Array.from({ length: 5 }, increment));
    const [row] = await db.select().from(streaks).where(eq(streaks.userId, userId));
    expect(row?.current).toBe(5);
  });

  it("keeps forty concurrent connections' parameterised queries apart", async () => {
    const handles = Array.from({ length: 40 }, () => testDatabase());
    try {
      const answers = await Promise.all(
        handles.map(async (other, connection) => {
          const rows = [];
          for (let query = 0; query < 5; query += 1) {
            const result = await other.db.execute<{ connection: number; query: number }>(
              sql`select ${connection}::int as connection, ${query}::int as query`,
            );
            rows.push(result.rows[0]);
          }
          return rows;
        }),
      );
      answers.forEach((rows, connection) => {
        expect(rows).toEqual([0, 1, 2, 3, 4].map((query) => ({ connection, query })));
      });
    } finally {
      await Promise.all(handles.map((other) => other.close()));
    }
  });

  it("rolls back everything a failed transaction wrote", async () => {
    const email = `rollback-${crypto.randomUUID()}@example.com`;
    await expect(
      db.transaction(async (tx) => {
        await tx.insert(users).values({ email });
        await tx.insert(users).values({ email });
      }),
    ).rejects.toThrow();
    expect(await db.select().from(users).where(eq(users.email, email))).toHaveLength(0);
  });
});
