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
