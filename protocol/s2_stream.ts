/**
 * S2 stream framing (the Snappy framing format with S2's identifier and 4 MiB blocks; spec
 * section 5.4): an incremental reader for bytes arriving from a socket and an incremental
 * writer for a connection's coalesced flushes.
 *
 * Chunk = type byte + 24-bit little-endian length + body. `0xff` stream identifier (`S2sTwO`, or
 * `sNaPpY` with 64 KiB blocks), `0x00` compressed block and `0x01` raw data (both preceded by the
 * masked CRC-32C of the decoded bytes), `0x80`–`0xfe` skippable (padding, S2 index), `0x02`–`0x7f`
 * reserved. nats-server sends every socket flush as a complete stream, so identifiers repeat.
 *
 * @module
 */

import { maskedCrc32c } from "./crc32c.ts";
import {
  decodeBlockInto,
  decodedBlockLength,
  maxEncodedLength,
  S2_MAX_BLOCK_SIZE,
  S2BlockEncoder,
} from "./s2_block.ts";
import type { S2Engine, S2Level } from "./s2_block.ts";
import { S2Error } from "./s2_error.ts";

const CHUNK_IDENTIFIER = 0xff;
const CHUNK_COMPRESSED = 0x00;
const CHUNK_UNCOMPRESSED = 0x01;
const CHUNK_HEADER = 4;
const CHECKSUM = 4;
/** Largest decoded chunk when the stream identifies itself as Snappy. */
const SNAPPY_MAX_BLOCK_SIZE = 65536;

/** The 10-byte stream identifier chunk an S2 writer starts with: `ff 06 00 00 "S2sTwO"`. */
export const S2_STREAM_IDENTIFIER: Uint8Array = new Uint8Array([
  0xff,
  0x06,
  0x00,
  0x00,
  0x53,
  0x32,
  0x73,
  0x54,
  0x77,
  0x4f,
]);

/** The Snappy stream identifier chunk, `ff 06 00 00 "sNaPpY"`, which readers also accept. */
export const SNAPPY_STREAM_IDENTIFIER: Uint8Array = new Uint8Array([
  0xff,
  0x06,
  0x00,
  0x00,
  0x73,
  0x4e,
  0x61,
  0x50,
  0x70,
  0x59,
]);

const EMPTY = new Uint8Array(0);

/**
 * Small outputs (decoded chunks, framed writes) are carved from arenas of this size instead of
 * being allocated one by one: allocating an ArrayBuffer costs V8 close to a microsecond, as much
 * as compressing a 1 KiB message. An arena is never written again once its space is handed out,
 * so each view stays owned by its caller; a view keeps at most one arena alive.
 */
const ARENA_SIZE = 64 * 1024;
/** Outputs larger than this get their own buffer, so that arenas are not wasted on them. */
const ARENA_MAX_PIECE = 8 * 1024;

/** Hands out never-reused pieces of shared arenas (see ARENA_SIZE). */
class Arena {
  #buffer: Uint8Array = EMPTY;
  #used = 0;

  /** Room for `length` (≤ ARENA_MAX_PIECE) bytes at {@linkcode offset} of {@linkcode buffer}. */
  reserve(length: number): void {
    if (this.#buffer.length - this.#used < length) {
      this.#buffer = new Uint8Array(ARENA_SIZE);
      this.#used = 0;
    }
  }

  get buffer(): Uint8Array {
    return this.#buffer;
  }

  get offset(): number {
    return this.#used;
  }

  /** Takes the first `length` reserved bytes and returns them as a view. */
  take(length: number): Uint8Array {
    const start = this.#used;
    this.#used = start + length;
    return this.#buffer.subarray(start, start + length);
  }
}

// ---------------------------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------------------------

/** Options for {@linkcode S2StreamReader}. */
export interface S2ReaderOptions {
  /**
   * Largest decoded chunk accepted in an `S2sTwO` stream, 1 to 4 MiB (the default and the
   * format's maximum). Bounds the memory one chunk can make the reader allocate; Snappy streams
   * are always limited to 64 KiB.
   */
  maxBlockSize?: number;
  /**
   * Largest total of decoded bytes one {@linkcode S2StreamReader.feed} call may return, default
   * 64 MiB. A few bytes of S2 can declare megabytes of output (runs compress ~400000:1), so an
   * array-returning API needs a ceiling; {@linkcode S2StreamReader.feedEach} has none because
   * it hands over each chunk as soon as it is decoded.
   */
  maxFeedOutput?: number;
  /** Which block decoder runs; see {@linkcode S2Engine}. */
  engine?: S2Engine;
}

