/**
 * Incremental NATS wire parser: bytes in, {@linkcode Op}s out, no I/O.
 *
 * Behaviour follows nats-server 2.9.10 as observed on the wire (see `ErrText` in
 * `protocol_error.ts` for the error texts):
 * - op names are case-insensitive; arguments are separated by one or more spaces or tabs;
 * - `\r` is optional before the `\n` that ends a control line, but a payload must be followed
 *   by exactly `\r\n`;
 * - `PING`, `PONG` and `+OK` ignore anything up to the end of their line; `INFO` and `CONNECT`
 *   need no space before their JSON; every other op needs a space or tab after its name;
 * - an empty line is an unknown op;
 * - `max_control_line` limits the bytes after the op name and its separating blanks (excluding
 *   the final `\r`), for every op that carries arguments.
 *
 * **Payload lifetime.** When a payload (and its `\r\n`) lies wholly inside the chunk being fed,
 * the op's `payload`/`message` is a zero-copy `subarray` of that chunk; otherwise it is a fresh
 * copy. The parser never writes into chunks and never keeps a view of a chunk after `feed`
 * returns. So: if the caller gives every read a fresh buffer, ops may be kept as they are; if it
 * reuses a read buffer, it must copy what it keeps before the buffer is overwritten.
 *
 * @module
 */

import type { LhmsgOp, LmsgOp, Op } from "./ops.ts";
import { NO_QUEUES, OK_OP, PING_OP, PONG_OP } from "./ops.ts";
import { ErrText, ProtocolError, unquoteErrText } from "./protocol_error.ts";
import { Buffer } from "node:buffer";

/**
 * Which side of which connection the parser reads for:
 * - `"server"`: what a server receives from a NATS client (CONNECT, PUB, HPUB, SUB, UNSUB,
 *   PING, PONG, +OK, -ERR, INFO);
 * - `"client"`: what a client receives from a server (INFO, MSG, HMSG, PING, PONG, +OK, -ERR);
 * - `"leaf"`: a leafnode connection, either side (INFO, CONNECT, PING, PONG, +OK, -ERR, LS+,
 *   LS-, LMSG, and HMSG in the leaf grammar, emitted as kind `"LHMSG"`).
 */
export type ParserRole = "server" | "client" | "leaf";

/** Options for {@linkcode Parser}. */
export interface ParserOptions {
  /** Which ops are valid, and how HMSG is read. */
  role: ParserRole;
  /**
   * Longest allowed argument part of a control line, in bytes (nats-server `max_control_line`,
   * default 4096). nats-server 2.9.10 has no limit on leafnode connections and current releases
   * use 16 × `max_control_line` there, so pass a larger value for the `"leaf"` role; for the
   * `"client"` role it must fit the server's INFO.
   */
  maxControlLine: number;
  /**
   * Largest PUB/HPUB (total) size accepted (nats-server `max_payload`); a negative value means
   * no limit. Not applied to MSG, HMSG, LMSG (as in nats-server 2.9.10).
   */
  maxPayload: number;
  /**
   * Receives every op, synchronously, in wire order. See the module doc for how long payload
   * views stay valid. If it throws, the parser stops and `feed` rethrows.
   */
  onOp: (op: Op) => void;
}

// Op codes. HMSG has two codes: the client grammar (with sid) and the leaf grammar (with queues).
const OP_INFO = 0;
const OP_CONNECT = 1;
const OP_PUB = 2;
const OP_HPUB = 3;
const OP_SUB = 4;
const OP_UNSUB = 5;
const OP_MSG = 6;
const OP_HMSG = 7;
const OP_PING = 8;
const OP_PONG = 9;
const OP_OK = 10;
const OP_ERR = 11;
const OP_LS_PLUS = 12;
const OP_LS_MINUS = 13;
const OP_LMSG = 14;
const OP_LHMSG = 15;

// What may follow an op name.
/** A space or tab, then arguments (nats-server rejects `PUB\r\n` as an unknown op). */
const TAIL_ARGS = 0;
/** Optional blanks, then free text (INFO and CONNECT accept `CONNECT{...}`). */
const TAIL_TEXT = 1;
/** Anything up to the newline, ignored (`PINGX\r\n` is a PING for nats-server). */
const TAIL_IGNORED = 2;

interface OpName {
  code: number;
  /** Lower-case name bytes. */
  name: Uint8Array;
  tail: number;
}

function opName(name: string, code: number, tail: number): OpName {
  return { code, name: new TextEncoder().encode(name), tail };
}

