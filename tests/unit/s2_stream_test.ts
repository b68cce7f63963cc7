import assert from "node:assert/strict";
import { maskedCrc32c } from "../../protocol/crc32c.ts";
import { encodeBlock } from "../../protocol/s2_block.ts";
import type { S2Level } from "../../protocol/s2_block.ts";
import { S2Error } from "../../protocol/s2_error.ts";
import type { S2ErrorReason } from "../../protocol/s2_error.ts";
import {
  S2_STREAM_IDENTIFIER,
  S2StreamReader,
  S2StreamWriter,
  SNAPPY_STREAM_IDENTIFIER,
} from "../../protocol/s2_stream.ts";
import { jsonText, natsText, randomBytes } from "../fixtures/s2/sample_data.ts";

const te = new TextEncoder();
const LEVELS: readonly S2Level[] = ["uncompressed", "fast", "better", "best"];

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
}

/** A chunk: type, 24-bit length, body. */
function chunk(type: number, body: ArrayLike<number>): Uint8Array {
  const n = body.length;
  return Uint8Array.from([type, n & 0xff, (n >>> 8) & 0xff, n >>> 16, ...Array.from(body)]);
}

function rawChunk(data: Uint8Array, crc = maskedCrc32c(data)): Uint8Array {
  return chunk(0x01, [...le32(crc), ...data]);
}

function compressedChunk(data: Uint8Array, crc = maskedCrc32c(data)): Uint8Array {
  return chunk(0x00, [...le32(crc), ...encodeBlock(data)]);
}

function readAll(wire: Uint8Array, step = wire.length, reader = new S2StreamReader()): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let o = 0; o < wire.length; o += step) {
    parts.push(...reader.feed(wire.subarray(o, Math.min(wire.length, o + step))));
  }
  reader.end();
  return concat(parts);
}

function rejects(fn: () => unknown, reason: S2ErrorReason): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof S2Error, `expected S2Error, got ${err}`);
    assert.equal(err.reason, reason, err.message);
    return true;
  });
}

const PING = te.encode("PING\r\n");

Deno.test("s2 stream - writer frames PING exactly as the spec's example", () => {
  const wire = new S2StreamWriter({ level: "uncompressed" }).write(PING);
  assert.deepEqual(
    [...wire],
    [0xff, 6, 0, 0, 0x53, 0x32, 0x73, 0x54, 0x77, 0x4f, 0x01, 0x0a, 0, 0, 0xab, 0x90, 0xcc, 0x24]
      .concat([...PING]),
  );
});

Deno.test("s2 stream - reader decodes the spec's compressed PONG example", () => {
  const wire = Uint8Array.from([
    ...[0xff, 6, 0, 0, 0x53, 0x32, 0x73, 0x54, 0x77, 0x4f],
    ...[0x00, 0x0c, 0x00, 0x00, 0xf5, 0x6f, 0x1b, 0xe4],
    ...[0x06, 0x14, 0x50, 0x4f, 0x4e, 0x47, 0x0d, 0x0a],
  ]);
  assert.equal(new TextDecoder().decode(readAll(wire)), "PONG\r\n");
});

Deno.test("s2 stream - round trips text, JSON and random data at every level", () => {
  const inputs = [natsText(600_000), jsonText(200_000), randomBytes(100_000, 3), PING];
  for (const level of LEVELS) {
    for (const data of inputs) {
      const writer = new S2StreamWriter({ level, blockSize: 256 * 1024 });
      const wire = writer.write(data);
      assert.deepEqual(readAll(wire), data, `${level} ${data.length}`);
      assert.deepEqual(readAll(wire, 1000), data, `${level} ${data.length} in 1000-byte feeds`);
    }
  }
});

Deno.test("s2 stream - reader accepts a stream split at every byte", () => {
  const writer = new S2StreamWriter({ level: "fast", identifierPerWrite: true });
  const data = natsText(3000);
  const wire = concat([
    writer.write(data.subarray(0, 1000)),
    new S2StreamWriter({ level: "uncompressed" }).write(data.subarray(1000, 2000)),
    chunk(0xfe, [1, 2, 3]),
    writer.write(data.subarray(2000)),
  ]);
  for (let cut = 0; cut <= wire.length; cut++) {
    const reader = new S2StreamReader();
    const parts = [...reader.feed(wire.subarray(0, cut)), ...reader.feed(wire.subarray(cut))];
    reader.end();
    assert.deepEqual(concat(parts), data, `cut ${cut}`);
  }
  assert.deepEqual(readAll(wire, 1), data, "one byte at a time");
});

