import { describe, expect, inject, it } from "vitest";
import { browserForFile } from "./devices.ts";
import { apiAs, consoleAdminEmail, matchedPair, type SignedInTokens, signedInAs } from "./learners.ts";

/*
 * The session screen tells the truth when the network does not: a load that failed says so and
 * can be tried again, a device that was offline while many messages came shows them all, and a
 * call hung up while the browser still asks for the microphone gives the microphone back. And a
 * learner in trouble mid-call reports, blocks and leaves with one tap and a reason, and a
 * moderator reads the call's record with the report in the console.
 */
const apiUrl = inject("apiUrl");
const { open, onSession } = browserForFile(apiUrl);

describe("the session screen", () => {
  it("shows a load that failed, and loads when tried again", async () => {
    const { aziza, sessionId } = await matchedPair(apiUrl, "C2");
    const context = await open(aziza);
    let failed = false;
    await context.route(`**/sessions/${sessionId}`, async (route) => {
      if (failed || route.request().method() !== "GET") return route.fallback();
      failed = true;
      await route.fulfill({
        status: 503,
        headers: { "content-type": "application/problem+json", "retry-after": "2" },
        body: JSON.stringify({ status: 503, code: "DEPENDENCY_UNAVAILABLE", detail: "Postgres did not answer." }),
      });
    });
    const page = await onSession(aziza, sessionId, context);
    await page.getByRole("alert").filter({ hasText: "Postgres did not answer." }).waitFor();
    await page.getByRole("button", { name: "Try again" }).click();
    await page.getByRole("heading", { name: "With Bobur (C2)" }).waitFor();
    expect(await page.getByRole("button", { name: "Try again" }).count()).toBe(0);
  });

  it("catches up every message that came while the device was offline, past one page", async () => {
    const { aziza, bobur, sessionId } = await matchedPair(apiUrl, "C2");
    const send = (who: SignedInTokens, text: string) =>
      apiAs(apiUrl, who, "POST", `/sessions/${sessionId}/messages`, {
        type: "text",
        text,
        client_id: crypto.randomUUID(),
      });
    await send(aziza, "Before the tunnel");
    const context = await open(bobur);
    const page = await onSession(bobur, sessionId, context);
    await page.getByText("Before the tunnel").waitFor();

    await context.setOffline(true);
    await page.evaluate(() => {
      for (const socket of (window as unknown as { gaplashSockets: WebSocket[] }).gaplashSockets) {
        socket.close(4000, "network lost");
      }
    });
    // 110 messages, more than the catch-up's page of 100, from both (each within the send limit).
    for (let n = 1; n <= 55; n += 1) {
      await send(aziza, `From Aziza ${n}`);
      await send(bobur, `From Bobur's phone ${n}`);
    }
    await context.setOffline(false);
    await page.getByText("From Aziza 55", { exact: true }).waitFor({ timeout: 20_000 });
    await expect.poll(() => page.locator("ol.messages > li").count(), { timeout: 10_000 }).toBe(111);
    await page.getByText("From Aziza 1", { exact: true }).waitFor();
  });

  it("gives the microphone back when the call is hung up while the browser still asks for it", async () => {
    const { aziza, bobur, sessionId } = await matchedPair(apiUrl, "C2");
    const context = await open(aziza);
    // A permission prompt that takes a moment to be accepted.
    await context.addInitScript(() => {
      const streams: MediaStream[] = [];
      const prompt = { asked: false };
      Object.assign(window, { gaplashStreams: streams, gaplashPrompt: prompt });
      const ask = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
      navigator.mediaDevices.getUserMedia = async (constraints) => {
        prompt.asked = true;
        const stream = await ask(constraints);
        streams.push(stream);
        await new Promise((resolve) => setTimeout(resolve, 1500));
        return stream;
      };
    });
    const page = await onSession(aziza, sessionId, context);
    const partner = await onSession(bobur, sessionId);
    await page.getByText("Your partner is here.").waitFor();
    await page.getByRole("button", { name: "Call", exact: true }).click();
    // Hung up while the browser is still asking for the microphone.
    await page.waitForFunction(() => (window as unknown as { gaplashPrompt: { asked: boolean } }).gaplashPrompt.asked);
    await page.getByRole("button", { name: "Hang up" }).click();
    await page.waitForTimeout(2500);
    const tracks = await page.evaluate(() =>
      (window as unknown as { gaplashStreams: MediaStream[] }).gaplashStreams.flatMap((stream) =>
        stream.getTracks().map((track) => track.readyState),
      ),
    );
    expect(tracks.length).toBeGreaterThan(0);
    expect(tracks.every((state) => state === "ended")).toBe(true);
    expect(await partner.getByText("Your partner is calling.").count()).toBe(0);
    const session = await apiAs<{ calls: unknown[] }>(apiUrl, aziza, "GET", `/sessions/${sessionId}`);
    expect(session.calls).toEqual([]);
  });

  it("keeps each name and message in its own direction: an Arabic name and text do not reorder what follows", async () => {
    const { aziza, bobur, sessionId } = await matchedPair(apiUrl, "B1");
    await apiAs(apiUrl, bobur, "PATCH", "/me", { display_name: "علي 2" });
    await apiAs(apiUrl, bobur, "POST", `/sessions/${sessionId}/messages`, {
      type: "text",
      text: "مرحبا 42",
      client_id: crypto.randomUUID(),
    });
    const page = await onSession(aziza, sessionId);
    const message = page.locator("li.theirs").filter({ hasText: "مرحبا 42" });
    await message.waitFor();
    // Each is a bidi isolate of its own (docs/field-rules.md), so "2" stays with the name and the
    // colon after it, and "42" with the text.
    expect(await message.locator("bdi").allTextContents()).toEqual(["علي 2", "مرحبا 42"]);
  });

  it("reports and leaves during a call: one tap and a reason, then home, the partner blocked and told", async () => {
    const { aziza, bobur, sessionId } = await matchedPair(apiUrl, "C2");
    const page = await onSession(aziza, sessionId);
    const partner = await onSession(bobur, sessionId);
    await page.getByText("Your partner is here.").waitFor();
    await page.getByRole("button", { name: "Call", exact: true }).click();
    await partner.getByRole("button", { name: "Answer" }).click();
    await page.getByTestId("call-state").filter({ hasText: "Connected" }).waitFor({ timeout: 30_000 });

    await page.getByRole("button", { name: "Report and leave" }).click();
    const send = page.getByRole("button", { name: "Send report and leave" });
    // One choice, and none made for the learner.
    expect(await send.isDisabled()).toBe(true);
    await page.getByRole("radio", { name: "Harassment" }).check();
    await send.click();

    await page.getByRole("heading", { name: "Salom, Aziza" }).waitFor();
    await partner.getByText("This session has ended.").waitFor();
    await partner.getByText("Call ended (reported).").waitFor();
    const blocks = await apiAs<{ items: { user_id: string }[] }>(apiUrl, aziza, "GET", "/me/blocks");
    expect(blocks.items.map((item) => item.user_id)).toEqual([bobur.user.id]);
    await expect
      .poll(async () => {
        const session = await apiAs<{ status: string; calls: { end_reason: string | null }[] }>(
          apiUrl,
          bobur,
          "GET",
          `/sessions/${sessionId}`,
        );
        return [session.status, ...session.calls.map((call) => call.end_reason)];
      })
      .toEqual(["ended", "reported"]);

    // A moderator reads the report with its call record: Aziza started the call, it connected, and
    // it ended as reported.
    const admin = await signedInAs(apiUrl, consoleAdminEmail);
    const queue = await apiAs<{ items: { id: string; target: { id: string } | null }[] }>(
      apiUrl,
      admin,
      "GET",
      "/admin/reports?status=open&limit=100",
    );
    const filed = queue.items.find((item) => item.target?.id === bobur.user.id);
    const moderator = await (await open(admin)).newPage();
    await moderator.goto(`/admin/#/reports/${filed?.id}`);
    const call = moderator.getByRole("table", { name: "Calls in this session, oldest first" }).getByRole("row").nth(1);
    await call.waitFor();
    const cells = await call.getByRole("cell").allTextContents();
    expect(cells[0]).toBe("the reporter");
    expect(cells[2]).not.toBe("never");
    expect(cells[4]).toBe("reported");
  });
});