const INFO = opName("info", OP_INFO, TAIL_TEXT);
const CONNECT = opName("connect", OP_CONNECT, TAIL_TEXT);
const PING = opName("ping", OP_PING, TAIL_IGNORED);
const PONG = opName("pong", OP_PONG, TAIL_IGNORED);
const OK = opName("+ok", OP_OK, TAIL_IGNORED);
const ERR = opName("-err", OP_ERR, TAIL_ARGS);

const ROLE_OPS: Record<ParserRole, OpName[]> = {
  server: [
    CONNECT,
    opName("pub", OP_PUB, TAIL_ARGS),
    opName("hpub", OP_HPUB, TAIL_ARGS),
    opName("sub", OP_SUB, TAIL_ARGS),
    opName("unsub", OP_UNSUB, TAIL_ARGS),
    PING,
    PONG,
    OK,
    ERR,
    INFO,
  ],
  client: [
    INFO,
    opName("msg", OP_MSG, TAIL_ARGS),
    opName("hmsg", OP_HMSG, TAIL_ARGS),
    PING,
    PONG,
    OK,
    ERR,
  ],
  leaf: [
    INFO,
    CONNECT,
    PING,
    PONG,
    OK,
    ERR,
    opName("ls+", OP_LS_PLUS, TAIL_ARGS),
    opName("ls-", OP_LS_MINUS, TAIL_ARGS),
    opName("lmsg", OP_LMSG, TAIL_ARGS),
    opName("hmsg", OP_LHMSG, TAIL_ARGS),
  ],
};

/** Candidate op names indexed by the raw first byte (both letter cases), one table per role. */
type FirstByteTable = (OpName[] | undefined)[];

function firstByteTable(names: OpName[]): FirstByteTable {
  const table: FirstByteTable = new Array(256).fill(undefined);
  for (const n of names) {
    const c = n.name[0];
    const codes = c >= 0x61 && c <= 0x7a ? [c, c - 0x20] : [c];
    for (const code of codes) (table[code] ??= []).push(n);
  }
  return table;
}

const FIRST_BYTE_TABLES: Record<ParserRole, FirstByteTable> = {
  server: firstByteTable(ROLE_OPS.server),
  client: firstByteTable(ROLE_OPS.client),
  leaf: firstByteTable(ROLE_OPS.leaf),
};

/** `findOp` result when the bytes so far are a proper prefix of a valid op name. */
const PARTIAL: OpName = opName("", -1, TAIL_IGNORED);

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;

const S_LINE = 0;
const S_PAYLOAD = 1;
const S_SKIP = 2;

/** Payloads up to this size (or `maxPayload`) are allocated whole when they span chunks. */
const EAGER_PAYLOAD_ALLOC = 1 << 20;

/**
 * Incremental parser for one connection. Feed it bytes as they arrive, split anywhere; it calls
 * `onOp` for each complete op and throws a {@linkcode ProtocolError} on the first protocol
 * violation, after which it refuses further input.
 *
 * @example
 * ```ts
 * import { Parser } from "./parser.ts";
 * import type { Op } from "./ops.ts";
 * const ops: Op[] = [];
 * const parser = new Parser({
 *   role: "server",
 *   maxControlLine: 4096,
 *   maxPayload: 1048576,
 *   onOp: (op) => ops.push(op),
 * });
 * const bytes = new TextEncoder().encode("PUB foo 5\r\nhello\r\nPING\r\n");
 * parser.feed(bytes.subarray(0, 7));
 * parser.feed(bytes.subarray(7));
 * console.log(ops.map((op) => op.kind)); // ["PUB", "PING"]
 * ```
 */
export class Parser {
  readonly #role: ParserRole;
  readonly #ops: FirstByteTable;
  readonly #maxControlLine: number;
  readonly #maxPayload: number;
  readonly #onOp: (op: Op) => void;
  #requireConnect = false;
  #failure: ProtocolError | undefined;

  #state = S_LINE;
  /** Partial control line carried over from earlier chunks (never holds a `\n`). */
  #line = new Uint8Array(256);
  #lineLen = 0;
  /** Op to emit when the ignored rest of a PING/PONG/+OK line ends. */
  #skipOp: Op = PING_OP;

  // Token boundaries of the current control line's arguments.
  #tokStart = new Int32Array(16);
  #tokEnd = new Int32Array(16);

  // The message op whose payload is being read.
  #msgCode = OP_PUB;
  #msgSubject = "";
  #msgReply: string | undefined;
  #msgSid = "";
  #msgQueues: readonly string[] = NO_QUEUES;
  #msgHeaderSize = 0;
  #msgSize = 0;
  /** Payload bytes collected so far plus terminator bytes seen (0 … size + 2). */
  #msgGot = 0;
  #msgPayload: Uint8Array | undefined;

