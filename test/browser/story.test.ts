import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from "vitest";
import { cspViolations, device, hearing, launchWithMicrophone } from "./devices.ts";

/*
 * The seed's last step, "real smoke test (2 devices) → match, chat, end", in real Chromium: two
 * browser contexts are two learners' phones, each with a fake microphone, using the web client
 * the Worker serves at /app/ against the real local stack (coturn included).
 */

const apiUrl = inject("apiUrl");
const screenshots = join(import.meta.dirname, "screenshots");

interface Learner {
  name: string;
  page: Page;
  context: BrowserContext;
}

let browser: Browser;
let aziza: Learner;
let bobur: Learner;
let step = 0;

async function shot(learner: Learner, what: string): Promise<void> {
  step += 1;
  const file = `${String(step).padStart(2, "0")}-${learner.name.toLowerCase()}-${what}.png`;
  await learner.page.screenshot({ path: join(screenshots, file), fullPage: true });
}

async function open(name: string): Promise<Learner> {
  const context = await device(browser, apiUrl);
  const page = await context.newPage();
  await page.goto("/app/");
  return { name, page, context };
}

async function signIn(learner: Learner, level: string): Promise<void> {
  const { page } = learner;
  const email = `${learner.name.toLowerCase()}-${crypto.randomUUID()}@example.com`;
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Send me a code" }).click();
  await page.getByRole("link", { name: /local mailbox/ }).waitFor();
  const mailbox = (await (await page.request.get(`/dev/mailbox?email=${encodeURIComponent(email)}`)).json()) as {
    items: { text?: string }[];
  };
  const code = /\b(\d{6})\b/.exec(mailbox.items[0]?.text ?? "")?.[1] ?? "";
  await page.getByLabel("6-digit code").fill(code);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Your profile" }).waitFor();
  await page.getByLabel("Display name").fill(learner.name);
  await page.getByLabel("Your level").selectOption(level);
  expect(await page.getByLabel(/Time zone/).inputValue()).not.toBe("");
  await shot(learner, "profile");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("heading", { name: `Salom, ${learner.name}` }).waitFor();
}

/** The type of the local candidate the live call's selected pair uses: host, srflx or relay. */
async function selectedCandidateType(page: Page): Promise<string | undefined> {
  return page.evaluate(async () => {
    const connections = (window as unknown as { gaplashConnections: RTCPeerConnection[] }).gaplashConnections;
    const pc = connections.findLast((candidate) => candidate.connectionState === "connected");
    if (!pc) return undefined;
    const stats = [...(await pc.getStats()).values()];
    const transport = stats.find((report) => report.type === "transport");
    const pair = stats.find((report) => report.id === transport?.selectedCandidatePairId);
    return stats.find((report) => report.id === pair?.localCandidateId)?.candidateType;
  });
}

async function talk(caller: Learner, callee: Learner, label: string): Promise<void> {
  await caller.page.getByRole("button", { name: "Call", exact: true }).click();
  await callee.page.getByRole("button", { name: "Answer" }).click();
  for (const learner of [caller, callee]) {
    await learner.page.getByTestId("call-state").filter({ hasText: "Connected" }).waitFor({ timeout: 30_000 });
  }
  expect(await hearing(callee.page, 2000)).toBe(true);
  await shot(callee, `call-${label}`);
}

async function hangUp(caller: Learner, callee: Learner): Promise<void> {
  await caller.page.getByRole("button", { name: "Hang up" }).click();
  for (const learner of [caller, callee]) await learner.page.getByText(/Call ended/).waitFor();
}

beforeAll(async () => {
  await mkdir(screenshots, { recursive: true });
  browser = await launchWithMicrophone();
  aziza = await open("Aziza");
  bobur = await open("Bobur");
});

afterAll(async () => {
  await browser?.close();
});

