import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from "vitest";
import { cspViolations, device, hearing, launchWithMicrophone } from "./devices.ts";
import { apiAs, matchedPair, type SignedInTokens } from "./learners.ts";

/*
 * Calls as they happen off the happy path, in real Chromium against the real stack: both learners
 * press Call at once, the callee has a phone and a laptop, the phone's network drops mid-call and
 * comes back, and a voice note's answer is lost and it is sent again. What the screens said is
 * then checked against the calls the API recorded and the time it says they spoke.
 */
const apiUrl = inject("apiUrl");
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  browser = await launchWithMicrophone();
});
afterAll(async () => {
  await browser?.close();
});

interface RecordedCall {
  id: string;
  started_by: string | null;
  connected_at: string | null;
  ended_at: string | null;
  duration_sec: number | null;
  end_reason: string | null;
}

async function onSession(tokens: SignedInTokens, sessionId: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await device(browser, apiUrl, tokens);
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`/app/#/session/${sessionId}`);
  await page.getByRole("heading", { name: /^With / }).waitFor({ timeout: 15_000 });
  return { context, page };
}

const callState = (page: Page) => page.getByTestId("call-state");
const connected = (page: Page) => callState(page).filter({ hasText: "Connected" }).waitFor({ timeout: 30_000 });
const elsewhere = (page: Page) =>
  callState(page).filter({ hasText: "on another of your devices" }).waitFor({ timeout: 15_000 });

async function recordedCalls(tokens: SignedInTokens, sessionId: string) {
  return apiAs<{ calls: RecordedCall[]; spoken_sec: number }>(apiUrl, tokens, "GET", `/sessions/${sessionId}`);
}

describe("a call off the happy path", () => {
  it("glare, a second device of the callee, a network drop mid-call and a retried voice note: the records say what happened", async () => {
    const { aziza, bobur, sessionId } = await matchedPair(apiUrl, "A2");
    const a = await onSession(aziza, sessionId);
    const phone = await onSession(bobur, sessionId);
    const laptop = await onSession(bobur, sessionId);
    for (const { page } of [a, phone, laptop]) await page.getByText("Your partner is here.").waitFor();
    onTestFailed(async () => {
      for (const [name, page] of [
        ["aziza", a.page],
        ["phone", phone.page],
        ["laptop", laptop.page],
      ] as const) {
        await page.screenshot({ path: `test/browser/screenshots/calls-failure-${name}.png`, fullPage: true });
      }
    });

    // Both press Call at once: one call, between Aziza and the phone; the laptop is told.
    await Promise.all([
      a.page.getByRole("button", { name: "Call", exact: true }).click(),
      phone.page.getByRole("button", { name: "Call", exact: true }).click(),
    ]);
    await Promise.all([connected(a.page), connected(phone.page), elsewhere(laptop.page)]);
    const firstConnected = Date.now();
    expect(await hearing(a.page)).toBe(true);
    expect(await hearing(phone.page)).toBe(true);

    // The phone's network drops for 3 s: its socket goes, then comes back as the same device.
    await phone.context.setOffline(true);
    await phone.page.evaluate(() => {
      for (const socket of (window as unknown as { gaplashSockets: WebSocket[] }).gaplashSockets) {
        socket.close(4000, "network lost");
      }
    });
    await phone.page.waitForTimeout(3000);
    await phone.context.setOffline(false);
    // Past the 15 s the room waits for a device of the call: it is still going, and still heard.
    await phone.page.waitForTimeout(14_000);
    await connected(phone.page);
    const sockets = await phone.page.evaluate(() =>
      (window as unknown as { gaplashSockets: WebSocket[] }).gaplashSockets
        .filter((socket) => socket.url.includes("/sessions/"))
        .map((socket) => socket.readyState),
    );
    expect(sockets.length, "the phone reconnected").toBeGreaterThan(1);
    expect(sockets.at(-1)).toBe(WebSocket.OPEN);
    expect(await hearing(a.page)).toBe(true);
    expect((await recordedCalls(aziza, sessionId)).calls.filter((call) => call.ended_at === null)).toHaveLength(1);

    await a.page.getByRole("button", { name: "Hang up" }).click();
    const firstEnded = Date.now();
    for (const page of [a.page, phone.page]) await page.getByText(/Call ended/).waitFor();
    await expect.poll(() => callState(laptop.page).count()).toBe(0);

    // Aziza calls again: both of Bobur's devices ring; the laptop answers; the phone leaves the screen.
    await a.page.getByRole("button", { name: "Call", exact: true }).click();
    for (const page of [phone.page, laptop.page]) await page.getByText("Your partner is calling.").waitFor();
    await laptop.page.getByRole("button", { name: "Answer" }).click();
    await Promise.all([connected(a.page), connected(laptop.page), elsewhere(phone.page)]);
    const secondConnected = Date.now();
    await phone.page.goto("/app/#/home");
    await phone.page.getByRole("heading", { name: "Salom, Bobur" }).waitFor();
    expect(await hearing(laptop.page, 2500)).toBe(true);
    await connected(a.page);
    await laptop.page.getByRole("button", { name: "Hang up" }).click();
    const secondEnded = Date.now();
    await a.page.getByText(/Call ended/).waitFor();

    // A voice note whose answer is lost, sent again: stored and shown once.
    let answerLost = false;
    await a.page.route("**/sessions/*/messages", async (route) => {
      if (answerLost || route.request().method() !== "POST") return route.fallback();
      answerLost = true;
      await route.fetch();
      await route.abort("connectionreset");
    });
    await a.page.getByRole("button", { name: "Record voice note" }).click();
    await a.page.waitForTimeout(1000);
    await a.page.getByRole("button", { name: "Stop and send voice note" }).click();
    await a.page.getByRole("button", { name: "Send voice note again" }).click();
    await expect.poll(() => a.page.getByRole("button", { name: "Send voice note again" }).count()).toBe(0);
    await laptop.page.getByLabel("Voice note").first().waitFor();
    await laptop.page.waitForTimeout(500);
    expect(await laptop.page.getByLabel("Voice note").count()).toBe(1);
    expect(await a.page.getByLabel("Voice note").count()).toBe(1);
    const messages = await apiAs<{ items: { type: string }[] }>(
      apiUrl,
      bobur,
      "GET",
      `/sessions/${sessionId}/messages`,
    );
    expect(messages.items.filter((message) => message.type === "voice")).toHaveLength(1);

    // The records: the glare's yielded call (if the room had started it), then the two calls, their
    // spoken time as the screens showed it (within the reports' and the clicks' latency).
    await expect
      .poll(async () => (await recordedCalls(aziza, sessionId)).calls.every((call) => call.ended_at !== null))
      .toBe(true);
    const { calls, spoken_sec } = await recordedCalls(aziza, sessionId);
    const yielded = calls.filter((call) => call.end_reason === "glare");
    expect(yielded.length).toBeLessThanOrEqual(1);
    expect(yielded.every((call) => call.connected_at === null && call.duration_sec === 0)).toBe(true);
    const talked = calls.filter((call) => call.end_reason !== "glare");
    expect(talked.map((call) => call.end_reason)).toEqual(["hangup", "hangup"]);
    expect(talked[1]?.started_by).toBe(aziza.user.id);
    const seen = [(firstEnded - firstConnected) / 1000, (secondEnded - secondConnected) / 1000];
    talked.forEach((call, index) => {
      expect(call.duration_sec).toBeGreaterThanOrEqual(Math.floor(seen[index] ?? 0) - 2);
      expect(call.duration_sec).toBeLessThanOrEqual(Math.ceil(seen[index] ?? 0) + 2);
    });
    expect(spoken_sec).toBe(talked.reduce((sum, call) => sum + (call.duration_sec ?? 0), 0));

    for (const page of [a.page, phone.page, laptop.page]) expect(await cspViolations(page)).toEqual([]);
    for (const context of contexts) await context.close();
  });
});