  /** Creates a parser; see {@linkcode ParserOptions}. */
  constructor(options: ParserOptions) {
    this.#role = options.role;
    this.#ops = FIRST_BYTE_TABLES[options.role];
    this.#maxControlLine = options.maxControlLine;
    this.#maxPayload = options.maxPayload;
    this.#onOp = options.onOp;
  }

  /** The role given at construction. */
  get role(): ParserRole {
    return this.#role;
  }

  /**
   * While `true`, every op must start with `C`/`c` (CONNECT), otherwise `feed` throws
   * `Authorization Violation` at once, as nats-server does before authentication. Set it when
   * the connection needs a CONNECT first and clear it (for example inside `onOp`) once the
   * CONNECT is accepted; the change applies from the next op.
   */
  get requireConnect(): boolean {
    return this.#requireConnect;
  }

  set requireConnect(value: boolean) {
    this.#requireConnect = value;
  }

  /** Whether the parser has stopped after an error. */
  get failed(): boolean {
    return this.#failure !== undefined;
  }

  /**
   * Parses `chunk`, calling `onOp` for every op it completes. Throws a
   * {@linkcode ProtocolError} on a protocol violation (and on every call after one).
   */
  feed(chunk: Uint8Array): void {
    if (this.#failure !== undefined) {
      throw new ProtocolError("Cannot parse: the parser stopped after an earlier error", {
        errText: this.#failure.errText,
        cause: this.#failure,
      });
    }
    try {
      this.#consume(chunk);
    } catch (err) {
      this.#failure = err instanceof ProtocolError
        ? err
        : new ProtocolError("Cannot parse: the op handler threw", { cause: err });
      throw err;
    }
  }

