import { exports } from "cloudflare:workers";
import { type Schema, Validator } from "@cfworker/json-schema";

/**
 * Holds every frame the tests send or receive over a socket to the published contract: the
 * `/asyncapi.json` the Worker serves, read through a JSON Schema validator that shares no code
 * with the zod schemas it was generated from. A frame no message of its channel and direction
 * describes is recorded, and fails the test it came up in (`frame-contract-setup.ts`).
 */

interface Message {
  contentType: string;
  payload: Schema;
}
interface AsyncApiDocument {
  channels: Record<string, { address: string; messages: Record<string, Message> }>;
  operations: Record<string, { action: "send" | "receive"; channel: { $ref: string }; messages: { $ref: string }[] }>;
}

type Direction = "send" | "receive";

let published: Promise<AsyncApiDocument> | undefined;
const undocumented: string[] = [];

function document(): Promise<AsyncApiDocument> {
  published ??= exports.default
    .fetch(new Request("http://gaplash.test/asyncapi.json"))
    .then((response) => response.json() as Promise<AsyncApiDocument>);
  return published;
}

function channelOf(doc: AsyncApiDocument, path: string): string {
  const pathname = new URL(path, "http://gaplash.test").pathname;
  for (const [name, channel] of Object.entries(doc.channels)) {
    const pattern = new RegExp(`^${channel.address.replace(/\{[^}]+\}/g, "[^/]+")}$`);
    if (pattern.test(pathname)) return name;
  }
  throw new Error(`no channel of /asyncapi.json has the address ${pathname}`);
}

/** Checks frames of the socket at `path` against the messages its channel declares for each direction. */
export type FrameCheck = (direction: Direction, frame: string) => void;

/** The check for the socket at `path`: a frame no message describes is recorded with what was wrong. */
export async function frameCheck(path: string): Promise<FrameCheck> {
  const doc = await document();
  const channel = channelOf(doc, path);
  const messagesOf = (direction: Direction) =>
    Object.values(doc.operations)
      .filter((operation) => operation.action === direction && operation.channel.$ref === `#/channels/${channel}`)
      .flatMap((operation) => operation.messages)
      .map(({ $ref }) => {
        const name = $ref.split("/").at(-1) ?? "";
        const message = doc.channels[channel]?.messages[name];
        if (!message) throw new Error(`${$ref} names no message`);
        return { name, message, validator: new Validator(message.payload, "7", false) };
      });
  const byDirection = { send: messagesOf("send"), receive: messagesOf("receive") };
  return (direction, frame) => {
    let value: unknown = frame;
    try {
      value = JSON.parse(frame);
    } catch {
      // A text frame (`ping`, `pong`) is matched as the string it is.
    }
    const candidates = byDirection[direction].filter(({ message }) =>
      typeof value === "string" ? message.contentType === "text/plain" : message.contentType === "application/json",
    );
    if (candidates.some(({ validator }) => validator.validate(value).valid)) return;
    undocumented.push(`${direction} on ${channel}: ${frame.slice(0, 300)}`);
  };
}

/** The frames no message described since the last call, which empties the list. */
export function takeUndocumentedFrames(): string[] {
  return undocumented.splice(0);
}
