/**
 * NATS wire encoder: ops to bytes, no I/O.
 *
 * Two styles: `encodeX(fields)` returns a new `Uint8Array` holding a whole op (setup and control
 * traffic, tests); `writeXHeader(buf, offset, fields)` writes just the control line of a message
 * into a caller's buffer and returns the new offset, for the delivery hot path, with
 * `xHeaderLength(fields)` to reserve space first. The `fields` objects may be reused between
 * calls. Strings are written with an ASCII fast path and fall back to `TextEncoder.encodeInto`
 * for other text.
 *
 * @module
 */

import type {
  ConnectOp,
  ErrOp,
  HmsgOp,
  HpubOp,
  InfoOp,
  LhmsgOp,
  LmsgOp,
  LsMinusOp,
  LsPlusOp,
  MsgOp,
  Op,
  PubOp,
  SubOp,
  UnsubOp,
} from "./ops.ts";

const textEncoder = new TextEncoder();

/** `PING\r\n`. Shared: never modify. */
export const PING: Uint8Array = textEncoder.encode("PING\r\n");
/** `PONG\r\n`. Shared: never modify. */
export const PONG: Uint8Array = textEncoder.encode("PONG\r\n");
/** `+OK\r\n`. Shared: never modify. */
export const OK: Uint8Array = textEncoder.encode("+OK\r\n");

/** Fields of a client MSG control line (`MSG <subject> <sid> [reply] <size>`). */
export interface MsgHeaderFields {
  subject: string;
  sid: string;
  reply?: string;
  /** Payload size in bytes. */
  size: number;
}

/** Fields of a client HMSG control line (`HMSG <subject> <sid> [reply] <hdr> <total>`). */
export interface HmsgHeaderFields {
  subject: string;
  sid: string;
  reply?: string;
  /** Bytes of header block, including its terminating blank line. */
  headerSize: number;
  /** Header plus body bytes. */
  totalSize: number;
}

/** Fields of a leaf LMSG control line (spec section 2.4). */
export interface LmsgHeaderFields {
  subject: string;
  reply?: string;
  /** Queue groups the receiver must deliver to; empty or absent for none. */
  queues?: readonly string[];
  size: number;
}

/** Fields of a leaf HMSG control line (spec section 2.5). */
export interface LeafHmsgHeaderFields {
  subject: string;
  reply?: string;
  queues?: readonly string[];
  headerSize: number;
  totalSize: number;
}

/**
 * UTF-8 length of `text` in bytes (unpaired surrogates count 3, as `TextEncoder` writes U+FFFD).
 *
 * @example
 * ```ts
 * import { byteLength } from "./encoder.ts";
 * console.log(byteLength("foo"), byteLength("é")); // 3 2
 * ```
 */
export function byteLength(text: string): number {
  const len = text.length;
  let n = len;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      n += 1;
    } else if (
      c >= 0xd800 && c <= 0xdbff && i + 1 < len && isLowSurrogate(text.charCodeAt(i + 1))
    ) {
      n += 2; // the pair's two UTF-16 units already count 2 of its 4 bytes
      i++;
    } else {
      n += 2;
    }
  }
  return n;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/**
 * Writes `text` as UTF-8 into `buf` at `offset`; returns the offset after it. The caller makes
 * room first (see {@linkcode byteLength}).
 *
 * @example
 * ```ts
 * import { writeString } from "./encoder.ts";
 * const buf = new Uint8Array(8);
 * console.log(writeString(buf, 2, "abc")); // 5
 * ```
 */
export function writeString(buf: Uint8Array, offset: number, text: string): number {
  const len = text.length;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) {
      const written = textEncoder.encodeInto(text.slice(i), buf.subarray(offset + i)).written;
      return offset + i + written;
    }
    buf[offset + i] = c;
  }
  return offset + len;
}

/** Decimal digits in a non-negative integer. */
function digits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

