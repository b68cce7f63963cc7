import assert from "node:assert/strict";
import {
  decodeBlock,
  decodeBlockInto,
  decodedBlockLength,
  encodeBlock,
  maxEncodedLength,
  S2_MAX_BLOCK_SIZE,
  S2BlockEncoder,
} from "../../protocol/s2_block.ts";
import type { S2Level } from "../../protocol/s2_block.ts";
import { S2Error } from "../../protocol/s2_error.ts";
import type { S2ErrorReason } from "../../protocol/s2_error.ts";
import { buildBlock, expand, scanKinds } from "../fixtures/s2/block_builder.ts";
import type { Element } from "../fixtures/s2/block_builder.ts";
import { jsonText, natsText, randomBytes } from "../fixtures/s2/sample_data.ts";

const LEVELS: readonly S2Level[] = ["uncompressed", "fast", "better", "best"];
const te = new TextEncoder();

function bytes(text: string): Uint8Array {
  return te.encode(text);
}

function rejects(fn: () => unknown, reason: S2ErrorReason): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof S2Error, `expected S2Error, got ${err}`);
    assert.equal(err.reason, reason, err.message);
    assert.equal(err.name, "S2Error");
    return true;
  });
}

function samples(): Record<string, Uint8Array> {
  const far = new Uint8Array(150_000);
  far.set(randomBytes(20_000, 5), 0);
  far.set(randomBytes(20_000, 5), 100_000); // same bytes 100000 later: needs 4-byte offsets
  const mixed = new Uint8Array(200_000);
  mixed.set(natsText(50_000), 0);
  mixed.set(randomBytes(50_000, 8), 50_000);
  mixed.set(jsonText(50_000), 100_000);
  return {
    empty: new Uint8Array(0),
    one: bytes("x"),
    ping: bytes("PING\r\n"),
    fifteen: bytes("abcabcabcabcabc"),
    sixteen: bytes("abcabcabcabcabca"),
    seventeen: bytes("PUB a 5\r\nhello\r\n\n"),
    nats: natsText(300_000),
    json: jsonText(100_000),
    random: randomBytes(70_000, 2),
    zeros: new Uint8Array(1 << 20),
    ones: new Uint8Array(70_000).fill(1),
    pattern: bytes("abcdefg".repeat(20_000)),
    far,
    mixed,
  };
}

Deno.test("s2 block - round trips every sample at every level", () => {
  for (const [name, data] of Object.entries(samples())) {
    for (const level of LEVELS) {
      const block = encodeBlock(data, { level });
      assert.ok(block.length <= maxEncodedLength(data.length), `${name}/${level} bound`);
      assert.equal(decodedBlockLength(block), data.length);
      assert.deepEqual(decodeBlock(block, { maxLength: data.length }), data, `${name}/${level}`);
    }
  }
});

Deno.test("s2 block - round trips every length from 0 to 300 and around 64 KiB", () => {
  const text = natsText(70_000);
  const lengths = [...Array(301).keys(), 65535, 65536, 65537, 65600];
  for (const level of LEVELS) {
    for (const n of lengths) {
      const data = text.subarray(0, n);
      assert.deepEqual(decodeBlock(encodeBlock(data, { level })), data, `${level}/${n}`);
    }
  }
});

Deno.test("s2 block - compressing levels shrink text, better and best at least as well as fast", () => {
  const data = natsText(200_000);
  const size = (level: S2Level) => encodeBlock(data, { level }).length;
  assert.ok(size("uncompressed") > data.length);
  assert.ok(size("fast") < data.length * 0.4, `fast ${size("fast")}`);
  assert.ok(size("better") <= size("fast"));
  assert.ok(size("best") <= size("better"));
});

Deno.test("s2 block - incompressible input grows by a few bytes only", () => {
  const data = randomBytes(100_000, 77);
  for (const level of LEVELS) {
    const block = encodeBlock(data, { level });
    assert.ok(block.length <= data.length + 8, `${level}: ${block.length}`);
  }
});

Deno.test("s2 block - encoder uses repeats and 4-byte offsets where they pay", () => {
  const far = new Uint8Array(150_000);
  far.set(randomBytes(20_000, 5), 0);
  far.set(randomBytes(20_000, 5), 100_000);
  for (const level of ["fast", "better", "best"] as const) {
    const kinds = scanKinds(encodeBlock(far, { level }));
    assert.ok(kinds.copy4 >= 1, `${level} copy4 ${JSON.stringify(kinds)}`);
    assert.ok(kinds.repeat >= 1, `${level} repeat ${JSON.stringify(kinds)}`);
  }
});

