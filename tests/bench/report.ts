/**
 * Turns measurements into the benchmark's printed table, ratio lines and JSON summary.
 *
 * @module
 */

import type { GeneratorCeiling } from "./generator_ceiling.ts";
import {
  formatLeafReport,
  leafHasFailures,
  leafToJson,
  type LeafWorkloadSummary,
} from "./leaf_report.ts";
import type { TargetMeasurement } from "./measure_target.ts";
import { formatTable } from "./text_table.ts";

/** All rounds of one target at one payload size. */
export interface TargetSummary {
  readonly target: string;
  /** The round with the highest msgs/s; undefined when every round failed. */
  readonly best: TargetMeasurement | undefined;
  readonly rounds: readonly TargetMeasurement[];
  /** The largest loss of any round, so a loss is never hidden by a better round. */
  readonly lost: number;
  readonly errors: readonly string[];
}

/** Everything measured at one payload size. */
export interface SizeSummary {
  readonly payloadBytes: number;
  readonly messages: number;
  readonly ceiling: GeneratorCeiling | undefined;
  readonly targets: readonly TargetSummary[];
}

/** A whole benchmark run. */
export interface BenchSummary {
  /** What the single-server pub/sub workload (`sizes`) is. */
  readonly workload: string;
  readonly startedAt: string;
  readonly environment: Readonly<Record<string, string | number>>;
  readonly rounds: number;
  /** The workloads that were selected, e.g. `pubsub`, `leaf-to-hub`. */
  readonly workloads?: readonly string[];
  /** Single-server pub/sub, per payload size; empty when that workload was not selected. */
  readonly sizes: readonly SizeSummary[];
  /** The leaf workloads that were selected, in the order they ran. */
  readonly leafWorkloads?: readonly LeafWorkloadSummary[];
  /** Targets that could not start at all, with the reason (and the server's last output). */
  readonly failedTargets: Readonly<Record<string, string>>;
}

/** The target every ratio is relative to. */
export const BASELINE_TARGET = "nats-server";

/** A generator this busy (CPU seconds per wall second) may have held the result back. */
const BUSY_WARNING = 0.8;

/** A result this close to the generator's ceiling may be the generator's limit, not the server's. */
const CEILING_WARNING = 0.7;

/**
 * Summarises the rounds of one target: the best round by msgs/s among those that lost nothing
 * (a round cut short by a closed connection is not a fair figure), else among all; the worst
 * loss; all errors.
 */
export function summariseTarget(
  target: string,
  rounds: readonly TargetMeasurement[],
  errors: readonly string[],
): TargetSummary {
  const complete = rounds.filter((round) => round.lost === 0);
  let best: TargetMeasurement | undefined;
  for (const round of complete.length > 0 ? complete : rounds) {
    if (best === undefined || round.msgsPerSecond > best.msgsPerSecond) best = round;
  }
  const lost = rounds.reduce((worst, round) => Math.max(worst, round.lost), 0);
  return { target, best, rounds, lost, errors };
}

/** `target`'s best msgs/s divided by the baseline's, or undefined when either has no result. */
export function ratioToBaseline(size: SizeSummary, target: string): number | undefined {
  const numerator = size.targets.find((entry) => entry.target === target)?.best;
  const denominator = size.targets.find((entry) => entry.target === BASELINE_TARGET)?.best;
  if (numerator === undefined || denominator === undefined || denominator.msgsPerSecond === 0) {
    return undefined;
  }
  return numerator.msgsPerSecond / denominator.msgsPerSecond;
}

