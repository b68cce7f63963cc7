/**
 * S2 block codec: one self-contained compressed block, no framing, no checksum.
 *
 * Format (Snappy's block format plus S2's repeat offsets, see spec section 5.4): a uvarint of
 * the decoded length, then elements whose tag byte's low two bits select
 * - `00` literal: length-1 in the upper 6 bits, or in 1–4 following bytes for values 60–63;
 * - `01` copy with an 11-bit offset and length 4–11; offset 0 is S2's *repeat*: copy again from
 *   the previous offset, with the 3-bit field selecting length 4–8, or 1/2/3 more bytes
 *   holding length-8, length-260 or length-65540;
 * - `10` copy with a 16-bit offset and length 1–64;
 * - `11` copy with a 32-bit offset and length 1–64.
 *
 * The decoder accepts every S2 and Snappy block. The encoder writes blocks that use repeats for
 * long matches and for matches at the previous offset, which Go's `s2.Decode` reads (vectors in
 * `tests/fixtures/s2/`). Levels trade speed for ratio: `fast` is a single-probe hash matcher,
 * `better` adds a second, longer hash and indexes inside matches, `best` walks hash chains and
 * looks one byte ahead before committing to a match.
 *
 * Decoding never reads or writes out of bounds and never allocates more than the declared
 * length, which is checked against a limit first; any inconsistency raises an
 * {@linkcode S2Error}.
 *
 * @module
 */

import { S2Error } from "./s2_error.ts";
import { s2Kernel } from "./s2_kernel.ts";

/** Compression levels, from none to slowest/smallest. */
export type S2Level = "uncompressed" | "fast" | "better" | "best";

/**
 * Which code runs the block codec: `"wasm"`, the C twin of this file in `s2_kernel.ts`, for
 * `fast`, `better` and decoding (when the runtime has WebAssembly), else `"typescript"`, this
 * file. Both produce the same bytes and the same errors; the choice exists for tests and
 * benchmarks.
 */
export type S2Engine = "wasm" | "typescript";

/** The engine used when none is asked for. */
export const DEFAULT_S2_ENGINE: S2Engine = s2Kernel === undefined ? "typescript" : "wasm";

/** Largest decoded block an S2 stream may carry (4 MiB); also the default decode limit. */
export const S2_MAX_BLOCK_SIZE = 4 * 1024 * 1024;

/** Largest input {@linkcode encodeBlock} accepts (positions are kept in 32-bit tables). */
const MAX_ENCODE_INPUT = 0x7fff0000;

/** Inputs shorter than this are stored as one literal: no match could pay for itself. */
const MIN_COMPRESS_INPUT = 16;

/** Largest length a single repeat element can express (65540 + 0xffffff). */
const MAX_REPEAT = 65540 + 0xffffff;

/** Literals and copies up to this length are copied in a loop; longer ones natively. */
const SHORT_COPY = 32;

/**
 * Upper bound of the encoded size of `length` input bytes, for any level: the size of the
 * buffer to pass to {@linkcode S2BlockEncoder.encodeInto}.
 *
 * @example
 * ```ts
 * import { maxEncodedLength } from "./s2_block.ts";
 * console.log(maxEncodedLength(1000)); // 1198
 * ```
 */
export function maxEncodedLength(length: number): number {
  return 32 + length + Math.floor(length / 6);
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/** Bytes used by the last header read by `readHeader` (avoids returning a tuple). */
let headerBytes = 0;

function readHeader(src: Uint8Array): number {
  let value = 0;
  let shift = 0;
  for (let i = 0; i < 5; i++) {
    if (i >= src.length) throw new S2Error("truncated", "Cannot decode S2 block: empty header");
    const b = src[i];
    if (i === 4 && b > 0x0f) {
      throw new S2Error("bad_varint", "Cannot decode S2 block: length header exceeds 32 bits");
    }
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) {
      headerBytes = i + 1;
      return value;
    }
    shift += 7;
  }
  throw new S2Error("bad_varint", "Cannot decode S2 block: length header exceeds 32 bits");
}

/**
 * The decoded length a block declares in its header, without decoding it.
 *
 * @example
 * ```ts
 * import { decodedBlockLength, encodeBlock } from "./s2_block.ts";
 * console.log(decodedBlockLength(encodeBlock(new Uint8Array(300)))); // 300
 * ```
 */
export function decodedBlockLength(src: Uint8Array): number {
  return readHeader(src);
}

/** Options for {@linkcode decodeBlock}. */
export interface DecodeBlockOptions {
  /**
   * Largest decoded length accepted, checked before allocating. Defaults to
   * {@linkcode S2_MAX_BLOCK_SIZE}: what an S2 stream may carry, and a bound on memory per call.
   */
  maxLength?: number;
  /** Defaults to {@linkcode DEFAULT_S2_ENGINE}. */
  engine?: S2Engine;
}

