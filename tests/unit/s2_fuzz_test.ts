/**
 * Time-bounded fuzzing of the S2 codec (about 4 s in total), including agreement of the WebAssembly
 * and TypeScript engines. Each run uses a new seed, printed
 * in every failure message; rerun one with `S2_FUZZ_SEED=<seed> deno test -A <this file>`, or
 * fuzz longer with `S2_FUZZ_MS=<ms per test>`.
 */
import assert from "node:assert/strict";
import {
  decodeBlock,
  DEFAULT_S2_ENGINE,
  encodeBlock,
  maxEncodedLength,
  S2_MAX_BLOCK_SIZE,
} from "../../protocol/s2_block.ts";
import type { S2Engine, S2Level } from "../../protocol/s2_block.ts";
import { S2Error } from "../../protocol/s2_error.ts";
import { S2StreamReader, S2StreamWriter } from "../../protocol/s2_stream.ts";
import { buildBlock, expand } from "../fixtures/s2/block_builder.ts";
import type { Element } from "../fixtures/s2/block_builder.ts";
import { jsonText, natsText, Prng } from "../fixtures/s2/sample_data.ts";

const LEVELS: readonly S2Level[] = ["uncompressed", "fast", "better", "best"];
const SEED = Number(Deno.env.get("S2_FUZZ_SEED") ?? (Date.now() % 0xffffffff)) >>> 0;
/** Per test; `S2_FUZZ_MS=60000` for a long local session. */
const BUDGET_MS = Number(Deno.env.get("S2_FUZZ_MS") ?? 600);

/** Runs `body(rng, i)` until the time budget is spent (and at least `min` times). */
function fuzz(name: string, min: number, body: (rng: Prng, i: number) => void): number {
  const rng = new Prng(SEED ^ hashName(name));
  const deadline = performance.now() + BUDGET_MS;
  let i = 0;
  while (i < min || performance.now() < deadline) {
    try {
      body(rng, i);
    } catch (err) {
      throw new Error(`${name}: failed at iteration ${i} with S2_FUZZ_SEED=${SEED}`, {
        cause: err,
      });
    }
    i++;
  }
  return i;
}

