import { AwsClient, AwsV4Signer } from "aws4fetch";
import type { Config } from "../config";

type S3Config = Config["s3"];

/** What each kind of upload may be: its content types (with file extensions) and size cap. */
export const uploadRules = {
  voice: {
    maxBytes: 10 * 1024 * 1024,
    types: {
      "audio/webm": "webm",
      "audio/ogg": "ogg",
      "audio/mpeg": "mp3",
      "audio/mp4": "m4a",
      "audio/aac": "aac",
      "audio/wav": "wav",
    },
  },
  avatar: {
    maxBytes: 2 * 1024 * 1024,
    types: { "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp" },
  },
} as const;

export type UploadKind = keyof typeof uploadRules;
export const presignTtlSeconds = 300;

export interface UploadRequest {
  userId: string;
  kind: UploadKind;
  contentType: string;
  size: number;
}

export interface PresignedUpload {
  upload_url: string;
  method: "PUT";
  headers: { "Content-Type": string; "Content-Length": string };
  key: string;
  url: string;
  expires_in: number;
}

/** Every object a user uploads lives under their own prefix; the key proves who it was signed for. */
export function userPrefix(userId: string, kind: UploadKind): string {
  return `users/${userId}/${kind}/`;
}

function objectUrl(s3: S3Config, key: string): URL {
  return new URL(`${s3.endpoint}/${s3.bucket}/${key}`);
}

function amzDate(now: Date): string {
  return now.toISOString().replace(/[:-]|\.\d{3}/g, "");
}

/**
 * A presigned PUT for one new object. Content-Type and Content-Length are signed, so the upload
 * must be exactly what was declared (and within the cap), and the URL works for 5 minutes.
 */
export async function presignUpload(s3: S3Config, request: UploadRequest, now: Date): Promise<PresignedUpload> {
  const types: Record<string, string> = uploadRules[request.kind].types;
  const extension = types[request.contentType];
  if (!extension) throw new Error(`${request.contentType} is not allowed for ${request.kind}`);
  const key = `${userPrefix(request.userId, request.kind)}${crypto.randomUUID()}.${extension}`;
  const url = objectUrl(s3, key);
  url.searchParams.set("X-Amz-Expires", String(presignTtlSeconds));
  const headers = { "Content-Type": request.contentType, "Content-Length": String(request.size) };
  const signed = await new AwsV4Signer({
    method: "PUT",
    url: url.toString(),
    headers,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    service: "s3",
    region: s3.region,
    datetime: amzDate(now),
    signQuery: true,
    allHeaders: true,
  }).sign();
  return {
    upload_url: signed.url.toString(),
    method: "PUT",
    headers,
    key,
    url: `${s3.publicUrl}/${key}`,
    expires_in: presignTtlSeconds,
  };
}

/** Deletes every object under `prefix` (ListObjectsV2 pages of up to 1,000 keys). */
export async function deleteObjectsUnder(s3: S3Config, prefix: string): Promise<number> {
  const client = new AwsClient({
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    service: "s3",
    region: s3.region,
  });
  let deleted = 0;
  let continuation: string | undefined;
  do {
    const list = new URL(`${s3.endpoint}/${s3.bucket}`);
    list.searchParams.set("list-type", "2");
    list.searchParams.set("prefix", prefix);
    if (continuation) list.searchParams.set("continuation-token", continuation);
    const response = await client.fetch(list.toString());
    if (!response.ok) throw new Error(`listing ${prefix} failed with ${response.status}`);
    const xml = await response.text();
    const keys = [...xml.matchAll(/<Key>([^<]+)<\/Key>/g)].map((match) => decodeXml(match[1] ?? ""));
    for (const key of keys) {
      const removed = await client.fetch(objectUrl(s3, key).toString(), { method: "DELETE" });
      if (!removed.ok && removed.status !== 404) throw new Error(`deleting ${key} failed with ${removed.status}`);
      deleted += 1;
    }
    continuation = /<IsTruncated>true<\/IsTruncated>/.test(xml)
      ? /<NextContinuationToken>([^<]+)<\/NextContinuationToken>/.exec(xml)?.[1]
      : undefined;
  } while (continuation);
  return deleted;
}

function decodeXml(text: string): string {
  return text
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&quot;", '"')
    .replaceAll("&apos;", "'")
    .replaceAll("&amp;", "&");
}
