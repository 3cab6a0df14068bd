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

/**
 * Uploads a recording the way the API asks: a presigned PUT with exactly the signed headers,
 * then the voice message naming the upload. Returns the message.
 */
export async function sendVoiceNote(sessionId: string, recording: { blob: Blob; durationMs: number }, type: VoiceType) {
  const upload = await ok(
    await api.uploads.presign.$post({ json: { kind: "voice", content_type: type, size: recording.blob.size } }),
  );
  const put = await fetch(upload.upload_url, {
    method: upload.method,
    // The browser sets Content-Length itself from the body; it is signed, and matches.
    headers: { "Content-Type": upload.headers["Content-Type"] },
    body: recording.blob,
  });
  if (!put.ok) throw new Error(`the upload failed (${put.status})`);
  return ok(
    await api.sessions[":id"].messages.$post({
      param: { id: sessionId },
      json: {
        type: "voice",
        audio_url: upload.url,
        duration_ms: Math.max(1, Math.round(recording.durationMs)),
        client_id: crypto.randomUUID(),
      },
    }),
  );
}
