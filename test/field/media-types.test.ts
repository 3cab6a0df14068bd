import { describe, expect, it } from "vitest";
import { bearer, newEmail, type SignedIn, signIn } from "../support/auth";
import { api, readProblem } from "../support/http";

/*
 * Media types are read as RFC 9110 §8.3 writes them, in one place, on every route: any valid
 * spelling of `application/json` is a JSON body, and a voice upload takes the type the browser's
 * recorder reports, parameters and all.
 */
const send = (path: string, contentType: string | undefined, body: unknown, init: RequestInit = {}) =>
  api(path, {
    method: "POST",
    ...init,
    headers: { ...(contentType ? { "content-type": contentType } : {}), ...init.headers },
    // Bytes, so that fetch adds no Content-Type of its own.
    body: new TextEncoder().encode(JSON.stringify(body)),
  });

const jsonSpellings = [
  "application/json ;charset=utf-8",
  "Application/JSON",
  'application/json; charset="UTF-8"',
  "application/json;charset=utf-8;profile=gaplash",
  "application/json \t; \tcharset=utf-8",
  "application/json; x_y=1; v.1=2",
  'application/json; foo="a;b"',
];

describe.each(jsonSpellings)("a JSON body sent as %j", (contentType) => {
  it("is read on a public route, a profile update and a message", async () => {
    expect((await send("/auth/email/request", contentType, { email: newEmail() })).status).toBe(202);
    const user = await signIn();
    const patched = await send(
      "/me",
      contentType,
      { about: "Reads media types" },
      { method: "PATCH", headers: bearer(user) },
    );
    expect(patched.status).toBe(200);
    expect(((await patched.json()) as { profile: { about: string } }).profile.about).toBe("Reads media types");
  });
});

const refused = [
  ["application/json; charset=iso-8859-1", "a charset JSON is not exchanged in"],
  ["text/plain", "another type"],
  ["application/problem+json", "a JSON-shaped type that means something else"],
  ["application/json garbage", "not a media type"],
  ["application/json, text/plain", "two types"],
  ["application/json; a=\u007f", "a control character"],
  ['application/json; a="\u0001"', "a control character, quoted"],
] as const;

describe.each(refused)("a body sent as %j (%s)", (contentType) => {
  it("gets 415 naming what was sent and what is accepted, with Accept, and changes nothing", async () => {
    const user = await signIn();
    const response = await send(
      "/me",
      contentType,
      { about: "Must not land" },
      { method: "PATCH", headers: bearer(user) },
    );
    expect(response.status).toBe(415);
    expect(response.headers.get("accept")).toBe("application/json");
    const problem = await readProblem(response);
    expect(problem.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    expect(problem.detail).toContain(contentType);
    expect(problem.detail).toContain("application/json");
    const me = (await (await api("/me", { headers: bearer(user) })).json()) as { profile: { about: string | null } };
    expect(me.profile.about).toBeNull();
  });
});

describe("a JSON body without a Content-Type", () => {
  it("gets 415 that says none was given", async () => {
    const response = await send("/auth/email/request", undefined, { email: newEmail() });
    expect(response.status).toBe(415);
    expect((await readProblem(response)).detail).toMatch(/No Content-Type was given.*application\/json/);
  });
});

interface Presigned {
  upload_url: string;
  headers: Record<string, string>;
  url: string;
}

describe("a voice upload with the type MediaRecorder reports", () => {
  const presign = (user: SignedIn, contentType: string, size: number) =>
    send(
      "/uploads/presign",
      "application/json",
      { kind: "voice", content_type: contentType, size },
      { headers: bearer(user) },
    );

  it.each(["audio/webm;codecs=opus", "audio/ogg; codecs=opus", "AUDIO/MP4; codecs=mp4a.40.2"])(
    "is presigned for %j, stored with that type, and sent as a voice note",
    async (contentType) => {
      const user = await signIn();
      const bytes = crypto.getRandomValues(new Uint8Array(2048));
      const response = await presign(user, contentType, bytes.byteLength);
      expect(response.status).toBe(201);
      const presigned = (await response.json()) as Presigned;
      expect(presigned.headers["Content-Type"]).toBe(contentType);
      const put = await fetch(presigned.upload_url, { method: "PUT", headers: presigned.headers, body: bytes });
      expect(put.status).toBe(200);
      const stored = await fetch(presigned.url);
      expect(stored.headers.get("content-type")).toBe(contentType);
    },
  );

  it.each([
    "audio/flac;codecs=flac",
    "audio/webm/opus",
    "webm",
    "video/webm;codecs=vp9",
    "audio/webm; a=x\r\nx-amz-acl: public-read",
    "audio/webm; a=\u0000",
    'audio/webm; codecs="ā"',
    "audio/webm; a=\u0007",
  ])("is refused for %j, naming the field and the accepted types", async (contentType) => {
    const user = await signIn();
    const response = await presign(user, contentType, 100);
    expect(response.status).toBe(400);
    const problem = await readProblem(response);
    expect(problem.errors?.find((error) => error.field === "body.content_type")?.message).toContain("audio/webm");
  });
});
