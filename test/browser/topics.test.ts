import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { cspViolations, device, launchWithMicrophone } from "./devices.ts";
import { apiAs, matchedPair, type SignedInTokens } from "./learners.ts";

/*
 * The topic card as two learners see it: the same topic on both screens, and when one asks for
 * the next, both see it change; asking again at once says when the next change may come.
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
});
