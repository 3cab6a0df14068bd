import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { cspViolations, device, launchWithMicrophone } from "./devices.ts";
import { apiAs, matchedPair, type SignedInTokens } from "./learners.ts";

/*
 * The session as two learners see it live: the same topic card on both screens, changed on both when
 * one asks (asking again at once says when it may change again); the partner typing; ticks on what
 * the partner has read; and the unread count in History.
 */
const apiUrl = inject("apiUrl");
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  browser = await launchWithMicrophone();
});
afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
});

async function onSession(tokens: SignedInTokens, sessionId: string): Promise<Page> {
  const context = await device(browser, apiUrl, tokens);
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`/app/#/session/${sessionId}`);
  return page;
}

const topicHeading = (page: Page) => page.getByTestId("topic").getByRole("heading").textContent();

describe("the topic card", () => {
  it("shows both learners the same topic, and the next one on both screens when one asks", async () => {
    const { aziza, bobur, sessionId } = await matchedPair(apiUrl, "B2");
    const session = await apiAs<{ topic: { title: string } }>(apiUrl, aziza, "GET", `/sessions/${sessionId}`);
    const [azizaPage, boburPage] = [await onSession(aziza, sessionId), await onSession(bobur, sessionId)];
    for (const page of [azizaPage, boburPage]) {
      await page.getByRole("heading", { name: `Topic: ${session.topic.title}` }).waitFor();
      await page.getByText("Your partner is here.").waitFor();
    }

    await azizaPage.getByRole("button", { name: "Next topic" }).click();
    await expect.poll(() => topicHeading(boburPage), { timeout: 10_000 }).not.toBe(`Topic: ${session.topic.title}`);
    expect(await topicHeading(azizaPage)).toBe(await topicHeading(boburPage));

    await boburPage.getByRole("button", { name: "Next topic" }).click();
    await boburPage
      .getByTestId("topic")
      .getByRole("status")
      .filter({ hasText: /A new topic in \d+ s\./ })
      .waitFor();
    for (const page of [azizaPage, boburPage]) expect(await cspViolations(page)).toEqual([]);
  });

  it("shows the partner typing, ticks what the partner has read, and counts the unread in History", async () => {
    const { aziza, bobur, sessionId } = await matchedPair(apiUrl, "B2");
    await apiAs(apiUrl, aziza, "POST", `/sessions/${sessionId}/messages`, { type: "text", text: "Are you there?" });
    // Bobur has not opened the session yet: History counts Aziza's message as unread.
    const boburContext = await device(browser, apiUrl, bobur);
    contexts.push(boburContext);
    const history = await boburContext.newPage();
    await history.goto("/app/#/history");
    await history.getByTestId("unread").filter({ hasText: "1 unread" }).waitFor();

    const azizaPage = await onSession(aziza, sessionId);
    const boburPage = await boburContext.newPage();
    await boburPage.goto(`/app/#/session/${sessionId}`);
    await azizaPage.getByText("Your partner is here.").waitFor();
    // Bobur's screen read Aziza's message: her screen ticks it.
    await azizaPage.locator(".messages li.mine .read-tick").waitFor();

    await boburPage.getByLabel("Message", { exact: true }).pressSequentially("Yes, I am", { delay: 30 });
    await azizaPage.getByRole("status").filter({ hasText: "Bobur is typing…" }).waitFor();
    await boburPage.getByRole("button", { name: "Send" }).click();
    await azizaPage.locator(".messages li.theirs").filter({ hasText: "Yes, I am" }).waitFor();
    for (const page of [azizaPage, boburPage]) expect(await cspViolations(page)).toEqual([]);
  });
});
