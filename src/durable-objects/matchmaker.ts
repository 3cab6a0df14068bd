import { getConfig } from "../config";
import { KeptDatabase } from "../db/kept";
import { type Level, levels } from "../db/schema/enums";
import { describeError, log } from "../lib/logger";
import { getRedis } from "../lib/redis";
import type { ExpiredEvent, MatchEvent, MatchedEvent } from "../services/match-protocol";
import { type ProposedPair, pairAttempts, pairMany, resolveAttempts } from "../services/match-store";
import {
  band,
  bandRadius,
  choosePartner,
  fromRpc,
  levelIndex,
  nextWidening,
  type QueueEntry,
  type QueueEntryFromRpc,
  sharedInterests,
} from "../services/matching";
import { objectCalls } from "../services/objects";
import { whoIsOnline } from "../services/presence";
import { SocketHub } from "./socket-hub";

/**
 * What became of an attempt handed to the object: paired, waiting here, or withdrawn (it was
 * cancelled or expired before the object could queue it, so it is not stored).
 */
export type EnqueueResult =
  | { status: "queued" }
  | {
      status: "matched";
      sessionId: string;
      partner: MatchedEvent["partner"];
      topic: MatchedEvent["topic"];
      sharedInterests: MatchedEvent["shared_interests"];
    }
  | { status: "withdrawn" };

/** How long a neighbour's report of its longest wait is trusted. */
const neighbourMemoryMs = 1000;

/** How often a waiting queue re-checks its users' presence, between widening steps. */
const presenceCheckMs = 30_000;

/** Where a waiting user lives: this object, or a neighbouring level's. */
interface QueueHome {
  completeMatch(attemptId: string, event: MatchedEvent): Promise<void>;
  drop(attemptId: string): Promise<void>;
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
  interests: string;
}

/** A session a pass of the object created, as its `matched` log line reports it. */
interface Matched {
  sessionId: string;
  level: Level;
  /** How long the partner who waited had waited (ms). */
  waitedMs: number;
  /** How many interests the two share. */
  sharedInterests: number;
}

/**
 * One `matched` line for all the sessions one pass created: a burst of arrivals logs once, not once
 * a pair, because under a burst the line per pair was the object's largest own cost
 * (bench/README.md, the matchmaker's profile).
 */
function logMatched(matched: Matched[]): void {
  if (matched.length === 0) return;
  log("info", "matched", {
    sessions: matched.map((session) => ({
      session_id: session.sessionId,
      level: session.level,
      waited_ms: session.waitedMs,
      shared_interests: session.sharedInterests,
    })),
  });
}

interface Arrival {
  entry: QueueEntry;
  settle: (result: EnqueueResult) => void;
  fail: (error: unknown) => void;
}

