import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { getConfig } from "../../src/config";
import { voiceNoteSigner } from "../../src/services/uploads";
import { bearer, signIn } from "../support/auth";
import { awsS3Signer } from "../support/aws";
import { testDatabase } from "../support/db";
import { api, apiWith, readProblem } from "../support/http";
import { eventually } from "../support/match";
import { openSessionSocket, pairInSession, send, uploadVoiceNote } from "../support/sessions";
import { ofType } from "../support/sockets";
import { withinOneWindow } from "../support/windows";

/*
 * A voice note belongs to its private conversation: it is played through a short-lived signed
 * URL, never a public or permanent one, and what a message plays can never change after it was sent.
 */
const handle = testDatabase();
afterAll(() => handle.close());
const { s3 } = getConfig(env);

interface Voice {
  id: string;
  audio_url: string;
}

async function played(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return new Uint8Array(await response.arrayBuffer());
}

/** The keys the bucket holds under `prefix` (the local server answers an unsigned listing). */
async function keysUnder(prefix: string): Promise<string[]> {
  const xml = await (await fetch(`${s3.endpoint}/${s3.bucket}?list-type=2&prefix=${prefix}`)).text();
  return [...xml.matchAll(/<Key>([^<]+)<\/Key>/g)].map((match) => match[1] ?? "");
}

describe("voice notes", () => {
  it("play from a URL signed for an hour under the session's private prefix, for sender, partner and push", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const socket = await openSessionSocket(b, sessionId);
    const bytes = crypto.getRandomValues(new Uint8Array(2048));
    const upload = await uploadVoiceNote(a, bytes);
    const sent = (await (
      await send(a, sessionId, { type: "voice", audio_url: upload.url, duration_ms: 1800 })
    ).json()) as Voice;

    const url = new URL(sent.audio_url);
    expect(url.pathname).toMatch(new RegExp(`^/${s3.bucket}/voice/${sessionId}/[0-9a-f-]{36}\\.webm$`));
    expect(url.searchParams.get("X-Amz-Expires")).toBe("3600");
    expect(url.searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
    expect(sent.audio_url).not.toContain(upload.url);
    expect(await played(sent.audio_url)).toEqual(bytes);

    const partnerPage = (await (await api(`/sessions/${sessionId}/messages`, { headers: bearer(b) })).json()) as {
      items: Voice[];
    };
    expect(new URL(partnerPage.items[0]?.audio_url ?? "").pathname).toBe(url.pathname);
    expect(await played(partnerPage.items[0]?.audio_url ?? "")).toEqual(bytes);
    await eventually(() => ofType(socket, "message").length > 0, "the pushed voice note");
    const pushed = ofType(socket, "message")[0] as { message: Voice };
    expect(new URL(pushed.message.audio_url).pathname).toBe(url.pathname);
  });

  it("keep playing what was sent when the sender uploads again with the same presigned URL", async () => {
    const { a, sessionId } = await pairInSession(handle);
    const original = crypto.getRandomValues(new Uint8Array(1024));
    const upload = await uploadVoiceNote(a, original);
    await send(a, sessionId, { type: "voice", audio_url: upload.url, duration_ms: 900 });

    const replacement = crypto.getRandomValues(new Uint8Array(1024));
    const again = await fetch(upload.upload_url, { method: "PUT", headers: upload.headers, body: replacement });
    expect(again.status).toBe(200);

    const page = (await (await api(`/sessions/${sessionId}/messages`, { headers: bearer(a) })).json()) as {
      items: Voice[];
    };
    expect(await played(page.items[0]?.audio_url ?? "")).toEqual(original);
  });

  it("sent twice with one client_id are stored once, and keep one copy in the bucket", async () => {
    const { a, sessionId } = await pairInSession(handle);
    const upload = await uploadVoiceNote(a, crypto.getRandomValues(new Uint8Array(512)));
    const body = { type: "voice", audio_url: upload.url, duration_ms: 700, client_id: crypto.randomUUID() };
    const first = await send(a, sessionId, body);
    const retry = await send(a, sessionId, body);
    expect([first.status, retry.status]).toEqual([201, 200]);
    expect(((await retry.json()) as Voice).id).toBe(((await first.json()) as Voice).id);
    await eventually(async () => (await keysUnder(`voice/${sessionId}/`)).length === 1, "the retry's copy deleted");
  });

  it("are refused when sent to a session the sender is not in, and leave no copy behind", async () => {
    const { sessionId } = await pairInSession(handle);
    const outsider = await signIn();
    const upload = await uploadVoiceNote(outsider, crypto.getRandomValues(new Uint8Array(512)));
    const response = await send(outsider, sessionId, { type: "voice", audio_url: upload.url, duration_ms: 500 });
    expect(response.status).toBe(404);
    await eventually(async () => (await keysUnder(`voice/${sessionId}/`)).length === 0, "the refused copy deleted");
  });

  it("are signed exactly as AWS's own signer signs a GET for the same key and clock", async () => {
    const now = new Date("2026-11-26T12:34:56Z");
    const key = `voice/${crypto.randomUUID()}/${crypto.randomUUID()}.webm`;
    const ours = new URL(await voiceNoteSigner(s3, now)(key));
    const endpoint = new URL(s3.endpoint);
    const theirs = await awsS3Signer(s3).presign(
      {
        method: "GET",
        protocol: endpoint.protocol,
        hostname: endpoint.hostname,
        port: Number(endpoint.port),
        path: ours.pathname,
        query: {},
        headers: { host: endpoint.host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
      },
      {
        signingDate: now,
        expiresIn: 3600,
        unsignableHeaders: new Set(["x-amz-content-sha256"]),
        unhoistableHeaders: new Set(["x-amz-content-sha256"]),
      },
    );
    expect(ours.searchParams.get("X-Amz-Signature")).toBe(theirs.query?.["X-Amz-Signature"]);
    expect(ours.searchParams.get("X-Amz-Expires")).toBe("3600");
  });
});

describe("uploads are rate limited per user", () => {
  it("counts voice uploads and avatars together (429 with Retry-After)", async () => {
    await withinOneWindow(3_600_000, 10_000);
    const who = await signIn();
    const limited = { RATE_LIMIT_UPLOADS_PER_HOUR: "2" };
    const call = (path: string, body: unknown) =>
      apiWith(limited, path, {
        method: "POST",
        headers: { ...bearer(who), "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect((await call("/uploads/presign", { kind: "voice", content_type: "audio/ogg", size: 10 })).status).toBe(201);
    expect((await call("/me/avatar", { content_type: "image/png", size: 10 })).status).toBe(201);
    const third = await call("/uploads/presign", { kind: "voice", content_type: "audio/ogg", size: 10 });
    expect(third.status).toBe(429);
    expect((await readProblem(third)).code).toBe("RATE_LIMITED");
    expect(Number(third.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});
