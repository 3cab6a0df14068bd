import { describe, expect, it } from "vitest";
import type { MatchingConfig } from "../../src/config";
import { choosePartner, type QueueEntry, sharedInterests } from "../../src/services/matching";

const rules: MatchingConfig = {
  widenAdjacentAfterMs: 30_000,
  widenTwoAfterMs: 90_000,
  attemptTtlMs: 300_000,
  interestFairnessMs: 20_000,
};
const now = 1_000_000;

/** A learner waiting at A2 for `waitedMs` with `interests`. */
function waiting(userId: string, waitedMs: number, interests: string[], extra: Partial<QueueEntry> = {}): QueueEntry {
  return {
    userId,
    attemptId: `${userId}-attempt`,
    level: "A2",
    displayName: null,
    enqueuedAt: now - waitedMs,
    blocked: [],
    avoid: [],
    interests,
    ...extra,
  };
}

const arrival = waiting("arrival", 0, ["films", "football", "music"]);

describe("choosing a partner (SPEC §10)", () => {
  it("prefers the compatible learner who shares the most interests over the longest-waiting", () => {
    const queue = [
      waiting("oldest", 15_000, ["cooking"]),
      waiting("one", 10_000, ["music"]),
      waiting("two", 5_000, ["football", "music", "travel"]),
    ];
    expect(choosePartner(arrival, queue, now, rules)?.userId).toBe("two");
  });

  it("of learners who share as many, takes the longest-waiting", () => {
    const queue = [waiting("newer", 2_000, ["music"]), waiting("older", 9_000, ["football"])];
    expect(choosePartner(arrival, queue, now, rules)?.userId).toBe("older");
  });

  it("is strict FIFO once a compatible learner has waited the fairness bound, however little they share", () => {
    const queue = [waiting("overdue", 20_000, []), waiting("kindred", 1_000, ["films", "football", "music"])];
    expect(choosePartner(arrival, queue, now, rules)?.userId).toBe("overdue");
    // Someone overdue but incompatible holds nobody back.
    const blocked = [waiting("overdue", 25_000, [], { blocked: ["arrival"] }), queue[1] as QueueEntry];
    expect(choosePartner(arrival, blocked, now, rules)?.userId).toBe("kindred");
  });

  it("is plain FIFO with a bound of 0, and for an arrival with no interests", () => {
    const queue = [waiting("kindred", 1_000, ["music"]), waiting("first", 3_000, ["art"])];
    expect(choosePartner(arrival, queue, now, { ...rules, interestFairnessMs: 0 })?.userId).toBe("first");
    expect(choosePartner(waiting("blank", 0, []), queue, now, rules)?.userId).toBe("first");
    // An entry stamped a few ms ahead of this object's clock (another machine's) changes nothing.
    const ahead = [waiting("first", -5, ["art"]), waiting("kindred", -10, ["music"])];
    expect(choosePartner(arrival, ahead, now, { ...rules, interestFairnessMs: 0 })?.userId).toBe("first");
  });

  it("never offers an incompatible learner, whatever they share", () => {
    const queue = [
      waiting("avoided", 1_000, ["films", "football", "music"], { avoid: ["arrival"] }),
      waiting("far", 1_000, ["films", "football", "music"], { level: "C1" }),
    ];
    expect(choosePartner(arrival, queue, now, rules)).toBeUndefined();
  });
});

describe("shared interests", () => {
  it("are the same list, alphabetical, whichever side asks", () => {
    const a = ["travel", "music", "art"];
    const b = ["art", "films", "travel"];
    expect(sharedInterests(a, b)).toEqual(["art", "travel"]);
    expect(sharedInterests(b, a)).toEqual(["art", "travel"]);
    expect(sharedInterests(a, [])).toEqual([]);
  });
});