/**
 * One object per CEFR level (`idFromName(level)`). It keeps that level's queue in its SQLite
 * storage, pairs each arrival with a compatible waiting user (the one sharing the most interests,
 * strict FIFO once someone has waited past the fairness bound: `choosePartner`), widens each waiting user's
 * band with time, expires attempts of users who left, and pushes results over hibernating sockets.
 *
 * Widening across objects: an arrival that finds nobody here asks the objects of the levels
 * within two of its own for a waiting user whose (widened) band accepts it; and when a
 * waiting user's band widens, its own object asks its neighbours the same on the alarm. The
 * database is the arbiter: a pair is created only if both attempts are still queued, so two
 * objects racing for one user can never both win.
 *
 * Once a pair is committed, telling anyone about it is best effort: a push or a neighbour that
 * fails is logged, and the learner still gets `matched` (the database and `GET /match/status`
 * say so too).
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
        avoid text not null,
        interests text not null default '[]'
      );
      create table if not exists withdrawn (
        attempt_id text primary key,
        withdrawn_at integer not null
      );
    `);
    // A queue stored before interests were kept gains the column; whoever waits in it shares none.
    const columns = ctx.storage.sql.exec<{ name: string }>("pragma table_info(queue)").toArray();
    if (!columns.some((column) => column.name === "interests")) {
      ctx.storage.sql.exec("alter table queue add column interests text not null default '[]'");
    }
  }

  private get config() {
    return getConfig(this.env);
  }

  private get neighbours() {
    return objectCalls(this.env, this.config.durableObjectTimeoutMs);
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queueLock.then(work, work);
    this.queueLock = run.catch(() => {});
    return run;
  }

  private readonly database = new KeptDatabase(getConfig(this.env).database, "matchmaker");

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
        interests: JSON.parse(row.interests) as string[],
      }));
  }

  /** Which of `attemptIds` this queue holds. */
  holds(attemptIds: string[]): string[] {
    return this.waiting()
      .map((entry) => entry.attemptId)
      .filter((attemptId) => attemptIds.includes(attemptId));
  }

  queueDepth(): number {
    return this.ctx.storage.sql.exec<{ depth: number }>("select count(*) as depth from queue").one().depth;
  }

  private store(entry: QueueEntry): void {
    this.ctx.storage.sql.exec(
      `insert into queue (user_id, attempt_id, level, display_name, enqueued_at, blocked, avoid, interests)
       values (?, ?, ?, ?, ?, ?, ?, ?)
       on conflict (user_id) do update set attempt_id = excluded.attempt_id, level = excluded.level,
         display_name = excluded.display_name, enqueued_at = excluded.enqueued_at,
         blocked = excluded.blocked, avoid = excluded.avoid, interests = excluded.interests`,
      entry.userId,
      entry.attemptId,
      entry.level,
      entry.displayName,
      entry.enqueuedAt,
      JSON.stringify(entry.blocked),
      JSON.stringify(entry.avoid),
      JSON.stringify(entry.interests),
    );
  }

  private remove(attemptId: string): void {
    this.ctx.storage.sql.exec("delete from queue where attempt_id = ?", attemptId);
  }

  /** Which of `attemptIds` were withdrawn here, in one query for a whole batch. */
  private withdrawnAmong(attemptIds: string[]): Set<string> {
    const rows = this.ctx.storage.sql
      .exec<{ attempt_id: string }>(
        "select attempt_id from withdrawn where attempt_id in (select value from json_each(?))",
        JSON.stringify(attemptIds),
      )
      .toArray();
    return new Set(rows.map((row) => row.attempt_id));
  }

  /** Arrivals waiting for the object's turn; they are served together, in arrival order. */
  private arrivals: Arrival[] = [];

  /**
   * Queues an attempt, or pairs it at once with a compatible waiting user here or nearby (`choosePartner`).
   * An attempt the object holds already is simply still queued: handing it over again is how a
   * request re-attaches an attempt whose first hand-off failed.
   */
  enqueue(entry: QueueEntryFromRpc): Promise<EnqueueResult> {
    return new Promise((settle, fail) => {
      this.arrivals.push({ entry: fromRpc(entry), settle, fail });
      void this.exclusive(() => this.serveArrivals());
    });
  }

  /**
   * Serves every arrival that came while the object was busy in one pass: pairs them, in arrival
   * order, with the waiting users and with each other in memory, then creates all those sessions in one
   * statement. A pair the database refuses, and an arrival nobody here accepts, go through
   * `pairWithSomeone` one at a time, which learns why and also asks the neighbouring levels.
   * Arrivals are settled by attempt id: one user may have a cancelled and a new attempt in one
   * batch, and one attempt may be handed over twice (a phone's request and a laptop's status
   * check both handing it back): it is served once, and every hand-off of it gets its answer.
   */
  private async serveArrivals(): Promise<void> {
    const batch = this.arrivals.splice(0);
    if (batch.length === 0) return;
    const byAttempt = new Map<string, Arrival[]>();
    for (const arrival of batch) {
      const handOffs = byAttempt.get(arrival.entry.attemptId);
      if (handOffs) handOffs.push(arrival);
      else byAttempt.set(arrival.entry.attemptId, [arrival]);
    }
    const arrived = [...byAttempt.values()].map(([first]) => (first as Arrival).entry);
    const settle = (attemptId: string, result: EnqueueResult) => {
      const handOffs = byAttempt.get(attemptId) ?? [];
      byAttempt.delete(attemptId);
      for (const handOff of handOffs) handOff.settle(result);
    };
    try {
      const now = Date.now();
      const queued = this.waiting();
      const candidates: QueueEntry[] = [...queued];
      const taken = new Set<string>();
      const proposals: { arrival: QueueEntry; partner: QueueEntry; pair: ProposedPair }[] = [];
      const alone: QueueEntry[] = [];
      const withdrawn = this.withdrawnAmong(arrived.map((entry) => entry.attemptId));
      for (const entry of arrived) {
        if (queued.some((waiting) => waiting.attemptId === entry.attemptId)) {
          settle(entry.attemptId, { status: "queued" });
          continue;
        }
        if (withdrawn.has(entry.attemptId)) {
          settle(entry.attemptId, { status: "withdrawn" });
          continue;
        }
        const partner = choosePartner(
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
            sharedInterests: sharedInterests(entry.interests, partner.interests),
          },
        });
      }

      const created = await this.database.run((db) =>
        pairMany(
          db,
          proposals.map((proposal) => proposal.pair),
          new Date(now),
        ),
      );
      const retry: QueueEntry[] = alone.filter((entry) => !taken.has(entry.userId));
      // Every session the statement created is logged before anyone is told, so that a pass failing
      // after the commit still logs all of them.
      logMatched(
        proposals
          .filter(({ pair }) => created.has(pair.sessionId))
          .map(({ partner, pair }) => ({
            sessionId: pair.sessionId,
            level: pair.level,
            waitedMs: now - partner.enqueuedAt,
            sharedInterests: pair.sharedInterests.length,
          })),
      );
      for (const { arrival, partner, pair } of proposals) {
        const partnerArrived = byAttempt.has(partner.attemptId);
        if (!created.has(pair.sessionId)) {
          retry.push(arrival);
          if (partnerArrived) retry.push(partner);
          continue;
        }
        const topic = created.get(pair.sessionId) ?? null;
        const { forEntry, forPartner } = this.announce(arrival, partner, pair.sessionId, topic, now);
        if (partnerArrived) {
          this.push(forPartner, partner.userId);
          settle(partner.attemptId, {
            status: "matched",
            sessionId: pair.sessionId,
            partner: forPartner.partner,
            topic,
            sharedInterests: forPartner.shared_interests,
          });
        } else {
          // A partner from this queue: the alarm is rescheduled once, after the whole pass.
          this.remove(partner.attemptId);
          this.push(forPartner, partner.userId);
        }
        this.push(forEntry, arrival.userId);
        settle(arrival.attemptId, {
          status: "matched",
          sessionId: pair.sessionId,
          partner: forEntry.partner,
          topic,
          sharedInterests: forEntry.shared_interests,
        });
      }

      for (const entry of retry.sort((a, b) => a.enqueuedAt - b.enqueuedAt)) {
        if (!byAttempt.has(entry.attemptId)) continue;
        const result = await this.pairWithSomeone(entry, false);
        if (result.status === "queued") this.store(entry);
        settle(entry.attemptId, result);
      }
      await this.rescheduleAlarm();
    } catch (error) {
      for (const handOffs of byAttempt.values()) for (const handOff of handOffs) handOff.fail(error);
    }
  }

  /** The `matched` events both users of a new session are told. */
  private announce(
    entry: QueueEntry,
    partner: QueueEntry,
    sessionId: string,
    topic: MatchedEvent["topic"],
    now: number,
  ) {
    const shared = sharedInterests(entry.interests, partner.interests);
    const forPartner: MatchedEvent = {
      type: "matched",
      attempt_id: partner.attemptId,
      session_id: sessionId,
      partner: { id: entry.userId, display_name: entry.displayName, level: entry.level },
      band: band(partner.level, now - partner.enqueuedAt, this.config.matching),
      topic,
      shared_interests: shared,
    };
    const forEntry: MatchedEvent = {
      type: "matched",
      attempt_id: entry.attemptId,
      session_id: sessionId,
      partner: { id: partner.userId, display_name: partner.displayName, level: partner.level },
      band: band(entry.level, now - entry.enqueuedAt, this.config.matching),
      topic,
      shared_interests: shared,
    };
    return { forEntry, forPartner };
  }

  /**
   * Tries partners for `entry` (`choosePartner`): first here, then in the neighbouring levels' objects.
   * `entry` is in this queue already when `queued` is true (the alarm's widening pass).
   * Answers `withdrawn` when the database says the entry's own attempt is no longer queued.
   */
  private async pairWithSomeone(entry: QueueEntry, queued: boolean): Promise<EnqueueResult> {
    const tried = new Set<string>();
    for (;;) {
      const now = Date.now();
      const local = choosePartner(
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
      const outcome = await this.database.run((db) =>
        pairAttempts(
          db,
          {
            level,
            attempts: [entry.attemptId, partner.entry.attemptId],
            users: [entry.userId, partner.entry.userId],
            sharedInterests: sharedInterests(entry.interests, partner.entry.interests),
          },
          new Date(now),
        ),
      );
      if (outcome.kind === "paired") {
        const { forEntry, forPartner } = this.announce(entry, partner.entry, outcome.sessionId, outcome.topic, now);
        logMatched([
          {
            sessionId: outcome.sessionId,
            level,
            waitedMs: now - partner.entry.enqueuedAt,
            sharedInterests: forEntry.shared_interests.length,
          },
        ]);
        if (queued) this.remove(entry.attemptId);
        await this.tell(partner.home, (home) => home.completeMatch(partner.entry.attemptId, forPartner));
        this.push(forEntry, entry.userId);
        return {
          status: "matched",
          sessionId: outcome.sessionId,
          partner: forEntry.partner,
          topic: outcome.topic,
          sharedInterests: forEntry.shared_interests,
        };
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
      if (gone.includes(partner.entry.userId)) {
        await this.tell(partner.home, (home) => home.drop(partner.entry.attemptId));
      }
      if (gone.includes(entry.userId)) {
        if (queued) this.remove(entry.attemptId);
        return { status: "withdrawn" };
      }
    }
  }

  /** Tells a queue's home what became of its user; after a commit that is best effort. */
  private async tell(home: QueueHome, message: (home: QueueHome) => Promise<void>): Promise<void> {
    try {
      await message(home);
    } catch (error) {
      log("warn", "matchmaker could not tell a queue what became of its user", describeError(error));
    }
  }

  /**
   * The partner `choosePartner` prefers among each neighbouring level's own choice for `entry`,
   * in the objects of the levels within two of `entry`'s.
   * A neighbour is asked only when someone there could accept `entry`: either `entry` has waited
   * long enough to accept that distance itself, or the neighbour's longest-waiting user has. What
   * each neighbour reports is kept for a second, so a burst of arrivals asks once; a user who
   * widens in between is paired from their own side, on their object's alarm. A neighbour that
   * does not answer simply has no offer this time.
   */
  private async findNearby(
    entry: QueueEntry,
    exclude: Set<string>,
  ): Promise<{ entry: QueueEntry; home: QueueHome } | undefined> {
    const now = Date.now();
    const at = levelIndex(entry.level);
    const nearby = levels.filter((level) => level !== entry.level && Math.abs(levelIndex(level) - at) <= 2);
    const offers = await Promise.allSettled(
      nearby.map(async (level) => {
        const distance = Math.abs(levelIndex(level) - at);
        if (bandRadius(now - entry.enqueuedAt, this.config.matching) < distance) {
          let seen = this.neighbourOldest.get(level);
          if (!seen || now - seen.at > neighbourMemoryMs) {
            seen = { oldest: await this.neighbours.matchmaker(level, (stub) => stub.oldestWaiting()), at: now };
            this.neighbourOldest.set(level, seen);
          }
          if (seen.oldest === null || bandRadius(now - seen.oldest, this.config.matching) < distance) return undefined;
        }
        const offer = await this.neighbours.matchmaker(level, (stub) => stub.findPartnerFor(entry, [...exclude]));
        const home: QueueHome = {
          completeMatch: (attemptId, event) =>
            this.neighbours.matchmaker(level, (stub) => stub.completeMatch(attemptId, event)),
          drop: (attemptId) => this.neighbours.matchmaker(level, (stub) => stub.drop(attemptId)),
        };
        return offer ? { entry: fromRpc(offer), home } : undefined;
      }),
    );
    for (const offer of offers) {
      if (offer.status === "rejected")
        log("warn", "a neighbouring matchmaker did not answer", describeError(offer.reason));
    }
    const found = offers.flatMap((offer) => (offer.status === "fulfilled" && offer.value ? [offer.value] : []));
    const chosen = choosePartner(
      entry,
      found.map((offer) => offer.entry),
      now,
      this.config.matching,
    );
    return found.find((offer) => offer.entry === chosen);
  }

  /** What each neighbouring level's object last said about its longest-waiting user. */
  private neighbourOldest = new Map<Level, { oldest: number | null; at: number }>();

  /** When the longest-waiting user here queued, or null when nobody waits. */
  oldestWaiting(): number | null {
    return this.ctx.storage.sql.exec<{ oldest: number | null }>("select min(enqueued_at) as oldest from queue").one()
      .oldest;
  }

  /** Read-only: the user of this queue `choosePartner` gives `candidate` from another level. */
  findPartnerFor(candidate: QueueEntryFromRpc, exclude: string[]): QueueEntry | null {
    const waiting = this.waiting().filter((entry) => !exclude.includes(entry.userId));
    return choosePartner(fromRpc(candidate), waiting, Date.now(), this.config.matching) ?? null;
  }

  /** Another level's object paired one of our users: take them off the queue and tell them (`event`). */
  async completeMatch(
    attemptId: string,
    event: Omit<MatchedEvent, "shared_interests"> & { shared_interests?: string[] },
  ): Promise<void> {
    const [waiting] = this.waiting().filter((entry) => entry.attemptId === attemptId);
    this.remove(attemptId);
    // A neighbour still on the version before interests were kept tells none.
    if (waiting) this.push({ ...event, shared_interests: event.shared_interests ?? [] }, waiting.userId);
    await this.rescheduleAlarm();
  }

  /** Forgets an attempt that is no longer queued. */
  async drop(attemptId: string): Promise<void> {
    this.remove(attemptId);
    await this.rescheduleAlarm();
  }

  /** Pushes a matchmaking event to one user's open sockets. */
  notify(userId: string, event: MatchEvent): number {
    return this.push(event, userId);
  }

  /**
   * Removes an attempt the database already says is cancelled, and remembers it for the
   * attempt's lifetime, so a hand-off of it that arrives late is not queued.
   */
  cancel(attemptId: string): Promise<void> {
    return this.exclusive(async () => {
      this.remove(attemptId);
      this.ctx.storage.sql.exec(
        "insert into withdrawn (attempt_id, withdrawn_at) values (?, ?) on conflict do nothing",
        attemptId,
        Date.now(),
      );
      await this.rescheduleAlarm();
    });
  }

  /**
   * Withdraws the attempt of a user whom reports have just held (the database cancelled it with the
   * hold) and tells their sockets here `expired` with `under_review`, so a waiting screen stops
   * waiting at once rather than at its next status check (docs/moderation.md#automatic-holds).
   */
  async withdrawHeld(attemptId: string, userId: string): Promise<void> {
    await this.cancel(attemptId);
    this.notify(userId, { type: "expired", attempt_id: attemptId, reason: "under_review" });
  }

  /**
   * Expires attempts that waited past their time or whose owner stopped pinging, then gives
   * every user whose band has widened a chance with the neighbouring levels. Run by the alarm
   * and by the cron sweep; running it twice changes nothing the first run did not. Only the
   * attempts this sweep actually expired are told `expired`: one paired meanwhile by a
   * neighbour is just forgotten here.
   */
  sweep(): Promise<{ expired: number; matched: number }> {
    return this.exclusive(async () => {
      const now = Date.now();
      const waiting = this.waiting();
      let expired = 0;
      let matched = 0;
      this.ctx.storage.sql.exec(
        "delete from withdrawn where withdrawn_at < ?",
        now - this.config.matching.attemptTtlMs,
      );
      if (waiting.length > 0) {
        // Without Redis nobody's presence is known: attempts still expire on time, nobody as offline.
        const online = await whoIsOnline(
          getRedis(this.config.redis),
          waiting.map((entry) => entry.userId),
        ).catch((error: unknown) => {
          log("warn", "matchmaker sweep could not read presence", describeError(error));
          return undefined;
        });
        const leaving = waiting
          .map((entry) => ({
            entry,
            reason:
              now - entry.enqueuedAt >= this.config.matching.attemptTtlMs
                ? ("timeout" as const)
                : !online || online.has(entry.userId)
                  ? undefined
                  : ("offline" as const),
          }))
          .filter((item): item is { entry: QueueEntry; reason: "timeout" | "offline" } => item.reason !== undefined);
        if (leaving.length > 0) {
          const resolved = new Set(
            await this.database.run((db) =>
              resolveAttempts(
                db,
                leaving.map((item) => item.entry.attemptId),
                "expired",
                new Date(now),
              ),
            ),
          );
          for (const { entry, reason } of leaving) {
            this.remove(entry.attemptId);
            if (!resolved.has(entry.attemptId)) continue;
            this.push({ type: "expired", attempt_id: entry.attemptId, reason } satisfies ExpiredEvent, entry.userId);
            expired += 1;
          }
        }
        for (const entry of this.waiting()) {
          if (now - entry.enqueuedAt < this.config.matching.widenAdjacentAfterMs) continue;
          const stillHere = this.waiting().some((waitingEntry) => waitingEntry.attemptId === entry.attemptId);
          if (stillHere && (await this.pairWithSomeone(entry, true)).status === "matched") matched += 1;
        }
      }
      await this.rescheduleAlarm();
      return { expired, matched };
    });
  }

  protected override async onAlarm(): Promise<void> {
    await this.sweep();
  }

  /** Wakes for the next widening step, expiry or presence check; sleeps when nobody waits. */
  protected override nextWake(): number | undefined {
    const waiting = this.waiting();
    if (waiting.length === 0) return undefined;
    const now = Date.now();
    const moments = waiting.flatMap((entry) => [
      nextWidening(entry, now, this.config.matching),
      entry.enqueuedAt + this.config.matching.attemptTtlMs,
    ]);
    return Math.min(now + presenceCheckMs, ...moments.filter((moment) => moment !== undefined));
  }
}