/**
 * Incremental S2/Snappy stream reader: feed it socket reads of any size and split anywhere, get
 * back the decoded data chunk by chunk. Memory is bounded by one chunk (at most about 4.7 MiB
 * compressed plus 4 MiB decoded); skippable chunks are skipped without being buffered.
 *
 * After an {@linkcode S2Error} the reader is failed: every later call throws the same error,
 * since a framed stream has no way to resynchronise.
 *
 * @example
 * ```ts
 * import { S2StreamReader, S2StreamWriter } from "./s2_stream.ts";
 * const wire = new S2StreamWriter().write(new TextEncoder().encode("PING\r\n"));
 * const reader = new S2StreamReader();
 * const parts = [...reader.feed(wire.subarray(0, 7)), ...reader.feed(wire.subarray(7))];
 * console.log(new TextDecoder().decode(parts[0])); // "PING\r\n"
 * reader.end();
 * ```
 */
export class S2StreamReader {
  readonly #maxS2Block: number;
  readonly #maxFeedOutput: number;
  readonly #engine: S2Engine | undefined;
  #maxBlock: number;
  #started = false;
  #failed: unknown = undefined;
  /** Chunk header bytes received so far when a header was split between feeds. */
  readonly #header = new Uint8Array(CHUNK_HEADER);
  #headerFill = 0;
  #type = 0;
  /** Body of the current chunk when it was split between feeds. */
  #body: Uint8Array | undefined = undefined;
  #bodyFill = 0;
  /** Bytes of a skippable chunk still to skip. */
  #skip = 0;
  /** Output total of the current `feed` call, for maxFeedOutput. */
  #fed = 0;
  readonly #arena = new Arena();

  /** Creates a reader expecting a stream identifier first. */
  constructor(options: S2ReaderOptions = {}) {
    const max = options.maxBlockSize ?? S2_MAX_BLOCK_SIZE;
    if (!(max >= 1 && max <= S2_MAX_BLOCK_SIZE)) {
      throw new RangeError(`S2 maxBlockSize must be 1 to ${S2_MAX_BLOCK_SIZE}: ${max}`);
    }
    this.#maxS2Block = max;
    this.#maxBlock = max;
    this.#maxFeedOutput = options.maxFeedOutput ?? 64 * 1024 * 1024;
    this.#engine = options.engine;
  }

  /** Bytes of an incomplete chunk (header or body) held until the rest arrives. */
  get bufferedBytes(): number {
    return this.#headerFill + this.#bodyFill;
  }

  /** Whether the input so far ended exactly between chunks, where a stream may end. */
  get atChunkBoundary(): boolean {
    return this.#headerFill === 0 && this.#body === undefined && this.#skip === 0;
  }

  /**
   * Consumes `chunk` and returns the data of every chunk it completes, in order. Decoded arrays
   * are owned by the caller (small ones are views sharing an ArrayBuffer that the reader never
   * writes to again); chunks with no data produce nothing.
   *
   * @throws {S2Error} on corrupt input, or `too_large` past `maxFeedOutput` in one call.
   */
  feed(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.#fed = 0;
    this.#run(chunk, out, undefined);
    return out;
  }

  /**
   * Consumes `chunk` and calls `onData` with the data of each chunk as soon as it is decoded,
   * so that no more than one decoded chunk needs to be alive at a time. As with `feed`, each
   * array is owned by the caller: the reader never writes to it again, so it may be kept without
   * copying. If `onData` throws, the rest of `chunk` is dropped and the reader fails with that
   * error.
   *
   * @throws {S2Error} on corrupt input; whatever `onData` throws.
   */
  feedEach(chunk: Uint8Array, onData: (data: Uint8Array) => void): void {
    this.#run(chunk, undefined, onData);
  }

  /**
   * Declares the end of input.
   *
   * @throws {S2Error} `truncated` when the input stopped inside a chunk.
   */
  end(): void {
    if (this.#failed !== undefined) throw this.#failed;
    if (!this.atChunkBoundary) {
      this.#fail(
        new S2Error("truncated", `Cannot read S2 stream: input ends inside a chunk`),
      );
    }
  }

