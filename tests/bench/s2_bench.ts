/**
 * S2 codec throughput: `deno run -A tests/bench/s2_bench.ts`.
 *
 * Prints, for each payload (1 MiB of NATS protocol text, of JSON, of random bytes) and level:
 * block compress and decompress MB/s (of uncompressed bytes), the same through the stream
 * framing (adds CRC-32C and chunk headers), and the ratio (compressed / original). Then CRC-32C
 * alone, and the router's path: 1 KiB and 16 KiB flushes of NATS text and of JSON through a
 * stream writer and back through a reader fed 64 KiB socket reads. Finally our sizes next to Go's
 * (klauspost/compress) on the reference vectors.
 * Each figure is the median of repeated runs of at least 300 ms.
 *
 * @module
 */

import { crc32c, useCrc32cAccelerator } from "../../protocol/crc32c.ts";
import { loadNativeCrc32c, nativeCrc32c } from "../../protocol/crc32c_native.ts";
import { decodeBlockInto, maxEncodedLength, S2BlockEncoder } from "../../protocol/s2_block.ts";
import type { S2Engine, S2Level } from "../../protocol/s2_block.ts";
import { S2StreamReader, S2StreamWriter } from "../../protocol/s2_stream.ts";
import { jsonText, natsText, randomBytes } from "../fixtures/s2/sample_data.ts";
import { formatTable } from "./text_table.ts";

const LEVELS: readonly S2Level[] = ["uncompressed", "fast", "better", "best"];
const SIZE = 1 << 20;
const MIN_MS = 300;

/** Median MB/s of `fn` processing `bytes` per call, after letting the JIT settle. */
function throughput(bytes: number, fn: () => void): number {
  const warm = performance.now();
  for (let i = 0; i < 3 || performance.now() - warm < MIN_MS / 2; i++) fn();
  const rates: number[] = [];
  const start = performance.now();
  while (rates.length < 5 || performance.now() - start < MIN_MS) {
    const t0 = performance.now();
    fn();
    const ms = performance.now() - t0;
    rates.push(bytes / 1e6 / (Math.max(ms, 0.001) / 1000));
  }
  rates.sort((a, b) => a - b);
  return rates[rates.length >> 1];
}

function mbps(value: number): string {
  return value >= 10_000 ? "memcpy" : value.toFixed(0);
}

/** The engines that run `level`: WebAssembly only has `fast` and `better`. */
function enginesFor(level: S2Level): S2Engine[] {
  return level === "fast" || level === "better" ? ["wasm", "typescript"] : ["typescript"];
}

function benchPayload(name: string, data: Uint8Array): string[][] {
  const rows: string[][] = [];
  for (const level of LEVELS) {
    for (const engine of enginesFor(level)) rows.push(benchLevel(name, data, level, engine));
  }
  return rows;
}

function benchLevel(name: string, data: Uint8Array, level: S2Level, engine: S2Engine): string[] {
  {
    const encoder = new S2BlockEncoder(level, engine);
    const block = new Uint8Array(maxEncodedLength(data.length));
    let blockSize = 0;
    const compress = throughput(data.length, () => {
      blockSize = encoder.encodeInto(data, block);
    });
    const out = new Uint8Array(data.length);
    const encoded = block.subarray(0, blockSize);
    const decompress = throughput(data.length, () => {
      decodeBlockInto(encoded, out, engine);
    });
    if (!out.every((b, i) => b === data[i])) throw new Error(`${name}/${level}: round trip failed`);

    const writer = new S2StreamWriter({ level, engine });
    let wire: Uint8Array = new Uint8Array(0);
    const streamCompress = throughput(data.length, () => {
      writer.reset();
      wire = writer.write(data);
    });
    const streamDecompress = throughput(data.length, () => {
      const reader = new S2StreamReader({ engine });
      reader.feedEach(wire, () => {});
      reader.end();
    });
    return [
      name,
      level,
      engine,
      mbps(compress),
      mbps(decompress),
      mbps(streamCompress),
      mbps(streamDecompress),
      (wire.length / data.length).toFixed(3),
    ];
  }
}

