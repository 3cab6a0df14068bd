import type { Page } from "playwright-core";
import { describe, expect, inject, it } from "vitest";
import { browserForFile, cspViolations } from "./devices.ts";
import { apiAs, matchedPair } from "./learners.ts";

/*
 * The session as two learners see it live: the same topic card on both screens, changed on both when
 * one asks (asking again at once says when it may change again); the partner typing; ticks on what
 * the partner has read; the unread count in History; an edit and a delete on both screens; and the
 * correction a partner made, kept in the corrected learner's notebook.
 */
const apiUrl = inject("apiUrl");
const { open, onSession } = browserForFile(apiUrl);

const topicHeading = (page: Page) => page.getByTestId("topic").getByRole("heading").textContent();

describe("the practice session", () => {
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
    const boburContext = await open(bobur);
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

  it("keeps the correction a partner made in the corrected learner's notebook", async () => {
    const { aziza, bobur, sessionId } = await matchedPair(apiUrl, "B2");
    await apiAs(apiUrl, aziza, "POST", `/sessions/${sessionId}/messages`, { type: "text", text: "I goes home" });
    const boburPage = await onSession(bobur, sessionId);
    await boburPage.getByRole("button", { name: "Correct “I goes home”" }).click();
    await boburPage.getByLabel("Corrected text").fill("I go home");
    await boburPage.getByRole("button", { name: "Send" }).click();
    await boburPage.locator(".messages li.mine").filter({ hasText: "I go home" }).waitFor();

    const context = await open(aziza);
    const notebook = await context.newPage();
    await notebook.goto("/app/#/home");
    await notebook.getByRole("link", { name: "My corrections" }).click();
    const entry = notebook.getByTestId("correction");
    await entry.waitFor();
    expect(await entry.locator("s").textContent()).toBe("I goes home");
    expect(await entry.locator("strong").textContent()).toBe("I go home");
    expect(await entry.textContent()).toContain("Bobur");
    expect(await cspViolations(notebook)).toEqual([]);
  });

  it("changes an edited message on both screens, and turns a deleted one into a tombstone on both", async () => {
    const { aziza, bobur, sessionId } = await matchedPair(apiUrl, "B2");
    const [azizaPage, boburPage] = [await onSession(aziza, sessionId), await onSession(bobur, sessionId)];
    await azizaPage.getByText("Your partner is here.").waitFor();
    const message = azizaPage.getByLabel("Message", { exact: true });
    await message.fill("I has a cat");
    await azizaPage.getByRole("button", { name: "Send" }).click();
    await boburPage.locator(".messages li.theirs").filter({ hasText: "I has a cat" }).waitFor();

    await azizaPage.getByRole("button", { name: "Edit “I has a cat”" }).click();
    await azizaPage.getByLabel("Edited text").fill("I have a cat");
    await azizaPage.getByRole("button", { name: "Send" }).click();
    for (const page of [azizaPage, boburPage]) {
      await page.locator(".messages li").filter({ hasText: "I have a cat" }).filter({ hasText: "(edited)" }).waitFor();
    }

    azizaPage.once("dialog", (dialog) => void dialog.accept());
    await azizaPage.getByRole("button", { name: "Delete “I have a cat”" }).click();
    for (const page of [azizaPage, boburPage]) {
      await page.locator(".messages li").filter({ hasText: "This message was deleted." }).waitFor();
      expect(await page.locator(".messages li").filter({ hasText: "I have a cat" }).count()).toBe(0);
      expect(await cspViolations(page)).toEqual([]);
    }
  });
});
