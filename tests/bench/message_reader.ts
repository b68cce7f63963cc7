/**
 * Splits a server-to-client NATS byte stream into messages with their subject and reply
 * subject, for the request/reply workload, where a responder must know where to answer and a
 * requester which request an answer belongs to. (`FrameScanner` only counts frames: it is
 * faster and enough for the throughput workloads.)
 *
 * @example
 * ```ts
 * import { MessageReader } from "./message_reader.ts";
 * const reader = new MessageReader({
 *   onMessage: (message) => console.log(message.subject, message.reply, message.payload.length),
 *   onControlLine: (line) => console.log(line),
 * });
 * reader.push(new TextEncoder().encode("MSG svc 1 _INBOX.a.1 2\r\nhi\r\nPING\r\n"));
 * ```
 *
 * @module
 */

const LF = 0x0a;
const CR = 0x0d;
const UPPER_H = 0x48;
const UPPER_M = 0x4d;
const UPPER_S = 0x53;

/** INFO lines are a few KiB; anything this long means a broken stream. */
const MAX_LINE_BYTES = 1024 * 1024;

/** Raised on a malformed `MSG`/`HMSG` line or a line past 1 MiB. */
export class MessageReaderError extends Error {
  override name = "MessageReaderError";
}

/** One `MSG` or `HMSG`. `payload` (headers included for `HMSG`) is only valid during the call. */
export interface ReceivedMessage {
  readonly subject: string;
  readonly sid: string;
  readonly reply: string | undefined;
  /** Header bytes at the start of `payload`; 0 for `MSG`. */
  readonly headerBytes: number;
  readonly payload: Uint8Array;
}

/** Callbacks of a `MessageReader`. */
export interface MessageReaderHandlers {
  onMessage(message: ReceivedMessage): void;
  /** Every other line (`PING`, `PONG`, `+OK`, `-ERR ...`, `INFO {...}`), without CRLF. */
  onControlLine(line: string): void;
}

const decoder = new TextDecoder();

/**
 * Parses `MSG <subject> <sid> [reply] <size>` and `HMSG <subject> <sid> [reply] <hdr> <total>`
 * frames across arbitrary chunk boundaries. Bytes that do not complete a frame are copied
 * into a buffer that is reused, so the steady state allocates only the decoded strings.
 */
export class MessageReader {
  #handlers: MessageReaderHandlers;
  #pending = new Uint8Array(64 * 1024);
  #pendingLength = 0;

  /** @param handlers called synchronously from `push()` */
  constructor(handlers: MessageReaderHandlers) {
    this.#handlers = handlers;
  }

  /**
   * Consumes the next chunk of the stream.
   *
   * @throws {MessageReaderError} on a malformed message line or a line past 1 MiB
   */
  push(chunk: Uint8Array): void {
    if (this.#pendingLength === 0) {
      const used = this.#consume(chunk);
      if (used < chunk.length) this.#keep(chunk.subarray(used));
      return;
    }
    this.#keep(chunk);
    const buffered = this.#pending.subarray(0, this.#pendingLength);
    const used = this.#consume(buffered);
    // Move the unconsumed tail to the front; `copyWithin` handles the overlap.
    this.#pending.copyWithin(0, used, this.#pendingLength);
    this.#pendingLength -= used;
  }

  /** Handles every complete frame of `bytes` and returns how many bytes they took. */
  #consume(bytes: Uint8Array): number {
    let position = 0;
    while (position < bytes.length) {
      const lineEnd = bytes.indexOf(LF, position);
      if (lineEnd === -1) {
        if (bytes.length - position > MAX_LINE_BYTES) {
          throw new MessageReaderError(
            `Cannot read stream: a protocol line exceeds ${MAX_LINE_BYTES} bytes`,
          );
        }
        return position;
      }
      const textEnd = lineEnd > position && bytes[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
      const first = bytes[position];
      const isMessage = (first === UPPER_M && bytes[position + 1] === UPPER_S) ||
        (first === UPPER_H && bytes[position + 1] === UPPER_M);
      if (!isMessage) {
        this.#handlers.onControlLine(decoder.decode(bytes.subarray(position, textEnd)));
        position = lineEnd + 1;
        continue;
      }
      const line = decoder.decode(bytes.subarray(position, textEnd));
      const frame = parseMessageLine(line);
      const payloadStart = lineEnd + 1;
      const frameEnd = payloadStart + frame.totalBytes + 2;
      if (frameEnd > bytes.length) return position;
      this.#handlers.onMessage({
        subject: frame.subject,
        sid: frame.sid,
        reply: frame.reply,
        headerBytes: frame.headerBytes,
        payload: bytes.subarray(payloadStart, payloadStart + frame.totalBytes),
      });
      position = frameEnd;
    }
    return position;
  }

  #keep(bytes: Uint8Array): void {
    const needed = this.#pendingLength + bytes.length;
    if (needed > this.#pending.length) {
      const grown = new Uint8Array(Math.max(needed, this.#pending.length * 2));
      grown.set(this.#pending.subarray(0, this.#pendingLength));
      this.#pending = grown;
    }
    this.#pending.set(bytes, this.#pendingLength);
    this.#pendingLength = needed;
  }
}

interface MessageLine {
  subject: string;
  sid: string;
  reply: string | undefined;
  headerBytes: number;
  totalBytes: number;
}

function sizeField(text: string, line: string): number {
  const value = Number(text);
  if (text === "" || !Number.isInteger(value) || value < 0) {
    throw new MessageReaderError(`Cannot read message: bad size in "${line}"`);
  }
  return value;
}

/** Splits a `MSG`/`HMSG` line (without CRLF) into its fields. */
export function parseMessageLine(line: string): MessageLine {
  const fields = line.split(/[ \t]+/).filter((field) => field !== "");
  const isHeaders = fields[0] === "HMSG";
  const sizes = isHeaders ? 2 : 1;
  // Operation, subject, sid, optional reply, then the sizes.
  const withoutReply = 3 + sizes;
  if (fields.length !== withoutReply && fields.length !== withoutReply + 1) {
    throw new MessageReaderError(`Cannot read message: unexpected field count in "${line}"`);
  }
  const reply = fields.length === withoutReply + 1 ? fields[3] : undefined;
  const totalBytes = sizeField(fields[fields.length - 1], line);
  const headerBytes = isHeaders ? sizeField(fields[fields.length - 2], line) : 0;
  if (headerBytes > totalBytes) {
    throw new MessageReaderError(`Cannot read message: header size past total in "${line}"`);
  }
  return { subject: fields[1], sid: fields[2], reply, headerBytes, totalBytes };
}