/** A router flushing batches of `flush` bytes, the peer reading 64 KiB socket reads. */
function benchRouterPath(name: string, data: Uint8Array, flush: number): string[][] {
  const rows: string[][] = [];
  const FLUSH = flush;
  const READ = 64 * 1024;
  for (const level of LEVELS) {
    const writer = new S2StreamWriter({ level, identifierPerWrite: true });
    const frames: Uint8Array[] = [];
    const write = throughput(data.length, () => {
      frames.length = 0;
      for (let o = 0; o < data.length; o += FLUSH) {
        frames.push(writer.write(data.subarray(o, o + FLUSH)));
      }
    });
    const wire = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let o = 0;
    for (const f of frames) {
      wire.set(f, o);
      o += f.length;
    }
    let decoded = 0;
    const read = throughput(data.length, () => {
      const reader = new S2StreamReader();
      decoded = 0;
      for (let p = 0; p < wire.length; p += READ) {
        reader.feedEach(wire.subarray(p, p + READ), (part) => decoded += part.length);
      }
    });
    if (decoded !== data.length) throw new Error("router path lost data");
    rows.push([
      name,
      `${FLUSH / 1024} KiB`,
      level,
      mbps(write),
      (FLUSH / write).toFixed(1), // bytes / (MB/s) = µs
      mbps(read),
      (wire.length / data.length).toFixed(3),
    ]);
  }
  return rows;
}

interface Vector {
  input: string;
  kind: string;
  bytes: number;
  inputBytes: number;
}

/** Our block sizes next to Go's on the same inputs. */
function compareWithGo(): string[][] {
  const fixtures = new URL("../fixtures/s2/", import.meta.url);
  const manifest: { vectors: Vector[] } = JSON.parse(
    Deno.readTextFileSync(new URL("manifest.json", fixtures)),
  );
  const rows: string[][] = [];
  for (const input of ["nats", "json", "far", "runs"]) {
    const data = Deno.readFileSync(new URL(`vectors/${input}.bin`, fixtures));
    for (const level of ["fast", "better", "best"] as const) {
      const go = manifest.vectors.find((v) => v.input === input && v.kind === `block_${level}`)!;
      const ours = new S2BlockEncoder(level).encodeInto(
        data,
        new Uint8Array(maxEncodedLength(data.length)),
      );
      rows.push([
        input,
        level,
        String(data.length),
        String(go.bytes),
        String(ours),
        (go.bytes / data.length).toFixed(3),
        (ours / data.length).toFixed(3),
      ]);
    }
  }
  return rows;
}

const payloads: [string, Uint8Array][] = [
  ["nats text", natsText(SIZE)],
  ["json", jsonText(SIZE)],
  ["random", randomBytes(SIZE, 1)],
];

// As a server does at startup: the stream columns include the checksum.
const crcChoice = await loadNativeCrc32c();
console.log(`S2 codec, 1 MiB payloads, Deno ${Deno.version.deno}, MB/s of uncompressed data`);
console.log(`(stream columns include CRC-32C, ${crcChoice.detail})\n`);
console.log(
  formatTable(
    [
      "payload",
      "level",
      "engine",
      "compress",
      "decompress",
      "stream comp",
      "stream decomp",
      "ratio",
    ],
    payloads.flatMap(([name, data]) => benchPayload(name, data)),
    { leftColumns: 3 },
  ).join("\n"),
);

/**
 * CRC-32C MB/s over the JSON payload, whole and in 1 KiB pieces (one per flush), with the table
 * code and, when it loads, the native addon.
 */
function benchCrc(data: Uint8Array): string[][] {
  let sink = 0;
  const measure = (label: string) =>
    [1024, data.length].map((piece) => [
      label,
      piece === data.length ? "1 MiB" : "1 KiB",
      mbps(throughput(data.length, () => {
        for (let o = 0; o < data.length; o += piece) sink ^= crc32c(data.subarray(o, o + piece));
      })),
    ]);
  const native = nativeCrc32c();
  useCrc32cAccelerator(undefined);
  const rows = measure("table");
  if (native !== undefined) {
    useCrc32cAccelerator(native);
    rows.push(...measure("native"));
  }
  if (sink === 0.5) console.log(sink); // keeps the checksums observable
  return rows;
}

console.log(`\nCRC-32C of JSON, checksummed in pieces of\n`);
console.log(
  formatTable(["code", "piece", "MB/s"], benchCrc(payloads[1][1]), { leftColumns: 2 })
    .join("\n"),
);
console.log(`\nRouter path: flushes of 1 and 16 KiB, each a complete stream as nats-server frames`);
console.log(`them, read back in 64 KiB pieces\n`);
console.log(
  formatTable(
    ["payload", "flush", "level", "write MB/s", "µs/write", "read MB/s", "ratio"],
    payloads.slice(0, 2).flatMap(([name, data]) => [
      ...benchRouterPath(name, data, 1024),
      ...benchRouterPath(name, data, 16 * 1024),
    ]),
    { leftColumns: 3 },
  ).join("\n"),
);
console.log(`\nBlock sizes against Go's klauspost/compress s2 (tests/fixtures/s2/manifest.json)\n`);
console.log(
  formatTable(
    ["input", "level", "bytes", "Go", "ours", "Go ratio", "our ratio"],
    compareWithGo(),
    { leftColumns: 2 },
  ).join("\n"),
);
