import type { BrowserContext } from "playwright-core";

/** The admin address of the browser stories' API (`ADMIN_EMAILS`, set by the global setup). */
export const consoleAdminEmail = "console-admin@gaplash.test";

/** What a sign-in answers, as the web client stores it. */
export interface SignedInTokens {
  access_token: string;
  refresh_token: string;
  user: { id: string };
}

/**
 * A learner signed in through the API at `apiUrl` by email code (read from the dev mailbox), with
 * `name` and `level` set, as the web client would leave them.
 */
export async function signedInLearner(apiUrl: string, name: string, level: string): Promise<SignedInTokens> {
  const send = (method: string, path: string, body: unknown, token?: string) =>
    fetch(`${apiUrl}${path}`, {
      method,
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  const email = `${name.toLowerCase()}-${crypto.randomUUID()}@example.com`;
  const { login_id } = (await (await send("POST", "/auth/email/request", { email })).json()) as { login_id: string };
  const mailbox = (await (await fetch(`${apiUrl}/dev/mailbox?email=${encodeURIComponent(email)}`)).json()) as {
    items: { text?: string }[];
  };
  const code = /\b(\d{6})\b/.exec(mailbox.items[0]?.text ?? "")?.[1] ?? "";
  const verified = await send("POST", "/auth/email/verify", { email, login_id, code });
  if (verified.status !== 200) throw new Error(`sign-in answered ${verified.status}: ${await verified.text()}`);
  const tokens = (await verified.json()) as SignedInTokens;
  const profile = await send("PATCH", "/me", { display_name: name, level }, tokens.access_token);
  if (profile.status !== 200) throw new Error(`the profile update answered ${profile.status}`);
  return tokens;
}

/**
 * `email` signed in through the API at `apiUrl` by email code, from a network of its own
 * (`cf-connecting-ip`), so that the one-a-minute resend cooldown of another story's sign-in of the
 * same address (the console admin's) does not refuse it.
 */
export async function signedInAs(apiUrl: string, email: string): Promise<SignedInTokens> {
  const ip = `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
  const post = (path: string, body: unknown) =>
    fetch(`${apiUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", "cf-connecting-ip": ip },
      body: JSON.stringify(body),
    });
  const { login_id } = (await (await post("/auth/email/request", { email })).json()) as { login_id: string };
  const mailbox = (await (await fetch(`${apiUrl}/dev/mailbox?email=${encodeURIComponent(email)}`)).json()) as {
    items: { text?: string }[];
  };
  const code = /\b(\d{6})\b/.exec(mailbox.items[0]?.text ?? "")?.[1] ?? "";
  const verified = await post("/auth/email/verify", { email, login_id, code });
  if (verified.status !== 200) throw new Error(`sign-in answered ${verified.status}: ${await verified.text()}`);
  return (await verified.json()) as SignedInTokens;
}

/** `method path` on the API at `apiUrl` as `tokens`' learner; the answer's JSON, or an error for a non-2xx. */
export async function apiAs<T>(
  apiUrl: string,
  tokens: SignedInTokens,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${tokens.access_token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${await response.text()}`);
  return (response.status === 204 ? undefined : await response.json()) as T;
}

/** Aziza and Bobur at `level`, matched through the API as the client does it. */
export async function matchedPair(
  apiUrl: string,
  level: string,
): Promise<{ aziza: SignedInTokens; bobur: SignedInTokens; sessionId: string }> {
  const [aziza, bobur] = await Promise.all([
    signedInLearner(apiUrl, "Aziza", level),
    signedInLearner(apiUrl, "Bobur", level),
  ]);
  for (const learner of [aziza, bobur]) await apiAs(apiUrl, learner, "POST", "/presence/ping", {});
  await apiAs(apiUrl, aziza, "POST", "/match/attempt", { desired_level: level });
  const answer = await apiAs<{ session_id?: string }>(apiUrl, bobur, "POST", "/match/attempt", {
    desired_level: level,
  });
  if (!answer.session_id) throw new Error(`the second attempt answered ${JSON.stringify(answer)}`);
  return { aziza, bobur, sessionId: answer.session_id };
}

/** Stores `tokens` in `context` as the web client keeps them, from a page of the same origin that is not the client. */
export async function storeTokens(context: BrowserContext, tokens: SignedInTokens): Promise<void> {
  const seeding = await context.newPage();
  await seeding.goto("/health");
  await seeding.evaluate((stored) => localStorage.setItem("gaplash.tokens", stored), JSON.stringify(tokens));
  await seeding.close();
}