function hashName(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Data with the structure compressors look for: runs, near and far repeats, noise, text. */
function structuredData(rng: Prng, size: number): Uint8Array {
  const out = new Uint8Array(size);
  const text = natsText(4096, rng.next());
  let o = 0;
  while (o < size) {
    const n = Math.min(size - o, 1 + rng.below(rng.below(8) === 0 ? 5000 : 200));
    const kind = rng.below(5);
    if (kind === 0) {
      rng.fill(out.subarray(o, o + n));
    } else if (kind === 1) {
      out.fill(rng.below(256), o, o + n);
    } else if (kind === 2 && o > 0) {
      const offset = 1 + rng.below(Math.min(o, rng.below(2) ? 64 : 200_000));
      for (let i = 0; i < n; i++) out[o + i] = out[o + i - offset];
    } else {
      const from = rng.below(text.length);
      out.set(text.subarray(from, Math.min(text.length, from + n)).subarray(0, n), o);
    }
    o += n;
  }
  return out;
}

/** A random valid element sequence: every copy's offset is within what was produced. */
function randomElements(rng: Prng): Element[] {
  const elements: Element[] = [];
  let produced = 0;
  let copied = false;
  const count = 1 + rng.below(40);
  for (let i = 0; i < count; i++) {
    const kind = produced === 0 ? 0 : rng.below(5);
    if (kind === 0) {
      const n = 1 + (rng.below(10) === 0 ? rng.below(70_000) : rng.below(80));
      const forms = ["tag", 60, 61, 62, 63] as const;
      const minimal = n - 1 < 60 ? 0 : n - 1 < 0x100 ? 1 : n - 1 < 0x10000 ? 2 : 3;
      const form = forms[minimal + rng.below(5 - minimal)];
      elements.push({ kind: "literal", data: rng.fill(new Uint8Array(n)), form });
      produced += n;
    } else if (kind === 4 && copied) {
      const length = 4 + (rng.below(4) === 0 ? rng.below(100_000) : rng.below(300));
      elements.push({ kind: "repeat", length });
      produced += length;
    } else {
      const offset = 1 + rng.below(Math.min(produced, kind === 1 ? 2047 : 0x7fffffff));
      const copyKind = kind === 1 ? "copy1" : kind === 2 && offset < 0x10000 ? "copy2" : "copy4";
      const length = copyKind === "copy1" ? 4 + rng.below(8) : 1 + rng.below(64);
      elements.push({ kind: copyKind, offset, length });
      produced += length;
      copied = true;
    }
  }
  return elements;
}

function mutate(rng: Prng, data: Uint8Array): Uint8Array {
  const out = Array.from(data);
  const edits = 1 + rng.below(4);
  for (let e = 0; e < edits; e++) {
    const at = rng.below(out.length + 1);
    switch (rng.below(5)) {
      case 0:
        if (at < out.length) out[at] ^= 1 << rng.below(8);
        break;
      case 1:
        if (at < out.length) out[at] = rng.below(256);
        break;
      case 2:
        out.splice(at, 0, rng.below(256));
        break;
      case 3:
        out.splice(at, 1 + rng.below(8));
        break;
      default:
        out.length = Math.min(out.length, at);
    }
  }
  return Uint8Array.from(out);
}

/** Only S2Error may escape the decoder; anything else is a crash. */
function expectS2ErrorOr<T>(fn: () => T): T | S2Error {
  try {
    return fn();
  } catch (err) {
    if (err instanceof S2Error) return err;
    throw err;
  }
}

Deno.test("s2 fuzz - decoder agrees with a naive model on random valid blocks", () => {
  const runs = fuzz("model", 100, (rng) => {
    const elements = randomElements(rng);
    const expected = expand(elements);
    assert.deepEqual(decodeBlock(buildBlock(elements), { maxLength: 1 << 24 }), expected);
  });
  assert.ok(runs >= 100);
});

Deno.test("s2 fuzz - every level round trips random structured data", () => {
  const runs = fuzz("roundtrip", 40, (rng, i) => {
    const data = structuredData(rng, rng.below(i % 10 === 0 ? 300_000 : 20_000));
    const level = LEVELS[rng.below(LEVELS.length)];
    const block = encodeBlock(data, { level });
    assert.ok(block.length <= maxEncodedLength(data.length));
    assert.deepEqual(decodeBlock(block), data, level);
  });
  assert.ok(runs >= 40);
});

/** Blocks to mutate: every level's output, and one built with every copy form and a repeat. */
function blockSeeds(): Uint8Array[] {
  return [
    ...LEVELS.map((level) => encodeBlock(natsText(3000), { level })),
    encodeBlock(jsonText(2000), { level: "best" }),
    buildBlock([
      { kind: "literal", data: natsText(100) },
      { kind: "copy2", offset: 90, length: 40 },
      { kind: "repeat", length: 500 },
      { kind: "copy4", offset: 7, length: 9 },
    ]),
  ];
}

Deno.test("s2 fuzz - mutated blocks decode or raise S2Error, within their limit", () => {
  const seeds = blockSeeds();
  let errors = 0;
  const runs = fuzz("mutate-block", 500, (rng) => {
    const input = mutate(rng, seeds[rng.below(seeds.length)]);
    const result = expectS2ErrorOr(() => decodeBlock(input, { maxLength: 100_000 }));
    if (result instanceof S2Error) errors++;
    else assert.ok(result.length <= 100_000);
  });
  assert.ok(errors > runs / 4, `only ${errors} of ${runs} mutations were rejected`);
});

Deno.test("s2 fuzz - mutated and random streams fed in random pieces never crash", () => {
  const seeds = LEVELS.map((level) => {
    const writer = new S2StreamWriter({ level, blockSize: 4096, identifierPerWrite: true });
    return new Uint8Array([...writer.write(natsText(6000)), ...writer.write(jsonText(3000))]);
  });
  let errors = 0;
  const runs = fuzz("mutate-stream", 300, (rng, i) => {
    const input = i % 10 === 0
      ? new Uint8Array([...seeds[0].subarray(0, 10), ...rng.fill(new Uint8Array(rng.below(500)))])
      : mutate(rng, seeds[rng.below(seeds.length)]);
    const reader = new S2StreamReader({ maxFeedOutput: S2_MAX_BLOCK_SIZE });
    const result = expectS2ErrorOr(() => {
      let total = 0;
      for (let o = 0; o < input.length;) {
        const n = 1 + rng.below(700);
        for (const part of reader.feed(input.subarray(o, o + n))) total += part.length;
        o += n;
      }
      reader.end();
      return total;
    });
    if (result instanceof S2Error) errors++;
    else assert.ok(result <= 9000);
  });
  // Checksums catch nearly every mutation that still parses.
  assert.ok(errors > runs * 0.9, `only ${errors} of ${runs} corrupt streams were rejected`);
});

/** The outcome of a decode, comparable across engines: the bytes, or the error's text. */
function decodeOutcome(block: Uint8Array, engine: S2Engine): Uint8Array | string {
  const result = expectS2ErrorOr(() => decodeBlock(block, { maxLength: 400_000, engine }));
  return result instanceof S2Error ? `${result.reason}: ${result.message}` : result;
}

Deno.test("s2 fuzz - the WebAssembly and TypeScript encoders write identical blocks", () => {
  assert.equal(DEFAULT_S2_ENGINE, "wasm", "this runtime has WebAssembly");
  const runs = fuzz("engines-encode", 40, (rng, i) => {
    const data = structuredData(rng, rng.below(i % 10 === 0 ? 300_000 : 20_000));
    for (const level of ["fast", "better"] as const) {
      const wasm = encodeBlock(data, { level, engine: "wasm" });
      assert.deepEqual(wasm, encodeBlock(data, { level, engine: "typescript" }), level);
      assert.deepEqual(decodeBlock(wasm, { engine: "wasm" }), data, level);
    }
  });
  assert.ok(runs >= 40);
});

Deno.test("s2 fuzz - both decoders give the same bytes or the same error on any input", () => {
  const seeds = blockSeeds();
  let errors = 0;
  const runs = fuzz("engines-decode", 500, (rng, i) => {
    const input = i % 4 === 0
      ? buildBlock(randomElements(rng))
      : mutate(rng, seeds[rng.below(seeds.length)]);
    const wasm = decodeOutcome(input, "wasm");
    assert.deepEqual(wasm, decodeOutcome(input, "typescript"));
    if (typeof wasm === "string") errors++;
  });
  assert.ok(errors > runs / 8, `only ${errors} of ${runs} inputs were rejected`);
});
