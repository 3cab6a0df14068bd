import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type Incidents, incidentsToStderr, requestListener } from "./incidents.ts";

export interface Mail {
  id: string;
  from: string;
  to: string[];
  subject: string;
  text?: string;
  html?: string;
  tags: { name: string; value: string }[];
  created_at: string;
}

export interface Mailbox {
  /** Base URL for the `resend` SDK: it posts to `${url}/emails`. */
  url: string;
  apiKey: string;
  stop(): Promise<void>;
}

/**
 * Resend's `POST /emails`, kept in memory and printed to the console, so the production
 * mail code runs unchanged in development. `GET /mailbox?email=` lists one address's mails,
 * newest first; the API's `/dev/mailbox` route reads it.
 */
export async function startMailbox(options: {
  apiKey: string;
  log: (line: string) => void;
  incidents?: Incidents;
}): Promise<Mailbox> {
  const mails: Mail[] = [];
  const server = createServer(
    requestListener("mailbox", options.incidents ?? incidentsToStderr, async (req, res) => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      };
      if (req.headers.authorization !== `Bearer ${options.apiKey}`) {
        return send(401, {
          statusCode: 401,
          name: "missing_api_key",
          message: "Missing API key in the authorization header",
        });
      }
      const url = new URL(req.url ?? "/", "http://mailbox");
      if (req.method === "GET" && url.pathname === "/mailbox") {
        const email = (url.searchParams.get("email") ?? "").trim().toLowerCase();
        return send(200, mails.filter((mail) => mail.to.includes(email)).reverse());
      }
      if (req.method !== "POST" || url.pathname !== "/emails") {
        return send(404, { statusCode: 404, name: "not_found", message: "The requested endpoint does not exist." });
      }
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      let body: { from?: unknown; to?: unknown; subject?: unknown; text?: unknown; html?: unknown; tags?: unknown };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        return send(422, { statusCode: 422, name: "validation_error", message: "Invalid JSON body" });
      }
      const to = (Array.isArray(body.to) ? body.to : [body.to]).filter(
        (item): item is string => typeof item === "string",
      );
      if (typeof body.from !== "string" || to.length === 0 || typeof body.subject !== "string") {
        return send(422, {
          statusCode: 422,
          name: "validation_error",
          message: "`from`, `to` and `subject` are required",
        });
      }
      const mail: Mail = {
        id: randomUUID(),
        from: body.from,
        to: to.map((address) => address.trim().toLowerCase()),
        subject: body.subject,
        text: typeof body.text === "string" ? body.text : undefined,
        html: typeof body.html === "string" ? body.html : undefined,
        tags: (Array.isArray(body.tags) ? body.tags : []).filter(
          (tag): tag is { name: string; value: string } =>
            typeof tag?.name === "string" && typeof tag?.value === "string",
        ),
        created_at: new Date().toISOString(),
      };
      mails.push(mail);
      options.log(`mail to ${mail.to.join(", ")}: ${mail.subject}${mail.text ? `\n${mail.text}` : ""}`);
      return send(200, { id: mail.id });
    }),
  );
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    apiKey: options.apiKey,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
