import { getConfig } from "../config";
import { type Database, type DatabaseHandle, openDatabase } from "../db/client";
import { type Level, levels } from "../db/schema/enums";
import { describeError, log } from "../lib/logger";
import { getRedis } from "../lib/redis";
import { type ProposedPair, pairAttempts, pairMany, resolveAttempts } from "../services/match-store";
import { band, bandRadius, firstCompatible, levelIndex, nextWidening, type QueueEntry } from "../services/matching";
import { whoIsOnline } from "../services/presence";
import { SocketHub } from "./socket-hub";

export interface MatchedEvent {
  type: "matched";
  attempt_id: string;
  session_id: string;
  partner: { id: string; display_name: string | null; level: Level };
  band: Level[];
}

export interface ExpiredEvent {
  type: "expired";
  attempt_id: string;
  reason: "timeout" | "offline";
}

export type MatchEvent = MatchedEvent | ExpiredEvent;

export type EnqueueResult =
  | { status: "queued" }
  | { status: "matched"; sessionId: string; partner: MatchedEvent["partner"] };

/** How long a neighbour's report of its longest wait is trusted. */
const neighbourMemoryMs = 1000;

/** How often a waiting queue re-checks its users' presence, between widening steps. */
const presenceCheckMs = 30_000;
/** Where a waiting user lives: this object, or a neighbouring level's. */
interface QueueHome {
  completeMatch(userId: string, event: MatchedEvent): Promise<void>;
  drop(userId: string): Promise<void>;
}

const sessionLevel = (a: QueueEntry, b: QueueEntry) => (a.enqueuedAt >= b.enqueuedAt ? a.level : b.level);

interface QueueRow extends Record<string, SqlStorageValue> {
  user_id: string;
  attempt_id: string;
  level: string;
  display_name: string | null;
  enqueued_at: number;
  blocked: string;
  avoid: string;
}

/**
 * One object per CEFR level (`idFromName(level)`). It keeps that level's queue in its SQLite
 * storage, pairs arrivals FIFO with the first compatible waiting user, widens each waiting user's
 * band with time, expires attempts of users who left, and pushes results over hibernating sockets.
 *
 * Widening across objects: an arrival that finds nobody here asks the objects of the levels
 * within two of its own for their first waiting user whose (widened) band accepts it; and when a
 * waiting user's band widens, its own object asks its neighbours the same on the alarm. The
 * database is the arbiter: a pair is created only if both attempts are still queued, so two
 * objects racing for one user can never both win.
 */
