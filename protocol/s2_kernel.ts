/**
 * The S2 block encoder (`fast`, `better`) and decoder compiled to WebAssembly from
 * `protocol/wasm/s2_kernel.c`: the same algorithms as the TypeScript in `s2_block.ts`, producing
 * the same bytes, at about 1.2× (encode) and 1.4–1.6× (decode) the speed of the TypeScript on
 * JSON (`tests/bench/s2_bench.ts`). `s2_block.ts` uses it whenever the runtime has WebAssembly
 * and falls back to its own code otherwise.
 *
 * The module owns one linear memory: hash tables at its start, then a work area that holds one
 * call's input and output. Inputs are copied in and results copied out; the copies cost a few
 * percent of the coding work and keep the caller's buffers ordinary `Uint8Array`s. The memory
 * grows to fit the largest call so far, at most about 10 MiB (a 4 MiB block in and out plus the
 * tables), and is kept for the next one.
 *
 * @module
 */

import { S2_KERNEL_WASM_BASE64 } from "./wasm/s2_kernel_wasm.ts";

/** The levels the kernel encodes; the others stay in TypeScript. */
export type S2KernelLevel = "fast" | "better";

interface KernelExports {
  readonly memory: WebAssembly.Memory;
  readonly __heap_base: WebAssembly.Global;
  encode_block(
    level: number,
    src: number,
    n: number,
    dst: number,
    tableA: number,
    tableB: number,
  ): number;
  decode_elements(src: number, s: number, sn: number, dst: number, end: number): number;
}

const LEVEL_CODES: Record<S2KernelLevel, number> = { fast: 1, better: 2 };

/** `better`'s long table (1 << 16 entries) and short table (1 << 14), 4 bytes per entry. */
const TABLE_A_BYTES = 4 << 16;
const TABLE_B_BYTES = 4 << 14;
const PAGE = 65536;

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** Encodes and decodes S2 blocks in WebAssembly; one per isolate, see {@linkcode s2Kernel}. */
export class S2Kernel {
  readonly #exports: KernelExports;
  readonly #tableA: number;
  readonly #tableB: number;
  readonly #work: number;
  #bytes: Uint8Array;

  constructor(exports: KernelExports) {
    this.#exports = exports;
    this.#tableA = align8(exports.__heap_base.value as number);
    this.#tableB = this.#tableA + TABLE_A_BYTES;
    this.#work = this.#tableB + TABLE_B_BYTES;
    this.#bytes = new Uint8Array(exports.memory.buffer);
    this.#reserve(this.#work + PAGE);
  }

  /**
   * Encodes `src` as one block into `dst` (from index 0), exactly as `S2BlockEncoder` does, and
   * returns the encoded length; `dst` must hold `maxEncodedLength(src.length)` bytes.
   */
  encodeInto(level: S2KernelLevel, src: Uint8Array, dst: Uint8Array, bound: number): number {
    const input = this.#work;
    const output = input + align8(src.length);
    const bytes = this.#reserve(output + bound);
    bytes.set(src, input);
    const n = this.#exports.encode_block(
      LEVEL_CODES[level],
      input,
      src.length,
      output,
      this.#tableA,
      this.#tableB,
    );
    dst.set(bytes.subarray(output, output + n));
    return n;
  }

  /**
   * Decodes the elements of `src` from index `start` into `dst[0, length)`. Returns false when
   * they are inconsistent in any way, without saying how: the caller re-runs the TypeScript
   * decoder, which names the fault, so both engines fail with the same error.
   */
  decodeInto(src: Uint8Array, start: number, dst: Uint8Array, length: number): boolean {
    const input = this.#work;
    const output = input + align8(src.length);
    const bytes = this.#reserve(output + length);
    bytes.set(src, input);
    if (this.#exports.decode_elements(input, start, src.length, output, length) !== 0) {
      return false;
    }
    dst.set(bytes.subarray(output, output + length));
    return true;
  }

  /** The memory as bytes, grown to hold `end`; growing detaches the previous view. */
  #reserve(end: number): Uint8Array {
    if (end > this.#bytes.length) {
      const memory = this.#exports.memory;
      memory.grow(Math.ceil((end - memory.buffer.byteLength) / PAGE));
      this.#bytes = new Uint8Array(memory.buffer);
    }
    return this.#bytes;
  }
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Instantiates the module; `undefined` where the runtime has no WebAssembly. */
export function loadS2Kernel(): S2Kernel | undefined {
  if (typeof WebAssembly !== "object") return undefined;
  const module = new WebAssembly.Module(decodeBase64(S2_KERNEL_WASM_BASE64));
  const instance = new WebAssembly.Instance(module, {});
  return new S2Kernel(instance.exports as unknown as KernelExports);
}

/** The isolate's kernel, built at first import (7 KB of WebAssembly, about a millisecond). */
export const s2Kernel: S2Kernel | undefined = loadS2Kernel();