/**
 * Decodes a block into a new array.
 *
 * @throws {S2Error} when the block is corrupt or declares more than `maxLength` bytes.
 * @example
 * ```ts
 * import { decodeBlock } from "./s2_block.ts";
 * // "PONG\r\n": length 6, one literal of 6 bytes
 * const block = new Uint8Array([6, 0x14, 0x50, 0x4f, 0x4e, 0x47, 0x0d, 0x0a]);
 * console.log(new TextDecoder().decode(decodeBlock(block))); // "PONG\r\n"
 * ```
 */
export function decodeBlock(src: Uint8Array, options: DecodeBlockOptions = {}): Uint8Array {
  const maxLength = options.maxLength ?? S2_MAX_BLOCK_SIZE;
  const length = readHeader(src);
  if (length > maxLength) {
    throw new S2Error(
      "too_large",
      `Cannot decode S2 block: declared length ${length} exceeds the limit of ${maxLength}`,
    );
  }
  const dst = new Uint8Array(length);
  decodeWith(options.engine ?? DEFAULT_S2_ENGINE, src, headerBytes, dst, length);
  return dst;
}

/**
 * Decodes a block into `dst` (from index 0) and returns the decoded length. Lets a stream reader
 * decode straight into a buffer it already owns.
 *
 * @throws {S2Error} when the block is corrupt, or `too_large` when it does not fit in `dst`.
 * @example
 * ```ts
 * import { decodeBlockInto, encodeBlock } from "./s2_block.ts";
 * const out = new Uint8Array(64);
 * const n = decodeBlockInto(encodeBlock(new TextEncoder().encode("hello hello hello")), out);
 * console.log(n); // 17
 * ```
 */
export function decodeBlockInto(
  src: Uint8Array,
  dst: Uint8Array,
  engine: S2Engine = DEFAULT_S2_ENGINE,
): number {
  const length = readHeader(src);
  if (length > dst.length) {
    throw new S2Error(
      "too_large",
      `Cannot decode S2 block: declared length ${length} exceeds the buffer of ${dst.length}`,
    );
  }
  decodeWith(engine, src, headerBytes, dst, length);
  return length;
}

/**
 * Decodes with the kernel when asked and present. A block the kernel refuses is decoded again
 * here, which throws the S2Error that names the fault; should this code accept what the kernel
 * refused, the two disagree, and that is reported rather than trusted.
 */
function decodeWith(
  engine: S2Engine,
  src: Uint8Array,
  start: number,
  dst: Uint8Array,
  length: number,
): void {
  if (engine === "wasm" && s2Kernel !== undefined) {
    if (s2Kernel.decodeInto(src, start, dst, length)) return;
    decodeElements(src, start, dst, length);
    throw new S2Error(
      "engine_mismatch",
      "Cannot decode S2 block: the WebAssembly decoder refused a block the TypeScript one accepts",
    );
  }
  decodeElements(src, start, dst, length);
}

function truncated(what: string): S2Error {
  return new S2Error("truncated", `Cannot decode S2 block: input ends inside ${what}`);
}

function overflow(what: string, length: number, room: number): S2Error {
  return new S2Error(
    "length_mismatch",
    `Cannot decode S2 block: ${what} of ${length} bytes overruns the declared length by ${
      length - room
    }`,
  );
}

/**
 * Decodes the elements of `src` from index `s` into `dst[0, end)`; the elements must produce
 * exactly `end` bytes.
 */
