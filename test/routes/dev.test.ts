import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getConfig } from "../../src/config";
import worker from "../../src/index";
import { createMailer } from "../../src/services/mailer";
import { uniqueEmail } from "../support/db";
import { api, baseUrl, postJson, readProblem } from "../support/http";

interface MailboxPage {
  items: { subject: string; to: string[]; text?: string; from: string; login_id: string | null }[];
}

describe("GET /dev/mailbox", () => {
  it("lists the mails sent to one address through the real mail module, newest first", async () => {
    const mailer = createMailer(getConfig(env).mail);
    const address = uniqueEmail("mailbox");
    await mailer.send({ to: address, subject: "First", text: "one" });
    await mailer.send({ to: address, subject: "Second", text: "two" });
    await mailer.send({ to: uniqueEmail("someone-else"), subject: "Not yours", text: "three" });

    const response = await api(`/dev/mailbox?email=${encodeURIComponent(address.toUpperCase())}`);
    expect(response.status).toBe(200);
    const page = (await response.json()) as MailboxPage;
    expect(page.items.map((mail) => mail.subject)).toEqual(["Second", "First"]);
    expect(page.items[0]).toMatchObject({ to: [address], text: "two", from: getConfig(env).mail.from });
  });

  it("says which sign-in a code mail belongs to, so a client that asked twice takes the right code", async () => {
    const address = uniqueEmail("two-codes");
    const request = await postJson("/auth/email/request", { email: address });
    expect(request.status).toBe(202);
    const { login_id } = (await request.json()) as { login_id: string };
    const page = (await (await api(`/dev/mailbox?email=${encodeURIComponent(address)}`)).json()) as MailboxPage;
    expect(page.items).toEqual([expect.objectContaining({ login_id, to: [address] })]);
    const other = uniqueEmail("plain");
    await createMailer(getConfig(env).mail).send({ to: other, subject: "Plain", text: "no sign-in" });
    const plain = (await (await api(`/dev/mailbox?email=${encodeURIComponent(other)}`)).json()) as MailboxPage;
    expect(plain.items[0]?.login_id).toBeNull();
  });

  it("answers an invalid address with a 400 naming the field", async () => {
    const response = await api("/dev/mailbox?email=not-an-address");
    expect(response.status).toBe(400);
    const problem = await readProblem(response);
    expect(problem.errors).toEqual([{ field: "query.email", message: expect.any(String) }]);
  });

  it("does not exist outside development", async () => {
    const ctx = createExecutionContext();
    const response = await worker.fetch(
      new Request(`${baseUrl}/dev/mailbox?email=${encodeURIComponent(uniqueEmail())}`),
      { ...env, ENVIRONMENT: "production" },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(404);
    expect(await readProblem(response)).toMatchObject({
      code: "NOT_FOUND",
      detail: "No route matches GET /dev/mailbox.",
    });
  });
});
