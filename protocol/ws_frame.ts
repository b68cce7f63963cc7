/**
 * RFC 6455 framing with no I/O: an incremental frame decoder and the frame encoders, with the
 * checks and close-frame texts of current nats-server (`server/websocket.go`, 2.11.14+ and
 * 2.12.5+; 2.9.10 skipped the RSV2/RSV3, 64-bit length and close-status checks), so a peer sees
 * the same close reasons from Canopy as from nats-server.
 *
 * We write our own framing because Deno's `upgradeWebSocket` and `WebSocket` never negotiate
 * permessage-deflate and always mask (runtime facts §3). NATS data is a byte stream, so the
 * decoder hands out uncompressed payload as it arrives (zero copy, unmasked in place) instead of
 * assembling messages; only compressed messages are buffered, because they must be inflated
 * whole. Text frames are NATS bytes too: like nats-server, we do not check that they are UTF-8.
 *
 * @module
 */

import {
  DecompressedSizeError,
  deflateMessage,
  inflateMessage,
  InvalidDeflateDataError,
} from "./ws_deflate.ts";

/** Frame opcodes (RFC 6455 §5.2). */
export const WsOpcode = Object.freeze(
  {
    continuation: 0,
    text: 1,
    binary: 2,
    close: 8,
    ping: 9,
    pong: 10,
  } as const,
);

/** Close status codes (RFC 6455 §7.4.1) that nats-server sends or checks. */
export const WsCloseCode = Object.freeze(
  {
    normalClosure: 1000,
    goingAway: 1001,
    protocolError: 1002,
    unsupportedData: 1003,
    /** Reserved: never sent; reported when a close frame carries no status. */
    noStatusReceived: 1005,
    invalidPayloadData: 1007,
    policyViolation: 1008,
    messageTooBig: 1009,
    internalError: 1011,
    /** Reserved: never sent in a frame. */
    tlsHandshake: 1015,
  } as const,
);

/** Control frames carry at most 125 payload bytes (RFC 6455 §5.5). */
export const MAX_CONTROL_PAYLOAD = 125;

/**
 * nats-server does not compress a flush of 64 bytes or less (`wsCompressThreshold`): the DEFLATE
 * overhead outweighs the gain, and PING/PONG stay readable on the wire.
 */
export const COMPRESS_THRESHOLD = 64;

/**
 * Default cap on one message's wire payload (all its frames together): nats-server's
 * `wsMaxMsgPayloadLimit`. nats-server's own writer never exceeds it in one flush because its
 * slow-consumer limit (`max_pending`, 64 MB) stops the connection first.
 */
export const DEFAULT_MAX_MESSAGE_SIZE: number = 64 * 1024 * 1024;

/** The close reason nats-server sends with status 1009 (`MaxPayloadExceeded`). */
export const MAX_PAYLOAD_CLOSE_REASON = "Maximum Message Payload Exceeded";

const EMPTY = new Uint8Array(0);
const TWO_POW_32 = 0x1_0000_0000;

/**
 * A broken WebSocket stream. `code` is the status for the close frame to send back (1002
 * protocol error, 1007 bad data, 1009 too big); `message` is the close reason, with
 * nats-server's texts where nats-server has one.
 *
 * @example
 * ```ts
 * import { WebSocketError } from "./ws_frame.ts";
 * const err = new WebSocketError(1002, "mask bit missing");
 * console.log(err.code, err.message); // 1002 "mask bit missing"
 * ```
 */
export class WebSocketError extends Error {
  override name = "WebSocketError";
  /** The close status to send to the peer. */
  readonly code: number;

