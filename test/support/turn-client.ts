import { connect } from "cloudflare:sockets";

/*
 * Just enough of a TURN client (RFC 8656 over TCP, long-term credentials) to ask a TURN server
 * for a relay allocation the way a browser does, so a test can prove the credentials our API
 * hands out are accepted by the real server, and wrong ones are not.
 */

const magicCookie = 0x2112a442;
const attribute = {
  username: 0x0006,
  messageIntegrity: 0x0008,
  errorCode: 0x0009,
  realm: 0x0014,
  nonce: 0x0015,
  xorRelayedAddress: 0x0016,
  requestedTransport: 0x0019,
} as const;
const allocateRequest = 0x0003;
const allocateSuccess = 0x0103;

interface StunMessage {
  type: number;
  attributes: Map<number, Uint8Array>;
}

async function hmacSha1(key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const imported = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", imported, data));
}

async function encode(
  type: number,
  attributes: [number, Uint8Array][],
  integrityKey?: Uint8Array,
): Promise<Uint8Array> {
  const body: number[] = [];
  for (const [kind, value] of attributes) {
    body.push(kind >> 8, kind & 0xff, value.length >> 8, value.length & 0xff, ...value);
    while (body.length % 4 !== 0) body.push(0);
  }
  const header = (length: number) => {
    const bytes = new Uint8Array(20);
    const view = new DataView(bytes.buffer);
    view.setUint16(0, type);
    view.setUint16(2, length);
    view.setUint32(4, magicCookie);
    crypto.getRandomValues(bytes.subarray(8, 20));
    return bytes;
  };
  if (!integrityKey) return new Uint8Array([...header(body.length), ...body]);
  // MESSAGE-INTEGRITY covers the message with its length already counting the attribute itself.
  const head = header(body.length + 24);
  const signed = new Uint8Array([...head, ...body]);
  const mac = await hmacSha1(integrityKey, signed);
  return new Uint8Array([...signed, 0x00, attribute.messageIntegrity, 0x00, 20, ...mac]);
}

function decode(bytes: Uint8Array): StunMessage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const attributes = new Map<number, Uint8Array>();
  let offset = 20;
  while (offset + 4 <= bytes.length) {
    const kind = view.getUint16(offset);
    const length = view.getUint16(offset + 2);
    attributes.set(kind, bytes.slice(offset + 4, offset + 4 + length));
    offset += 4 + Math.ceil(length / 4) * 4;
  }
  return { type: view.getUint16(0), attributes };
}

/** Reads whole STUN messages off a TCP stream (each framed by its own length). */
async function* messages(readable: ReadableStream<Uint8Array>): AsyncGenerator<StunMessage> {
  const reader = readable.getReader();
  let buffer = new Uint8Array(0);
  for (;;) {
    while (buffer.length >= 20) {
      const length = 20 + new DataView(buffer.buffer, buffer.byteOffset).getUint16(2);
      if (buffer.length < length) break;
      yield decode(buffer.slice(0, length));
      buffer = buffer.slice(length);
    }
    const { value, done } = await reader.read();
    if (done) return;
    buffer = new Uint8Array([...buffer, ...value]);
  }
}

const text = (value: string) => new TextEncoder().encode(value);
const udp = new Uint8Array([17, 0, 0, 0]);

/**
 * Asks the TURN server at `turn:host:port?transport=tcp` for a UDP relay with these credentials.
 * Resolves `allocated` with the relayed port, or `refused` with the server's error code.
 */
export async function allocateRelay(
  url: string,
  username: string,
  password: string,
): Promise<{ outcome: "allocated"; relayPort: number } | { outcome: "refused"; errorCode: number }> {
  const match = /^turns?:([^:?]+):(\d+)/.exec(url);
  if (!match?.[1] || !match[2]) throw new Error(`not a TURN URL: ${url}`);
  const socket = connect({ hostname: match[1], port: Number(match[2]) });
  const writer = socket.writable.getWriter();
  const replies = messages(socket.readable);
  try {
    await writer.write(await encode(allocateRequest, [[attribute.requestedTransport, udp]]));
    const challenge = (await replies.next()).value;
    const realm = challenge?.attributes.get(attribute.realm);
    const nonce = challenge?.attributes.get(attribute.nonce);
    if (!realm || !nonce) throw new Error("the TURN server asked for no credentials");
    // The long-term credential key; workerd's WebCrypto offers MD5 for exactly such protocols.
    const key = new Uint8Array(
      await crypto.subtle.digest("MD5", text(`${username}:${new TextDecoder().decode(realm)}:${password}`)),
    );
    await writer.write(
      await encode(
        allocateRequest,
        [
          [attribute.requestedTransport, udp],
          [attribute.username, text(username)],
          [attribute.realm, realm],
          [attribute.nonce, nonce],
        ],
        key,
      ),
    );
    const answer = (await replies.next()).value;
    if (answer?.type === allocateSuccess) {
      const relayed = answer.attributes.get(attribute.xorRelayedAddress);
      if (!relayed) throw new Error("an allocation without a relayed address");
      return { outcome: "allocated", relayPort: new DataView(relayed.buffer).getUint16(2) ^ (magicCookie >>> 16) };
    }
    const error = answer?.attributes.get(attribute.errorCode);
    return { outcome: "refused", errorCode: error ? (error[2] ?? 0) * 100 + (error[3] ?? 0) : 0 };
  } finally {
    await socket.close();
  }
}
