/**
 * permessage-deflate (RFC 7692) as nats-server negotiates it: raw DEFLATE with no context
 * takeover in either direction, so every message is compressed and inflated on its own.
 *
 * Two node:zlib details matter (runtime facts §3): the compressor must end with a sync flush
 * (`finishFlush: Z_SYNC_FLUSH`; the default `Z_FINISH` writes a final block, and stripping four
 * bytes from that corrupts the stream), and the receiver appends the stripped `00 00 ff ff` tail
 * again before inflating.
 *
 * @module
 */

import zlib from "node:zlib";

/** The empty stored block a sync flush ends with; RFC 7692 §7.2.1 strips it from the wire. */
export const DEFLATE_TAIL: Uint8Array = Uint8Array.of(0x00, 0x00, 0xff, 0xff);

/**
 * nats-server compresses with `flate.BestSpeed`: at message-router rates the CPU matters more
 * than the last few percent of ratio.
 */
export const DEFAULT_DEFLATE_LEVEL: number = zlib.constants.Z_BEST_SPEED;

/**
 * The default cap on one inflated message: nats-server's `wsMaxMsgPayloadLimit` (64 MiB), the
 * most it buffers for a compressed message. A few kilobytes of DEFLATE can expand to gigabytes,
 * so inflating without a cap is a denial of service.
 */
export const DEFAULT_MAX_DECOMPRESSED_SIZE: number = 64 * 1024 * 1024;

const INFLATE_OPTIONS = Object.freeze({ finishFlush: zlib.constants.Z_SYNC_FLUSH });
const DEFLATE_OPTIONS = Object.freeze({ ...INFLATE_OPTIONS, level: DEFAULT_DEFLATE_LEVEL });

/** Raised by {@linkcode inflateMessage} when the inflated message would exceed its cap. */
export class DecompressedSizeError extends RangeError {
  override name = "DecompressedSizeError";
  /** The cap that was hit, in bytes. */
  readonly limit: number;

  /** Creates the error for a message that inflates past `limit` bytes. */
  constructor(limit: number, options?: ErrorOptions) {
    super(`Cannot inflate message: larger than ${limit} bytes`, options);
    this.limit = limit;
  }
}

/** Raised by {@linkcode inflateMessage} when the bytes are not a valid DEFLATE stream. */
export class InvalidDeflateDataError extends Error {
  override name = "InvalidDeflateDataError";
}

/** Options for {@linkcode deflateMessage}. */
export interface DeflateMessageOptions {
  /** zlib level 0–9; defaults to {@linkcode DEFAULT_DEFLATE_LEVEL} (best speed). */
  level?: number;
}

/**
 * Compresses one message for the wire: raw DEFLATE, sync-flushed, with the trailing
 * `00 00 ff ff` removed. The result is a view into a fresh buffer.
 *
 * @example
 * ```ts
 * import { deflateMessage, inflateMessage } from "./ws_deflate.ts";
 * const wire = deflateMessage(new TextEncoder().encode("PING\r\n".repeat(100)));
 * console.log(new TextDecoder().decode(inflateMessage(wire)).length); // 600
 * ```
 */
export function deflateMessage(data: Uint8Array, options: DeflateMessageOptions = {}): Uint8Array {
  const deflated = zlib.deflateRawSync(
    data,
    options.level === undefined ? DEFLATE_OPTIONS : { ...DEFLATE_OPTIONS, level: options.level },
  );
  const end = deflated.length - DEFLATE_TAIL.length;
  if (
    end < 0 || deflated[end] !== 0x00 || deflated[end + 1] !== 0x00 ||
    deflated[end + 2] !== 0xff || deflated[end + 3] !== 0xff
  ) {
    // Cannot happen with a sync flush; refuse to send a stream the peer would misread.
    throw new InvalidDeflateDataError("Cannot deflate message: output does not end in 00 00 ff ff");
  }
  return deflated.subarray(0, end);
}

/** Options for {@linkcode inflateMessage}. */
export interface InflateMessageOptions {
  /** Largest inflated size accepted; defaults to {@linkcode DEFAULT_MAX_DECOMPRESSED_SIZE}. */
  maxSize?: number;
  /**
   * `true` when `data` already has 4 spare bytes after its end (in the same buffer) that may be
   * overwritten with the tail, which saves a copy of the whole message.
   */
  hasTailRoom?: boolean;
}

/**
 * Inflates one received message: appends `00 00 ff ff` and inflates with a sync flush, so a
 * sender that did (or did not) end with a final block is read the same way.
 *
 * @throws {DecompressedSizeError} when the output would exceed `maxSize`.
 * @throws {InvalidDeflateDataError} when `data` is not valid raw DEFLATE.
 *
 * @example
 * ```ts
 * import { deflateMessage, inflateMessage } from "./ws_deflate.ts";
 * const wire = deflateMessage(new TextEncoder().encode("hello"));
 * console.log(new TextDecoder().decode(inflateMessage(wire, { maxSize: 1024 }))); // "hello"
 * ```
 */
export function inflateMessage(data: Uint8Array, options: InflateMessageOptions = {}): Uint8Array {
  const maxSize = options.maxSize ?? DEFAULT_MAX_DECOMPRESSED_SIZE;
  let input: Uint8Array;
  if (options.hasTailRoom && data.byteOffset + data.length + 4 <= data.buffer.byteLength) {
    input = new Uint8Array(data.buffer, data.byteOffset, data.length + 4);
  } else {
    input = new Uint8Array(data.length + 4);
    input.set(data);
  }
  input.set(DEFLATE_TAIL, data.length);
  try {
    return zlib.inflateRawSync(input, { ...INFLATE_OPTIONS, maxOutputLength: maxSize });
  } catch (error) {
    if ((error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
      throw new DecompressedSizeError(maxSize, { cause: error });
    }
    throw new InvalidDeflateDataError(
      `Cannot inflate message: ${(error as Error).message ?? String(error)}`,
      { cause: error },
    );
  }
}
