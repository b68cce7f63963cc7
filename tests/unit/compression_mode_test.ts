/**
 * Leafnode compression modes (spec 5.1, 5.2): the negotiation table for every local × remote
 * pair, `s2_auto`'s RTT steps, and the level each side ends up writing with.
 */

import assert from "node:assert/strict";
import {
  type CompressionLevel,
  type CompressionMode,
  DEFAULT_RTT_THRESHOLDS_MS,
  encoderLevel,
  levelForRtt,
  resolveLevel,
  selectCompression,
  unsupportedModeText,
  usesS2,
} from "../../protocol/compression_mode.ts";

/** Every mode a side can have, as columns of the table below. */
const LOCALS = [
  "off",
  "not supported",
  "accept",
  "s2_auto",
  "s2_uncompressed",
  "s2_fast",
  "s2_better",
  "s2_best",
] as const satisfies readonly CompressionMode[];

type Outcome = CompressionMode | { error: string };

const NS = "not supported";

/** An error outcome for a remote mode that means nothing. */
function err(mode: string): Outcome {
  return { error: `unsupported route compression mode "${mode}"` };
}

/**
 * Spec 5.2, one row per advertised remote mode, one column per local mode in `LOCALS` order.
 * An `off` / `not supported` local never looks at the remote's value beyond "was anything
 * advertised" (nats-server records `off` then, or `not supported` for an older peer).
 */
const TABLE: readonly (readonly [string | undefined, readonly Outcome[]])[] = [
  // Older server (2.9.10): nothing advertised.
  [undefined, [NS, NS, NS, NS, NS, NS, NS, NS]],
  ["", [NS, NS, NS, NS, NS, NS, NS, NS]],
  ["not supported", ["off", NS, NS, NS, NS, NS, NS, NS]],
  ["off", ["off", NS, "off", "off", "off", "off", "off", "off"]],
  // Accept on both sides means nobody starts: no compression.
  ["accept", [
    "off",
    NS,
    "off",
    "s2_auto",
    "s2_uncompressed",
    "s2_fast",
    "s2_better",
    "s2_best",
  ]],
  // An accepting side takes the peer's level, except that auto becomes fast.
  ["s2_auto", [
    "off",
    NS,
    "s2_fast",
    "s2_auto",
    "s2_uncompressed",
    "s2_fast",
    "s2_better",
    "s2_best",
  ]],
  ["s2_uncompressed", [
    "off",
    NS,
    "s2_uncompressed",
    "s2_auto",
    "s2_uncompressed",
    "s2_fast",
    "s2_better",
    "s2_best",
  ]],
  ["s2_fast", [
    "off",
    NS,
    "s2_fast",
    "s2_auto",
    "s2_uncompressed",
    "s2_fast",
    "s2_better",
    "s2_best",
  ]],
  ["s2_better", [
    "off",
    NS,
    "s2_better",
    "s2_auto",
    "s2_uncompressed",
    "s2_fast",
    "s2_better",
    "s2_best",
  ]],
  ["s2_best", [
    "off",
    NS,
    "s2_best",
    "s2_auto",
    "s2_uncompressed",
    "s2_fast",
    "s2_better",
    "s2_best",
  ]],
  // Unknown on the wire: config aliases and other spellings are not wire values.
  ["zstd", [
    "off",
    NS,
    err("zstd"),
    err("zstd"),
    err("zstd"),
    err("zstd"),
    err("zstd"),
    err("zstd"),
  ]],
  ["fast", [
    "off",
    NS,
    err("fast"),
    err("fast"),
    err("fast"),
    err("fast"),
    err("fast"),
    err("fast"),
  ]],
  ["S2_FAST", [
    "off",
    NS,
    err("S2_FAST"),
    err("S2_FAST"),
    err("S2_FAST"),
    err("S2_FAST"),
    err("S2_FAST"),
    err("S2_FAST"),
  ]],
  ["true", [
    "off",
    NS,
    err("true"),
    err("true"),
    err("true"),
    err("true"),
    err("true"),
    err("true"),
  ]],
];

Deno.test("compression mode - selectCompression follows spec 5.2 for every local x remote pair", () => {
  let checked = 0;
  for (const [remote, row] of TABLE) {
    assert.equal(row.length, LOCALS.length, `row for ${JSON.stringify(remote)}`);
    LOCALS.forEach((local, column) => {
      assert.deepEqual(
        selectCompression(local, remote),
        row[column],
        `select(local ${JSON.stringify(local)}, remote ${JSON.stringify(remote)})`,
      );
      checked++;
    });
  }
  assert.equal(checked, TABLE.length * LOCALS.length);
});

Deno.test("compression mode - unknown remote mode error text names the mode (sic: route)", () => {
  assert.equal(unsupportedModeText("lz4"), 'unsupported route compression mode "lz4"');
  assert.deepEqual(selectCompression("s2_fast", "lz4"), {
    error: 'unsupported route compression mode "lz4"',
  });
});