Deno.test("s2 block - a reused encoder gives the same bytes as a fresh one", () => {
  for (const level of LEVELS) {
    const reused = new S2BlockEncoder(level);
    const big = natsText(100_000);
    const small = jsonText(3_000);
    const out = new Uint8Array(maxEncodedLength(big.length));
    reused.encodeInto(big, out);
    const n = reused.encodeInto(small, out);
    assert.deepEqual(out.subarray(0, n), encodeBlock(small, { level }), level);
    assert.equal(reused.level, level);
  }
});

Deno.test("s2 block - decodes every element form, including S2 repeats", () => {
  const abc = bytes("abcdefghijklmnopqrstuvwxyz0123456789");
  const elements: Element[] = [
    { kind: "literal", data: abc },
    { kind: "copy1", offset: 36, length: 11 },
    { kind: "repeat", length: 4 },
    { kind: "repeat", length: 8 },
    { kind: "copy2", offset: 30, length: 64 },
    { kind: "repeat", length: 9 },
    { kind: "repeat", length: 263 },
    { kind: "copy4", offset: 100, length: 1 },
    { kind: "repeat", length: 264 },
    { kind: "repeat", length: 65795 },
    { kind: "repeat", length: 65796 },
    { kind: "repeat", length: 70_000 },
    { kind: "copy1", offset: 2047, length: 4 },
    { kind: "copy2", offset: 65535, length: 1 },
    { kind: "copy4", offset: 200_000, length: 64 },
  ];
  const expected = expand(elements);
  const block = buildBlock(elements);
  assert.deepEqual(decodeBlock(block), expected);
  assert.deepEqual(
    scanKinds(block),
    { literal: 1, copy1: 2, copy2: 2, copy4: 2, repeat: 8 },
  );
});

Deno.test("s2 block - decodes non-minimal literal length forms 60 to 63", () => {
  const data = bytes("hello");
  for (const form of [60, 61, 62, 63] as const) {
    const block = buildBlock([{ kind: "literal", data, form }]);
    assert.deepEqual(decodeBlock(block), data, `form ${form}`);
  }
  const long = randomBytes(70_000, 4);
  assert.deepEqual(decodeBlock(buildBlock([{ kind: "literal", data: long, form: 62 }])), long);
});

Deno.test("s2 block - overlapping copies repeat their pattern", () => {
  for (const offset of [1, 2, 3, 4, 5, 7, 8, 9, 31]) {
    for (const length of [4, 11, 33, 64, 65, 300, 5000]) {
      const elements: Element[] = [
        { kind: "literal", data: randomBytes(offset, offset) },
        { kind: "copy2", offset, length: Math.min(length, 64) },
      ];
      if (length > 64) elements.push({ kind: "repeat", length: Math.max(4, length - 64) });
      const expected = expand(elements);
      assert.deepEqual(decodeBlock(buildBlock(elements)), expected, `${offset}/${length}`);
    }
  }
});

Deno.test("s2 block - decodeBlockInto fills a caller buffer and rejects a small one", () => {
  const data = natsText(5000);
  const block = encodeBlock(data);
  const out = new Uint8Array(6000).fill(0xee);
  assert.equal(decodeBlockInto(block, out), 5000);
  assert.deepEqual(out.subarray(0, 5000), data);
  assert.ok(out.subarray(5000).every((b) => b === 0xee), "bytes past the block untouched");
  rejects(() => decodeBlockInto(block, new Uint8Array(4999)), "too_large");
});

Deno.test("s2 block - rejects a truncated header or element", () => {
  const lit = buildBlock([{ kind: "literal", data: bytes("abcdefgh") }]);
  rejects(() => decodeBlock(new Uint8Array(0)), "truncated");
  rejects(() => decodeBlock(Uint8Array.of(0x80)), "truncated");
  rejects(() => decodeBlock(lit.subarray(0, lit.length - 1)), "truncated");
  rejects(() => decodeBlock(Uint8Array.of(100, 61 << 2, 5)), "truncated"); // length bytes cut
  rejects(() => decodeBlock(Uint8Array.of(100, 63 << 2, 1, 2, 3)), "truncated");
  const head = [12, 8, 0x61, 0x62, 0x63];
  rejects(() => decodeBlock(Uint8Array.from([...head, 0x01])), "truncated"); // copy1
  rejects(() => decodeBlock(Uint8Array.from([...head, 0x02, 3])), "truncated"); // copy2
  rejects(() => decodeBlock(Uint8Array.from([...head, 0x03, 3, 0, 0])), "truncated"); // copy4
  const copied = [...head, 0x02 | (3 << 2), 3, 0]; // copy2 offset 3 length 4, sets the offset
  rejects(() => decodeBlock(Uint8Array.from([...copied, 1 | (5 << 2), 0])), "truncated");
  rejects(() => decodeBlock(Uint8Array.from([...copied, 1 | (6 << 2), 0, 1])), "truncated");
  rejects(() => decodeBlock(Uint8Array.from([...copied, 1 | (7 << 2), 0, 1, 2])), "truncated");
});

