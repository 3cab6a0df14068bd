import { describe, expect, inject, it } from "vitest";
import { browserForFile } from "./devices.ts";
import { apiAs, consoleAdminEmail, matchedPair, type SignedInTokens, signedInAs, storeTokens } from "./learners.ts";

/*
 * A suspended learner is told, in the web client, since when and why (issue #23, "users are
 * told"): the app open when a moderator suspends them signs them out at its next request and says
 * so on the sign-in screen, and signing in again says the same; never who reported them.
 */
const apiUrl = inject("apiUrl");
const { open } = browserForFile(apiUrl);

/** `learner` at home in the web client, then suspended by the admin directly. */
async function suspendedAtHome(learner: SignedInTokens) {
  const admin = await signedInAs(apiUrl, consoleAdminEmail);
  const context = await open(learner);
  const page = await context.newPage();
  await page.goto("/app/");
  await page.getByRole("heading", { name: /^Salom, / }).waitFor();
  await apiAs(apiUrl, admin, "POST", `/admin/users/${learner.user.id}/suspend`);
  return { admin, context, page };
}

describe("a learner suspended while the app is open", () => {
  it("is signed out at the next request and told since when and why, and again when signing in", async () => {
    const { aziza, bobur, sessionId } = await matchedPair(apiUrl, "A2");
    const admin = await signedInAs(apiUrl, consoleAdminEmail);
    const page = await (await open(bobur)).newPage();
    await page.goto("/app/");
    await page.getByRole("heading", { name: "Salom, Bobur" }).waitFor();

    const filed = await apiAs<{ id: string }>(apiUrl, aziza, "POST", "/reports", {
      target_user_id: bobur.user.id,
      reason: "scam",
      note: "Asked me for money",
      session_id: sessionId,
    });
    await apiAs(apiUrl, admin, "POST", `/admin/reports/${filed.id}/close`, {
      resolution: "Asked for money in the chat.",
      action: "suspend",
    });
    const today = await page.evaluate(() => new Date().toLocaleDateString(undefined, { dateStyle: "medium" }));
    const told = `Your account is suspended since ${today}, after a report for scam.`;

    await page.getByRole("button", { name: "Find a partner" }).click();
    await page.getByRole("heading", { name: "Sign in to Gaplash" }).waitFor();
    const alert = page.getByRole("alert");
    await alert.filter({ hasText: told }).waitFor();
    for (const secret of ["Aziza", aziza.user.id, "Asked me for money", "Asked for money in the chat."]) {
      expect(await alert.textContent()).not.toContain(secret);
    }
    expect(await page.evaluate(() => localStorage.getItem("gaplash.tokens"))).toBeNull();

    // Signing in again is refused with the same words; from another network than the first
    // sign-in's, whose code was sent less than a minute ago.
    await page.route("**/auth/email/request", (route) =>
      route.continue({ headers: { ...route.request().headers(), "cf-connecting-ip": "10.23.0.7" } }),
    );
    const { email } = (bobur as typeof bobur & { user: { email: string } }).user;
    await page.getByLabel("Email").fill(email);
    await page.getByRole("button", { name: "Send me a code" }).click();
    await page.getByLabel("6-digit code").waitFor();
    const mailbox = await (await page.request.get(`/dev/mailbox?email=${encodeURIComponent(email)}`)).json();
    const code = /\b(\d{6})\b/.exec((mailbox as { items: { text?: string }[] }).items[0]?.text ?? "")?.[1] ?? "";
    await page.getByLabel("6-digit code").fill(code);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: told }).waitFor();
  });

  it("is not said again once the learner signed in from another tab and signed out", async () => {
    const { bobur } = await matchedPair(apiUrl, "A2");
    const { admin, context, page } = await suspendedAtHome(bobur);
    await page.getByRole("button", { name: "Find a partner" }).click();
    await page.getByRole("heading", { name: "Sign in to Gaplash" }).waitFor();
    await page.getByRole("alert").filter({ hasText: "Your account is suspended" }).waitFor();

    // The suspension lifted, the learner signs in again in another tab: this one follows.
    await apiAs(apiUrl, admin, "POST", `/admin/users/${bobur.user.id}/unsuspend`);
    const { email } = (bobur as typeof bobur & { user: { email: string } }).user;
    await storeTokens(context, await signedInAs(apiUrl, email));
    await page.getByRole("heading", { name: "Salom, Bobur" }).waitFor();

    // Signing out here is the learner's own doing: no suspension is said, it was lifted.
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in to Gaplash" }).waitFor();
    await page.getByLabel("Email").waitFor();
    expect(await page.getByRole("alert").filter({ hasText: "suspended" }).count()).toBe(0);
  });

  it("signs nobody else out: the 403 of a request sent before another learner signed in here", async () => {
    const { aziza, bobur } = await matchedPair(apiUrl, "A2");
    const { context, page } = await suspendedAtHome(bobur);

    // Bobur's request is on a slow network while Aziza signs in on this computer (another tab).
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let answered = () => {};
    const refused = new Promise<void>((resolve) => {
      answered = resolve;
    });
    await page.route("**/match/attempt", async (route) => {
      await released;
      await route.continue();
      answered();
    });
    await page.getByRole("button", { name: "Find a partner" }).click();
    await storeTokens(context, aziza);
    release();
    await refused;
    // The page follows Aziza's sign-in (its screens start afresh for her), and Bobur's refusal,
    // read once its answer arrives, must not undo that: give the page time to read it.
    await page.getByRole("heading", { name: "Salom, Aziza" }).waitFor();
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 300)));

    // Bobur's suspension is no word on Aziza's sign-in: this computer stays signed in as her.
    expect(await page.getByRole("heading", { name: "Sign in to Gaplash" }).count()).toBe(0);
    const stored = await page.evaluate(() => localStorage.getItem("gaplash.tokens"));
    expect(JSON.parse(stored ?? "null")).toMatchObject({ user: { id: aziza.user.id } });
  });
});