/** `16 B`, `1 KiB`, `16 KiB`. */
export function formatSize(bytes: number): string {
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

function fixed(value: number, digits: number): string {
  return value.toFixed(digits);
}

function millions(value: number): string {
  return `${(value / 1e6).toFixed(2)}M`;
}

const COLUMNS = ["size", "target", "msgs/s", "MB/s", "CPU s", "peak RSS MB", "lost"] as const;

function rowCells(size: SizeSummary, entry: TargetSummary): string[] {
  const best = entry.best;
  if (best === undefined) {
    const what = entry.errors.length === 0 ? "not run" : "failed";
    return [formatSize(size.payloadBytes), entry.target, what, "-", "-", "-", "-"];
  }
  return [
    formatSize(size.payloadBytes),
    entry.target,
    integer.format(best.msgsPerSecond),
    fixed(best.payloadMBPerSecond, 1),
    fixed(best.serverCpuSeconds, 2),
    fixed(best.serverPeakRssBytes / 1e6, 1),
    String(entry.lost),
  ];
}

/** Lines under the table for one size: ratios, generator ceiling, warnings, errors. */
function notesFor(size: SizeSummary): string[] {
  const label = formatSize(size.payloadBytes).padEnd(6);
  const notes: string[] = [];
  for (const entry of size.targets) {
    if (entry.target === BASELINE_TARGET) continue;
    const ratio = ratioToBaseline(size, entry.target);
    notes.push(
      `${label} ${entry.target}/${BASELINE_TARGET} msgs/s = ${
        ratio === undefined ? "n/a" : ratio.toFixed(2)
      }`,
    );
  }
  const ceiling = size.ceiling;
  if (ceiling !== undefined) {
    notes.push(
      `${label} generator ceiling ${millions(ceiling.msgsPerSecond)} msgs/s ` +
        `(publisher ${millions(ceiling.publishMsgsPerSecond)}, ` +
        `subscriber ${millions(ceiling.subscribeMsgsPerSecond)})`,
    );
  }
  for (const entry of size.targets) {
    const best = entry.best;
    if (best !== undefined) {
      const busiest = Math.max(best.publisher.busy, best.subscriber.busy);
      if (busiest >= BUSY_WARNING) {
        notes.push(
          `${label} WARNING ${entry.target}: a generator process was ${
            Math.round(busiest * 100)
          }% busy; it may be the limit`,
        );
      }
      if (ceiling !== undefined && best.msgsPerSecond >= CEILING_WARNING * ceiling.msgsPerSecond) {
        notes.push(
          `${label} WARNING ${entry.target}: result is within ${
            Math.round((1 - CEILING_WARNING) * 100)
          }% of the generator ceiling; it may be the limit`,
        );
      }
    }
    for (const measurement of entry.rounds) {
      if (measurement.lost === 0) continue;
      const why = measurement.subscriberError === undefined
        ? measurement.outcome
        : `${measurement.outcome}: ${measurement.subscriberError}`;
      notes.push(
        `${label} ERROR ${entry.target}: ${measurement.lost} of ${measurement.sent} messages lost (subscriber ${why})`,
      );
    }
    for (const error of entry.errors) {
      notes.push(`${label} ERROR ${entry.target}: ${error.split("\n")[0]}`);
    }
  }
  return notes;
}

/**
 * The human-readable report: the single-server table of best rounds and its per-size notes,
 * then the leaf workloads' tables and notes, then targets that never started.
 */
export function formatReport(summary: BenchSummary): string {
  const lines: string[] = [];
  if (summary.sizes.length > 0) {
    const rows = summary.sizes.flatMap((size) =>
      size.targets.map((entry) => rowCells(size, entry))
    );
    lines.push(
      `Canopy benchmark: ${summary.workload}, best of ${summary.rounds} round(s) per size and target`,
      `MB = 10^6 bytes; MB/s counts payload only; CPU s and peak RSS are the server process's`,
      "",
      ...formatTable(COLUMNS, rows, { leftColumns: 2 }),
      "",
      ...summary.sizes.flatMap(notesFor),
    );
  }
  const leaf = formatLeafReport(summary.leafWorkloads ?? [], summary.rounds);
  if (leaf !== "") lines.push(...(lines.length > 0 ? [""] : []), leaf);
  lines.push(
    ...Object.entries(summary.failedTargets).map(([target, reason]) =>
      `\nFAILED TARGET ${target}: ${reason}`
    ),
  );
  return lines.join("\n");
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function targetJson(entry: TargetSummary): Record<string, unknown> {
  const best = entry.best;
  if (best === undefined) return { msgsPerSecond: null, lost: entry.lost, errors: entry.errors };
  return {
    msgsPerSecond: Math.round(best.msgsPerSecond),
    payloadMBPerSecond: round(best.payloadMBPerSecond, 1),
    serverCpuSeconds: round(best.serverCpuSeconds, 2),
    serverPeakRssMB: round(best.serverPeakRssBytes / 1e6, 1),
    lost: entry.lost,
    elapsedMs: Math.round(best.elapsedMs),
    roundsMsgsPerSecond: entry.rounds.map((measurement) => Math.round(measurement.msgsPerSecond)),
    generatorBusy: {
      publisher: round(best.publisher.busy, 2),
      subscriber: round(best.subscriber.busy, 2),
    },
    errors: entry.errors,
  };
}

/**
 * The JSON summary: per size, each target's best round (figures rounded as in the table, plus
 * every round's msgs/s), the generator ceiling and the ratios to the baseline; then the same
 * per leaf workload under `leafWorkloads` (see `leafToJson()`).
 */
export function toJson(summary: BenchSummary): unknown {
  return {
    workload: summary.workload,
    workloads: summary.workloads ?? ["pubsub"],
    startedAt: summary.startedAt,
    environment: summary.environment,
    rounds: summary.rounds,
    sizes: summary.sizes.map((size) => ({
      payloadBytes: size.payloadBytes,
      messages: size.messages,
      generatorCeilingMsgsPerSecond: size.ceiling === undefined
        ? null
        : Math.round(size.ceiling.msgsPerSecond),
      ratios: Object.fromEntries(
        size.targets
          .filter((entry) => entry.target !== BASELINE_TARGET)
          .map((entry) => {
            const ratio = ratioToBaseline(size, entry.target);
            return [
              `${entry.target}/${BASELINE_TARGET}`,
              ratio === undefined ? null : round(ratio, 3),
            ];
          }),
      ),
      targets: Object.fromEntries(size.targets.map((entry) => [entry.target, targetJson(entry)])),
    })),
    leafWorkloads: leafToJson(summary.leafWorkloads ?? []),
    failedTargets: summary.failedTargets,
  };
}

/** True when any target failed or lost a message: the run should exit non-zero. */
export function hasFailures(summary: BenchSummary): boolean {
  return Object.keys(summary.failedTargets).length > 0 ||
    summary.sizes.some((size) =>
      size.targets.some((entry) => entry.lost > 0 || entry.errors.length > 0)
    ) ||
    leafHasFailures(summary.leafWorkloads ?? []);
}