function decodeElements(src: Uint8Array, s: number, dst: Uint8Array, end: number): void {
  const sn = src.length;
  const dv = viewOf(dst);
  const sv = viewOf(src);
  let d = 0;
  let offset = 0; // previous copy offset, 0 = none yet in this block
  while (s < sn) {
    const tag = src[s];
    let length: number;
    const kind = tag & 3;
    if (kind === 0) {
      length = tag >>> 2;
      if (length < 60) {
        s += 1;
      } else {
        const extra = length - 59;
        if (s + extra >= sn) throw truncated("a literal length");
        length = src[s + 1];
        if (extra > 1) length |= src[s + 2] << 8;
        if (extra > 2) length |= src[s + 3] << 16;
        if (extra > 3) length = (length | (src[s + 4] << 24)) >>> 0;
        s += 1 + extra;
      }
      length += 1;
      if (length > sn - s) throw truncated("literal data");
      if (length > end - d) throw overflow("a literal", length, end - d);
      if (length <= 16 && d + 16 <= end && s + 16 <= sn) {
        // Short literal with room to spare on both sides: copy 4, 8 or 16 bytes in words; the
        // bytes written past the literal are overwritten by the elements that follow.
        dv.setInt32(d, sv.getInt32(s, true), true);
        if (length > 4) {
          dv.setInt32(d + 4, sv.getInt32(s + 4, true), true);
          if (length > 8) {
            dv.setInt32(d + 8, sv.getInt32(s + 8, true), true);
            dv.setInt32(d + 12, sv.getInt32(s + 12, true), true);
          }
        }
      } else if (length <= SHORT_COPY) {
        for (let i = 0; i < length; i++) dst[d + i] = src[s + i];
      } else {
        dst.set(src.subarray(s, s + length), d);
      }
      d += length;
      s += length;
      continue;
    }
    if (kind === 1) {
      if (s + 1 >= sn) throw truncated("a copy");
      const o = ((tag & 0xe0) << 3) | src[s + 1];
      length = (tag >>> 2) & 7;
      s += 2;
      if (o !== 0) {
        offset = o;
        length += 4;
      } else {
        if (offset === 0) {
          throw new S2Error("bad_offset", "Cannot decode S2 block: repeat before any copy");
        }
        if (length < 5) {
          length += 4;
        } else if (length === 5) {
          if (s >= sn) throw truncated("a repeat length");
          length = src[s] + 8;
          s += 1;
        } else if (length === 6) {
          if (s + 1 >= sn) throw truncated("a repeat length");
          length = (src[s] | (src[s + 1] << 8)) + 260;
          s += 2;
        } else {
          if (s + 2 >= sn) throw truncated("a repeat length");
          length = (src[s] | (src[s + 1] << 8) | (src[s + 2] << 16)) + 65540;
          s += 3;
        }
      }
    } else if (kind === 2) {
      if (s + 2 >= sn) throw truncated("a copy");
      offset = src[s + 1] | (src[s + 2] << 8);
      length = (tag >>> 2) + 1;
      s += 3;
      if (offset === 0) throw new S2Error("bad_offset", "Cannot decode S2 block: copy offset 0");
    } else {
      if (s + 4 >= sn) throw truncated("a copy");
      offset = (src[s + 1] | (src[s + 2] << 8) | (src[s + 3] << 16) | (src[s + 4] << 24)) >>> 0;
      length = (tag >>> 2) + 1;
      s += 5;
      if (offset === 0) throw new S2Error("bad_offset", "Cannot decode S2 block: copy offset 0");
    }
    if (offset > d) {
      throw new S2Error(
        "bad_offset",
        `Cannot decode S2 block: copy offset ${offset} reaches before the block (at ${d})`,
      );
    }
    if (length > end - d) throw overflow("a copy", length, end - d);
    const from = d - offset;
    // Word copies read only bytes already written when offset >= the word size, and may spill
    // up to one word past the copy (overwritten later), hence the room check.
    if (length <= 64 && offset >= 8 && d + length + 8 <= end) {
      for (let i = 0; i < length; i += 8) {
        dv.setInt32(d + i, dv.getInt32(from + i, true), true);
        dv.setInt32(d + i + 4, dv.getInt32(from + i + 4, true), true);
      }
      d += length;
    } else if (length <= 64 && offset >= 4 && d + length + 4 <= end) {
      for (let i = 0; i < length; i += 4) dv.setInt32(d + i, dv.getInt32(from + i, true), true);
      d += length;
    } else if (length <= SHORT_COPY) {
      // Byte by byte is also what overlapping copies (offset < length) mean.
      for (let i = 0; i < length; i++) dst[d + i] = dst[from + i];
      d += length;
    } else if (offset >= length) {
      dst.copyWithin(d, from, from + length);
      d += length;
    } else {
      // Overlap: the output repeats with period `offset`, so copy whole periods from the start
      // of the pattern, doubling the span each time.
      const stop = d + length;
      while (d < stop) {
        const n = Math.min(stop - d, d - from);
        dst.copyWithin(d, from, from + n);
        d += n;
      }
    }
  }
  if (d !== end) {
    throw new S2Error(
      "length_mismatch",
      `Cannot decode S2 block: elements produce ${d} bytes, header declares ${end}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding: element writers
// ---------------------------------------------------------------------------------------------

function writeUvarint(dst: Uint8Array, d: number, value: number): number {
  while (value >= 0x80) {
    dst[d++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  dst[d++] = value;
  return d;
}

function emitLiteral(
  dst: Uint8Array,
  d: number,
  src: Uint8Array,
  start: number,
  length: number,
): number {
  const n = length - 1;
  if (n < 60) {
    dst[d++] = n << 2;
  } else if (n < 0x100) {
    dst[d] = 60 << 2;
    dst[d + 1] = n;
    d += 2;
  } else if (n < 0x10000) {
    dst[d] = 61 << 2;
    dst[d + 1] = n;
    dst[d + 2] = n >>> 8;
    d += 3;
  } else if (n < 0x1000000) {
    dst[d] = 62 << 2;
    dst[d + 1] = n;
    dst[d + 2] = n >>> 8;
    dst[d + 3] = n >>> 16;
    d += 4;
  } else {
    dst[d] = 63 << 2;
    dst[d + 1] = n;
    dst[d + 2] = n >>> 8;
    dst[d + 3] = n >>> 16;
    dst[d + 4] = n >>> 24;
    d += 5;
  }
  if (length <= SHORT_COPY) {
    for (let i = 0; i < length; i++) dst[d + i] = src[start + i];
  } else {
    dst.set(src.subarray(start, start + length), d);
  }
  return d + length;
}

/**
 * {@linkcode emitLiteral} for 1 to 16 bytes when 16 bytes can be read at `start` and written
 * after the tag: copies whole words, spilling up to 15 bytes past the literal into `dst`, where
 * the next element (or nothing that is returned) goes.
 */
function emitShortLiteral(
  dst: Uint8Array,
  dv: DataView,
  d: number,
  sv: DataView,
  start: number,
  length: number,
): number {
  dst[d] = (length - 1) << 2;
  dv.setInt32(d + 1, sv.getInt32(start, true), true);
  if (length > 4) {
    dv.setInt32(d + 5, sv.getInt32(start + 4, true), true);
    if (length > 8) {
      dv.setInt32(d + 9, sv.getInt32(start + 8, true), true);
      dv.setInt32(d + 13, sv.getInt32(start + 12, true), true);
    }
  }
  return d + 1 + length;
}

/** Writes a repeat (copy at the previous offset) of `length` ≥ 4 bytes; 2 to 5 bytes each. */
function emitRepeat(dst: Uint8Array, d: number, length: number): number {
  while (length > MAX_REPEAT) {
    // Only reachable for blocks larger than 16 MiB; leave at least 4 for the last element.
    const part = length - MAX_REPEAT >= 4 ? MAX_REPEAT : MAX_REPEAT - 4;
    d = emitRepeat(dst, d, part);
    length -= part;
  }
  if (length <= 8) {
    dst[d] = 1 | ((length - 4) << 2);
    dst[d + 1] = 0;
    return d + 2;
  }
  if (length <= 263) {
    dst[d] = 1 | (5 << 2);
    dst[d + 1] = 0;
    dst[d + 2] = length - 8;
    return d + 3;
  }
  if (length <= 65795) {
    const v = length - 260;
    dst[d] = 1 | (6 << 2);
    dst[d + 1] = 0;
    dst[d + 2] = v;
    dst[d + 3] = v >>> 8;
    return d + 4;
  }
  const v = length - 65540;
  dst[d] = 1 | (7 << 2);
  dst[d + 1] = 0;
  dst[d + 2] = v;
  dst[d + 3] = v >>> 8;
  dst[d + 4] = v >>> 16;
  return d + 5;
}

/**
 * Writes a copy of `length` ≥ 4 bytes at a new `offset`: one plain copy element, then a repeat
 * for whatever a plain copy (at most 64 bytes) cannot hold.
 */
function emitCopy(dst: Uint8Array, d: number, offset: number, length: number): number {
  if (offset < 2048) {
    if (length <= 11) {
      dst[d] = 1 | ((length - 4) << 2) | ((offset >>> 8) << 5);
      dst[d + 1] = offset;
      return d + 2;
    }
    if (length > 64) {
      // A 2-byte copy of 11 plus a repeat beats a 3-byte copy of 64 plus a repeat.
      dst[d] = 1 | (7 << 2) | ((offset >>> 8) << 5);
      dst[d + 1] = offset;
      return emitRepeat(dst, d + 2, length - 11);
    }
  }
  let first = length;
  if (length > 64) first = length - 64 >= 4 ? 64 : length - 4;
  if (offset < 0x10000) {
    dst[d] = 2 | ((first - 1) << 2);
    dst[d + 1] = offset;
    dst[d + 2] = offset >>> 8;
    d += 3;
  } else {
    dst[d] = 3 | ((first - 1) << 2);
    dst[d + 1] = offset;
    dst[d + 2] = offset >>> 8;
    dst[d + 3] = offset >>> 16;
    dst[d + 4] = offset >>> 24;
    d += 5;
  }
  return first === length ? d : emitRepeat(dst, d, length - first);
}

// ---------------------------------------------------------------------------------------------
// Encoding: match finders
// ---------------------------------------------------------------------------------------------

/** Little-endian 32-bit load; DataView loads compile to single instructions in V8. */
function load32(view: DataView, i: number): number {
  return view.getInt32(i, true);
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Multiplicative hash of 4 bytes into `32 - shift` bits. */
function hash4(u: number, shift: number): number {
  return Math.imul(u, 0x1e35a7bd) >>> shift;
}

/** Hash of 8 bytes (two 32-bit words) into `32 - shift` bits. */
function hash8(lo: number, hi: number, shift: number): number {
  return (Math.imul(lo, 0x9e3779b1) ^ Math.imul(hi ^ (lo >>> 15), 0x85ebca77)) >>> shift;
}

/**
 * Number of equal bytes at `a` and `b` (a > b), not reading past `n`. Compares words; at the
 * first differing word the count of trailing zero bits of the XOR (little-endian) gives the
 * equal bytes in it, so no byte loop runs unless the match reaches the last 3 bytes.
 */
function matchLength(src: Uint8Array, sv: DataView, a: number, b: number, n: number): number {
  const start = a;
  while (a + 4 <= n) {
    const x = load32(sv, a) ^ load32(sv, b);
    if (x !== 0) return a - start + ((31 - Math.clz32(x & -x)) >>> 3);
    a += 4;
    b += 4;
  }
  while (a < n && src[a] === src[b]) {
    a++;
    b++;
  }
  return a - start;
}

/** log2 of the hash table size for an input of `n` bytes, between 8 and `maxBits`. */
function tableBits(n: number, maxBits: number): number {
  let bits = 8;
  while (bits < maxBits && 1 << bits < n) bits++;
  return bits;
}

const FAST_BITS = 14;

/**
 * Single-probe greedy matcher: one 4-byte hash table, skipping faster through input that does
 * not match (so incompressible data costs little), a check of the previous offset at every
 * probe, and backward extension of each match.
 */
function encodeFast(src: Uint8Array, dst: Uint8Array, d: number, table: Int32Array): number {
  const n = src.length;
  const sv = viewOf(src);
  const dv = viewOf(dst);
  // Word-wise short literals need 16 readable bytes at their start and 17 writable at `d`.
  const srcWordLimit = n - 16;
  const dstWordLimit = dst.length - 17;
  const bits = tableBits(n, FAST_BITS);
  const shift = 32 - bits;
  table.fill(0, 0, 1 << bits);
  // Probes load 8 bytes (for far candidates); the tail is left to the final literal.
  const sLimit = n - 8;
  let nextEmit = 0;
  let repeat = 0;
  let s = 1;
  while (s <= sLimit) {
    let skip = 32;
    let cand = -1;
    while (s <= sLimit) {
      const cur = load32(sv, s);
      if (repeat !== 0 && load32(sv, s - repeat) === cur) {
        cand = s - repeat;
        break;
      }
      const h = hash4(cur, shift);
      const c = table[h];
      table[h] = s;
      if (
        load32(sv, c) === cur &&
        (s - c < 0x10000 || load32(sv, c + 4) === load32(sv, s + 4))
      ) {
        cand = c;
        break;
      }
      s += skip >>> 5;
      skip++;
    }
    if (cand < 0) break;
    while (s > nextEmit && cand > 0 && src[s - 1] === src[cand - 1]) {
      s--;
      cand--;
    }
    const literal = s - nextEmit;
    if (literal > 0) {
      d = literal <= 16 && nextEmit <= srcWordLimit && d <= dstWordLimit
        ? emitShortLiteral(dst, dv, d, sv, nextEmit, literal)
        : emitLiteral(dst, d, src, nextEmit, literal);
    }
    // Emit the match, then keep emitting while the position right after it matches too.
    let chained = true;
    while (chained) {
      const offset = s - cand;
      const length = 4 + matchLength(src, sv, s + 4, cand + 4, n);
      if (offset === repeat) {
        d = emitRepeat(dst, d, length);
      } else {
        d = emitCopy(dst, d, offset, length);
        repeat = offset;
      }
      s += length;
      nextEmit = s;
      if (s > sLimit) break;
      table[hash4(load32(sv, s - 2), shift)] = s - 2;
      const cur = load32(sv, s);
      const h = hash4(cur, shift);
      cand = table[h];
      table[h] = s;
      if (
        load32(sv, cand) !== cur ||
        (s - cand >= 0x10000 && load32(sv, cand + 4) !== load32(sv, s + 4))
      ) {
        s++;
        chained = false;
      }
    }
  }
  if (nextEmit < n) d = emitLiteral(dst, d, src, nextEmit, n - nextEmit);
  return d;
}

const BETTER_LONG_BITS = 16;
const BETTER_SHORT_BITS = 14;

/**
 * Two-table matcher: an 8-byte hash finds long matches far back, a 4-byte hash finds short
 * near ones; the longer wins. Positions inside each match are indexed too, and the search skips
 * forward more slowly than `fast`.
 */
function encodeBetter(
  src: Uint8Array,
  dst: Uint8Array,
  d: number,
  longTable: Int32Array,
  shortTable: Int32Array,
): number {
  const n = src.length;
  const sv = viewOf(src);
  const longBits = tableBits(n, BETTER_LONG_BITS);
  const shortBits = tableBits(n, BETTER_SHORT_BITS);
  const longShift = 32 - longBits;
  const shortShift = 32 - shortBits;
  longTable.fill(0, 0, 1 << longBits);
  shortTable.fill(0, 0, 1 << shortBits);
  const sLimit = n - 8;
  let nextEmit = 0;
  let repeat = 0;
  let s = 1;
  while (s <= sLimit) {
    let skip = 64;
    let cand = 0;
    let length = 0;
    while (s <= sLimit) {
      const cur = load32(sv, s);
      const hi = load32(sv, s + 4);
      if (repeat !== 0 && load32(sv, s - repeat) === cur) {
        cand = s - repeat;
        length = 4 + matchLength(src, sv, s + 4, cand + 4, n);
        break;
      }
      const hl = hash8(cur, hi, longShift);
      const hs = hash4(cur, shortShift);
      const candL = longTable[hl];
      const candS = shortTable[hs];
      longTable[hl] = s;
      shortTable[hs] = s;
      if (load32(sv, candL) === cur && load32(sv, candL + 4) === hi) {
        cand = candL;
        length = 8 + matchLength(src, sv, s + 8, candL + 8, n);
        if (load32(sv, candS) === cur && candS > candL) {
          const lenS = 4 + matchLength(src, sv, s + 4, candS + 4, n);
          if (lenS >= length) {
            cand = candS;
            length = lenS;
          }
        }
        break;
      }
      if (load32(sv, candS) === cur && (s - candS < 0x10000 || load32(sv, candS + 4) === hi)) {
        cand = candS;
        length = 4 + matchLength(src, sv, s + 4, candS + 4, n);
        // A long match one byte later is usually worth a literal byte.
        const s1 = s + 1;
        if (s1 <= sLimit) {
          const cur1 = load32(sv, s1);
          const hi1 = load32(sv, s1 + 4);
          const h1 = hash8(cur1, hi1, longShift);
          const cand1 = longTable[h1];
          longTable[h1] = s1;
          if (load32(sv, cand1) === cur1 && load32(sv, cand1 + 4) === hi1) {
            const len1 = 8 + matchLength(src, sv, s1 + 8, cand1 + 8, n);
            if (len1 > length + 1) {
              s = s1;
              cand = cand1;
              length = len1;
            }
          }
        }
        break;
      }
      s += skip >>> 6;
      skip++;
    }
    if (length === 0) break;
    while (s > nextEmit && cand > 0 && src[s - 1] === src[cand - 1]) {
      s--;
      cand--;
      length++;
    }
    if (s > nextEmit) d = emitLiteral(dst, d, src, nextEmit, s - nextEmit);
    const offset = s - cand;
    if (offset === repeat) {
      d = emitRepeat(dst, d, length);
    } else {
      d = emitCopy(dst, d, offset, length);
      repeat = offset;
    }
    const base = s;
    s += length;
    nextEmit = s;
    if (s > sLimit) break;
    // Index a few positions of the match so that the next matches can find them.
    const i1 = base + 1;
    longTable[hash8(load32(sv, i1), load32(sv, i1 + 4), longShift)] = i1;
    shortTable[hash4(load32(sv, i1 + 1), shortShift)] = i1 + 1;
    const i2 = s - 2;
    longTable[hash8(load32(sv, i2), load32(sv, i2 + 4), longShift)] = i2;
    shortTable[hash4(load32(sv, s - 1), shortShift)] = s - 1;
    for (let i = base + 2, mid = (base + s) >>> 1; i < mid; i += 4) {
      longTable[hash8(load32(sv, i), load32(sv, i + 4), longShift)] = i;
    }
  }
  if (nextEmit < n) d = emitLiteral(dst, d, src, nextEmit, n - nextEmit);
  return d;
}

const BEST_HEAD_BITS = 17;
const BEST_WINDOW_BITS = 20;
const BEST_WINDOW_MASK = (1 << BEST_WINDOW_BITS) - 1;
const BEST_DEPTH = 24;
const BEST_GOOD_ENOUGH = 256;

/** Cost in bytes of encoding a copy (offset, length) with `emitCopy`, roughly. */
function copyCost(offset: number, length: number, repeat: number): number {
  if (offset === repeat) return length <= 8 ? 2 : length <= 263 ? 3 : 4;
  if (offset < 2048 && length <= 11) return 2;
  const base = offset < 0x10000 ? 3 : 5;
  return length <= 64 ? base : base + 3;
}

/**
 * Hash-chain matcher: every position is linked into a chain per 4-byte hash (window 1 MiB),
 * up to BEST_DEPTH candidates plus the previous offset are compared, the candidate saving the
 * most bytes wins, and a match is deferred when the next position offers a better one.
 */
class BestMatcher {
  #head = new Int32Array(1 << BEST_HEAD_BITS);
  #prev = new Int32Array(0);
  matchOffset = 0;
  matchLength = 0;

  encode(src: Uint8Array, dst: Uint8Array, d: number): number {
    const n = src.length;
    const sv = viewOf(src);
    const bits = tableBits(n, BEST_HEAD_BITS);
    const shift = 32 - bits;
    const head = this.#head;
    head.fill(-1, 0, 1 << bits);
    const window = Math.min(n, 1 << BEST_WINDOW_BITS);
    if (this.#prev.length < window) this.#prev = new Int32Array(window);
    const prev = this.#prev;
    const sLimit = n - 8;
    let nextEmit = 0;
    let repeat = 0;
    let inserted = 0; // positions below this are linked into the chains
    let s = 0;
    const insertUpTo = (end: number) => {
      for (; inserted < end; inserted++) {
        const h = hash4(load32(sv, inserted), shift);
        prev[inserted & BEST_WINDOW_MASK] = head[h];
        head[h] = inserted;
      }
    };
    while (s <= sLimit) {
      insertUpTo(s);
      let gain = this.#find(src, sv, s, n, repeat, shift, head, prev);
      if (gain <= 0) {
        // Step faster through long stretches without matches (incompressible data); every
        // position is still linked into the chains by insertUpTo.
        s += 1 + ((s - nextEmit) >>> 5);
        continue;
      }
      let offset = this.matchOffset;
      let length = this.matchLength;
      // Lazy step: prefer a clearly better match starting one byte later.
      while (s + 1 <= sLimit) {
        insertUpTo(s + 1);
        const gain1 = this.#find(src, sv, s + 1, n, repeat, shift, head, prev);
        if (gain1 <= gain + 1) break;
        s++;
        gain = gain1;
        offset = this.matchOffset;
        length = this.matchLength;
      }
      if (s > nextEmit) d = emitLiteral(dst, d, src, nextEmit, s - nextEmit);
      if (offset === repeat) {
        d = emitRepeat(dst, d, length);
      } else {
        d = emitCopy(dst, d, offset, length);
        repeat = offset;
      }
      s += length;
      nextEmit = s;
    }
    if (nextEmit < n) d = emitLiteral(dst, d, src, nextEmit, n - nextEmit);
    return d;
  }

  /** Finds the most profitable match at `s`; returns its gain in bytes (≤ 0: none). */
  #find(
    src: Uint8Array,
    sv: DataView,
    s: number,
    n: number,
    repeat: number,
    shift: number,
    head: Int32Array,
    prev: Int32Array,
  ): number {
    const cur = load32(sv, s);
    let bestGain = 0;
    let bestLength = 0;
    let bestOffset = 0;
    if (repeat !== 0 && repeat <= s && load32(sv, s - repeat) === cur) {
      bestLength = 4 + matchLength(src, sv, s + 4, s - repeat + 4, n);
      bestOffset = repeat;
      bestGain = bestLength - copyCost(repeat, bestLength, repeat);
    }
    const minPos = s - (1 << BEST_WINDOW_BITS);
    let cand = head[hash4(cur, shift)];
    for (let depth = 0; depth < BEST_DEPTH && cand >= 0 && cand > minPos; depth++) {
      if (s + bestLength >= n) break; // nothing can beat a match that reaches the end
      // Cheap filter: the byte that would extend the current best must match first.
      if (
        src[cand + bestLength] === src[s + bestLength] && load32(sv, cand) === cur
      ) {
        const length = 4 + matchLength(src, sv, s + 4, cand + 4, n);
        const offset = s - cand;
        const gain = length - copyCost(offset, length, repeat);
        if (gain > bestGain) {
          bestGain = gain;
          bestLength = length;
          bestOffset = offset;
          if (length >= BEST_GOOD_ENOUGH) break;
        }
      }
      const next = prev[cand & BEST_WINDOW_MASK];
      if (next >= cand) break; // slot reused by a newer position: chain ends
      cand = next;
    }
    this.matchLength = bestLength;
    this.matchOffset = bestOffset;
    return bestGain;
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding: public API
// ---------------------------------------------------------------------------------------------

/**
 * A block encoder for one level that keeps its hash tables between calls, so that encoding
 * many blocks (a stream writer) allocates nothing per block. Not safe to share between
 * concurrent users (there are none in a single isolate, but do not interleave calls).
 *
 * @example
 * ```ts
 * import { maxEncodedLength, S2BlockEncoder } from "./s2_block.ts";
 * const encoder = new S2BlockEncoder("fast");
 * const input = new TextEncoder().encode("PUB a 5\r\nhello\r\n".repeat(100));
 * const out = new Uint8Array(maxEncodedLength(input.length));
 * const n = encoder.encodeInto(input, out);
 * console.log(n < input.length); // true
 * ```
 */
export class S2BlockEncoder {
  /** The level this encoder compresses at. */
  readonly level: S2Level;
  /** What runs `fast` and `better`; `best` always runs in TypeScript. */
  readonly engine: S2Engine;
  #table: Int32Array | undefined;
  #shortTable: Int32Array | undefined;
  #best: BestMatcher | undefined;

  /** Creates an encoder; tables are allocated on first use. */
  constructor(level: S2Level = "fast", engine: S2Engine = DEFAULT_S2_ENGINE) {
    if (!LEVELS.includes(level)) throw new RangeError(`Unknown S2 level: "${level}"`);
    this.level = level;
    this.engine = s2Kernel === undefined ? "typescript" : engine;
  }

  /**
   * Encodes `src` as one block into `dst` (from index 0) and returns the encoded length.
   * `dst` must hold at least {@linkcode maxEncodedLength}(`src.length`) bytes; bytes past the
   * encoded length may be overwritten (word-wise copies spill a little).
   */
  encodeInto(src: Uint8Array, dst: Uint8Array): number {
    const n = src.length;
    if (n > MAX_ENCODE_INPUT) {
      throw new RangeError(`Cannot encode S2 block: ${n} bytes exceeds ${MAX_ENCODE_INPUT}`);
    }
    if (dst.length < maxEncodedLength(n)) {
      throw new RangeError(
        `Cannot encode S2 block: output buffer of ${dst.length} is below ${maxEncodedLength(n)}`,
      );
    }
    const d = writeUvarint(dst, 0, n);
    if (n === 0) return d;
    if (n < MIN_COMPRESS_INPUT || this.level === "uncompressed") {
      return emitLiteral(dst, d, src, 0, n);
    }
    if (this.engine === "wasm" && this.level !== "best") {
      return s2Kernel!.encodeInto(this.level, src, dst, maxEncodedLength(n));
    }
    switch (this.level) {
      case "fast":
        this.#table ??= new Int32Array(1 << FAST_BITS);
        return encodeFast(src, dst, d, this.#table);
      case "better":
        this.#table ??= new Int32Array(1 << BETTER_LONG_BITS);
        this.#shortTable ??= new Int32Array(1 << BETTER_SHORT_BITS);
        return encodeBetter(src, dst, d, this.#table, this.#shortTable);
      default:
        this.#best ??= new BestMatcher();
        return this.#best.encode(src, dst, d);
    }
  }
}

const LEVELS: readonly S2Level[] = ["uncompressed", "fast", "better", "best"];

/** One shared encoder per level and engine for {@linkcode encodeBlock}. */
const sharedEncoders = new Map<string, S2BlockEncoder>();

/** Options for {@linkcode encodeBlock}. */
export interface EncodeBlockOptions {
  /** Compression level; defaults to `"fast"`. */
  level?: S2Level;
  /** Defaults to {@linkcode DEFAULT_S2_ENGINE}. */
  engine?: S2Engine;
}

/**
 * Encodes `src` as one S2 block and returns a new array of exactly the encoded size.
 *
 * @example
 * ```ts
 * import { decodeBlock, encodeBlock } from "./s2_block.ts";
 * const input = new TextEncoder().encode("MSG a 1 2\r\nhi\r\n".repeat(50));
 * const block = encodeBlock(input, { level: "better" });
 * console.log(block.length < input.length, decodeBlock(block).length); // true 750
 * ```
 */
export function encodeBlock(src: Uint8Array, options: EncodeBlockOptions = {}): Uint8Array {
  const level = options.level ?? "fast";
  const engine = options.engine ?? DEFAULT_S2_ENGINE;
  const key = `${level}/${engine}`;
  let encoder = sharedEncoders.get(key);
  if (encoder === undefined) {
    encoder = new S2BlockEncoder(level, engine);
    sharedEncoders.set(key, encoder);
  }
  const out = new Uint8Array(maxEncodedLength(src.length));
  const n = encoder.encodeInto(src, out);
  return out.slice(0, n);
}
