import { api, postJson } from "./http";

export interface SignedIn {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
  user: { id: string; email: string; role: string; status: string; created_at: string };
}

interface Mailbox {
  items: { subject: string; text?: string; created_at: string }[];
}

export function newEmail(label = "learner"): string {
  return `${label}-${crypto.randomUUID()}@example.com`;
}

/** The newest sign-in code in the dev mailbox for `email`, read over the public dev route. */
export async function latestCode(email: string): Promise<string> {
  const response = await api(`/dev/mailbox?email=${encodeURIComponent(email)}`);
  const mailbox = (await response.json()) as Mailbox;
  const code = /\b(\d{6})\b/.exec(mailbox.items[0]?.text ?? "")?.[1];
  if (!code) throw new Error(`no code in the mailbox of ${email}`);
  return code;
}

export async function requestCode(email: string, headers: Record<string, string> = {}): Promise<Response> {
  return postJson("/auth/email/request", { email }, { headers });
}

export async function verify(
  email: string,
  loginId: string,
  code: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return postJson("/auth/email/verify", { email, login_id: loginId, code }, { headers });
}

/** Asks for a code for `email` and reads it from the mailbox: a pending sign-in. */
export async function startSignIn(email = newEmail()): Promise<{ email: string; loginId: string; code: string }> {
  const requested = await requestCode(email);
  if (requested.status !== 202) throw new Error(`code request answered ${requested.status}: ${await requested.text()}`);
  const { login_id: loginId } = (await requested.json()) as { login_id: string };
  return { email, loginId, code: await latestCode(email) };
}

/** Signs a (new) user in through the public email flow, exactly as an app would. */
export async function signIn(email = newEmail()): Promise<SignedIn> {
  const pending = await startSignIn(email);
  const response = await verify(pending.email, pending.loginId, pending.code);
  if (response.status !== 200) throw new Error(`verify answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as SignedIn;
}

export function bearer(session: { access_token: string }): Record<string, string> {
  return { Authorization: `Bearer ${session.access_token}` };
}
