/**
 * Counts NATS protocol frames in a byte stream without decoding them, fast enough that a
 * benchmark's subscriber (or null sink) is never the bottleneck.
 *
 * @example
 * ```ts
 * import { FrameScanner } from "./frame_scanner.ts";
 * const scanner = new FrameScanner((line) => console.log(new TextDecoder().decode(line)));
 * scanner.scan(new TextEncoder().encode("MSG a 1 2\r\nhi\r\nPING\r\n"));
 * console.log(scanner.frames); // 1, and "PING" was logged
 * ```
 *
 * @module
 */

const LF = 0x0a;
const CR = 0x0d;
const DIGIT_0 = 0x30;
const UPPER_H = 0x48;
const UPPER_M = 0x4d;
const UPPER_P = 0x50;
const UPPER_U = 0x55;

/** INFO and CONNECT lines are a few KiB at most; anything longer means a broken stream. */
const MAX_LINE_BYTES = 1024 * 1024;

/** Raised when a protocol line grows past any sensible length. */
export class FrameScannerError extends Error {
  override name = "FrameScannerError";
}

/**
 * Receives every protocol line that carries no payload (`PING`, `PONG`, `+OK`, `-ERR ...`,
 * `INFO {...}`, `CONNECT {...}`, `SUB ...`), without its CRLF. The bytes are only valid during
 * the call.
 */
export type ControlLineHandler = (line: Uint8Array) => void;

/**
 * Counts payload frames (`MSG`, `HMSG`, `PUB`, `HPUB`) and hands every other line to a callback.
 *
 * For a payload frame it reads only the last token of the header line, which is the total
 * payload size in all four operations, and then skips that many bytes plus CRLF, across chunk
 * boundaries if needed. Payload bytes are never looked at, so the cost per frame is one
 * `indexOf` for the line end and a few digit reads, with no allocation.
 */
export class FrameScanner {
  #frames = 0;
  /** Payload bytes (with their CRLF) still to skip at the start of the next chunk. */
  #skip = 0;
  /** A header or control line split across chunks, kept until its LF arrives. */
  #partial = new Uint8Array(4096);
  #partialLength = 0;
  #onControlLine: ControlLineHandler;

  /** @param onControlLine called for every line that is not a payload frame header */
  constructor(onControlLine: ControlLineHandler) {
    this.#onControlLine = onControlLine;
  }

  /** Payload frames seen so far. */
  get frames(): number {
    return this.#frames;
  }

  /**
   * Consumes the next chunk of the stream.
   *
   * @throws {FrameScannerError} when a line exceeds 1 MiB without a line end
   */
  scan(chunk: Uint8Array): void {
    const end = chunk.length;
    let position = 0;
    if (this.#skip > 0) {
      if (this.#skip >= end) {
        this.#skip -= end;
        return;
      }
      position = this.#skip;
      this.#skip = 0;
    }
    if (this.#partialLength > 0) {
      const lineEnd = chunk.indexOf(LF, position);
      if (lineEnd === -1) {
        this.#keepPartial(chunk, position, end);
        return;
      }
      this.#keepPartial(chunk, position, lineEnd + 1);
      position = lineEnd + 1;
      const line = this.#partial.subarray(0, this.#partialLength);
      this.#partialLength = 0;
      const frameEnd = this.#handleLine(line, 0, line.length - 1, position);
      if (frameEnd > end) {
        this.#skip = frameEnd - end;
        return;
      }
      position = frameEnd;
    }
    while (position < end) {
      const lineEnd = chunk.indexOf(LF, position);
      if (lineEnd === -1) {
        this.#keepPartial(chunk, position, end);
        return;
      }
      const frameEnd = this.#handleLine(chunk, position, lineEnd, lineEnd + 1);
      if (frameEnd > end) {
        this.#skip = frameEnd - end;
        return;
      }
      position = frameEnd;
    }
  }

  /**
   * Handles the line `bytes[start..lineEnd]` (LF at `lineEnd`) and returns where the next
   * frame starts, counted from `after`, the position just past the LF in the current chunk.
   */
  #handleLine(bytes: Uint8Array, start: number, lineEnd: number, after: number): number {
    const first = bytes[start];
    if (
      first === UPPER_M || first === UPPER_H ||
      (first === UPPER_P && bytes[start + 1] === UPPER_U)
    ) {
      let index = bytes[lineEnd - 1] === CR ? lineEnd - 2 : lineEnd - 1;
      let size = 0;
      let scale = 1;
      for (; index > start; index--) {
        const digit = bytes[index] - DIGIT_0;
        if (digit < 0 || digit > 9) break;
        size += digit * scale;
        scale *= 10;
      }
      this.#frames++;
      return after + size + 2;
    }
    const textEnd = lineEnd > start && bytes[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
    this.#onControlLine(bytes.subarray(start, textEnd));
    return after;
  }

  #keepPartial(chunk: Uint8Array, from: number, to: number): void {
    const needed = this.#partialLength + (to - from);
    if (needed > MAX_LINE_BYTES) {
      throw new FrameScannerError(
        `Cannot scan stream: a protocol line exceeds ${MAX_LINE_BYTES} bytes`,
      );
    }
    if (needed > this.#partial.length) {
      const grown = new Uint8Array(Math.max(needed, this.#partial.length * 2));
      grown.set(this.#partial.subarray(0, this.#partialLength));
      this.#partial = grown;
    }
    this.#partial.set(chunk.subarray(from, to), this.#partialLength);
    this.#partialLength = needed;
  }
}
