import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getConfig } from "../../src/config";
import { presignUpload } from "../../src/services/uploads";
import { bearer, type SignedIn, signIn } from "../support/auth";
import { awsS3Signer } from "../support/aws";
import { api, postJson, readProblem } from "../support/http";

interface Presigned {
  upload_url: string;
  method: string;
  headers: Record<string, string>;
  key: string;
  url: string;
  expires_in: number;
}

const presign = (session: SignedIn, body: unknown) => postJson("/uploads/presign", body, { headers: bearer(session) });

async function upload(presigned: Presigned, bytes: Uint8Array): Promise<Response> {
  return fetch(presigned.upload_url, { method: presigned.method, headers: presigned.headers, body: bytes });
}

describe("POST /uploads/presign", () => {
  it("presigns a voice upload under the caller's own upload prefix; the PUT lands at its address", async () => {
    const session = await signIn();
    const bytes = crypto.getRandomValues(new Uint8Array(4096));
    const response = await presign(session, { kind: "voice", content_type: "audio/webm", size: bytes.byteLength });
    expect(response.status).toBe(201);
    const presigned = (await response.json()) as Presigned;
    expect(presigned).toMatchObject({
      method: "PUT",
      headers: { "Content-Type": "audio/webm", "Content-Length": "4096" },
      expires_in: 300,
    });
    expect(presigned.key).toMatch(new RegExp(`^uploads/${session.user.id}/[0-9a-f-]{36}\\.webm$`));
    const signedUrl = new URL(presigned.upload_url);
    expect(signedUrl.searchParams.get("X-Amz-Expires")).toBe("300");
    expect(signedUrl.searchParams.get("X-Amz-SignedHeaders")).toBe("content-length;content-type;host");

    expect((await upload(presigned, bytes)).status).toBe(200);
    const stored = await fetch(presigned.url);
    expect(stored.status).toBe(200);
    expect(new Uint8Array(await stored.arrayBuffer())).toEqual(bytes);
  });

  it.each([
    [{ kind: "voice", content_type: "video/mp4", size: 10 }, "body.content_type"],
    [{ kind: "avatar", content_type: "image/gif", size: 10 }, "body.content_type"],
    [{ kind: "voice", content_type: "audio/ogg", size: 10 * 1024 * 1024 + 1 }, "body.size"],
    [{ kind: "avatar", content_type: "image/png", size: 2 * 1024 * 1024 + 1 }, "body.size"],
    [{ kind: "avatar", content_type: "image/png", size: 0 }, "body.size"],
    [{ kind: "video", content_type: "video/mp4", size: 10 }, "body.kind"],
  ])("refuses %j naming %s", async (body, field) => {
    const session = await signIn();
    const response = await presign(session, body);
    expect(response.status).toBe(400);
    expect((await readProblem(response)).errors?.map((error) => error.field)).toContain(field);
  });

  it("needs a signed-in user", async () => {
    expect((await postJson("/uploads/presign", { kind: "voice", content_type: "audio/ogg", size: 1 })).status).toBe(
      401,
    );
  });
});

describe("presigned URLs", () => {
  it("carry the same signature AWS's own signer computes for the same request and clock", async () => {
    const { s3 } = getConfig(env);
    const now = new Date("2026-11-26T12:34:56Z");
    const userId = crypto.randomUUID();
    const ours = await presignUpload(s3, { userId, kind: "avatar", contentType: "image/png", size: 1234 }, now);
    const ourUrl = new URL(ours.upload_url);

    const signer = awsS3Signer(s3);
    const endpoint = new URL(s3.endpoint);
    const theirs = await signer.presign(
      {
        method: "PUT",
        protocol: endpoint.protocol,
        hostname: endpoint.hostname,
        port: Number(endpoint.port),
        path: ourUrl.pathname,
        query: {},
        // As AWS's S3 presigner does: the body is not part of a presigned URL's signature.
        headers: {
          host: endpoint.host,
          "content-type": "image/png",
          "content-length": "1234",
          "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
        },
      },
      {
        signingDate: now,
        expiresIn: 300,
        signableHeaders: new Set(["content-type", "content-length"]),
        unsignableHeaders: new Set(["x-amz-content-sha256"]),
        unhoistableHeaders: new Set(["x-amz-content-sha256"]),
      },
    );
    const query = theirs.query ?? {};
    expect(ourUrl.searchParams.get("X-Amz-Credential")).toBe(query["X-Amz-Credential"]);
    expect(ourUrl.searchParams.get("X-Amz-SignedHeaders")).toBe(query["X-Amz-SignedHeaders"]);
    expect(ourUrl.searchParams.get("X-Amz-Signature")).toBe(query["X-Amz-Signature"]);

    const tampered = await presignUpload(s3, { userId, kind: "avatar", contentType: "image/png", size: 1235 }, now);
    expect(new URL(tampered.upload_url).searchParams.get("X-Amz-Signature")).not.toBe(query["X-Amz-Signature"]);
  });
});

describe("POST /me/avatar", () => {
  it("presigns the image, makes it the avatar, and DELETE /me removes it", async () => {
    const session = await signIn();
    const bytes = crypto.getRandomValues(new Uint8Array(2048));
    const response = await postJson(
      "/me/avatar",
      { content_type: "image/jpeg", size: bytes.byteLength },
      { headers: bearer(session) },
    );
    expect(response.status).toBe(201);
    const avatar = (await response.json()) as Presigned & { avatar_url: string };
    expect(avatar.key).toMatch(new RegExp(`^users/${session.user.id}/avatar/.+\\.jpg$`));
    expect(avatar.avatar_url).toBe(avatar.url);
    const me = (await (await api("/me", { headers: bearer(session) })).json()) as { profile: { avatar_url: string } };
    expect(me.profile.avatar_url).toBe(avatar.url);

    expect((await upload(avatar, bytes)).status).toBe(200);
    expect((await fetch(avatar.url)).status).toBe(200);
    expect((await api("/me", { method: "DELETE", headers: bearer(session) })).status).toBe(204);
    expect((await fetch(avatar.url)).status).toBe(404);
  });

  it("refuses a type that is not an image we accept", async () => {
    const session = await signIn();
    const response = await postJson(
      "/me/avatar",
      { content_type: "image/svg+xml", size: 10 },
      { headers: bearer(session) },
    );
    expect(response.status).toBe(400);
  });
});
