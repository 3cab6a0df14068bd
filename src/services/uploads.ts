import { parseMediaType } from "../lib/media-type";
import { copyObject, presignUrl, type S3Config } from "./storage";

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

/**
 * Where objects live in the bucket. Avatars are public (the public domain serves avatar keys
 * only); voice uploads are a sender's scratch space, deleted by the bucket's lifecycle rule after
 * a day; a voice note, once sent, is copied to its session's private prefix, which no presigned
 * PUT can reach, so what a message plays can never change.
 */
export const storageLayout = {
  avatarPrefix: (userId: string) => `users/${userId}/avatar/`,
  uploadPrefix: (userId: string) => `uploads/${userId}/`,
  voiceNotePrefix: (sessionId: string) => `voice/${sessionId}/`,
};

const uploadPrefixOf: Record<UploadKind, (userId: string) => string> = {
  voice: storageLayout.uploadPrefix,
  avatar: storageLayout.avatarPrefix,
};

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

/** The address of an object in the bucket (not readable without a signature unless public). */
export function objectAddress(s3: S3Config, key: string): string {
  return `${s3.endpoint}/${s3.bucket}/${key}`;
}

/**
 * A presigned PUT for one new object. Content-Type and Content-Length are signed, so the upload
 * must be exactly what was declared (and within the cap), and the URL works for 5 minutes. The
 * kind's rules are matched on the media type's essence; the type itself is kept as declared
 * (`audio/webm;codecs=opus`). Throws when the essence is not one of the kind's types.
 * `url` is the avatar's public URL, or, for a voice upload, the address to send as `audio_url`.
 */
export async function presignUpload(s3: S3Config, request: UploadRequest, now: Date): Promise<PresignedUpload> {
  const types: Record<string, string> = uploadRules[request.kind].types;
  const extension = types[parseMediaType(request.contentType)?.essence ?? ""];
  if (!extension) throw new Error(`${request.contentType} is not allowed for ${request.kind}`);
  const key = `${uploadPrefixOf[request.kind](request.userId)}${crypto.randomUUID()}.${extension}`;
  const headers = { "Content-Type": request.contentType, "Content-Length": String(request.size) };
  return {
    upload_url: await presignUrl(s3, { method: "PUT", key, headers }, presignTtlSeconds, now),
    method: "PUT",
    headers,
    key,
    url: request.kind === "avatar" ? `${s3.publicUrl}/${key}` : objectAddress(s3, key),
    expires_in: presignTtlSeconds,
  };
}

const uploadedVoice = /^uploads\/[0-9a-f-]{36}\/([0-9a-f-]{36}\.[a-z0-9]+)$/;

/**
 * Turns a sender's voice upload into a voice note of `sessionId`: `audioUrl` must be the address
 * of an upload presigned for `senderId`, and the object must exist; it is copied to a fresh key
 * under the session's private prefix. Returns that key, or null when `audioUrl` is not such an
 * upload. The copy is made before the message is stored, so the caller deletes it if no message is.
 */
export async function attachVoiceNote(
  s3: S3Config,
  senderId: string,
  sessionId: string,
  audioUrl: string,
): Promise<string | null> {
  const base = `${s3.endpoint}/${s3.bucket}/`;
  if (!audioUrl.startsWith(`${base}${storageLayout.uploadPrefix(senderId)}`)) return null;
  const uploadKey = audioUrl.slice(base.length);
  const file = uploadedVoice.exec(uploadKey)?.[1];
  if (!file) return null;
  const extension = file.slice(file.indexOf("."));
  const noteKey = `${storageLayout.voiceNotePrefix(sessionId)}${crypto.randomUUID()}${extension}`;
  return (await copyObject(s3, uploadKey, noteKey)) ? noteKey : null;
}

/** Mints short-lived signed URLs to play voice notes; voice notes are never public. */
export type VoiceNoteSigner = (key: string) => Promise<string>;

export function voiceNoteSigner(s3: S3Config, now: Date): VoiceNoteSigner {
  return (key) => presignUrl(s3, { method: "GET", key }, s3.voiceUrlTtlSeconds, now);
}
