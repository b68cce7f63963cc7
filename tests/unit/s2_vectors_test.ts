/**
 * Compatibility with the reference implementation, Go's github.com/klauspost/compress/s2
 * (vectors and checks made by tests/fixtures/s2/generate.go; see the README there).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { decodeBlock } from "../../protocol/s2_block.ts";
import { S2Error } from "../../protocol/s2_error.ts";
import { S2StreamReader } from "../../protocol/s2_stream.ts";
import { scanKinds } from "../fixtures/s2/block_builder.ts";
import { encodeOurs, INPUT_NAMES, readInput, VECTORS_DIR } from "../fixtures/s2/ours.ts";

interface Vector {
  input: string;
  kind: string;
  file: string;
  bytes: number;
  inputBytes: number;
  inputSha256: string;
  goDecodes: boolean;
  goError?: string;
}

const FIXTURES = new URL("../fixtures/s2/", import.meta.url);
const manifest: { reference: string; vectors: Vector[] } = JSON.parse(
  Deno.readTextFileSync(new URL("manifest.json", FIXTURES)),
);
const verified: {
  reference: string;
  files: Record<string, { sha256: string; bytes: number; decoder: string }>;
} = JSON.parse(Deno.readTextFileSync(new URL("ours_verified.json", FIXTURES)));

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function readStream(wire: Uint8Array, step: number): Uint8Array {
  const reader = new S2StreamReader();
  const parts: Uint8Array[] = [];
  for (let o = 0; o < wire.length; o += step) {
    parts.push(...reader.feed(wire.subarray(o, o + step)));
  }
  reader.end();
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function decodeVector(v: Vector, wire: Uint8Array, step = wire.length || 1): Uint8Array {
  return v.kind.startsWith("block_") ? decodeBlock(wire) : readStream(wire, step);
}

Deno.test("s2 vectors - the manifest covers every Go level for blocks and streams", () => {
  const kinds = new Set(manifest.vectors.map((v) => v.kind));
  for (
    const kind of [
      "block_fast",
      "block_better",
      "block_best",
      "block_snappy",
      "stream_uncompressed",
      "stream_fast",
      "stream_better",
      "stream_best",
      "stream_snappy",
      "stream_small_blocks",
      "stream_flushes",
      "stream_padded_index",
    ]
  ) assert.ok(kinds.has(kind), kind);
  assert.ok(manifest.vectors.length >= 90, `${manifest.vectors.length} vectors`);
});

Deno.test("s2 vectors - we decode every block and stream Go wrote", () => {
  for (const v of manifest.vectors.filter((v) => v.goDecodes)) {
    const wire = Deno.readFileSync(new URL(v.file, VECTORS_DIR));
    assert.equal(wire.length, v.bytes, v.file);
    const decoded = decodeVector(v, wire);
    assert.equal(decoded.length, v.inputBytes, v.file);
    assert.equal(sha256(decoded), v.inputSha256, v.file);
    assert.deepEqual(decoded, readInput(v.input), v.file);
  }
});

Deno.test("s2 vectors - we reject what Go's own decoder rejects", () => {
  // Go's padded writer turns an empty input into a lone padding chunk, with no identifier.
  const refused = manifest.vectors.filter((v) => !v.goDecodes);
  assert.deepEqual(refused.map((v) => v.file), ["empty.stream_padded_index.s2"]);
  for (const v of refused) {
    const wire = Deno.readFileSync(new URL(v.file, VECTORS_DIR));
    assert.throws(() => decodeVector(v, wire), (err: unknown) => {
      assert.ok(err instanceof S2Error && err.reason === "missing_identifier", `${err}`);
      return true;
    });
  }
});

Deno.test("s2 vectors - we decode Go's streams fed in small, odd-sized pieces", () => {
  const streams = manifest.vectors.filter((v) => v.goDecodes && v.kind.startsWith("stream_"));
  for (const v of streams) {
    const wire = Deno.readFileSync(new URL(v.file, VECTORS_DIR));
    for (const step of [1, 7, 4093]) {
      if (step === 1 && wire.length > 20_000) continue; // byte-wise on the small ones only
      assert.equal(sha256(decodeVector(v, wire, step)), v.inputSha256, `${v.file} step ${step}`);
    }
  }
});

Deno.test("s2 vectors - Go's blocks exercise repeats, 4-byte offsets and long literals", () => {
  const totals: Record<string, number> = { literal: 0, copy1: 0, copy2: 0, copy4: 0, repeat: 0 };
  for (const v of manifest.vectors.filter((v) => v.kind.startsWith("block_"))) {
    const kinds = scanKinds(Deno.readFileSync(new URL(v.file, VECTORS_DIR)));
    for (const k in kinds) totals[k] += kinds[k];
  }
  for (const k in totals) assert.ok(totals[k] > 0, `${k}: ${JSON.stringify(totals)}`);
});

Deno.test("s2 vectors - Go decoded exactly the bytes our encoder produces today", () => {
  // generate.go check decoded each of these files with s2.Decode / s2.NewReader and recorded
  // its hash; if the encoder changes, rerun the check (README) to record the new output.
  let count = 0;
  const ourKinds: Record<string, number> = { literal: 0, copy1: 0, copy2: 0, copy4: 0, repeat: 0 };
  for (const name of INPUT_NAMES) {
    const input = readInput(name);
    for (const [file, bytes] of encodeOurs(name, input)) {
      const record = verified.files[file];
      assert.ok(record !== undefined, `${file} was never checked by Go`);
      assert.equal(sha256(bytes), record.sha256, `${file} differs from what Go verified`);
      assert.deepEqual(
        decodeVector({ kind: file.split(".")[1] } as Vector, bytes),
        input,
        `${file} round trip`,
      );
      if (file.includes(".block_")) {
        const kinds = scanKinds(bytes);
        for (const k in kinds) ourKinds[k] += kinds[k];
      }
      count++;
    }
  }
  assert.equal(count, Object.keys(verified.files).length);
  // So Go has accepted every element kind our encoder writes, S2 repeats included.
  for (const k in ourKinds) assert.ok(ourKinds[k] > 0, `${k}: ${JSON.stringify(ourKinds)}`);
});
