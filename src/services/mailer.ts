import { Resend } from "resend";
import type { Config } from "../config";
import { callDependency } from "../lib/dependencies";

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** Resend's tags (letters, digits, `_` and `-`), for whoever reads the mail by machine: the dev mailbox. */
  tags?: { name: string; value: string }[];
}

export interface Mailer {
  send(mail: Mail): Promise<{ id: string }>;
}

/**
 * Mail through Resend. In development `RESEND_BASE_URL` points the same SDK at the local
 * mailbox, so the code that runs here is the code that runs in production.
 */
export function createMailer(config: Config["mail"]): Mailer {
  const resend = new Resend(config.apiKey, { baseUrl: config.baseUrl });
  return {
    async send(mail) {
      // The SDK takes no signal: the deadline gives up on it rather than cancelling it.
      const { data, error } = await callDependency("mail", config.timeoutMs, () =>
        resend.emails.send({ from: config.from, ...mail }),
      );
      if (error || !data) throw new Error(`mail was not accepted: ${error?.name ?? "no response"}`, { cause: error });
      return { id: data.id };
    },
  };
}
