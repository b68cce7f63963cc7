/**
 * The NATS protocol operations as data: what the {@linkcode Parser} emits and what the encoder
 * writes. One discriminated union, `Op`, keyed on `kind`.
 *
 * Payload fields (`payload`, `message`) are views of the bytes given to `Parser.feed` when the
 * whole payload arrived in one chunk, and fresh copies otherwise; see `parser.ts`.
 *
 * @module
 */

/** `INFO <json>`: server information. `json` is the raw JSON text, not parsed. */
export interface InfoOp {
  kind: "INFO";
  json: string;
}

/** `CONNECT <json>`: connection options. `json` is the raw JSON text, not parsed. */
export interface ConnectOp {
  kind: "CONNECT";
  json: string;
}

/** `PUB <subject> [reply] <size>`: a client publishes. */
export interface PubOp {
  kind: "PUB";
  subject: string;
  reply?: string;
  payload: Uint8Array;
}

/** `HPUB <subject> [reply] <hdr_size> <total_size>`: a client publishes with headers. */
export interface HpubOp {
  kind: "HPUB";
  subject: string;
  reply?: string;
  /** Bytes of `message` that are the header block (including its blank line). */
  headerSize: number;
  /** Headers followed by body; `message.length` is the total size. */
  message: Uint8Array;
}

/** `SUB <subject> [queue] <sid>`: a client subscribes. */
export interface SubOp {
  kind: "SUB";
  subject: string;
  queue?: string;
  sid: string;
}

/**
 * `UNSUB <sid> [max]`: a client unsubscribes, now or after `max` more messages. `max` is absent
 * when not given and also when it is not a number (nats-server then unsubscribes at once).
 */
export interface UnsubOp {
  kind: "UNSUB";
  sid: string;
  max?: number;
}

/** `MSG <subject> <sid> [reply] <size>`: a server delivers to a client. */
export interface MsgOp {
  kind: "MSG";
  subject: string;
  sid: string;
  reply?: string;
  payload: Uint8Array;
}

/** `HMSG <subject> <sid> [reply] <hdr_size> <total_size>`: a server delivers with headers. */
export interface HmsgOp {
  kind: "HMSG";
  subject: string;
  sid: string;
  reply?: string;
  headerSize: number;
  message: Uint8Array;
}

/** `PING`. */
export interface PingOp {
  kind: "PING";
}

/** `PONG`. */
export interface PongOp {
  kind: "PONG";
}

/** `+OK`. */
export interface OkOp {
  kind: "OK";
}

/** `-ERR '<text>'`; `message` is the text without the single quotes. */
export interface ErrOp {
  kind: "ERR";
  message: string;
}

/**
 * `LS+ <subject> [<queue> <weight>]`: leafnode interest. `queue` and `weight` come together:
 * `weight` is the absolute member count of the queue group (spec section 2.3).
 */
export interface LsPlusOp {
  kind: "LS+";
  subject: string;
  queue?: string;
  weight?: number;
}

/**
 * `LS- <subject> [queue]`: leafnode interest removal. The key to remove is `subject` or
 * `subject + " " + queue`; nats-server treats anything after the subject as the queue part of
 * that key, so an odd `queue` (containing spaces) simply matches nothing.
 */
export interface LsMinusOp {
  kind: "LS-";
  subject: string;
  queue?: string;
}

/**
 * `LMSG <subject> [reply] <size>` or `LMSG <subject> (+ <reply> | "|") <queue>... <size>`:
 * a message on a leafnode connection. `queues` names the queue groups the receiver must deliver
 * to (spec section 2.4); it is a shared empty array when there are none, so never mutate it.
 */
export interface LmsgOp {
  kind: "LMSG";
  subject: string;
  reply?: string;
  queues: readonly string[];
  payload: Uint8Array;
}

/**
 * `HMSG` on a leafnode connection (leaf grammar: LMSG's with `<hdr_size> <total_size>` in
 * place of the size, spec section 2.5). Named `LHMSG` here to keep it apart from the client
 * `HMSG`; on the wire it is `HMSG`.
 */
export interface LhmsgOp {
  kind: "LHMSG";
  subject: string;
  reply?: string;
  queues: readonly string[];
  headerSize: number;
  message: Uint8Array;
}

/** Every NATS protocol operation the parser emits and the encoder writes. */
export type Op =
  | InfoOp
  | ConnectOp
  | PubOp
  | HpubOp
  | SubOp
  | UnsubOp
  | MsgOp
  | HmsgOp
  | PingOp
  | PongOp
  | OkOp
  | ErrOp
  | LsPlusOp
  | LsMinusOp
  | LmsgOp
  | LhmsgOp;

/** The `kind` of any {@linkcode Op}. */
export type OpKind = Op["kind"];

/** The one `PING` op object; ops without fields are shared to avoid allocating per op. */
export const PING_OP: PingOp = Object.freeze({ kind: "PING" });
/** The one `PONG` op object. */
export const PONG_OP: PongOp = Object.freeze({ kind: "PONG" });
/** The one `+OK` op object. */
export const OK_OP: OkOp = Object.freeze({ kind: "OK" });
/** The shared empty queue list of LMSG/LHMSG ops without queue groups. */
export const NO_QUEUES: readonly string[] = Object.freeze([]);