export class Matchmaker extends SocketHub {
  /** Serialises the work that changes the queue, so arrivals are served in order. */
  private queueLock: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`
      create table if not exists queue (
        user_id text primary key,
        attempt_id text not null,
        level text not null,
        display_name text,
        enqueued_at integer not null,
        blocked text not null,
        avoid text not null
      )
    `);
  }

  private get config() {
    return getConfig(this.env);
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queueLock.then(work, work);
    this.queueLock = run.catch(() => {});
    return run;
  }

  /**
   * Unlike a stateless request, an object may keep its connection from one call to the next,
   * so a burst of arrivals pays for the connection once. A failed connection is dropped and the
   * next call opens a new one.
   */
  private database: DatabaseHandle | undefined;

  private async withDatabase<T>(work: (db: Database) => Promise<T>): Promise<T> {
    if (!this.database) {
      const opened = openDatabase(this.config.database, (error) => {
        log("warn", "matchmaker database connection lost", describeError(error));
        if (this.database === opened) this.database = undefined;
      });
      this.database = opened;
    }
    const handle = this.database;
    try {
      return await work(handle.db);
    } catch (error) {
      if (this.database === handle) this.database = undefined;
      await handle.close().catch(() => {});
      throw error;
    }
  }

  /** The waiting users, oldest first. */
  waiting(): QueueEntry[] {
    return this.ctx.storage.sql
      .exec<QueueRow>("select * from queue order by enqueued_at, user_id")
      .toArray()
      .map((row) => ({
        userId: row.user_id,
        attemptId: row.attempt_id,
        level: row.level as Level,
        displayName: row.display_name,
        enqueuedAt: row.enqueued_at,
        blocked: JSON.parse(row.blocked) as string[],
        avoid: JSON.parse(row.avoid) as string[],
      }));
  }

  queueDepth(): number {
    return this.ctx.storage.sql.exec<{ depth: number }>("select count(*) as depth from queue").one().depth;
  }

  private store(entry: QueueEntry): void {
    this.ctx.storage.sql.exec(
      `insert into queue (user_id, attempt_id, level, display_name, enqueued_at, blocked, avoid)
       values (?, ?, ?, ?, ?, ?, ?)
       on conflict (user_id) do update set attempt_id = excluded.attempt_id, level = excluded.level,
         display_name = excluded.display_name, enqueued_at = excluded.enqueued_at,
         blocked = excluded.blocked, avoid = excluded.avoid`,
      entry.userId,
      entry.attemptId,
      entry.level,
      entry.displayName,
      entry.enqueuedAt,
      JSON.stringify(entry.blocked),
      JSON.stringify(entry.avoid),
    );
  }

  private remove(userId: string): void {
    this.ctx.storage.sql.exec("delete from queue where user_id = ?", userId);
  }

  /** Arrivals waiting for the object's turn; they are served together, in arrival order. */
  private arrivals: { entry: QueueEntry; settle: (result: EnqueueResult) => void; fail: (error: unknown) => void }[] =
    [];

  /** Queues an attempt, or pairs it at once with the first compatible waiting user here or nearby. */
  enqueue(entry: QueueEntry): Promise<EnqueueResult> {
    return new Promise((settle, fail) => {
      this.arrivals.push({ entry, settle, fail });
      void this.exclusive(() => this.serveArrivals());
    });
  }

  /**
   * Serves every arrival that came while the object was busy in one pass: pairs them FIFO with
   * the waiting users and with each other in memory, then creates all those sessions in one
   * statement. A pair the database refuses, and an arrival nobody here accepts, go through
   * `pairWithSomeone` one at a time, which learns why and also asks the neighbouring levels.
   */
  private async serveArrivals(): Promise<void> {
    const batch = this.arrivals.splice(0);
    if (batch.length === 0) return;
    const settled = new Set<string>();
    const settle = (userId: string, result: EnqueueResult) => {
      const arrival = batch.find((item) => item.entry.userId === userId);
      if (arrival && !settled.has(userId)) {
        settled.add(userId);
        arrival.settle(result);
      }
    };
    try {
      const now = Date.now();
      const queued = this.waiting();
      const candidates: QueueEntry[] = [...queued];
      const taken = new Set<string>();
      const proposals: { arrival: QueueEntry; partner: QueueEntry; pair: ProposedPair }[] = [];
      const alone: QueueEntry[] = [];
      for (const { entry } of batch) {
        if (queued.some((waiting) => waiting.userId === entry.userId && waiting.attemptId === entry.attemptId)) {
          settle(entry.userId, { status: "queued" });
          continue;
        }
        const partner = firstCompatible(
          entry,
          candidates.filter((candidate) => !taken.has(candidate.userId)),
          now,
          this.config.matching,
        );
        if (!partner) {
          candidates.push(entry);
          alone.push(entry);
          continue;
        }
        taken.add(partner.userId);
        taken.add(entry.userId);
        proposals.push({
          arrival: entry,
          partner,
          pair: {
            sessionId: crypto.randomUUID(),
            level: sessionLevel(entry, partner),
            attempts: [entry.attemptId, partner.attemptId],
            users: [entry.userId, partner.userId],
          },
        });
      }

      const created = await this.withDatabase((db) =>
        pairMany(
          db,
          proposals.map((proposal) => proposal.pair),
          new Date(now),
        ),
      );
      const retry: QueueEntry[] = alone.filter((entry) => !taken.has(entry.userId));
      for (const { arrival, partner, pair } of proposals) {
        if (!created.has(pair.sessionId)) {
          retry.push(arrival);
          if (batch.some((item) => item.entry.userId === partner.userId)) retry.push(partner);
          continue;
        }
        const { forEntry, forPartner } = this.announce(arrival, partner, pair.sessionId, now);
        if (batch.some((item) => item.entry.userId === partner.userId)) {
          this.push(forPartner, partner.userId);
          settle(partner.userId, { status: "matched", sessionId: pair.sessionId, partner: forPartner.partner });
        } else {
          await this.completeMatch(partner.userId, forPartner);
        }
        this.push(forEntry, arrival.userId);
        settle(arrival.userId, { status: "matched", sessionId: pair.sessionId, partner: forEntry.partner });
      }

      for (const entry of retry.sort((a, b) => a.enqueuedAt - b.enqueuedAt)) {
        if (settled.has(entry.userId)) continue;
        const result = await this.pairWithSomeone(entry, false);
        if (result.status === "queued") this.store(entry);
        settle(entry.userId, result);
      }
      await this.scheduleAlarm();
    } catch (error) {
      for (const arrival of batch) if (!settled.has(arrival.entry.userId)) arrival.fail(error);
    }
  }

  /** The `matched` events both users of a new session are told. */
  private announce(entry: QueueEntry, partner: QueueEntry, sessionId: string, now: number) {
    const forPartner: MatchedEvent = {
      type: "matched",
      attempt_id: partner.attemptId,
      session_id: sessionId,
      partner: { id: entry.userId, display_name: entry.displayName, level: entry.level },
      band: band(partner.level, now - partner.enqueuedAt, this.config.matching),
    };
    const forEntry: MatchedEvent = {
      type: "matched",
      attempt_id: entry.attemptId,
      session_id: sessionId,
      partner: { id: partner.userId, display_name: partner.displayName, level: partner.level },
      band: band(entry.level, now - entry.enqueuedAt, this.config.matching),
    };
    log("info", "matched", {
      session_id: sessionId,
      level: sessionLevel(entry, partner),
      waited_ms: now - partner.enqueuedAt,
    });
    return { forEntry, forPartner };
  }

  /**
   * Tries partners for `entry` FIFO: first here, then in the neighbouring levels' objects.
   * `entry` is in this queue already when `queued` is true (the alarm's widening pass).
   */
  private async pairWithSomeone(entry: QueueEntry, queued: boolean): Promise<EnqueueResult> {
    const tried = new Set<string>();
    for (;;) {
      const now = Date.now();
      const local = firstCompatible(
        entry,
        this.waiting().filter((waiting) => !tried.has(waiting.userId)),
        now,
        this.config.matching,
      );
      const partner: { entry: QueueEntry; home: QueueHome } | undefined = local
        ? { entry: local, home: this }
        : await this.findNearby(entry, tried);
      if (!partner) return { status: "queued" };
      tried.add(partner.entry.userId);

      const level = sessionLevel(entry, partner.entry);
      const outcome = await this.withDatabase((db) =>
        pairAttempts(
          db,
          { level, attempts: [entry.attemptId, partner.entry.attemptId], users: [entry.userId, partner.entry.userId] },
          new Date(now),
        ),
      );
      if (outcome.kind === "paired") {
        const { forEntry, forPartner } = this.announce(entry, partner.entry, outcome.sessionId, now);
        await partner.home.completeMatch(partner.entry.userId, forPartner);
        if (queued) this.remove(entry.userId);
        this.push(forEntry, entry.userId);
        return { status: "matched", sessionId: outcome.sessionId, partner: forEntry.partner };
      }
      if (outcome.kind === "blocked") {
        entry.blocked.push(partner.entry.userId);
        if (queued) this.store(entry);
        continue;
      }
      const gone =
        outcome.kind === "busy"
          ? outcome.busyUsers
          : [entry, partner.entry].filter((e) => !outcome.stillQueued.includes(e.attemptId)).map((e) => e.userId);
      if (gone.includes(partner.entry.userId)) await partner.home.drop(partner.entry.userId);
      if (gone.includes(entry.userId)) {
        if (queued) this.remove(entry.userId);
        return { status: "queued" };
      }
    }
  }

  /**
   * The earliest-waiting compatible user in the objects of the levels within two of `entry`'s.
   * A neighbour is asked only when someone there could accept `entry`: either `entry` has waited
   * long enough to accept that distance itself, or the neighbour's longest-waiting user has. What
   * each neighbour reports is kept for a second, so a burst of arrivals asks once; a user who
   * widens in between is paired from their own side, on their object's alarm.
   */
  private async findNearby(
    entry: QueueEntry,
    exclude: Set<string>,
  ): Promise<{ entry: QueueEntry; home: QueueHome } | undefined> {
    const now = Date.now();
    const at = levelIndex(entry.level);
    const neighbours = levels.filter((level) => level !== entry.level && Math.abs(levelIndex(level) - at) <= 2);
    const offers = await Promise.all(
      neighbours.map(async (level) => {
        const stub = this.env.MATCHMAKER.get(this.env.MATCHMAKER.idFromName(level));
        const distance = Math.abs(levelIndex(level) - at);
        if (bandRadius(now - entry.enqueuedAt, this.config.matching) < distance) {
          let seen = this.neighbourOldest.get(level);
          if (!seen || now - seen.at > neighbourMemoryMs) {
            seen = { oldest: await stub.oldestWaiting(), at: now };
            this.neighbourOldest.set(level, seen);
          }
          if (seen.oldest === null || bandRadius(now - seen.oldest, this.config.matching) < distance) return undefined;
        }
        const offer: QueueEntry | null = await stub.findPartnerFor(entry, [...exclude]);
        const home: QueueHome = {
          completeMatch: (userId, event) => stub.completeMatch(userId, event),
          drop: (userId) => stub.drop(userId),
        };
        return offer ? { entry: offer, home } : undefined;
      }),
    );
    return offers.filter((offer) => offer !== undefined).sort((a, b) => a.entry.enqueuedAt - b.entry.enqueuedAt)[0];
  }

  /** What each neighbouring level's object last said about its longest-waiting user. */
  private neighbourOldest = new Map<Level, { oldest: number | null; at: number }>();

  /** When the longest-waiting user here queued, or null when nobody waits. */
  oldestWaiting(): number | null {
    return this.ctx.storage.sql.exec<{ oldest: number | null }>("select min(enqueued_at) as oldest from queue").one()
      .oldest;
  }

  /** Read-only: this queue's first user compatible with `candidate` from another level. */
  findPartnerFor(candidate: QueueEntry, exclude: string[]): QueueEntry | null {
    const waiting = this.waiting().filter((entry) => !exclude.includes(entry.userId));
    return firstCompatible(candidate, waiting, Date.now(), this.config.matching) ?? null;
  }

  /** Another level's object paired one of our users: take them off the queue and tell them. */
  async completeMatch(userId: string, event: MatchedEvent): Promise<void> {
    this.remove(userId);
    this.push(event, userId);
    await this.scheduleAlarm();
  }

  /** Forgets a user whose attempt is no longer queued. */
  async drop(userId: string): Promise<void> {
    this.remove(userId);
    await this.scheduleAlarm();
  }

  /** Pushes a matchmaking event to one user's open sockets. */
  notify(userId: string, event: MatchEvent): number {
    return this.push(event, userId);
  }

  /** Removes a cancelled attempt (the database already says so). */
  cancel(userId: string): Promise<void> {
    return this.exclusive(async () => {
      this.remove(userId);
      await this.scheduleAlarm();
    });
  }

  /**
   * Expires attempts that waited past their time or whose owner stopped pinging, then gives
   * every user whose band has widened a chance with the neighbouring levels. Run by the alarm
   * and by the cron sweep; running it twice changes nothing the first run did not.
   */
  sweep(): Promise<{ expired: number; matched: number }> {
    return this.exclusive(async () => {
      const now = Date.now();
      const waiting = this.waiting();
      let expired = 0;
      let matched = 0;
      if (waiting.length > 0) {
        const online = await whoIsOnline(
          getRedis(this.config.redis),
          waiting.map((entry) => entry.userId),
        );
        const leaving = waiting
          .map((entry) => ({
            entry,
            reason:
              now - entry.enqueuedAt >= this.config.matching.attemptTtlMs
                ? ("timeout" as const)
                : online.has(entry.userId)
                  ? undefined
                  : ("offline" as const),
          }))
          .filter((item): item is { entry: QueueEntry; reason: "timeout" | "offline" } => item.reason !== undefined);
        if (leaving.length > 0) {
          await this.withDatabase((db) =>
            resolveAttempts(
              db,
              leaving.map((item) => item.entry.attemptId),
              "expired",
              new Date(now),
            ),
          );
          for (const { entry, reason } of leaving) {
            this.remove(entry.userId);
            this.push({ type: "expired", attempt_id: entry.attemptId, reason } satisfies ExpiredEvent, entry.userId);
          }
          expired = leaving.length;
        }
        for (const entry of this.waiting()) {
          if (now - entry.enqueuedAt < this.config.matching.widenAdjacentAfterMs) continue;
          const stillHere = this.waiting().some((waitingEntry) => waitingEntry.userId === entry.userId);
          if (stillHere && (await this.pairWithSomeone(entry, true)).status === "matched") matched += 1;
        }
      }
      await this.scheduleAlarm();
      return { expired, matched };
    });
  }

  override async alarm(): Promise<void> {
    try {
      await this.sweep();
    } catch (error) {
      log("error", "matchmaker alarm failed", describeError(error));
      await this.ctx.storage.setAlarm(Date.now() + presenceCheckMs);
    }
  }

  /** Wakes for the next widening step, expiry or presence check; sleeps when nobody waits. */
  private async scheduleAlarm(): Promise<void> {
    const waiting = this.waiting();
    if (waiting.length === 0) {
      await this.ctx.storage.deleteAlarm();
      return;
    }
    const now = Date.now();
    const moments = waiting.flatMap((entry) => [
      nextWidening(entry, now, this.config.matching),
      entry.enqueuedAt + this.config.matching.attemptTtlMs,
    ]);
    const next = Math.min(now + presenceCheckMs, ...moments.filter((moment) => moment !== undefined));
    await this.ctx.storage.setAlarm(Math.max(next, now + 100));
  }
}
