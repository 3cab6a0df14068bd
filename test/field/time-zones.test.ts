import { describe, expect, it } from "vitest";
import { bearer, signIn } from "../support/auth";
import { api, postJson, readProblem } from "../support/http";

/*
 * A time zone is stored as its primary IANA name whatever spelling the client sent: any case,
 * links (`GMT`, `US/Eastern`, `Asia/Calcutta`), `Etc/*`, and surrounding spaces that every other
 * text field trims. Names IANA does not have (the runtime's own aliases such as `BST`) are refused.
 */
async function setTimeZone(timezone: string) {
  const user = await signIn();
  const response = await postJson("/me", { timezone }, { method: "PATCH", headers: bearer(user) });
  const stored = (await (await api("/me", { headers: bearer(user) })).json()) as { profile: { timezone: string } };
  return { response, stored: stored.profile.timezone };
}

describe("PATCH /me with a time zone", () => {
  it.each([
    ["america/new_york", "America/New_York"],
    ["ASIA/TASHKENT", "Asia/Tashkent"],
    ["Asia/Tashkent ", "Asia/Tashkent"],
    ["\tEurope/Berlin", "Europe/Berlin"],
    ["GMT", "Etc/GMT"],
    ["Etc/UTC", "UTC"],
    ["utc", "UTC"],
    ["US/Eastern", "America/New_York"],
    ["Asia/Calcutta", "Asia/Kolkata"],
    ["Asia/Kolkata", "Asia/Kolkata"],
    ["Europe/Kiev", "Europe/Kyiv"],
    ["Asia/Saigon", "Asia/Ho_Chi_Minh"],
    ["Etc/GMT+5", "Etc/GMT+5"],
    ["etc/gmt-14", "Etc/GMT-14"],
  ])("stores %j as %j", async (sent, canonical) => {
    const { response, stored } = await setTimeZone(sent);
    expect(response.status).toBe(200);
    expect(stored).toBe(canonical);
  });

  it.each([
    "+05:00",
    "-0500",
    "Mars/Olympus_Mons",
    "Asia/Tash kent",
    "",
    "   ",
    "BST",
    "IST",
    "SST",
    "Factory",
    "SystemV/AST4",
  ])("refuses %j naming the field, and keeps the zone it had", async (sent) => {
    const { response, stored } = await setTimeZone(sent);
    expect(response.status).toBe(400);
    expect((await readProblem(response)).errors?.map((error) => error.field)).toContain("body.timezone");
    expect(stored).toBe("UTC");
  });
});