  #fail(error: unknown): never {
    this.#failed = error;
    throw error;
  }

  #run(
    chunk: Uint8Array,
    out: Uint8Array[] | undefined,
    onData: ((data: Uint8Array) => void) | undefined,
  ): void {
    if (this.#failed !== undefined) throw this.#failed;
    try {
      this.#consume(chunk, out, onData);
    } catch (error) {
      this.#fail(error);
    }
  }

  #consume(
    chunk: Uint8Array,
    out: Uint8Array[] | undefined,
    onData: ((data: Uint8Array) => void) | undefined,
  ): void {
    const n = chunk.length;
    let p = 0;
    while (p < n) {
      if (this.#skip !== 0) {
        const k = Math.min(this.#skip, n - p);
        this.#skip -= k;
        p += k;
        continue;
      }
      const body = this.#body;
      if (body !== undefined) {
        const k = Math.min(body.length - this.#bodyFill, n - p);
        body.set(chunk.subarray(p, p + k), this.#bodyFill);
        this.#bodyFill += k;
        p += k;
        if (this.#bodyFill === body.length) {
          this.#body = undefined;
          this.#bodyFill = 0;
          this.#process(this.#type, body, true, out, onData);
        }
        continue;
      }
      let type: number;
      let length: number;
      if (this.#headerFill === 0 && n - p >= CHUNK_HEADER) {
        type = chunk[p];
        length = chunk[p + 1] | (chunk[p + 2] << 8) | (chunk[p + 3] << 16);
        p += CHUNK_HEADER;
      } else {
        const h = this.#header;
        while (this.#headerFill < CHUNK_HEADER && p < n) h[this.#headerFill++] = chunk[p++];
        if (this.#headerFill < CHUNK_HEADER) break;
        this.#headerFill = 0;
        type = h[0];
        length = h[1] | (h[2] << 8) | (h[3] << 16);
      }
      if (!this.#accept(type, length)) {
        this.#skip = length;
        continue;
      }
      if (n - p >= length) {
        this.#process(type, chunk.subarray(p, p + length), false, out, onData);
        p += length;
      } else {
        this.#type = type;
        this.#body = new Uint8Array(length);
        this.#bodyFill = 0;
      }
    }
  }

  /** Validates a chunk header before its body is buffered; `false` means skip the body. */
  #accept(type: number, length: number): boolean {
    if (type === CHUNK_IDENTIFIER) {
      if (length !== 6) {
        throw new S2Error(
          "bad_identifier",
          `Cannot read S2 stream: stream identifier of ${length} bytes, expected 6`,
        );
      }
      return true;
    }
    if (!this.#started) {
      // Go's reader also refuses skippable chunks here: the identifier must come first.
      throw new S2Error(
        "missing_identifier",
        `Cannot read S2 stream: chunk type 0x${hex(type)} before the stream identifier`,
      );
    }
    if (type === CHUNK_COMPRESSED || type === CHUNK_UNCOMPRESSED) {
      if (length < CHECKSUM) {
        throw new S2Error(
          "bad_chunk",
          `Cannot read S2 stream: data chunk of ${length} bytes has no room for its checksum`,
        );
      }
      const limit = CHECKSUM +
        (type === CHUNK_COMPRESSED ? maxEncodedLength(this.#maxBlock) : this.#maxBlock);
      if (length > limit) {
        throw new S2Error(
          "too_large",
          `Cannot read S2 stream: chunk of ${length} bytes exceeds the limit of ${limit}`,
        );
      }
      return true;
    }
    if (type < 0x80) {
      throw new S2Error(
        "reserved_chunk",
        `Cannot read S2 stream: reserved chunk type 0x${hex(type)}`,
      );
    }
    return false; // 0x80–0xfe: skippable (0xfe padding, 0x99 index)
  }

  /** A new array of `length` bytes for decoded data, from the arena when small. */
  #allocate(length: number): Uint8Array {
    if (length > ARENA_MAX_PIECE) return new Uint8Array(length);
    this.#arena.reserve(length);
    return this.#arena.take(length);
  }

  #process(
    type: number,
    body: Uint8Array,
    owned: boolean,
    out: Uint8Array[] | undefined,
    onData: ((data: Uint8Array) => void) | undefined,
  ): void {
    if (type === CHUNK_IDENTIFIER) {
      this.#maxBlock = identifierMaxBlock(body, this.#maxS2Block);
      this.#started = true;
      return;
    }
    const expected = (body[0] | (body[1] << 8) | (body[2] << 16) | (body[3] << 24)) >>> 0;
    let data: Uint8Array;
    if (type === CHUNK_COMPRESSED) {
      const block = body.subarray(CHECKSUM);
      const length = decodedBlockLength(block);
      if (length > this.#maxBlock) {
        throw new S2Error(
          "too_large",
          `Cannot read S2 stream: block of ${length} bytes exceeds the limit of ${this.#maxBlock}`,
        );
      }
      data = this.#allocate(length);
      decodeBlockInto(block, data, this.#engine);
    } else if (owned) {
      data = body.subarray(CHECKSUM);
    } else {
      data = this.#allocate(body.length - CHECKSUM);
      data.set(body.subarray(CHECKSUM));
    }
    const actual = maskedCrc32c(data);
    if (actual !== expected) {
      throw new S2Error(
        "crc_mismatch",
        `Cannot read S2 stream: checksum 0x${actual.toString(16)} does not match 0x${
          expected.toString(16)
        }`,
      );
    }
    if (data.length === 0) return;
    if (onData !== undefined) {
      onData(data);
      return;
    }
    this.#fed += data.length;
    if (this.#fed > this.#maxFeedOutput) {
      throw new S2Error(
        "too_large",
        `Cannot read S2 stream: one feed decodes to more than ${this.#maxFeedOutput} bytes`,
      );
    }
    out!.push(data);
  }
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

function identifierMaxBlock(body: Uint8Array, maxS2Block: number): number {
  if (matchesMagic(body, S2_STREAM_IDENTIFIER)) return maxS2Block;
  if (matchesMagic(body, SNAPPY_STREAM_IDENTIFIER)) {
    return Math.min(maxS2Block, SNAPPY_MAX_BLOCK_SIZE);
  }
  const text = Array.from(body, hex).join(" ");
  throw new S2Error("bad_identifier", `Cannot read S2 stream: unknown stream identifier ${text}`);
}

function matchesMagic(body: Uint8Array, identifier: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (body[i] !== identifier[CHUNK_HEADER + i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------

/** Options for {@linkcode S2StreamWriter}. */
export interface S2WriterOptions {
  /**
   * `"uncompressed"` writes raw data chunks (nats-server's `s2_uncompressed`: S2 framing, no
   * compression work); the others compress each block. Default `"fast"`.
   */
  level?: S2Level;
  /**
   * Most input bytes per chunk, 4 KiB to 4 MiB; default 1 MiB like Go's writer. A reader must
   * receive a whole chunk before it can decode any of it, so smaller blocks lower the latency
   * of large writes at a small cost in ratio.
   */
  blockSize?: number;
  /**
   * Start every `write` with a stream identifier, as nats-server does for each socket flush,
   * making each write a complete stream on its own. Default `false`: once per stream (after
   * construction or {@linkcode S2StreamWriter.reset}).
   */
  identifierPerWrite?: boolean;
  /** Which block encoder runs; see {@linkcode S2Engine}. */
  engine?: S2Engine;
}

/** Above this, a write's framing goes to a one-off buffer instead of the reused scratch one. */
const MAX_SCRATCH = 8 * 1024 * 1024;

/**
 * Incremental S2 stream writer. Each {@linkcode write} frames all of its input at once and
 * returns bytes ready for the socket: nothing is held back, so one call per coalesced flush
 * gives the peer everything at once and the writer needs no flush or timer. Blocks whose
 * compressed form would not save at least 1/32 are sent as raw chunks, which the peer decodes
 * for the price of a copy.
 *
 * @example
 * ```ts
 * import { S2StreamWriter } from "./s2_stream.ts";
 * const writer = new S2StreamWriter({ level: "uncompressed" });
 * const wire = writer.write(new TextEncoder().encode("PING\r\n"));
 * console.log(wire.length); // 24: identifier 10 + chunk header 4 + CRC 4 + "PING\r\n" 6
 * ```
 */
export class S2StreamWriter {
  /** The level this writer compresses at. */
  readonly level: S2Level;
  /** Most input bytes per chunk. */
  readonly blockSize: number;
  readonly #identifierPerWrite: boolean;
  readonly #encoder: S2BlockEncoder | undefined;
  #needIdentifier = true;
  #scratch: Uint8Array = EMPTY;
  readonly #arena = new Arena();

  /** Creates a writer; the first write starts with the stream identifier. */
  constructor(options: S2WriterOptions = {}) {
    this.level = options.level ?? "fast";
    const blockSize = options.blockSize ?? 1024 * 1024;
    if (!(blockSize >= 4096 && blockSize <= S2_MAX_BLOCK_SIZE)) {
      throw new RangeError(`S2 blockSize must be 4096 to ${S2_MAX_BLOCK_SIZE}: ${blockSize}`);
    }
    this.blockSize = Math.floor(blockSize);
    this.#identifierPerWrite = options.identifierPerWrite ?? false;
    // Validates the level too.
    const encoder = new S2BlockEncoder(this.level, options.engine);
    this.#encoder = this.level === "uncompressed" ? undefined : encoder;
  }

  /** Makes the next write start a new stream (with a stream identifier). */
  reset(): void {
    this.#needIdentifier = true;
  }

  /**
   * Frames `data` as complete chunks and returns the bytes to send: a new array owned by the
   * caller (empty for empty input, which writes nothing, not even an identifier). Small results
   * are views sharing an ArrayBuffer with earlier ones, which the writer never touches again.
   */
  write(data: Uint8Array): Uint8Array {
    const n = data.length;
    if (n === 0) return EMPTY;
    const blockSize = this.blockSize;
    const blocks = Math.ceil(n / blockSize);
    const identifier = this.#needIdentifier || this.#identifierPerWrite;
    this.#needIdentifier = false;
    let bound = (identifier ? S2_STREAM_IDENTIFIER.length : 0) +
      blocks * (CHUNK_HEADER + CHECKSUM);
    const encoder = this.#encoder;
    if (encoder === undefined) {
      const size = bound + n;
      if (size > ARENA_MAX_PIECE) {
        const out = new Uint8Array(size);
        this.#frameRaw(data, out, 0, identifier);
        return out;
      }
      this.#arena.reserve(size);
      this.#frameRaw(data, this.#arena.buffer, this.#arena.offset, identifier);
      return this.#arena.take(size);
    }
    for (let i = 0; i < blocks; i++) {
      bound += maxEncodedLength(Math.min(blockSize, n - i * blockSize));
    }
    // Small writes are framed straight into an arena and returned as a view of it; larger ones
    // into the scratch buffer, then copied out at their exact size.
    const inArena = bound <= ARENA_MAX_PIECE;
    let buf = this.#scratch;
    let p = 0;
    if (inArena) {
      this.#arena.reserve(bound);
      buf = this.#arena.buffer;
      p = this.#arena.offset;
    } else if (buf.length < bound) {
      buf = new Uint8Array(bound);
      if (bound <= MAX_SCRATCH) this.#scratch = buf;
    }
    const begin = p;
    if (identifier) {
      buf.set(S2_STREAM_IDENTIFIER, p);
      p += S2_STREAM_IDENTIFIER.length;
    }
    for (let start = 0; start < n; start += blockSize) {
      const block = data.subarray(start, Math.min(n, start + blockSize));
      const crc = maskedCrc32c(block);
      const size = encoder.encodeInto(block, buf.subarray(p + CHUNK_HEADER + CHECKSUM));
      if (size < block.length - (block.length >>> 5)) {
        p = writeChunkHeader(buf, p, CHUNK_COMPRESSED, size + CHECKSUM, crc) + size;
      } else {
        p = writeChunkHeader(buf, p, CHUNK_UNCOMPRESSED, block.length + CHECKSUM, crc);
        buf.set(block, p);
        p += block.length;
      }
    }
    return inArena ? this.#arena.take(p - begin) : buf.slice(0, p);
  }

  /** Frames `data` as raw chunks into `out` from `p`, where there is room for exactly that. */
  #frameRaw(data: Uint8Array, out: Uint8Array, p: number, identifier: boolean): void {
    if (identifier) {
      out.set(S2_STREAM_IDENTIFIER, p);
      p += S2_STREAM_IDENTIFIER.length;
    }
    const n = data.length;
    for (let start = 0; start < n; start += this.blockSize) {
      const block = data.subarray(start, Math.min(n, start + this.blockSize));
      p = writeChunkHeader(
        out,
        p,
        CHUNK_UNCOMPRESSED,
        block.length + CHECKSUM,
        maskedCrc32c(block),
      );
      out.set(block, p);
      p += block.length;
    }
  }
}

function writeChunkHeader(
  out: Uint8Array,
  p: number,
  type: number,
  length: number,
  crc: number,
): number {
  out[p] = type;
  out[p + 1] = length;
  out[p + 2] = length >>> 8;
  out[p + 3] = length >>> 16;
  out[p + 4] = crc;
  out[p + 5] = crc >>> 8;
  out[p + 6] = crc >>> 16;
  out[p + 7] = crc >>> 24;
  return p + CHUNK_HEADER + CHECKSUM;
}