describe("a hang-up pressed while the socket is down", () => {
  it("reaches the room once the socket is back: the call ends for both, and its record says so", async () => {
    const { aziza, bobur, sessionId } = await matchedPair(apiUrl, "A2");
    const a = await onSession(aziza, sessionId);
    const b = await onSession(bobur, sessionId);
    for (const { page } of [a, b]) await page.getByText("Your partner is here.").waitFor();
    await a.page.getByRole("button", { name: "Call", exact: true }).click();
    await b.page.getByRole("button", { name: "Answer" }).click();
    await Promise.all([connected(a.page), connected(b.page)]);

    await b.context.setOffline(true);
    await b.page.evaluate(() => {
      for (const socket of (window as unknown as { gaplashSockets: WebSocket[] }).gaplashSockets) {
        socket.close(4000, "network lost");
      }
    });
    await b.page.getByRole("button", { name: "Hang up" }).click();
    await b.page.getByText(/Call ended/).waitFor();
    await b.context.setOffline(false);
    await a.page.getByText("Call ended (hangup).").waitFor({ timeout: 20_000 });
    const { calls } = await apiAs<{ calls: RecordedCall[] }>(apiUrl, aziza, "GET", `/sessions/${sessionId}`);
    expect(calls.map((call) => call.end_reason)).toEqual(["hangup"]);
    for (const context of [a.context, b.context]) await context.close();
  });
});

describe("a decline pressed while the socket is down", () => {
  it("reaches the room once the socket is back: the caller stops ringing, and the record says declined", async () => {
    const { aziza, bobur, sessionId } = await matchedPair(apiUrl, "A2");
    const a = await onSession(aziza, sessionId);
    const b = await onSession(bobur, sessionId);
    for (const { page } of [a, b]) await page.getByText("Your partner is here.").waitFor();
    await a.page.getByRole("button", { name: "Call", exact: true }).click();
    await b.page.getByText("Your partner is calling.").waitFor();
    await b.context.setOffline(true);
    await b.page.evaluate(() => {
      for (const socket of (window as unknown as { gaplashSockets: WebSocket[] }).gaplashSockets) {
        socket.close(4000, "network lost");
      }
    });
    await b.page.getByRole("button", { name: "Decline" }).click();
    await b.context.setOffline(false);
    await a.page.getByText("Call ended (declined).").waitFor({ timeout: 20_000 });
    const { calls } = await apiAs<{ calls: RecordedCall[] }>(apiUrl, aziza, "GET", `/sessions/${sessionId}`);
    expect(calls.map((call) => call.end_reason)).toEqual(["declined"]);
    for (const context of [a.context, b.context]) await context.close();
  });
});