Deno.test("s2 stream - writer splits large writes into blocks of blockSize", () => {
  const data = natsText(100_000);
  const writer = new S2StreamWriter({ level: "fast", blockSize: 4096 });
  const reader = new S2StreamReader();
  const parts = reader.feed(writer.write(data));
  assert.equal(parts.length, Math.ceil(100_000 / 4096));
  assert.ok(parts.every((p) => p.length <= 4096));
  assert.deepEqual(concat(parts), data);
  assert.throws(() => new S2StreamWriter({ blockSize: 100 }), RangeError);
  assert.throws(() => new S2StreamWriter({ blockSize: 8 << 20 }), RangeError);
});

Deno.test("s2 stream - identifier once per stream, per write, or after reset", () => {
  const idLength = S2_STREAM_IDENTIFIER.length;
  const startsWithId = (b: Uint8Array) =>
    b.length >= idLength && S2_STREAM_IDENTIFIER.every((v, i) => b[i] === v);
  const once = new S2StreamWriter();
  assert.ok(startsWithId(once.write(PING)));
  assert.ok(!startsWithId(once.write(PING)));
  once.reset();
  assert.ok(startsWithId(once.write(PING)));
  const each = new S2StreamWriter({ identifierPerWrite: true });
  assert.ok(startsWithId(each.write(PING)) && startsWithId(each.write(PING)));
  assert.equal(once.write(new Uint8Array(0)).length, 0);
});

Deno.test("s2 stream - incompressible blocks are sent raw, compressible ones compressed", () => {
  const random = new S2StreamWriter({ level: "best" }).write(randomBytes(10_000, 1));
  assert.equal(random[10], 0x01);
  const text = new S2StreamWriter({ level: "fast" }).write(natsText(10_000));
  assert.equal(text[10], 0x00);
  assert.ok(text.length < 5000);
  const raw = new S2StreamWriter({ level: "uncompressed" }).write(natsText(10_000));
  assert.equal(raw[10], 0x01);
});

Deno.test("s2 stream - reader accepts Snappy streams, repeated identifiers and skippable chunks", () => {
  const a = te.encode("hello ");
  const b = te.encode("world");
  const wire = concat([
    SNAPPY_STREAM_IDENTIFIER,
    chunk(0x80, [9, 9]), // skippable
    compressedChunk(a),
    chunk(0xfe, new Uint8Array(300)), // padding
    S2_STREAM_IDENTIFIER,
    chunk(0x99, [1, 2, 3, 4]), // S2 index
    rawChunk(b),
    rawChunk(new Uint8Array(0)), // empty data: nothing returned
  ]);
  for (const step of [1, 3, wire.length]) {
    assert.equal(new TextDecoder().decode(readAll(wire, step)), "hello world", `step ${step}`);
  }
});

Deno.test("s2 stream - feedEach hands over each decoded chunk", () => {
  const data = natsText(50_000);
  const wire = new S2StreamWriter({ blockSize: 8192 }).write(data);
  const reader = new S2StreamReader();
  const seen: Uint8Array[] = [];
  reader.feedEach(wire, (part) => seen.push(part));
  assert.equal(seen.length, 7);
  assert.deepEqual(concat(seen), data);
  const failing = new S2StreamReader();
  const boom = new Error("consumer failed");
  assert.throws(() =>
    failing.feedEach(wire, () => {
      throw boom;
    }), boom);
  assert.throws(() => failing.feed(PING), boom, "failed reader keeps failing");
});

Deno.test("s2 stream - rejects a bad checksum in compressed and raw chunks", () => {
  const data = te.encode("some data here, some data here");
  const bad = (maskedCrc32c(data) ^ 1) >>> 0;
  rejects(
    () => readAll(concat([S2_STREAM_IDENTIFIER, compressedChunk(data, bad)])),
    "crc_mismatch",
  );
  rejects(() => readAll(concat([S2_STREAM_IDENTIFIER, rawChunk(data, bad)])), "crc_mismatch");
  const wire = new S2StreamWriter().write(natsText(5000));
  wire[wire.length - 1] ^= 0x10; // flips a literal byte: decodes, but to other data
  rejects(() => readAll(wire), "crc_mismatch");
});

Deno.test("s2 stream - rejects a stream cut inside a chunk at end()", () => {
  const wire = new S2StreamWriter().write(natsText(5000));
  for (const cut of [1, 5, 12, 14, 18, 30, wire.length - 1]) {
    const reader = new S2StreamReader();
    reader.feed(wire.subarray(0, cut));
    assert.ok(!reader.atChunkBoundary, `cut ${cut}`);
    rejects(() => reader.end(), "truncated");
  }
  const buffered = new S2StreamReader();
  buffered.feed(wire.subarray(0, 30));
  assert.equal(buffered.bufferedBytes, 16); // chunk header 4 + 12 body bytes
  const atIdentifierEnd = new S2StreamReader();
  atIdentifierEnd.feed(wire.subarray(0, 10));
  assert.ok(atIdentifierEnd.atChunkBoundary);
  atIdentifierEnd.end(); // a stream may end after any whole chunk
  const skip = new S2StreamReader();
  skip.feed(concat([S2_STREAM_IDENTIFIER, chunk(0xfe, new Uint8Array(10)).subarray(0, 8)]));
  rejects(() => skip.end(), "truncated");
});