  #consume(chunk: Uint8Array): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.#state === S_LINE) {
        let j = i;
        while (j < n && chunk[j] !== LF) j++;
        if (j === n) {
          this.#stash(chunk, i, n);
          return;
        }
        if (this.#lineLen === 0) {
          this.#parseLine(chunk, i, j);
        } else {
          this.#append(chunk, i, j);
          const len = this.#lineLen;
          this.#lineLen = 0;
          this.#parseLine(this.#line, 0, len);
        }
        i = j + 1;
      } else if (this.#state === S_PAYLOAD) {
        i = this.#readPayload(chunk, i, n);
      } else {
        const j = chunk.indexOf(LF, i);
        if (j === -1) return;
        this.#state = S_LINE;
        i = j + 1;
        this.#onOp(this.#skipOp);
      }
    }
  }

  /** Keeps the start of a control line that has no `\n` yet, checking what can be checked. */
  #stash(chunk: Uint8Array, from: number, to: number): void {
    this.#append(chunk, from, to);
    const buf = this.#line;
    const len = this.#lineLen;
    if (this.#requireConnect && (buf[0] | 0x20) !== 0x63) throw authorizationViolation();
    const desc = this.#findOp(buf, 0, len);
    if (desc === undefined) throw unknownOp("unknown op name");
    if (desc === PARTIAL) return;
    const nameLen = desc.name.length;
    if (desc.tail === TAIL_IGNORED) {
      this.#lineLen = 0;
      this.#skipOp = desc.code === OP_PING ? PING_OP : desc.code === OP_PONG ? PONG_OP : OK_OP;
      this.#state = S_SKIP;
      return;
    }
    if (len === nameLen) return;
    if (desc.tail === TAIL_ARGS && !isBlank(buf[nameLen])) {
      throw unknownOp("no space after op name");
    }
    let p = nameLen;
    while (p < len && isBlank(buf[p])) p++;
    if (p === len) {
      // Only blanks after the name so far: keep one, so a flood of blanks cannot grow the buffer.
      this.#lineLen = nameLen + 1;
      return;
    }
    const argLen = len - p - (buf[len - 1] === CR ? 1 : 0);
    if (argLen > this.#maxControlLine) throw maxControlLineExceeded(argLen);
  }

  #append(chunk: Uint8Array, from: number, to: number): void {
    const need = this.#lineLen + (to - from);
    if (need > this.#line.length) {
      const grown = new Uint8Array(Math.max(need, this.#line.length * 2));
      grown.set(this.#line.subarray(0, this.#lineLen));
      this.#line = grown;
    }
    this.#line.set(chunk.subarray(from, to), this.#lineLen);
    this.#lineLen = need;
  }

  /**
   * Finds the op whose name starts `buf[start, end)`: the op, `PARTIAL` when the bytes are a
   * proper prefix of a name, or `undefined` when no op of this role can match.
   */
  #findOp(buf: Uint8Array, start: number, end: number): OpName | undefined {
    const candidates = this.#ops[buf[start]];
    if (candidates === undefined) return undefined;
    let partial = false;
    for (let c = 0; c < candidates.length; c++) {
      const name = candidates[c].name;
      let k = 1;
      for (; k < name.length; k++) {
        if (start + k >= end) break;
        const b = buf[start + k];
        const want = name[k];
        // Letters compare case-insensitively; '+' and '-' exactly ('\r' | 0x20 is '-').
        if (b !== want && (want < 0x61 || (b | 0x20) !== want)) break;
      }
      if (k === name.length) return candidates[c];
      if (start + k >= end) partial = true;
    }
    return partial ? PARTIAL : undefined;
  }

  /** Handles one complete control line `buf[start, end)` (the `\n` excluded). */
  #parseLine(buf: Uint8Array, start: number, end: number): void {
    if (this.#requireConnect && (start === end || (buf[start] | 0x20) !== 0x63)) {
      throw authorizationViolation();
    }
    const e = end > start && buf[end - 1] === CR ? end - 1 : end;
    if (start === e) throw unknownOp("empty line");
    const desc = this.#findOp(buf, start, e);
    if (desc === undefined || desc === PARTIAL) throw unknownOp("unknown op name");
    let p = start + desc.name.length;
    if (desc.tail === TAIL_IGNORED) {
      this.#onOp(desc.code === OP_PING ? PING_OP : desc.code === OP_PONG ? PONG_OP : OK_OP);
      return;
    }
    if (desc.tail === TAIL_ARGS && (p === e || !isBlank(buf[p]))) {
      throw unknownOp("no space after op name");
    }
    while (p < e && isBlank(buf[p])) p++;
    if (e - p > this.#maxControlLine) throw maxControlLineExceeded(e - p);

    switch (desc.code) {
      case OP_PUB:
        return this.#parsePub(buf, p, e);
      case OP_HPUB:
        return this.#parseHpub(buf, p, e);
      case OP_SUB:
        return this.#parseSub(buf, p, e);
      case OP_UNSUB:
        return this.#parseUnsub(buf, p, e);
      case OP_MSG:
        return this.#parseMsg(buf, p, e);
      case OP_HMSG:
        return this.#parseHmsg(buf, p, e);
      case OP_LS_PLUS:
        return this.#parseLsPlus(buf, p, e);
      case OP_LS_MINUS:
        return this.#parseLsMinus(buf, p, e);
      case OP_LMSG:
        return this.#parseLmsg(buf, p, e);
      case OP_LHMSG:
        return this.#parseLeafHmsg(buf, p, e);
      case OP_INFO:
        this.#onOp({ kind: "INFO", json: decodeText(buf, p, trimBlanksEnd(buf, p, e)) });
        return;
      case OP_CONNECT:
        this.#onOp({ kind: "CONNECT", json: decodeText(buf, p, trimBlanksEnd(buf, p, e)) });
        return;
      case OP_ERR: {
        const text = decodeText(buf, p, trimBlanksEnd(buf, p, e));
        this.#onOp({ kind: "ERR", message: unquoteErrText(text) });
        return;
      }
    }
  }

  /** Splits `buf[p, e)` on blanks into the token arrays; returns the token count. */
  #tokenize(buf: Uint8Array, p: number, e: number): number {
    let count = 0;
    let i = p;
    while (i < e) {
      let b = buf[i];
      if (b === SPACE || b === TAB) {
        i++;
        continue;
      }
      const s = i;
      do {
        i++;
      } while (i < e && (b = buf[i]) !== SPACE && b !== TAB);
      if (count === this.#tokStart.length) this.#growTokens();
      this.#tokStart[count] = s;
      this.#tokEnd[count] = i;
      count++;
    }
    return count;
  }

  #growTokens(): void {
    const start = new Int32Array(this.#tokStart.length * 2);
    const end = new Int32Array(this.#tokEnd.length * 2);
    start.set(this.#tokStart);
    end.set(this.#tokEnd);
    this.#tokStart = start;
    this.#tokEnd = end;
  }

  /** Decimal size of token `t`, or -1 when it is not 1–9 digits (as nats-server). */
  #size(buf: Uint8Array, t: number): number {
    return parseSize(buf, this.#tokStart[t], this.#tokEnd[t]);
  }

  #subject(buf: Uint8Array, t: number): string {
    return cachedText(buf, this.#tokStart[t], this.#tokEnd[t]);
  }

  #text(buf: Uint8Array, t: number): string {
    return decodeText(buf, this.#tokStart[t], this.#tokEnd[t]);
  }

  // PUB <subject> [reply] <size>
  #parsePub(buf: Uint8Array, p: number, e: number): void {
    const n = this.#tokenize(buf, p, e);
    if (n !== 2 && n !== 3) {
      throw silentClose(`Cannot parse PUB: expected 2 or 3 arguments, got ${n}`);
    }
    const size = this.#size(buf, n - 1);
    if (size < 0) throw silentClose("Cannot parse PUB: bad or missing size");
    this.#checkMaxPayload(size);
    this.#msgSubject = this.#subject(buf, 0);
    this.#msgReply = n === 3 ? this.#text(buf, 1) : undefined;
    this.#startPayload(OP_PUB, 0, size);
  }

  // HPUB <subject> [reply] <hdr_size> <total_size>
  #parseHpub(buf: Uint8Array, p: number, e: number): void {
    const n = this.#tokenize(buf, p, e);
    if (n !== 3 && n !== 4) {
      throw silentClose(`Cannot parse HPUB: expected 3 or 4 arguments, got ${n}`);
    }
    const [hdr, size] = this.#headerSizes(buf, n, "HPUB");
    this.#checkMaxPayload(size);
    this.#msgSubject = this.#subject(buf, 0);
    this.#msgReply = n === 4 ? this.#text(buf, 1) : undefined;
    this.#startPayload(OP_HPUB, hdr, size);
  }

  /** Reads `<hdr_size> <total_size>` from the last two of `n` tokens. */
  #headerSizes(buf: Uint8Array, n: number, op: string): [number, number] {
    const hdr = this.#size(buf, n - 2);
    if (hdr < 0) throw silentClose(`Cannot parse ${op}: bad or missing header size`);
    const size = this.#size(buf, n - 1);
    if (size < 0) throw silentClose(`Cannot parse ${op}: bad or missing total size`);
    if (hdr > size) throw silentClose(`Cannot parse ${op}: header size larger than total size`);
    return [hdr, size];
  }

  #checkMaxPayload(size: number): void {
    if (this.#maxPayload >= 0 && size > this.#maxPayload) {
      throw new ProtocolError(
        `Cannot accept payload: ${size} bytes is over max_payload ${this.#maxPayload}`,
        { errText: ErrText.maxPayload },
      );
    }
  }

  // SUB <subject> [queue] <sid>
  #parseSub(buf: Uint8Array, p: number, e: number): void {
    const n = this.#tokenize(buf, p, e);
    if (n === 2) {
      this.#onOp({ kind: "SUB", subject: this.#subject(buf, 0), sid: this.#text(buf, 1) });
    } else if (n === 3) {
      this.#onOp({
        kind: "SUB",
        subject: this.#subject(buf, 0),
        queue: this.#subject(buf, 1),
        sid: this.#text(buf, 2),
      });
    } else {
      throw silentClose(`Cannot parse SUB: expected 2 or 3 arguments, got ${n}`);
    }
  }

  // UNSUB <sid> [max]
  #parseUnsub(buf: Uint8Array, p: number, e: number): void {
    const n = this.#tokenize(buf, p, e);
    if (n === 1) {
      this.#onOp({ kind: "UNSUB", sid: this.#text(buf, 0) });
    } else if (n === 2) {
      const max = this.#size(buf, 1);
      // nats-server treats a max that is not a number as no max (unsubscribe now).
      this.#onOp(
        max < 0
          ? { kind: "UNSUB", sid: this.#text(buf, 0) }
          : { kind: "UNSUB", sid: this.#text(buf, 0), max },
      );
    } else {
      throw silentClose(`Cannot parse UNSUB: expected 1 or 2 arguments, got ${n}`);
    }
  }

  // MSG <subject> <sid> [reply] <size>
  #parseMsg(buf: Uint8Array, p: number, e: number): void {
    const n = this.#tokenize(buf, p, e);
    if (n !== 3 && n !== 4) {
      throw silentClose(`Cannot parse MSG: expected 3 or 4 arguments, got ${n}`);
    }
    const size = this.#size(buf, n - 1);
    if (size < 0) throw silentClose("Cannot parse MSG: bad or missing size");
    this.#msgSubject = this.#subject(buf, 0);
    this.#msgSid = this.#subject(buf, 1);
    this.#msgReply = n === 4 ? this.#text(buf, 2) : undefined;
    this.#startPayload(OP_MSG, 0, size);
  }

  // HMSG <subject> <sid> [reply] <hdr_size> <total_size>
  #parseHmsg(buf: Uint8Array, p: number, e: number): void {
    const n = this.#tokenize(buf, p, e);
    if (n !== 4 && n !== 5) {
      throw silentClose(`Cannot parse HMSG: expected 4 or 5 arguments, got ${n}`);
    }
    const [hdr, size] = this.#headerSizes(buf, n, "HMSG");
    this.#msgSubject = this.#subject(buf, 0);
    this.#msgSid = this.#subject(buf, 1);
    this.#msgReply = n === 5 ? this.#text(buf, 2) : undefined;
    this.#startPayload(OP_HMSG, hdr, size);
  }

  // LS+ <subject> [<queue> <weight>]
  #parseLsPlus(buf: Uint8Array, p: number, e: number): void {
    const n = this.#tokenize(buf, p, e);
    if (n === 1) {
      this.#onOp({ kind: "LS+", subject: this.#subject(buf, 0) });
    } else if (n === 3) {
      // nats-server 2.9.10 stores a weight that is not a number as -1; we refuse it instead.
      const weight = this.#size(buf, 2);
      if (weight < 0) throw silentClose("Cannot parse LS+: bad queue weight");
      this.#onOp({
        kind: "LS+",
        subject: this.#subject(buf, 0),
        queue: this.#subject(buf, 1),
        weight,
      });
    } else {
      throw silentClose(`Cannot parse LS+: expected 1 or 3 arguments, got ${n}`);
    }
  }

  // LS- <subject> [queue]
  #parseLsMinus(buf: Uint8Array, p: number, e: number): void {
    const n = this.#tokenize(buf, p, e);
    // nats-server looks the whole argument up as a key and ignores what it does not know, so
    // an empty LS- is dropped and extra tokens stay in `queue`, where they match nothing.
    if (n === 0) return;
    const subject = this.#subject(buf, 0);
    if (n === 1) {
      this.#onOp({ kind: "LS-", subject });
    } else {
      const queue = n === 2
        ? this.#subject(buf, 1)
        : decodeText(buf, this.#tokStart[1], this.#tokEnd[n - 1]);
      this.#onOp({ kind: "LS-", subject, queue });
    }
  }

  // LMSG <subject> [reply] <size> | LMSG <subject> (+ <reply> | "|") <queue>... <size>
  #parseLmsg(buf: Uint8Array, p: number, e: number): void {
    const n = this.#tokenize(buf, p, e);
    if (n < 2) throw silentClose(`Cannot parse LMSG: expected at least 2 arguments, got ${n}`);
    const size = this.#size(buf, n - 1);
    if (size < 0) throw silentClose("Cannot parse LMSG: bad or missing size");
    this.#leafRouting(buf, n, 1, "LMSG");
    this.#startPayload(OP_LMSG, 0, size);
  }

  // HMSG in the leaf grammar: LMSG's arguments with <hdr_size> <total_size> for <size>.
  #parseLeafHmsg(buf: Uint8Array, p: number, e: number): void {
    const n = this.#tokenize(buf, p, e);
    if (n < 3) throw silentClose(`Cannot parse HMSG: expected at least 3 arguments, got ${n}`);
    const [hdr, size] = this.#headerSizes(buf, n, "HMSG");
    this.#leafRouting(buf, n, 2, "HMSG");
    this.#startPayload(OP_LHMSG, hdr, size);
  }

  /**
   * Reads subject, reply and queues of a leaf message whose last `sizes` tokens are sizes:
   * one token between subject and sizes is a reply; more start with `+ <reply>` or `|`.
   */
  #leafRouting(buf: Uint8Array, n: number, sizes: number, op: string): void {
    this.#msgSubject = this.#subject(buf, 0);
    const middle = n - 1 - sizes;
    if (middle === 0) {
      this.#msgReply = undefined;
      this.#msgQueues = NO_QUEUES;
      return;
    }
    if (middle === 1) {
      this.#msgReply = this.#text(buf, 1);
      this.#msgQueues = NO_QUEUES;
      return;
    }
    const s = this.#tokStart[1];
    const indicator = this.#tokEnd[1] - s === 1 ? buf[s] : 0;
    let first: number;
    if (indicator === 0x2b /* + */) {
      this.#msgReply = this.#text(buf, 2);
      first = 3;
    } else if (indicator === 0x7c /* | */) {
      this.#msgReply = undefined;
      first = 2;
    } else {
      throw silentClose(`Cannot parse ${op}: bad or missing reply indicator`);
    }
    const last = n - sizes;
    if (first === last) {
      this.#msgQueues = NO_QUEUES;
      return;
    }
    const queues = new Array<string>(last - first);
    for (let t = first; t < last; t++) queues[t - first] = this.#subject(buf, t);
    this.#msgQueues = queues;
  }

  #startPayload(code: number, headerSize: number, size: number): void {
    this.#msgCode = code;
    this.#msgHeaderSize = headerSize;
    this.#msgSize = size;
    this.#msgGot = 0;
    this.#msgPayload = undefined;
    this.#state = S_PAYLOAD;
  }

  /** Reads payload and terminator bytes from `chunk[i, n)`; returns the next index. */
  #readPayload(chunk: Uint8Array, i: number, n: number): number {
    const size = this.#msgSize;
    let got = this.#msgGot;
    if (got === 0) {
      const avail = n - i;
      if (avail >= size + 2) {
        // The common case: payload and terminator are all here, so hand out a view.
        if (chunk[i + size] !== CR || chunk[i + size + 1] !== LF) {
          throw unknownOp("payload not followed by \\r\\n");
        }
        this.#state = S_LINE;
        // The constructor is cheaper than subarray(), which looks up the species constructor.
        this.#emitMessage(new Uint8Array(chunk.buffer, chunk.byteOffset + i, size));
        return i + size + 2;
      }
      // Copy: the op will be emitted during a later feed, when this chunk may be reused.
      this.#msgPayload = avail >= size ? chunk.slice(i, i + size) : new Uint8Array(
        size <= Math.max(this.#maxPayload, EAGER_PAYLOAD_ALLOC) ? size : EAGER_PAYLOAD_ALLOC,
      );
      if (avail >= size) {
        got = size;
        i += size;
      }
    }
    if (got < size) {
      const take = Math.min(n - i, size - got);
      let payload = this.#msgPayload!;
      if (payload.length < got + take) {
        const grown = new Uint8Array(Math.min(size, Math.max(payload.length * 2, got + take)));
        grown.set(payload.subarray(0, got));
        payload = this.#msgPayload = grown;
      }
      payload.set(chunk.subarray(i, i + take), got);
      got += take;
      i += take;
      if (got < size) {
        this.#msgGot = got;
        return i;
      }
    }
    while (i < n) {
      const b = chunk[i++];
      if (got === size) {
        if (b !== CR) throw unknownOp("payload not followed by \\r\\n");
        got++;
      } else {
        if (b !== LF) throw unknownOp("payload not followed by \\r\\n");
        const payload = this.#msgPayload!;
        this.#msgPayload = undefined;
        this.#msgGot = 0;
        this.#state = S_LINE;
        this.#emitMessage(payload);
        return i;
      }
    }
    this.#msgGot = got;
    return i;
  }

  #emitMessage(payload: Uint8Array): void {
    const subject = this.#msgSubject;
    const reply = this.#msgReply;
    switch (this.#msgCode) {
      case OP_PUB:
        this.#onOp(
          reply === undefined
            ? { kind: "PUB", subject, payload }
            : { kind: "PUB", subject, reply, payload },
        );
        return;
      case OP_HPUB: {
        const headerSize = this.#msgHeaderSize;
        this.#onOp(
          reply === undefined
            ? { kind: "HPUB", subject, headerSize, message: payload }
            : { kind: "HPUB", subject, reply, headerSize, message: payload },
        );
        return;
      }
      case OP_MSG: {
        const sid = this.#msgSid;
        this.#onOp(
          reply === undefined
            ? { kind: "MSG", subject, sid, payload }
            : { kind: "MSG", subject, sid, reply, payload },
        );
        return;
      }
      case OP_HMSG: {
        const sid = this.#msgSid;
        const headerSize = this.#msgHeaderSize;
        this.#onOp(
          reply === undefined
            ? { kind: "HMSG", subject, sid, headerSize, message: payload }
            : { kind: "HMSG", subject, sid, reply, headerSize, message: payload },
        );
        return;
      }
      case OP_LMSG: {
        const queues = this.#msgQueues;
        const op: LmsgOp = reply === undefined
          ? { kind: "LMSG", subject, queues, payload }
          : { kind: "LMSG", subject, reply, queues, payload };
        this.#msgQueues = NO_QUEUES;
        this.#onOp(op);
        return;
      }
      case OP_LHMSG: {
        const queues = this.#msgQueues;
        const headerSize = this.#msgHeaderSize;
        const op: LhmsgOp = reply === undefined
          ? { kind: "LHMSG", subject, queues, headerSize, message: payload }
          : { kind: "LHMSG", subject, reply, queues, headerSize, message: payload };
        this.#msgQueues = NO_QUEUES;
        this.#onOp(op);
        return;
      }
    }
  }
}

