import { api, ok } from "./api";

/** The voice types the API accepts, in the order browsers are asked for them. */
const voiceTypes = ["audio/webm", "audio/ogg", "audio/mp4", "audio/mpeg", "audio/wav"] as const;
type VoiceType = (typeof voiceTypes)[number];

/**
 * Records a voice note from the microphone with MediaRecorder. `stop()` gives the recording and
 * its length; the microphone is released.
 */
export class VoiceRecorder {
  private readonly chunks: Blob[] = [];
  private readonly started = Date.now();

  private constructor(
    private readonly recorder: MediaRecorder,
    private readonly stream: MediaStream,
    readonly type: VoiceType,
  ) {
    recorder.ondataavailable = (event) => {
      if (event.data.size > 0) this.chunks.push(event.data);
    };
  }

  static async start(): Promise<VoiceRecorder> {
    const type = voiceTypes.find((candidate) => MediaRecorder.isTypeSupported(candidate)) ?? "audio/webm";
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const recorder = new MediaRecorder(stream, { mimeType: type });
    recorder.start(250);
    return new VoiceRecorder(recorder, stream, type);
  }

  stop(): Promise<{ blob: Blob; durationMs: number }> {
    return new Promise((resolve) => {
      this.recorder.onstop = () => {
        for (const track of this.stream.getTracks()) track.stop();
        resolve({ blob: new Blob(this.chunks, { type: this.type }), durationMs: Date.now() - this.started });
      };
      this.recorder.stop();
    });
  }
}

/** A voice note on its way: the recording, and once uploaded, what the message names. */
export interface VoiceNoteDraft {
  recording: { blob: Blob; durationMs: number };
  type: VoiceType;
  /** The message's `client_id`, the same on every retry, so the API stores it once. */
  clientId: string;
  /** The upload's `url`, once the PUT succeeded: a retry sends the message without uploading again. */
  uploaded: string | null;
}

export function voiceNoteDraft(recording: VoiceNoteDraft["recording"], type: VoiceType): VoiceNoteDraft {
  return { recording, type, clientId: crypto.randomUUID(), uploaded: null };
}

/**
 * Sends a voice note the way the API asks: a presigned PUT with exactly the signed headers, then
 * the voice message naming the upload. `draft.uploaded` is set as soon as the upload is in, so a
 * send whose message answer was lost is retried from there, with the same `client_id`. Returns
 * the message.
 */
export async function sendVoiceNote(sessionId: string, draft: VoiceNoteDraft) {
  if (!draft.uploaded) {
    const upload = await ok(
      await api.uploads.presign.$post({
        json: { kind: "voice", content_type: draft.type, size: draft.recording.blob.size },
      }),
    );
    const put = await fetch(upload.upload_url, {
      method: upload.method,
      // The browser sets Content-Length itself from the body; it is signed, and matches.
      headers: { "Content-Type": upload.headers["Content-Type"] },
      body: draft.recording.blob,
    });
    if (!put.ok) throw new Error(`the upload failed (${put.status})`);
    draft.uploaded = upload.url;
  }
  return ok(
    await api.sessions[":id"].messages.$post({
      param: { id: sessionId },
      json: {
        type: "voice",
        audio_url: draft.uploaded,
        duration_ms: Math.max(1, Math.round(draft.recording.durationMs)),
        client_id: draft.clientId,
      },
    }),
  );
}