/** Writes a non-negative integer in decimal; returns the offset after it. */
function writeDecimal(buf: Uint8Array, offset: number, n: number): number {
  const end = offset + digits(n);
  let i = end;
  do {
    buf[--i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  } while (n > 0);
  return end;
}

function writeCrlf(buf: Uint8Array, offset: number): number {
  buf[offset] = 0x0d;
  buf[offset + 1] = 0x0a;
  return offset + 2;
}

function writeSpace(buf: Uint8Array, offset: number): number {
  buf[offset] = 0x20;
  return offset + 1;
}

/** Length of `" " + text` for each optional word. */
function optionalWordLength(text: string | undefined): number {
  return text === undefined ? 0 : 1 + byteLength(text);
}

function writeOptionalWord(buf: Uint8Array, offset: number, text: string | undefined): number {
  return text === undefined ? offset : writeString(buf, writeSpace(buf, offset), text);
}

/**
 * Bytes that {@linkcode writeMsgHeader} writes for `fields`. This scans the strings; to reserve
 * space without scanning, any header writer here needs at most
 * `3 × (total length of its strings, in UTF-16 units) + 32` bytes.
 *
 * @example
 * ```ts
 * import { msgHeaderLength } from "./encoder.ts";
 * console.log(msgHeaderLength({ subject: "foo", sid: "1", size: 5 })); // 13 ("MSG foo 1 5\r\n")
 * ```
 */
export function msgHeaderLength(fields: MsgHeaderFields): number {
  return 4 + byteLength(fields.subject) + 1 + byteLength(fields.sid) +
    optionalWordLength(fields.reply) + 1 + digits(fields.size) + 2;
}

/**
 * Writes `MSG <subject> <sid> [reply] <size>\r\n` into `buf` at `offset`; returns the new
 * offset. The payload and its `\r\n` are the caller's to append.
 *
 * @example
 * ```ts
 * import { msgHeaderLength, writeMsgHeader } from "./encoder.ts";
 * const fields = { subject: "foo", sid: "1", reply: "bar", size: 5 };
 * const buf = new Uint8Array(msgHeaderLength(fields));
 * writeMsgHeader(buf, 0, fields); // "MSG foo 1 bar 5\r\n"
 * ```
 */
export function writeMsgHeader(buf: Uint8Array, offset: number, fields: MsgHeaderFields): number {
  buf[offset] = 0x4d; // M
  buf[offset + 1] = 0x53; // S
  buf[offset + 2] = 0x47; // G
  buf[offset + 3] = 0x20;
  let o = writeString(buf, offset + 4, fields.subject);
  o = writeString(buf, writeSpace(buf, o), fields.sid);
  o = writeOptionalWord(buf, o, fields.reply);
  o = writeDecimal(buf, writeSpace(buf, o), fields.size);
  return writeCrlf(buf, o);
}

/**
 * Bytes that {@linkcode writeHmsgHeader} writes for `fields`.
 *
 * @example
 * ```ts
 * import { hmsgHeaderLength } from "./encoder.ts";
 * console.log(hmsgHeaderLength({ subject: "foo", sid: "1", headerSize: 12, totalSize: 17 })); // 18
 * ```
 */
export function hmsgHeaderLength(fields: HmsgHeaderFields): number {
  return 5 + byteLength(fields.subject) + 1 + byteLength(fields.sid) +
    optionalWordLength(fields.reply) + 1 + digits(fields.headerSize) + 1 +
    digits(fields.totalSize) + 2;
}

/**
 * Writes `HMSG <subject> <sid> [reply] <hdr_size> <total_size>\r\n` into `buf` at `offset`;
 * returns the new offset.
 *
 * @example
 * ```ts
 * import { hmsgHeaderLength, writeHmsgHeader } from "./encoder.ts";
 * const fields = { subject: "foo", sid: "1", headerSize: 12, totalSize: 17 };
 * const buf = new Uint8Array(hmsgHeaderLength(fields));
 * writeHmsgHeader(buf, 0, fields); // "HMSG foo 1 12 17\r\n"
 * ```
 */
export function writeHmsgHeader(buf: Uint8Array, offset: number, fields: HmsgHeaderFields): number {
  buf[offset] = 0x48; // H
  buf[offset + 1] = 0x4d; // M
  buf[offset + 2] = 0x53; // S
  buf[offset + 3] = 0x47; // G
  buf[offset + 4] = 0x20;
  let o = writeString(buf, offset + 5, fields.subject);
  o = writeString(buf, writeSpace(buf, o), fields.sid);
  o = writeOptionalWord(buf, o, fields.reply);
  o = writeDecimal(buf, writeSpace(buf, o), fields.headerSize);
  o = writeDecimal(buf, writeSpace(buf, o), fields.totalSize);
  return writeCrlf(buf, o);
}

/** Length of the leaf routing part: `<subject> [reply]` or `<subject> (+ <reply>|"|") <q>...`. */
function leafRoutingLength(subject: string, reply: string | undefined, queues?: readonly string[]) {
  let n = byteLength(subject);
  if (queues === undefined || queues.length === 0) return n + optionalWordLength(reply);
  n += reply === undefined ? 2 : 3 + byteLength(reply);
  for (let q = 0; q < queues.length; q++) n += 1 + byteLength(queues[q]);
  return n;
}

function writeLeafRouting(
  buf: Uint8Array,
  offset: number,
  subject: string,
  reply: string | undefined,
  queues?: readonly string[],
): number {
  let o = writeString(buf, offset, subject);
  if (queues === undefined || queues.length === 0) return writeOptionalWord(buf, o, reply);
  if (reply === undefined) {
    buf[o] = 0x20;
    buf[o + 1] = 0x7c; // |
    o += 2;
  } else {
    buf[o] = 0x20;
    buf[o + 1] = 0x2b; // +
    o = writeString(buf, writeSpace(buf, o + 2), reply);
  }
  for (let q = 0; q < queues.length; q++) o = writeString(buf, writeSpace(buf, o), queues[q]);
  return o;
}

/**
 * Bytes that {@linkcode writeLmsgHeader} writes for `fields`.
 *
 * @example
 * ```ts
 * import { lmsgHeaderLength } from "./encoder.ts";
 * console.log(lmsgHeaderLength({ subject: "foo", queues: ["q"], size: 1 })); // 16
 * ```
 */
export function lmsgHeaderLength(fields: LmsgHeaderFields): number {
  return 5 + leafRoutingLength(fields.subject, fields.reply, fields.queues) + 1 +
    digits(fields.size) + 2;
}

/**
 * Writes a leaf `LMSG` control line into `buf` at `offset`; returns the new offset. Without
 * queues: `LMSG <subject> [reply] <size>`; with queues: `LMSG <subject> + <reply> <q>... <size>`
 * or `LMSG <subject> | <q>... <size>`.
 *
 * @example
 * ```ts
 * import { lmsgHeaderLength, writeLmsgHeader } from "./encoder.ts";
 * const fields = { subject: "foo", reply: "r", queues: ["q1", "q2"], size: 3 };
 * const buf = new Uint8Array(lmsgHeaderLength(fields));
 * writeLmsgHeader(buf, 0, fields); // "LMSG foo + r q1 q2 3\r\n"
 * ```
 */
export function writeLmsgHeader(buf: Uint8Array, offset: number, fields: LmsgHeaderFields): number {
  buf[offset] = 0x4c; // L
  buf[offset + 1] = 0x4d; // M
  buf[offset + 2] = 0x53; // S
  buf[offset + 3] = 0x47; // G
  buf[offset + 4] = 0x20;
  let o = writeLeafRouting(buf, offset + 5, fields.subject, fields.reply, fields.queues);
  o = writeDecimal(buf, writeSpace(buf, o), fields.size);
  return writeCrlf(buf, o);
}

/**
 * Bytes that {@linkcode writeLeafHmsgHeader} writes for `fields`.
 *
 * @example
 * ```ts
 * import { leafHmsgHeaderLength } from "./encoder.ts";
 * console.log(leafHmsgHeaderLength({ subject: "foo", headerSize: 12, totalSize: 17 })); // 17
 * ```
 */
export function leafHmsgHeaderLength(fields: LeafHmsgHeaderFields): number {
  return 5 + leafRoutingLength(fields.subject, fields.reply, fields.queues) + 1 +
    digits(fields.headerSize) + 1 + digits(fields.totalSize) + 2;
}

/**
 * Writes a leaf `HMSG` control line (LMSG's routing part, then `<hdr_size> <total_size>`) into
 * `buf` at `offset`; returns the new offset.
 *
 * @example
 * ```ts
 * import { leafHmsgHeaderLength, writeLeafHmsgHeader } from "./encoder.ts";
 * const fields = { subject: "foo", queues: ["q"], headerSize: 12, totalSize: 13 };
 * const buf = new Uint8Array(leafHmsgHeaderLength(fields));
 * writeLeafHmsgHeader(buf, 0, fields); // "HMSG foo | q 12 13\r\n"
 * ```
 */
export function writeLeafHmsgHeader(
  buf: Uint8Array,
  offset: number,
  fields: LeafHmsgHeaderFields,
): number {
  buf[offset] = 0x48; // H
  buf[offset + 1] = 0x4d; // M
  buf[offset + 2] = 0x53; // S
  buf[offset + 3] = 0x47; // G
  buf[offset + 4] = 0x20;
  let o = writeLeafRouting(buf, offset + 5, fields.subject, fields.reply, fields.queues);
  o = writeDecimal(buf, writeSpace(buf, o), fields.headerSize);
  o = writeDecimal(buf, writeSpace(buf, o), fields.totalSize);
  return writeCrlf(buf, o);
}

/** Control line plus payload plus `\r\n` in one new buffer. */
function withPayload(
  headerLength: number,
  write: (buf: Uint8Array) => number,
  payload: Uint8Array,
): Uint8Array {
  const buf = new Uint8Array(headerLength + payload.length + 2);
  const o = write(buf);
  buf.set(payload, o);
  writeCrlf(buf, o + payload.length);
  return buf;
}

/** A text-only control line: `<text>\r\n`. */
function line(text: string): Uint8Array {
  const buf = new Uint8Array(byteLength(text) + 2);
  writeCrlf(buf, writeString(buf, 0, text));
  return buf;
}

/**
 * `INFO <json> \r\n`, with the space before CRLF that nats-server writes.
 *
 * @example
 * ```ts
 * import { encodeInfo } from "./encoder.ts";
 * encodeInfo({ server_id: "x", max_payload: 1048576 }); // 'INFO {"server_id":"x","max_payload":1048576} \r\n'
 * ```
 */
export function encodeInfo(info: unknown): Uint8Array {
  return line(`INFO ${JSON.stringify(info)} `);
}

/**
 * `CONNECT <json>\r\n`.
 *
 * @example
 * ```ts
 * import { encodeConnect } from "./encoder.ts";
 * encodeConnect({ verbose: false, headers: true });
 * ```
 */
export function encodeConnect(options: unknown): Uint8Array {
  return line(`CONNECT ${JSON.stringify(options)}`);
}

/**
 * `-ERR '<text>'\r\n`.
 *
 * @example
 * ```ts
 * import { encodeErr } from "./encoder.ts";
 * encodeErr("Unknown Protocol Operation"); // "-ERR 'Unknown Protocol Operation'\r\n"
 * ```
 */
export function encodeErr(text: string): Uint8Array {
  return line(`-ERR '${text}'`);
}

/**
 * `PUB <subject> [reply] <size>\r\n<payload>\r\n`.
 *
 * @example
 * ```ts
 * import { encodePub } from "./encoder.ts";
 * encodePub({ subject: "foo", payload: new TextEncoder().encode("hi") }); // "PUB foo 2\r\nhi\r\n"
 * ```
 */
export function encodePub(fields: Omit<PubOp, "kind">): Uint8Array {
  const { subject, reply, payload } = fields;
  const length = 4 + byteLength(subject) + optionalWordLength(reply) + 1 +
    digits(payload.length) + 2;
  return withPayload(length, (buf) => {
    buf.set(PUB_PREFIX);
    let o = writeString(buf, 4, subject);
    o = writeOptionalWord(buf, o, reply);
    return writeCrlf(buf, writeDecimal(buf, writeSpace(buf, o), payload.length));
  }, payload);
}

const PUB_PREFIX = textEncoder.encode("PUB ");
const HPUB_PREFIX = textEncoder.encode("HPUB ");

/**
 * `HPUB <subject> [reply] <hdr_size> <total_size>\r\n<message>\r\n`; `message` is headers then
 * body, and its length is the total size.
 *
 * @example
 * ```ts
 * import { encodeHpub } from "./encoder.ts";
 * const message = new TextEncoder().encode("NATS/1.0\r\n\r\nhi");
 * encodeHpub({ subject: "foo", headerSize: 12, message }); // "HPUB foo 12 14\r\n...\r\n"
 * ```
 */
export function encodeHpub(fields: Omit<HpubOp, "kind">): Uint8Array {
  const { subject, reply, headerSize, message } = fields;
  const length = 5 + byteLength(subject) + optionalWordLength(reply) + 1 + digits(headerSize) +
    1 + digits(message.length) + 2;
  return withPayload(length, (buf) => {
    buf.set(HPUB_PREFIX);
    let o = writeString(buf, 5, subject);
    o = writeOptionalWord(buf, o, reply);
    o = writeDecimal(buf, writeSpace(buf, o), headerSize);
    return writeCrlf(buf, writeDecimal(buf, writeSpace(buf, o), message.length));
  }, message);
}

/**
 * `SUB <subject> [queue] <sid>\r\n`.
 *
 * @example
 * ```ts
 * import { encodeSub } from "./encoder.ts";
 * encodeSub({ subject: "foo", queue: "workers", sid: "1" }); // "SUB foo workers 1\r\n"
 * ```
 */
export function encodeSub(fields: Omit<SubOp, "kind">): Uint8Array {
  const queue = fields.queue === undefined ? "" : ` ${fields.queue}`;
  return line(`SUB ${fields.subject}${queue} ${fields.sid}`);
}

/**
 * `UNSUB <sid> [max]\r\n`.
 *
 * @example
 * ```ts
 * import { encodeUnsub } from "./encoder.ts";
 * encodeUnsub({ sid: "1", max: 5 }); // "UNSUB 1 5\r\n"
 * ```
 */
export function encodeUnsub(fields: Omit<UnsubOp, "kind">): Uint8Array {
  return line(
    fields.max === undefined ? `UNSUB ${fields.sid}` : `UNSUB ${fields.sid} ${fields.max}`,
  );
}

/**
 * A whole `MSG` (control line, payload, `\r\n`) in a new buffer.
 *
 * @example
 * ```ts
 * import { encodeMsg } from "./encoder.ts";
 * encodeMsg({ subject: "foo", sid: "1", payload: new Uint8Array(0) }); // "MSG foo 1 0\r\n\r\n"
 * ```
 */
export function encodeMsg(fields: Omit<MsgOp, "kind">): Uint8Array {
  const header = {
    subject: fields.subject,
    sid: fields.sid,
    reply: fields.reply,
    size: fields.payload.length,
  };
  return withPayload(
    msgHeaderLength(header),
    (buf) => writeMsgHeader(buf, 0, header),
    fields.payload,
  );
}

/**
 * A whole client `HMSG` in a new buffer.
 *
 * @example
 * ```ts
 * import { encodeHmsg } from "./encoder.ts";
 * const message = new TextEncoder().encode("NATS/1.0\r\n\r\n");
 * encodeHmsg({ subject: "foo", sid: "1", headerSize: 12, message });
 * ```
 */
export function encodeHmsg(fields: Omit<HmsgOp, "kind">): Uint8Array {
  const header = {
    subject: fields.subject,
    sid: fields.sid,
    reply: fields.reply,
    headerSize: fields.headerSize,
    totalSize: fields.message.length,
  };
  return withPayload(
    hmsgHeaderLength(header),
    (buf) => writeHmsgHeader(buf, 0, header),
    fields.message,
  );
}

/**
 * `LS+ <subject>\r\n` or `LS+ <subject> <queue> <weight>\r\n` (weight defaults to 1 with a
 * queue).
 *
 * @example
 * ```ts
 * import { encodeLsPlus } from "./encoder.ts";
 * encodeLsPlus({ subject: "foo", queue: "q", weight: 2 }); // "LS+ foo q 2\r\n"
 * ```
 */
export function encodeLsPlus(fields: Omit<LsPlusOp, "kind">): Uint8Array {
  return line(
    fields.queue === undefined
      ? `LS+ ${fields.subject}`
      : `LS+ ${fields.subject} ${fields.queue} ${fields.weight ?? 1}`,
  );
}

/**
 * `LS- <subject>\r\n` or `LS- <subject> <queue>\r\n`.
 *
 * @example
 * ```ts
 * import { encodeLsMinus } from "./encoder.ts";
 * encodeLsMinus({ subject: "foo", queue: "q" }); // "LS- foo q\r\n"
 * ```
 */
export function encodeLsMinus(fields: Omit<LsMinusOp, "kind">): Uint8Array {
  return line(
    fields.queue === undefined ? `LS- ${fields.subject}` : `LS- ${fields.subject} ${fields.queue}`,
  );
}

/**
 * A whole leaf `LMSG` in a new buffer.
 *
 * @example
 * ```ts
 * import { encodeLmsg } from "./encoder.ts";
 * encodeLmsg({ subject: "foo", queues: ["q"], payload: new TextEncoder().encode("x") });
 * // "LMSG foo | q 1\r\nx\r\n"
 * ```
 */
export function encodeLmsg(
  fields: Omit<LmsgOp, "kind" | "queues"> & { queues?: readonly string[] },
): Uint8Array {
  const header = {
    subject: fields.subject,
    reply: fields.reply,
    queues: fields.queues,
    size: fields.payload.length,
  };
  return withPayload(
    lmsgHeaderLength(header),
    (buf) => writeLmsgHeader(buf, 0, header),
    fields.payload,
  );
}

/**
 * A whole leaf `HMSG` in a new buffer.
 *
 * @example
 * ```ts
 * import { encodeLeafHmsg } from "./encoder.ts";
 * const message = new TextEncoder().encode("NATS/1.0\r\n\r\nx");
 * encodeLeafHmsg({ subject: "foo", reply: "r", queues: ["q"], headerSize: 12, message });
 * // "HMSG foo + r q 12 13\r\n...\r\n"
 * ```
 */
export function encodeLeafHmsg(
  fields: Omit<LhmsgOp, "kind" | "queues"> & { queues?: readonly string[] },
): Uint8Array {
  const header = {
    subject: fields.subject,
    reply: fields.reply,
    queues: fields.queues,
    headerSize: fields.headerSize,
    totalSize: fields.message.length,
  };
  return withPayload(
    leafHmsgHeaderLength(header),
    (buf) => writeLeafHmsgHeader(buf, 0, header),
    fields.message,
  );
}

/**
 * Encodes any {@linkcode Op} as the parser would read it back (`LHMSG` is written as the leaf
 * `HMSG`). `INFO`/`CONNECT` carry their JSON text as is.
 *
 * @example
 * ```ts
 * import { encodeOp } from "./encoder.ts";
 * encodeOp({ kind: "SUB", subject: "foo", sid: "1" }); // "SUB foo 1\r\n"
 * ```
 */
export function encodeOp(op: Op): Uint8Array {
  switch (op.kind) {
    case "INFO":
      return infoLine(op);
    case "CONNECT":
      return connectLine(op);
    case "PUB":
      return encodePub(op);
    case "HPUB":
      return encodeHpub(op);
    case "SUB":
      return encodeSub(op);
    case "UNSUB":
      return encodeUnsub(op);
    case "MSG":
      return encodeMsg(op);
    case "HMSG":
      return encodeHmsg(op);
    case "PING":
      return PING.slice();
    case "PONG":
      return PONG.slice();
    case "OK":
      return OK.slice();
    case "ERR":
      return errLine(op);
    case "LS+":
      return encodeLsPlus(op);
    case "LS-":
      return encodeLsMinus(op);
    case "LMSG":
      return encodeLmsg(op);
    case "LHMSG":
      return encodeLeafHmsg(op);
  }
}

function infoLine(op: InfoOp): Uint8Array {
  return line(`INFO ${op.json} `);
}

function connectLine(op: ConnectOp): Uint8Array {
  return line(`CONNECT ${op.json}`);
}

function errLine(op: ErrOp): Uint8Array {
  return encodeErr(op.message);
}
