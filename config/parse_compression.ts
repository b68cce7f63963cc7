/**
 * Leafnode `compression`: a mode string, a boolean, or
 * `{ mode = "s2_auto", rtt_thresholds = ["10ms", "50ms", "100ms"] }`, normalized
 * to nats-server's mode names (2.10+ semantics; 2.9.10 has no compression).
 *
 * @module
 */

import { DEFAULT_COMPRESSION_RTT_THRESHOLDS_MS } from "./defaults.ts";
import type { CompressionOptions } from "./options.ts";
import { COMPRESSION_KEYS } from "./schema.ts";
import type { TableReader } from "./table_reader.ts";
import { describeType, durationReader, isTable, readString } from "./value_readers.ts";

/** Config spellings → nats-server's normalized mode names. */
const MODE_NAMES: Readonly<Record<string, string>> = {
  "not supported": "not supported",
  not_supported: "not supported",
  off: "off",
  disabled: "off",
  false: "off",
  accept: "accept",
  on: "s2_auto",
  enabled: "s2_auto",
  true: "s2_auto",
  auto: "s2_auto",
  s2_auto: "s2_auto",
  fast: "s2_fast",
  s2_fast: "s2_fast",
  better: "s2_better",
  s2_better: "s2_better",
  best: "s2_best",
  s2_best: "s2_best",
};

/** "on" means `s2_auto` for leafnodes, as in nats-server. */
const MODE_FOR_ON = "s2_auto";

/** At most one threshold per level: uncompressed, fast, better, best. */
const MAX_RTT_THRESHOLDS = 4;

const readThreshold = durationReader({ allowNegative: true });

/** Reads `compression` from `parent`; `undefined` when absent or broken. */
export function readCompression(parent: TableReader, name: string): CompressionOptions | undefined {
  if (!parent.has(name)) return undefined;
  const raw = parent.raw(name);
  if (typeof raw === "boolean") {
    return normalize(parent, name, raw ? MODE_FOR_ON : "off", undefined);
  }
  if (typeof raw === "string") return normalize(parent, name, raw, undefined);
  if (!isTable(raw)) {
    parent.fail(
      name,
      `field "${name}" should be a boolean, a string or a structure, got ${describeType(raw)}`,
    );
    return undefined;
  }
  const table = parent.table(name, COMPRESSION_KEYS);
  if (table === undefined) return undefined;
  // A table that only lists thresholds is asking for s2_auto.
  const mode = table.read("mode", readString) ?? MODE_FOR_ON;
  return normalize(table, "mode", mode, table.has("rtt_thresholds") ? table : undefined);
}

function normalize(
  owner: TableReader,
  modeKey: string,
  written: string,
  thresholdsTable: TableReader | undefined,
): CompressionOptions | undefined {
  const mode = MODE_NAMES[written.toLowerCase()];
  if (mode === undefined) {
    owner.fail(modeKey, `unsupported compression mode ${JSON.stringify(written)}`);
    return undefined;
  }
  if (thresholdsTable === undefined) {
    return mode === "s2_auto"
      ? { mode, rttThresholdsMs: [...DEFAULT_COMPRESSION_RTT_THRESHOLDS_MS] }
      : { mode };
  }
  if (mode !== "s2_auto") {
    thresholdsTable.fail(
      "rtt_thresholds",
      `RTT thresholds only apply to mode "s2_auto", not ${JSON.stringify(written)}`,
    );
    return undefined;
  }
  const thresholds = readThresholds(thresholdsTable, written);
  return thresholds === undefined ? undefined : { mode, rttThresholdsMs: thresholds };
}

/**
 * nats-server's rules: negatives count as 0, a 0 switches that level off, the
 * non-zero values must ascend, trailing zeros are dropped, and 1 to 4 remain.
 */
function readThresholds(table: TableReader, written: string): number[] | undefined {
  const raw = table.raw("rtt_thresholds");
  const path = table.pathOf("rtt_thresholds");
  if (!Array.isArray(raw)) {
    table.fail("rtt_thresholds", `expected a list of durations, got ${describeType(raw)}`);
    return undefined;
  }
  const values: number[] = [];
  for (let index = 0; index < raw.length; index++) {
    const ms = readThreshold(table.issues, [...path, index], raw[index]);
    if (ms === undefined) return undefined;
    values.push(Math.max(0, ms));
  }
  const shown = `[${raw.map((v) => typeof v === "number" ? `${v}s` : String(v)).join(" ")}]`;
  const kept: number[] = [];
  for (const value of values) {
    if (value !== 0 && kept.some((earlier) => value < earlier)) {
      table.fail("rtt_thresholds", `RTT threshold values ${shown} should be in ascending order`);
      return undefined;
    }
    kept.push(value);
  }
  while (kept.length > 0 && kept[kept.length - 1] === 0) kept.pop();
  if (kept.length > MAX_RTT_THRESHOLDS) {
    table.fail(
      "rtt_thresholds",
      `compression mode ${
        JSON.stringify(written)
      } should have no more than ${MAX_RTT_THRESHOLDS} RTT thresholds: ${shown}`,
    );
    return undefined;
  }
  if (kept.length === 0) {
    table.fail(
      "rtt_thresholds",
      `compression mode ${JSON.stringify(written)} requires at least one RTT threshold`,
    );
    return undefined;
  }
  return kept;
}