function isBlank(b: number): boolean {
  return b === SPACE || b === TAB;
}

function trimBlanksEnd(buf: Uint8Array, start: number, end: number): number {
  while (end > start && isBlank(buf[end - 1])) end--;
  return end;
}

/** Decimal of 1–9 ASCII digits, or -1 (nats-server's size rule: no sign, no 10th digit). */
function parseSize(buf: Uint8Array, start: number, end: number): number {
  const len = end - start;
  if (len === 0 || len > 9) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function unknownOp(detail: string): ProtocolError {
  return new ProtocolError(`Cannot parse op: ${detail}`, { errText: ErrText.unknownProtocol });
}

function maxControlLineExceeded(length: number): ProtocolError {
  return new ProtocolError(
    `Cannot parse op: control line arguments of ${length} bytes exceed max_control_line`,
    { errText: ErrText.maxControlLine },
  );
}

function authorizationViolation(): ProtocolError {
  return new ProtocolError("Cannot accept op: CONNECT must come first", {
    errText: ErrText.authorization,
  });
}

/** nats-server closes the connection on these argument errors without sending `-ERR`. */
function silentClose(message: string): ProtocolError {
  return new ProtocolError(message, { errText: undefined, close: true });
}

const utf8Decoder = new TextDecoder();

function textDecoderSlice(buf: Uint8Array, start: number, end: number): string {
  return utf8Decoder.decode(buf.subarray(start, end));
}

/**
 * `node:buffer`'s `utf8Slice` decodes any Uint8Array range in one native call, 2–3× faster than
 * TextDecoder or building the string in JS once text is longer than a few bytes (measured on
 * Deno 2.9.6). It is not a documented API, so check it works and fall back to TextDecoder.
 */
const utf8Slice: (buf: Uint8Array, start: number, end: number) => string = (() => {
  const native = (Buffer.prototype as { utf8Slice?: unknown }).utf8Slice;
  if (typeof native !== "function") return textDecoderSlice;
  const slice = (buf: Uint8Array, start: number, end: number): string =>
    native.call(buf, start, end);
  try {
    const probe = new Uint8Array([0x78, 0x61, 0xc3, 0xa9, 0xf0, 0x9f, 0x9a, 0x80, 0x79]);
    return slice(probe, 1, 8) === "a\u00e9\u{1f680}" ? slice : textDecoderSlice;
  } catch {
    return textDecoderSlice;
  }
})();

/** Up to this length, appending char by char beats one native call. */
const CONCAT_LIMIT = 8;

/** Decodes `buf[start, end)` as UTF-8 (invalid bytes become U+FFFD). */
function decodeText(buf: Uint8Array, start: number, end: number): string {
  if (end - start > CONCAT_LIMIT) return utf8Slice(buf, start, end);
  let out = "";
  for (let i = start; i < end; i++) {
    const b = buf[i];
    if (b >= 0x80) return utf8Slice(buf, start, end);
    out += String.fromCharCode(b);
  }
  return out;
}

// A direct-mapped cache of short ASCII strings (subjects, queue names, MSG sids), shared by all
// parsers. Routers see the same subjects again and again: a hit skips building the string and
// returns one whose hash V8 already knows, which makes the later Map lookups cheaper too. A miss
// costs one hash pass, and hostile input can only cause misses.
const CACHE_SLOTS = 4096;
const CACHE_MAX_LEN = 64;
const cache: string[] = new Array<string>(CACHE_SLOTS).fill("");

function cachedText(buf: Uint8Array, start: number, end: number): string {
  const len = end - start;
  if (len > CACHE_MAX_LEN) return decodeText(buf, start, end);
  let h = 0x811c9dc5 | 0;
  let high = 0;
  for (let i = start; i < end; i++) {
    const b = buf[i];
    high |= b;
    h = Math.imul(h ^ b, 0x01000193);
  }
  if (high >= 0x80) return utf8Slice(buf, start, end);
  const slot = h & (CACHE_SLOTS - 1);
  const hit = cache[slot];
  if (hit.length === len) {
    let k = 0;
    while (k < len && hit.charCodeAt(k) === buf[start + k]) k++;
    if (k === len) return hit;
  }
  const out = decodeText(buf, start, end);
  cache[slot] = out;
  return out;
}