Deno.test("compression mode - usesS2 is true for every level, s2_auto and s2_uncompressed only", () => {
  const expected: Record<CompressionMode, boolean> = {
    off: false,
    "not supported": false,
    accept: false,
    s2_auto: true,
    s2_uncompressed: true,
    s2_fast: true,
    s2_better: true,
    s2_best: true,
  };
  for (const [mode, framed] of Object.entries(expected)) {
    assert.equal(usesS2(mode as CompressionMode), framed, mode);
  }
});

Deno.test("compression mode - default RTT thresholds are 10, 50 and 100 ms", () => {
  assert.deepEqual([...DEFAULT_RTT_THRESHOLDS_MS], [10, 50, 100]);
});

/** `[rttMs, level]` pairs checked against one threshold list. */
function assertSteps(
  thresholds: readonly number[] | undefined,
  steps: readonly (readonly [number, CompressionLevel])[],
): void {
  for (const [rtt, level] of steps) {
    assert.equal(
      levelForRtt(rtt, thresholds),
      level,
      `levelForRtt(${rtt}, ${JSON.stringify(thresholds)})`,
    );
  }
}

Deno.test("compression mode - levelForRtt with the default thresholds (bounds inclusive)", () => {
  assertSteps(undefined, [
    [0, "s2_uncompressed"],
    [10, "s2_uncompressed"],
    [11, "s2_fast"],
    [50, "s2_fast"],
    [51, "s2_better"],
    [100, "s2_better"],
    [101, "s2_best"],
    [60_000, "s2_best"],
  ]);
  // Passing the defaults explicitly changes nothing.
  assertSteps(DEFAULT_RTT_THRESHOLDS_MS, [[10, "s2_uncompressed"], [11, "s2_fast"]]);
});

Deno.test("compression mode - levelForRtt with four custom thresholds", () => {
  assertSteps([5, 20, 40, 80], [
    [5, "s2_uncompressed"],
    [6, "s2_fast"],
    [20, "s2_fast"],
    [21, "s2_better"],
    [40, "s2_better"],
    [41, "s2_best"],
    [80, "s2_best"],
    [81, "s2_best"],
  ]);
});

Deno.test("compression mode - levelForRtt: a zero threshold disables its level", () => {
  // [0, 0, 20]: never uncompressed or fast; better up to 20 ms, best above.
  assertSteps([0, 0, 20], [[1, "s2_better"], [20, "s2_better"], [21, "s2_best"]]);
  // A gap in the middle: [10, 0, 100] skips fast.
  assertSteps([10, 0, 100], [[10, "s2_uncompressed"], [11, "s2_better"], [101, "s2_best"]]);
  // [0, 30]: fast up to 30 ms, and fast above too (fewer than three thresholds).
  assertSteps([0, 30], [[1, "s2_fast"], [31, "s2_fast"]]);
  // Canopy measures whole milliseconds, so 0 ms means "under 1 ms": a disabled level stays
  // disabled. (nats-server measures nanoseconds; an RTT of exactly 0 never happens there.)
  assertSteps([0, 30], [[0, "s2_fast"]]);
  assertSteps([0, 0, 20], [[0, "s2_better"]]);
});

Deno.test("compression mode - levelForRtt with fewer than three thresholds keeps the last level", () => {
  assertSteps([10], [[10, "s2_uncompressed"], [11, "s2_uncompressed"], [5_000, "s2_uncompressed"]]);
  assertSteps([10, 50], [[10, "s2_uncompressed"], [11, "s2_fast"], [51, "s2_fast"]]);
  // Three or more: above the last one is best, whatever the last one was.
  assertSteps([10, 50, 100], [[101, "s2_best"]]);
});

Deno.test("compression mode - resolveLevel resolves s2_auto from the RTT and keeps fixed levels", () => {
  assert.equal(resolveLevel("s2_auto", 3), "s2_uncompressed");
  assert.equal(resolveLevel("s2_auto", 30), "s2_fast");
  assert.equal(resolveLevel("s2_auto", 70), "s2_better");
  assert.equal(resolveLevel("s2_auto", 700), "s2_best");
  assert.equal(resolveLevel("s2_auto", 3, [0, 0, 20]), "s2_better");
  assert.equal(resolveLevel("s2_auto", 30, [5]), "s2_uncompressed");
  const fixed = ["s2_uncompressed", "s2_fast", "s2_better", "s2_best"] as const;
  for (const level of fixed) {
    for (const rtt of [0, 30, 700]) {
      assert.equal(resolveLevel(level, rtt), level, `${level} at ${rtt} ms`);
      assert.equal(resolveLevel(level, rtt, [0, 0, 1]), level, `${level} with thresholds`);
    }
  }
});

Deno.test("compression mode - encoderLevel maps each level to the S2 writer's level", () => {
  assert.equal(encoderLevel("s2_uncompressed"), "uncompressed");
  assert.equal(encoderLevel("s2_fast"), "fast");
  assert.equal(encoderLevel("s2_better"), "better");
  assert.equal(encoderLevel("s2_best"), "best");
});
