import { afterAll, describe, expect, it } from "vitest";
import { bearer } from "../support/auth";
import { testDatabase } from "../support/db";
import { api } from "../support/http";
import { learner } from "../support/match";
import { pairInSession, send } from "../support/sessions";

const handle = testDatabase();
afterAll(() => handle.close());

/** The database statements a response reports in its standard Server-Timing header. */
function queries(response: Response): number {
  const match = /db;desc="(\d+) queries"/.exec(response.headers.get("server-timing") ?? "");
  if (!match) throw new Error(`no Server-Timing: ${response.headers.get("server-timing")}`);
  return Number(match[1]);
}

describe("database round trips on the hot routes", () => {
  it("is one statement for GET /me, a send, a message page and a search, none for /health", async () => {
    const { a, sessionId } = await pairInSession(handle);
    expect(queries(await api("/health"))).toBe(0);
    expect(queries(await api("/me", { headers: bearer(a) }))).toBe(1);
    expect(queries(await send(a, sessionId, { type: "text", text: "counting statements" }))).toBe(1);
    expect(queries(await api(`/sessions/${sessionId}/messages`, { headers: bearer(a) }))).toBe(1);
    expect(queries(await api("/messages/search?q=counting", { headers: bearer(a) }))).toBe(1);
  });

  it("is one statement for a match attempt: the checks and the new attempt together", async () => {
    const learnerA = await learner("C2", "counted");
    const response = await api("/match/attempt", {
      method: "POST",
      headers: { ...bearer(learnerA), "content-type": "application/json" },
      body: JSON.stringify({ desired_level: "C2" }),
    });
    expect(response.status).toBe(202);
    expect(queries(response)).toBe(1);
    await api("/match/attempt", { method: "DELETE", headers: bearer(learnerA) });
  });

  it("is two statements when a send has to explain why nothing was stored", async () => {
    const { a, sessionId } = await pairInSession(handle);
    const clientId = crypto.randomUUID();
    await send(a, sessionId, { type: "text", text: "once", client_id: clientId });
    expect(queries(await send(a, sessionId, { type: "text", text: "once", client_id: clientId }))).toBe(2);
  });
});
