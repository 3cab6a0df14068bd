import { AwsClient, AwsV4Signer } from "aws4fetch";
import type { Config } from "../config";
import { callDependency, DependencyUnavailableError } from "../lib/dependencies";

export type S3Config = Config["s3"];

/** Signing keys are derived once a day per secret; share them across every signature the isolate makes. */
const signingKeys = new Map<string, ArrayBuffer>();

function objectUrl(s3: S3Config, key: string): URL {
  return new URL(`${s3.endpoint}/${s3.bucket}/${key}`);
}

function amzDate(now: Date): string {
  return now.toISOString().replace(/[:-]|\.\d{3}/g, "");
}

/** A SigV4 query-signed URL for one request on `key`, valid `ttlSeconds` from `now` (no network). */
export async function presignUrl(
  s3: S3Config,
  request: { method: "GET" | "PUT"; key: string; headers?: Record<string, string> },
  ttlSeconds: number,
  now: Date,
): Promise<string> {
  const url = objectUrl(s3, request.key);
  url.searchParams.set("X-Amz-Expires", String(ttlSeconds));
  const signed = await new AwsV4Signer({
    method: request.method,
    url: url.toString(),
    headers: request.headers ?? {},
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    service: "s3",
    region: s3.region,
    datetime: amzDate(now),
    signQuery: true,
    allHeaders: true,
    cache: signingKeys,
  }).sign();
  return signed.url.toString();
}

/**
 * One signed request to the bucket, with the S3 deadline. A failure to answer or a 5xx is the
 * bucket being unavailable; any other status is the caller's to read.
 */
async function send(s3: S3Config, url: URL, init: RequestInit = {}): Promise<Response> {
  const client = new AwsClient({
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    service: "s3",
    region: s3.region,
    cache: signingKeys,
    retries: 0,
  });
  const response = await callDependency("s3", s3.timeoutMs, (signal) =>
    client.fetch(url.toString(), { ...init, signal }),
  );
  if (response.status >= 500) {
    throw new DependencyUnavailableError("s3", { cause: new Error(`S3 answered ${response.status}`) });
  }
  return response;
}

/**
 * Copies `fromKey` to `toKey` inside the bucket (server side). Returns false when there is no
 * object at `fromKey`.
 */
export async function copyObject(s3: S3Config, fromKey: string, toKey: string): Promise<boolean> {
  const response = await send(s3, objectUrl(s3, toKey), {
    method: "PUT",
    headers: { "x-amz-copy-source": `/${s3.bucket}/${fromKey}` },
  });
  await response.body?.cancel();
  if (response.status === 404) return false;
  if (!response.ok) throw new Error(`copying ${fromKey} failed with ${response.status}`);
  return true;
}

export async function deleteObject(s3: S3Config, key: string): Promise<void> {
  const response = await send(s3, objectUrl(s3, key), { method: "DELETE" });
  await response.body?.cancel();
  if (!response.ok && response.status !== 404) throw new Error(`deleting ${key} failed with ${response.status}`);
}

/** Deletes every object under `prefix` (ListObjectsV2 pages of up to 1,000 keys). */
export async function deleteObjectsUnder(s3: S3Config, prefix: string): Promise<number> {
  let deleted = 0;
  let continuation: string | undefined;
  do {
    const list = new URL(`${s3.endpoint}/${s3.bucket}`);
    list.searchParams.set("list-type", "2");
    list.searchParams.set("prefix", prefix);
    if (continuation) list.searchParams.set("continuation-token", continuation);
    const response = await send(s3, list);
    if (!response.ok) throw new Error(`listing ${prefix} failed with ${response.status}`);
    const xml = await response.text();
    const keys = [...xml.matchAll(/<Key>([^<]+)<\/Key>/g)].map((match) => decodeXml(match[1] ?? ""));
    for (const key of keys) {
      await deleteObject(s3, key);
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