  /** Creates the error; `message` becomes the close frame's reason. */
  constructor(code: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

function protocolError(message: string): WebSocketError {
  return new WebSocketError(WsCloseCode.protocolError, message);
}

/**
 * Whether a close frame may carry `code`: 1000–4999 minus the reserved 1004, 1005, 1006, 1015
 * and 1016–2999 (the same rule as nats-server).
 *
 * @example
 * ```ts
 * import { isValidCloseCode } from "./ws_frame.ts";
 * console.log(isValidCloseCode(1000), isValidCloseCode(1005)); // true false
 * ```
 */
export function isValidCloseCode(code: number): boolean {
  if (code < 1000 || code >= 5000) return false;
  if (code === 1004 || code === 1005 || code === 1006 || code === 1015) return false;
  return code < 1016 || code > 2999;
}

const textEncoder = new TextEncoder();
const ELLIPSIS = Uint8Array.of(0x2e, 0x2e, 0x2e);
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The payload of a close frame: the status as a big-endian u16, then the reason. A reason that
 * does not fit in 123 bytes is cut to 120 bytes (on a character boundary) plus `...`, as
 * nats-server does.
 *
 * @example
 * ```ts
 * import { closePayload } from "./ws_frame.ts";
 * console.log(closePayload(1000, "bye")); // Uint8Array [3, 232, 98, 121, 101]
 * ```
 */
export function closePayload(code: number, reason = ""): Uint8Array {
  const out = new Uint8Array(MAX_CONTROL_PAYLOAD);
  out[0] = code >>> 8;
  out[1] = code & 0xff;
  const whole = textEncoder.encodeInto(reason, out.subarray(2));
  if (whole.read === reason.length) return out.subarray(0, 2 + whole.written);
  // encodeInto never splits a character, so the cut reason stays valid UTF-8.
  const cut = textEncoder.encodeInto(reason, out.subarray(2, MAX_CONTROL_PAYLOAD - 3));
  const end = 2 + cut.written;
  out.set(ELLIPSIS, end);
  return out.subarray(0, end + ELLIPSIS.length);
}

// Masking keys come from the CSPRNG in batches: one getRandomValues call per 256 frames.
const keyPool = new Uint8Array(1024);
let keyPoolOffset = keyPool.length;

function fillMaskKey(target: Uint8Array, offset: number): void {
  if (keyPoolOffset + 4 > keyPool.length) {
    crypto.getRandomValues(keyPool);
    keyPoolOffset = 0;
  }
  target[offset] = keyPool[keyPoolOffset];
  target[offset + 1] = keyPool[keyPoolOffset + 1];
  target[offset + 2] = keyPool[keyPoolOffset + 2];
  target[offset + 3] = keyPool[keyPoolOffset + 3];
  keyPoolOffset += 4;
}

const keyWordBytes = new Uint8Array(4);
const keyWord = new Uint32Array(keyWordBytes.buffer);
/** Below this many bytes a plain byte loop beats setting up a 32-bit view. */
const WORD_MASK_MIN = 32;

/**
 * XORs `bytes` in place with the 4-byte masking `key` (RFC 6455 §5.3), starting at key position
 * `keyOffset`, and returns the key position for the next byte, so a payload can be unmasked in
 * pieces. Masking and unmasking are the same operation.
 *
 * @example
 * ```ts
 * import { maskBytes } from "./ws_frame.ts";
 * const key = Uint8Array.of(1, 2, 3, 4);
 * const data = Uint8Array.of(10, 20, 30);
 * const next = maskBytes(data, key);
 * maskBytes(data, key); // back to 10, 20, 30
 * console.log(next); // 3
 * ```
 */
export function maskBytes(bytes: Uint8Array, key: Uint8Array, keyOffset = 0): number {
  const length = bytes.length;
  let p = keyOffset & 3;
  let i = 0;
  if (length >= WORD_MASK_MIN) {
    // Align to 4 bytes, then XOR whole words with the key rotated to the current position.
    const lead = (4 - (bytes.byteOffset & 3)) & 3;
    for (; i < lead; i++) {
      bytes[i] ^= key[p];
      p = (p + 1) & 3;
    }
    keyWordBytes[0] = key[p];
    keyWordBytes[1] = key[(p + 1) & 3];
    keyWordBytes[2] = key[(p + 2) & 3];
    keyWordBytes[3] = key[(p + 3) & 3];
    const word = keyWord[0];
    const words = (length - i) >>> 2;
    const view = new Uint32Array(bytes.buffer, bytes.byteOffset + i, words);
    for (let w = 0; w < words; w++) view[w] ^= word;
    i += words << 2;
  }
  for (; i < length; i++) {
    bytes[i] ^= key[p];
    p = (p + 1) & 3;
  }
  return p;
}

/**
 * Size of a frame header for a payload of `payloadLength` bytes: 2, 4 or 10 bytes, plus 4 for the
 * masking key.
 */
export function frameHeaderSize(payloadLength: number, masked: boolean): number {
  return (payloadLength <= 125 ? 2 : payloadLength <= 0xffff ? 4 : 10) + (masked ? 4 : 0);
}

/** What {@linkcode writeFrameHeader} writes. */
export interface FrameHeaderFields {
  opcode: number;
  payloadLength: number;
  /** Last frame of its message; defaults to `true`. */
  fin?: boolean;
  /** RSV1: the message is compressed (set on its first frame only). */
  rsv1?: boolean;
  /** Add a fresh random masking key (client-to-server frames). */
  mask?: boolean;
}

/**
 * Writes a frame header into `target` at `offset` and returns its length. With `mask`, the last 4
 * header bytes are the (random) key to mask the payload with.
 *
 * @example
 * ```ts
 * import { writeFrameHeader } from "./ws_frame.ts";
 * const header = new Uint8Array(14);
 * const n = writeFrameHeader(header, 0, { opcode: 2, payloadLength: 300 });
 * console.log(header.subarray(0, n)); // Uint8Array [130, 126, 1, 44]
 * ```
 */
export function writeFrameHeader(
  target: Uint8Array,
  offset: number,
  fields: FrameHeaderFields,
): number {
  const { opcode, payloadLength } = fields;
  target[offset] = (fields.fin === false ? 0 : 0x80) | (fields.rsv1 ? 0x40 : 0) | opcode;
  const maskBit = fields.mask ? 0x80 : 0;
  let n: number;
  if (payloadLength <= 125) {
    target[offset + 1] = maskBit | payloadLength;
    n = 2;
  } else if (payloadLength <= 0xffff) {
    target[offset + 1] = maskBit | 126;
    target[offset + 2] = payloadLength >>> 8;
    target[offset + 3] = payloadLength & 0xff;
    n = 4;
  } else {
    target[offset + 1] = maskBit | 127;
    const high = Math.floor(payloadLength / TWO_POW_32);
    const low = payloadLength >>> 0;
    target[offset + 2] = high >>> 24;
    target[offset + 3] = (high >>> 16) & 0xff;
    target[offset + 4] = (high >>> 8) & 0xff;
    target[offset + 5] = high & 0xff;
    target[offset + 6] = low >>> 24;
    target[offset + 7] = (low >>> 16) & 0xff;
    target[offset + 8] = (low >>> 8) & 0xff;
    target[offset + 9] = low & 0xff;
    n = 10;
  }
  if (fields.mask) {
    fillMaskKey(target, offset + n);
    n += 4;
  }
  return n;
}

/** A frame for {@linkcode encodeFrame}. */
export interface EncodeFrameOptions {
  opcode: number;
  payload?: Uint8Array;
  /** Mask with a random key, as a client must (unless no-masking was agreed). */
  mask?: boolean;
  /** Set RSV1: `payload` is already DEFLATE data (first frame of a compressed message). */
  compressed?: boolean;
  /** Last frame of its message; defaults to `true`. */
  fin?: boolean;
}

function isControlOpcode(opcode: number): boolean {
  return opcode >= WsOpcode.close;
}

/**
 * Encodes one frame into a new buffer. `payload` is copied, never modified.
 *
 * @throws {RangeError} for a control frame longer than 125 bytes, fragmented or compressed.
 *
 * @example
 * ```ts
 * import { encodeFrame, WsOpcode } from "./ws_frame.ts";
 * const ping = encodeFrame({ opcode: WsOpcode.ping, payload: Uint8Array.of(1, 2) });
 * console.log(ping); // Uint8Array [137, 2, 1, 2]
 * ```
 */
export function encodeFrame(frame: EncodeFrameOptions): Uint8Array {
  const payload = frame.payload ?? EMPTY;
  if (isControlOpcode(frame.opcode)) {
    if (payload.length > MAX_CONTROL_PAYLOAD || frame.fin === false || frame.compressed) {
      throw new RangeError(
        `Cannot encode control frame: at most ${MAX_CONTROL_PAYLOAD} bytes, unfragmented and uncompressed`,
      );
    }
  }
  const mask = frame.mask ?? false;
  const headerLength = frameHeaderSize(payload.length, mask);
  const out = new Uint8Array(headerLength + payload.length);
  writeFrameHeader(out, 0, {
    opcode: frame.opcode,
    payloadLength: payload.length,
    fin: frame.fin,
    rsv1: frame.compressed,
    mask,
  });
  out.set(payload, headerLength);
  if (mask) maskBytes(out.subarray(headerLength), out.subarray(headerLength - 4, headerLength));
  return out;
}

/**
 * Encodes a close frame with `code` and `reason` (see {@linkcode closePayload}); `code` 1005
 * ("no status") gives an empty close frame, which is how nats-server answers a close frame that
 * had no status.
 *
 * @example
 * ```ts
 * import { encodeCloseFrame } from "./ws_frame.ts";
 * console.log(encodeCloseFrame(1005)); // Uint8Array [136, 0]
 * ```
 */
export function encodeCloseFrame(code: number, reason = "", mask = false): Uint8Array {
  const payload = code === WsCloseCode.noStatusReceived ? EMPTY : closePayload(code, reason);
  return encodeFrame({ opcode: WsOpcode.close, payload, mask });
}

/** Options for {@linkcode encodeDataMessage}. */
export interface EncodeDataMessageOptions {
  /** Mask the frame (client side, unless no-masking was agreed). */
  mask?: boolean;
  /** permessage-deflate was negotiated: compress when it pays off. */
  compress?: boolean;
  /** Reuse this buffer when it is big enough; the result is then a view into it. */
  output?: Uint8Array;
}

/**
 * Frames a batch of NATS bytes as one binary message. With `compress`, data over
 * {@linkcode COMPRESS_THRESHOLD} bytes is deflated (RSV1 set) unless that would not make it
 * smaller; an uncompressed message is always valid, even after compression was negotiated.
 *
 * @example
 * ```ts
 * import { encodeDataMessage } from "./ws_frame.ts";
 * const frame = encodeDataMessage(new TextEncoder().encode("PING\r\n"), { mask: false });
 * console.log(frame[0], frame[1]); // 130 6
 * ```
 */
export function encodeDataMessage(
  data: Uint8Array,
  options: EncodeDataMessageOptions = {},
): Uint8Array {
  let payload = data;
  let compressed = false;
  if (options.compress && data.length > COMPRESS_THRESHOLD) {
    const deflated = deflateMessage(data);
    if (deflated.length < data.length) {
      payload = deflated;
      compressed = true;
    }
  }
  const mask = options.mask ?? false;
  const headerLength = frameHeaderSize(payload.length, mask);
  const total = headerLength + payload.length;
  const output = options.output;
  const out = output !== undefined && output.length >= total
    ? output.subarray(0, total)
    : new Uint8Array(total);
  writeFrameHeader(out, 0, {
    opcode: WsOpcode.binary,
    payloadLength: payload.length,
    rsv1: compressed,
    mask,
  });
  out.set(payload, headerLength);
  if (mask) maskBytes(out.subarray(headerLength), out.subarray(headerLength - 4, headerLength));
  return out;
}

/**
 * Receives what {@linkcode WebSocketFrameDecoder.feed} decodes, in stream order. Payloads may be
 * views into the bytes given to `feed()` (unmasked in place) or into the decoder's own buffers:
 * copy them before the next `feed()` if they must live longer.
 */
export interface WebSocketFrameHandler {
  /**
   * Message data: uncompressed messages arrive in pieces as their frames do; a compressed
   * message arrives inflated, in one piece. `fin` marks the last piece of a message.
   */
  onData(payload: Uint8Array, fin: boolean, text: boolean): void;
  onPing(payload: Uint8Array): void;
  onPong(payload: Uint8Array): void;
  /**
   * A close frame; `code` is 1005 when it had no status. Nothing after it is decoded. nats-server
   * replies with the same status and reason (`encodeCloseFrame(code, reason)`), or with an empty
   * close frame for 1005.
   */
  onClose(code: number, reason: string): void;
}

/** Options for {@linkcode WebSocketFrameDecoder}. */
export interface FrameDecoderOptions {
  /**
   * Reject unmasked frames with 1002 "mask bit missing": the accepting side, unless no-masking
   * was agreed. Masked frames are always accepted (and unmasked).
   */
  requireMask?: boolean;
  /** permessage-deflate was negotiated; without it RSV1 is a protocol error. */
  compression?: boolean;
  /** Largest message payload on the wire (all frames); more is 1009. */
  maxMessageSize?: number;
  /** Largest inflated message; more is 1009. Defaults to `maxMessageSize`. */
  maxDecompressedSize?: number;
}

/** Largest frame header: 2 + 8 (64-bit length) + 4 (masking key). */
const MAX_HEADER = 14;
/** Compressed-message buffers above this are released after use, not kept for reuse. */
const RETAINED_COMPRESSED_BUFFER = 1024 * 1024;

/**
 * Incremental RFC 6455 decoder: give it bytes in any split with `feed()`, it calls the handler
 * for each piece of data and control frame. Control frames may arrive between the fragments of
 * a message. Errors are {@linkcode WebSocketError}s; after one the decoder stays failed.
 *
 * `feed()` unmasks masked payload in place, so it modifies the bytes it is given.
 *
 * @example
 * ```ts
 * import { encodeFrame, WebSocketFrameDecoder, WsOpcode } from "./ws_frame.ts";
 * const chunks: string[] = [];
 * const decoder = new WebSocketFrameDecoder({
 *   onData: (payload) => chunks.push(new TextDecoder().decode(payload)),
 *   onPing: () => {},
 *   onPong: () => {},
 *   onClose: () => {},
 * });
 * const frame = encodeFrame({ opcode: WsOpcode.binary, payload: new TextEncoder().encode("PING\r\n"), mask: true });
 * for (const byte of frame) decoder.feed(Uint8Array.of(byte));
 * console.log(chunks.join("")); // "PING\r\n"
 * ```
 */
export class WebSocketFrameDecoder {
  #handler: WebSocketFrameHandler;
  #requireMask: boolean;
  #compression: boolean;
  #maxMessageSize: number;
  #maxDecompressedSize: number;

  #header = new Uint8Array(MAX_HEADER);
  #headerHave = 0;
  #headerNeed = 2;

  #inPayload = false;
  #opcode = 0;
  #fin = false;
  #masked = false;
  #maskKey = new Uint8Array(4);
  #maskPosition = 0;
  #remaining = 0;

  #messageOpen = false;
  #messageText = false;
  #messageCompressed = false;
  #messageSize = 0;

  #control = new Uint8Array(MAX_CONTROL_PAYLOAD);
  #controlLength = 0;

  #compressed: Uint8Array = EMPTY;
  #compressedLength = 0;

  #closed = false;
  #failure: WebSocketError | undefined;

  /** Creates a decoder that reports to `handler`. */
  constructor(handler: WebSocketFrameHandler, options: FrameDecoderOptions = {}) {
    this.#handler = handler;
    this.#requireMask = options.requireMask ?? false;
    this.#compression = options.compression ?? false;
    this.#maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.#maxDecompressedSize = options.maxDecompressedSize ?? this.#maxMessageSize;
  }

  /** True once a close frame was decoded; later bytes are ignored. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Decodes `bytes` (any split of the stream), calling the handler as frames complete.
   *
   * @throws {WebSocketError} on a protocol violation, an oversize message or bad compressed
   * data; the handler has already seen everything before the fault.
   */
  feed(bytes: Uint8Array): void {
    if (this.#failure) throw this.#failure;
    try {
      this.#feed(bytes);
    } catch (error) {
      if (error instanceof WebSocketError) this.#failure = error;
      throw error;
    }
  }

  #feed(bytes: Uint8Array): void {
    const end = bytes.length;
    let pos = 0;
    while (pos < end && !this.#closed) {
      if (!this.#inPayload) {
        const take = Math.min(this.#headerNeed - this.#headerHave, end - pos);
        this.#header.set(bytes.subarray(pos, pos + take), this.#headerHave);
        this.#headerHave += take;
        pos += take;
        if (this.#headerHave < this.#headerNeed) break;
        if (this.#headerNeed === 2) {
          this.#headerNeed = this.#checkFirstBytes();
          if (this.#headerHave < this.#headerNeed) continue;
        }
        this.#startFrame();
        continue;
      }
      const n = Math.min(this.#remaining, end - pos);
      const chunk = bytes.subarray(pos, pos + n);
      pos += n;
      this.#remaining -= n;
      if (this.#masked) this.#maskPosition = maskBytes(chunk, this.#maskKey, this.#maskPosition);
      if (isControlOpcode(this.#opcode)) {
        this.#control.set(chunk, this.#controlLength);
        this.#controlLength += n;
      } else if (this.#messageCompressed) {
        this.#appendCompressed(chunk);
      } else {
        this.#handler.onData(chunk, this.#fin && this.#remaining === 0, this.#messageText);
      }
      if (this.#remaining === 0) this.#endFrame();
    }
  }

  /** Validates the first two header bytes (nats-server's order) and returns the header size. */
  #checkFirstBytes(): number {
    const b0 = this.#header[0];
    const b1 = this.#header[1];
    const fin = (b0 & 0x80) !== 0;
    const rsv1 = (b0 & 0x40) !== 0;
    const opcode = b0 & 0x0f;
    if ((b0 & 0x30) !== 0) throw protocolError("RSV2 and RSV3 must be clear");
    if (rsv1 && !this.#compression) {
      throw protocolError("compressed frame received without negotiated permessage-deflate");
    }
    const masked = (b1 & 0x80) !== 0;
    if (this.#requireMask && !masked) throw protocolError("mask bit missing");
    const length7 = b1 & 0x7f;
    switch (opcode) {
      case WsOpcode.close:
      case WsOpcode.ping:
      case WsOpcode.pong:
        if (length7 > MAX_CONTROL_PAYLOAD) {
          throw protocolError(
            `control frame length bigger than maximum allowed of ${MAX_CONTROL_PAYLOAD} bytes`,
          );
        }
        if (!fin) throw protocolError("control frame does not have final bit set");
        if (rsv1) throw protocolError("control frame must not be compressed");
        break;
      case WsOpcode.text:
      case WsOpcode.binary:
        if (this.#messageOpen) {
          throw protocolError(
            "new message started before final frame for previous message was received",
          );
        }
        break;
      case WsOpcode.continuation:
        if (!this.#messageOpen || rsv1) throw protocolError("invalid continuation frame");
        break;
      default:
        throw protocolError(`unknown opcode ${opcode}`);
    }
    return 2 + (length7 === 126 ? 2 : length7 === 127 ? 8 : 0) + (masked ? 4 : 0);
  }

  /** The header is complete: read length and key, update message state. */
  #startFrame(): void {
    const header = this.#header;
    const b0 = header[0];
    const b1 = header[1];
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    const masked = (b1 & 0x80) !== 0;
    let length = b1 & 0x7f;
    let keyAt = 2;
    if (length === 126) {
      length = (header[2] << 8) | header[3];
      keyAt = 4;
    } else if (length === 127) {
      const high = ((header[2] << 24) | (header[3] << 16) | (header[4] << 8) | header[5]) >>> 0;
      if (high >= 0x8000_0000) throw protocolError("invalid 64-bit payload length");
      const low = ((header[6] << 24) | (header[7] << 16) | (header[8] << 8) | header[9]) >>> 0;
      length = high * TWO_POW_32 + low;
      keyAt = 10;
    }
    this.#headerHave = 0;
    this.#headerNeed = 2;

    if (!isControlOpcode(opcode)) {
      if (opcode !== WsOpcode.continuation) {
        this.#messageText = opcode === WsOpcode.text;
        this.#messageCompressed = (b0 & 0x40) !== 0;
        this.#messageSize = 0;
      }
      // Checked before any payload arrives, so an oversize frame is refused from its header.
      if (length > this.#maxMessageSize - this.#messageSize) {
        throw new WebSocketError(WsCloseCode.messageTooBig, MAX_PAYLOAD_CLOSE_REASON);
      }
      this.#messageSize += length;
      this.#messageOpen = !fin;
    } else {
      this.#controlLength = 0;
    }
    this.#opcode = opcode;
    this.#fin = fin;
    this.#masked = masked;
    if (masked) {
      this.#maskKey.set(header.subarray(keyAt, keyAt + 4));
      this.#maskPosition = 0;
    }
    this.#remaining = length;
    this.#inPayload = true;
    if (length === 0) {
      // An empty final frame still ends its message; tell the handler so.
      if (!isControlOpcode(opcode) && fin && !this.#messageCompressed) {
        this.#handler.onData(EMPTY, true, this.#messageText);
      }
      this.#endFrame();
    }
  }

  #endFrame(): void {
    this.#inPayload = false;
    const opcode = this.#opcode;
    if (isControlOpcode(opcode)) {
      this.#dispatchControl(opcode, this.#control.subarray(0, this.#controlLength));
    } else if (this.#fin && this.#messageCompressed) {
      this.#inflateMessage();
    }
  }

  #dispatchControl(opcode: number, payload: Uint8Array): void {
    if (opcode === WsOpcode.ping) {
      this.#handler.onPing(payload);
    } else if (opcode === WsOpcode.pong) {
      this.#handler.onPong(payload);
    } else {
      const { code, reason } = parseClosePayload(payload);
      this.#closed = true;
      this.#handler.onClose(code, reason);
    }
  }

  #appendCompressed(chunk: Uint8Array): void {
    // Keep 4 spare bytes so the DEFLATE tail can be appended without another copy.
    const needed = this.#compressedLength + chunk.length + 4;
    if (needed > this.#compressed.length) {
      const grown = new Uint8Array(Math.max(needed, this.#compressed.length * 2, 4096));
      grown.set(this.#compressed.subarray(0, this.#compressedLength));
      this.#compressed = grown;
    }
    this.#compressed.set(chunk, this.#compressedLength);
    this.#compressedLength += chunk.length;
  }

  #inflateMessage(): void {
    const input = this.#compressed.subarray(0, this.#compressedLength);
    this.#compressedLength = 0;
    let inflated: Uint8Array;
    try {
      inflated = inflateMessage(input, {
        maxSize: this.#maxDecompressedSize,
        hasTailRoom: true,
      });
    } catch (error) {
      if (error instanceof DecompressedSizeError) {
        throw new WebSocketError(WsCloseCode.messageTooBig, MAX_PAYLOAD_CLOSE_REASON, {
          cause: error,
        });
      }
      if (error instanceof InvalidDeflateDataError) {
        throw new WebSocketError(WsCloseCode.invalidPayloadData, "invalid compressed data", {
          cause: error,
        });
      }
      throw error;
    }
    if (this.#compressed.length > RETAINED_COMPRESSED_BUFFER) this.#compressed = EMPTY;
    this.#handler.onData(inflated, true, this.#messageText);
  }
}

/**
 * Reads a close frame's payload: no payload means status 1005; one byte, a reserved status or a
 * reason that is not UTF-8 are errors, with nats-server's texts.
 */
function parseClosePayload(payload: Uint8Array): { code: number; reason: string } {
  if (payload.length === 0) return { code: WsCloseCode.noStatusReceived, reason: "" };
  if (payload.length === 1) throw protocolError("close frame payload cannot be 1 byte");
  const code = (payload[0] << 8) | payload[1];
  if (!isValidCloseCode(code)) throw protocolError(`invalid close status code ${code}`);
  let reason = "";
  if (payload.length > 2) {
    try {
      reason = strictUtf8.decode(payload.subarray(2));
    } catch {
      throw new WebSocketError(
        WsCloseCode.invalidPayloadData,
        "invalid utf8 body in close frame",
      );
    }
  }
  return { code, reason };
}