Deno.test("s2 stream - rejects data before the identifier and bad identifiers", () => {
  rejects(() => readAll(rawChunk(PING)), "missing_identifier");
  rejects(() => readAll(compressedChunk(PING)), "missing_identifier");
  // Go's reader refuses even a skippable chunk before the identifier.
  rejects(() => readAll(concat([chunk(0xfe, [0]), S2_STREAM_IDENTIFIER])), "missing_identifier");
  rejects(() => readAll(chunk(0xff, te.encode("S2sTwOx"))), "bad_identifier");
  rejects(() => readAll(chunk(0xff, te.encode("sNaPpX"))), "bad_identifier");
  rejects(() => readAll(chunk(0xff, []).subarray(0, 4)), "bad_identifier");
});

Deno.test("s2 stream - rejects reserved chunk types 0x02 to 0x7f", () => {
  for (const type of [0x02, 0x10, 0x7f]) {
    rejects(() => readAll(concat([S2_STREAM_IDENTIFIER, chunk(type, [0])])), "reserved_chunk");
  }
});

Deno.test("s2 stream - rejects data chunks too short for a checksum", () => {
  rejects(() => readAll(concat([S2_STREAM_IDENTIFIER, chunk(0x00, [1, 2, 3])])), "bad_chunk");
  rejects(() => readAll(concat([S2_STREAM_IDENTIFIER, chunk(0x01, [])])), "bad_chunk");
});

Deno.test("s2 stream - rejects oversize chunks from their header, before buffering", () => {
  const header = (type: number, n: number) =>
    Uint8Array.of(type, n & 0xff, (n >>> 8) & 0xff, n >>> 16);
  for (const type of [0x00, 0x01]) {
    const reader = new S2StreamReader();
    reader.feed(S2_STREAM_IDENTIFIER);
    rejects(() => reader.feed(header(type, 0xffffff)), "too_large");
  }
  // 64 KiB + 1 of raw data is too much for a Snappy stream, fine for S2.
  const big = randomBytes(65537, 6);
  rejects(() => readAll(concat([SNAPPY_STREAM_IDENTIFIER, rawChunk(big)])), "too_large");
  assert.equal(readAll(concat([S2_STREAM_IDENTIFIER, rawChunk(big)])).length, 65537);
  // A compressed chunk whose block declares more than the limit.
  const zeros = new Uint8Array(70_000);
  rejects(() => readAll(concat([SNAPPY_STREAM_IDENTIFIER, compressedChunk(zeros)])), "too_large");
  const limited = new S2StreamReader({ maxBlockSize: 65536 });
  rejects(
    () => readAll(concat([S2_STREAM_IDENTIFIER, compressedChunk(zeros)]), 100, limited),
    "too_large",
  );
  assert.throws(() => new S2StreamReader({ maxBlockSize: 0 }), RangeError);
  assert.throws(() => new S2StreamReader({ maxBlockSize: (4 << 20) + 1 }), RangeError);
});

Deno.test("s2 stream - corrupt block inside a chunk raises the block's reason", () => {
  const bad = chunk(0x00, [...le32(0), 5, 0x01, 0]); // copy before any output
  rejects(() => readAll(concat([S2_STREAM_IDENTIFIER, bad])), "bad_offset");
});

Deno.test("s2 stream - feed caps its output, feedEach does not", () => {
  // 4 MiB of zeros compresses to a few hundred bytes: a decompression bomb for feed().
  const wire = new S2StreamWriter({ blockSize: 4 << 20 }).write(new Uint8Array(12 << 20));
  assert.ok(wire.length < 2000, `${wire.length}`);
  rejects(() => new S2StreamReader({ maxFeedOutput: 8 << 20 }).feed(wire), "too_large");
  let total = 0;
  new S2StreamReader({ maxFeedOutput: 8 << 20 }).feedEach(wire, (p) => total += p.length);
  assert.equal(total, 12 << 20);
});

Deno.test("s2 stream - a failed reader keeps failing", () => {
  const reader = new S2StreamReader();
  rejects(() => reader.feed(rawChunk(PING)), "missing_identifier");
  rejects(() => reader.feed(S2_STREAM_IDENTIFIER), "missing_identifier");
  rejects(() => reader.end(), "missing_identifier");
});