describe("two learners on two devices", () => {
  it("sign in, match, chat, send a voice note, correct, call directly and through TURN, end, and see their streak", async () => {
    onTestFailed(async () => {
      for (const learner of [aziza, bobur]) await shot(learner, "failure");
    });
    await shot(aziza, "sign-in");
    await signIn(aziza, "B2");
    await signIn(bobur, "B2");

    await aziza.page.getByRole("button", { name: "Find a partner" }).click();
    await aziza.page.getByText(/Looking for a partner at B2/).waitFor();
    await shot(aziza, "waiting");
    await bobur.page.getByRole("button", { name: "Find a partner" }).click();
    for (const learner of [aziza, bobur]) {
      await learner.page.getByRole("heading", { name: /^With / }).waitFor();
    }
    await aziza.page.getByText("Your partner is here.").waitFor();

    // Text both ways, live.
    await aziza.page.getByLabel("Message", { exact: true }).fill("Salom! Men kecha bozorga bordim.");
    await aziza.page.getByRole("button", { name: "Send", exact: true }).click();
    await bobur.page.getByText("Salom! Men kecha bozorga bordim.").waitFor();
    await bobur.page.getByLabel("Message", { exact: true }).fill("Hello! I goed to the market yesterday.");
    await bobur.page.getByRole("button", { name: "Send", exact: true }).click();
    await aziza.page.getByText("Hello! I goed to the market yesterday.").waitFor();

    // A send whose answer is lost on the way back, sent again: stored and shown once.
    let answerLost = false;
    await aziza.page.route("**/sessions/*/messages", async (route) => {
      if (answerLost || route.request().method() !== "POST") return route.fallback();
      answerLost = true;
      await route.fetch();
      await route.abort("connectionreset");
    });
    await aziza.page.getByLabel("Message", { exact: true }).fill("Are you still there?");
    await aziza.page.getByRole("button", { name: "Send", exact: true }).click();
    await bobur.page.getByText("Are you still there?").waitFor();
    await aziza.page.getByRole("button", { name: "Send", exact: true }).click();
    await expect.poll(() => aziza.page.getByLabel("Message", { exact: true }).inputValue()).toBe("");
    await aziza.page.waitForTimeout(500);
    for (const learner of [aziza, bobur]) {
      expect(await learner.page.getByText("Are you still there?").count()).toBe(1);
    }
    await aziza.page.unroute("**/sessions/*/messages");

    // A correction, linked to the message it corrects.
    await aziza.page.getByRole("button", { name: /Correct “Hello! I goed/ }).click();
    await aziza.page.getByLabel("Corrected text").fill("Hello! I went to the market yesterday.");
    await aziza.page.getByRole("button", { name: "Send", exact: true }).click();
    await bobur.page.getByText(/corrects “Hello! I goed to the market yesterday.”/).waitFor();
    await shot(bobur, "correction");

    // A voice note: recorded from the (fake) microphone, uploaded, sent, and played on the other side.
    await aziza.page.getByRole("button", { name: "Record voice note" }).click();
    await aziza.page.waitForTimeout(1500);
    await aziza.page.getByRole("button", { name: "Stop and send voice note" }).click();
    const note = bobur.page.getByLabel("Voice note").last();
    await note.waitFor();
    const played = await note.evaluate(async (audio: HTMLAudioElement) => {
      await audio.play();
      await new Promise((resolve) => setTimeout(resolve, 700));
      return audio.currentTime;
    });
    expect(played).toBeGreaterThan(0);
    await shot(bobur, "voice-note");

    // A call, directly between the two, then relayed by the local TURN server only.
    await talk(aziza, bobur, "direct");
    await hangUp(aziza, bobur);
    for (const learner of [aziza, bobur]) {
      await learner.page.evaluate(() => localStorage.setItem("gaplash.iceTransportPolicy", "relay"));
    }
    await talk(bobur, aziza, "relay");
    expect(await selectedCandidateType(aziza.page)).toBe("relay");
    await shot(aziza, "session");
    await hangUp(bobur, aziza);

    // Both end with a rating; home shows the streak and the first badge.
    for (const learner of [aziza, bobur]) {
      await learner.page.getByLabel("5 stars").check();
      await learner.page.getByRole("button", { name: /End session|Save rating/ }).click();
      await learner.page.getByRole("heading", { name: `Salom, ${learner.name}` }).waitFor();
      await expect.poll(() => learner.page.getByTestId("streak").textContent()).toBe("1");
      await learner.page.getByRole("list", { name: "Badges" }).getByText("FIRST_CHAT").waitFor();
    }
    await shot(aziza, "home");

    // All of it ran under the pages' Content-Security-Policy without one violation, and the
    // static files the asset worker serves by itself are not sniffed or framed either.
    for (const learner of [aziza, bobur]) {
      expect(await cspViolations(learner.page)).toEqual([]);
    }
    const page = await aziza.page.request.get("/app/");
    expect(page.headers()["content-security-policy"]).toContain("script-src 'self'");
    const script = await aziza.page.request.get("/app/app.js");
    expect(script.headers()["x-content-type-options"]).toBe("nosniff");
    expect(script.headers()["x-frame-options"]).toBe("DENY");
  });
});
