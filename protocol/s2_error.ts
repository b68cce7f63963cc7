/**
 * The error raised for corrupt or unsupported S2/Snappy input (blocks and framed streams).
 *
 * Every way in which untrusted compressed bytes can be wrong maps to one {@linkcode S2ErrorReason},
 * so that a connection actor can log a precise cause and close the link without parsing messages.
 *
 * @module
 */

/**
 * Why S2 input was rejected.
 *
 * - `truncated`: the input ended inside a varint, an element, a chunk header or a chunk body.
 * - `bad_varint`: the block's decoded-length header is not a valid uvarint of at most 32 bits.
 * - `too_large`: a declared length (block, chunk, element) exceeds the configured limit.
 * - `bad_offset`: a copy refers to offset 0 (outside a repeat), to data before the start of the
 *   block, or repeats an offset before any copy has set one.
 * - `length_mismatch`: the elements decode to more or fewer bytes than the header declared.
 * - `crc_mismatch`: the masked CRC-32C of a chunk does not match its decoded data.
 * - `bad_identifier`: a stream-identifier chunk has the wrong length or magic.
 * - `missing_identifier`: a data chunk arrived before any stream identifier.
 * - `reserved_chunk`: a chunk type in the reserved unskippable range `0x02`–`0x7f`.
 * - `bad_chunk`: a data chunk too short to hold its checksum.
 * - `engine_mismatch`: the WebAssembly decoder refused a block that the TypeScript one accepts
 *   (a bug in one of them: the block is not trusted).
 */
export type S2ErrorReason =
  | "truncated"
  | "bad_varint"
  | "too_large"
  | "bad_offset"
  | "length_mismatch"
  | "crc_mismatch"
  | "bad_identifier"
  | "missing_identifier"
  | "reserved_chunk"
  | "bad_chunk"
  | "engine_mismatch";

/**
 * Corrupt or unsupported S2 input. The decoder that raised it must not be fed again: framed
 * streams cannot resynchronise after a bad chunk.
 *
 * @example
 * ```ts
 * import { S2Error } from "./s2_error.ts";
 * const err = new S2Error("crc_mismatch", "Cannot read S2 chunk: checksum 0x1 does not match 0x2");
 * console.log(err.name, err.reason); // "S2Error" "crc_mismatch"
 * ```
 */
export class S2Error extends Error {
  override name = "S2Error";
  /** The machine-readable cause. */
  readonly reason: S2ErrorReason;

  /** Creates an error with a `reason` for code and a `message` for logs. */
  constructor(reason: S2ErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}