Deno.test("s2 block - rejects a length header over 32 bits", () => {
  rejects(() => decodeBlock(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x1f)), "bad_varint");
  rejects(() => decodeBlock(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x01)), "bad_varint");
});

Deno.test("s2 block - rejects a declared length over the limit before allocating", () => {
  const huge = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f, 0); // 4 GiB - 1
  rejects(() => decodeBlock(huge), "too_large");
  const fiveMiB = buildBlock([{ kind: "literal", data: bytes("a") }], 5 << 20);
  rejects(() => decodeBlock(fiveMiB), "too_large");
  const small = encodeBlock(new Uint8Array(1000));
  rejects(() => decodeBlock(small, { maxLength: 999 }), "too_large");
  assert.equal(decodeBlock(small, { maxLength: 1000 }).length, 1000);
  assert.equal(S2_MAX_BLOCK_SIZE, 4 << 20);
});

Deno.test("s2 block - rejects offsets out of range", () => {
  const a = { kind: "literal", data: bytes("abcd") } as const;
  rejects(
    () => decodeBlock(buildBlock([a, { kind: "copy2", offset: 0, length: 4 }], 8)),
    "bad_offset",
  );
  rejects(
    () => decodeBlock(buildBlock([a, { kind: "copy4", offset: 0, length: 4 }], 8)),
    "bad_offset",
  );
  rejects(
    () => decodeBlock(buildBlock([a, { kind: "copy1", offset: 5, length: 4 }], 8)),
    "bad_offset",
  );
  rejects(
    () => decodeBlock(buildBlock([a, { kind: "copy2", offset: 5, length: 4 }], 8)),
    "bad_offset",
  );
  rejects(
    () => decodeBlock(buildBlock([a, { kind: "copy4", offset: 2 ** 32 - 1, length: 4 }], 8)),
    "bad_offset",
  );
  // A repeat needs an earlier copy in the same block.
  rejects(() => decodeBlock(buildBlock([a, { kind: "repeat", length: 4 }], 8)), "bad_offset");
  rejects(() => decodeBlock(buildBlock([{ kind: "repeat", length: 4 }], 4)), "bad_offset");
});

Deno.test("s2 block - rejects elements that produce more or fewer bytes than declared", () => {
  const a = { kind: "literal", data: bytes("abcd") } as const;
  rejects(() => decodeBlock(buildBlock([a], 3)), "length_mismatch");
  rejects(() => decodeBlock(buildBlock([a], 5)), "length_mismatch");
  rejects(
    () => decodeBlock(buildBlock([a, { kind: "copy1", offset: 4, length: 8 }], 10)),
    "length_mismatch",
  );
  const rep = [a, { kind: "copy1", offset: 4, length: 4 }, {
    kind: "repeat",
    length: 300,
  }] as const;
  rejects(() => decodeBlock(buildBlock([...rep], 100)), "length_mismatch");
  rejects(() => decodeBlock(Uint8Array.of(1)), "length_mismatch"); // declares 1, no elements
  assert.deepEqual(decodeBlock(Uint8Array.of(0)), new Uint8Array(0));
});

Deno.test("s2 block - encoder rejects a bad level and a small output buffer", () => {
  assert.throws(() => new S2BlockEncoder("fastest" as S2Level), RangeError);
  const encoder = new S2BlockEncoder("fast");
  assert.throws(() => encoder.encodeInto(new Uint8Array(100), new Uint8Array(100)), RangeError);
  // 100 zeros: header 1 + literal "\0" 2 + copy1(offset 1, 11) 2 + repeat(88) 3.
  const out = new Uint8Array(maxEncodedLength(100));
  assert.equal(encoder.encodeInto(new Uint8Array(100), out), 8);
  assert.deepEqual([...out.subarray(0, 8)], [100, 0, 0, 1 | (7 << 2), 1, 1 | (5 << 2), 0, 80]);
});
