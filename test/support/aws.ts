import { SignatureV4 } from "@smithy/signature-v4";
import type { Config } from "../../src/config";

/** SHA-256 and HMAC-SHA-256 through WebCrypto, in the shape the AWS signer asks for. */
export class WebCryptoSha256 {
  private chunks: Uint8Array[] = [];
  constructor(private readonly secret?: string | Uint8Array | ArrayBuffer | ArrayBufferView) {}
  update(chunk: Uint8Array | string): void {
    this.chunks.push(typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk);
  }
  async digest(): Promise<Uint8Array> {
    const data = new Uint8Array(this.chunks.reduce((length, chunk) => length + chunk.byteLength, 0));
    let offset = 0;
    for (const chunk of this.chunks) {
      data.set(chunk, offset);
      offset += chunk.byteLength;
    }
    if (this.secret === undefined) return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
    const raw =
      typeof this.secret === "string"
        ? new TextEncoder().encode(this.secret)
        : ArrayBuffer.isView(this.secret)
          ? new Uint8Array(this.secret.buffer, this.secret.byteOffset, this.secret.byteLength)
          : new Uint8Array(this.secret);
    const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    return new Uint8Array(await crypto.subtle.sign("HMAC", key, data));
  }
  reset(): void {
    this.chunks = [];
  }
}

/** AWS's own SigV4 signer (the one the AWS SDK uses), to check our presigned URLs against. */
export function awsS3Signer(s3: Config["s3"]): SignatureV4 {
  return new SignatureV4({
    service: "s3",
    region: s3.region,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    sha256: WebCryptoSha256,
    uriEscapePath: false,
  });
}
