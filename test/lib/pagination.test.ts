import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/lib/errors";
import { decodeCursor, encodeCursor, toPage } from "../../src/lib/pagination";

describe("keyset cursors", () => {
  it("round-trip a position and stay opaque and URL-safe", () => {
    const position = { at: new Date("2026-11-26T10:00:00.123Z"), id: "6f1d2a9c-3b4e-4f5a-8b6c-7d8e9f0a1b2c" };
    const cursor = encodeCursor(position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(position);
  });

  it.each(["", "not-a-cursor", btoa('{"at":"yesterday","id":"x"}'), btoa("[]")])(
    "refuse a cursor this API did not issue (%s)",
    (cursor) => {
      expect(() => decodeCursor(cursor)).toThrow(ApiError);
    },
  );

  it("give a next cursor only when a further row exists", async () => {
    const rows = [1, 2, 3].map((n) => ({
      n,
      at: new Date(Date.UTC(2026, 0, n)),
      id: `00000000-0000-4000-8000-00000000000${n}`,
    }));
    const full = await toPage(
      rows,
      2,
      (row) => row,
      (row) => row.n,
    );
    expect(full.items).toEqual([1, 2]);
    expect(decodeCursor(full.next_cursor ?? "")).toEqual({ at: rows[1]?.at, id: rows[1]?.id });
    const whole = await toPage(
      rows,
      3,
      (row) => row,
      (row) => row.n,
    );
    expect(whole.next_cursor).toBeNull();
  });
});
