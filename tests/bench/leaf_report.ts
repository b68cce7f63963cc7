/**
 * Summaries, printed tables, ratio lines and JSON for the leaf workloads (leaf→hub, hub→leaf
 * throughput and request/reply latency across a link). `report.ts` puts them after the
 * single-server pub/sub report.
 *
 * @example
 * ```ts
 * import { formatLeafReport, summariseRounds } from "./leaf_report.ts";
 * import type { LeafWorkloadSummary } from "./leaf_report.ts";
 * const workloads: LeafWorkloadSummary[] = [{
 *   kind: "pubsub",
 *   workload: "leaf-to-hub",
 *   sizes: [{
 *     payloadBytes: 16,
 *     count: 1000,
 *     targets: [summariseRounds("canopy", [], ["Cannot start canopy"], () => 0)],
 *   }],
 * }];
 * console.log(formatLeafReport(workloads, 2));
 * ```
 *
 * @module
 */

import type {
  LeafPubSubMeasurement,
  LeafPubSubWorkload,
  RequestReplyMeasurement,
  ServerUsage,
} from "./leaf_workloads.ts";
import { formatTable } from "./text_table.ts";

/** Every leaf workload, in the order `run.ts` runs them. */
export const LEAF_WORKLOAD_NAMES = [
  "leaf-to-hub",
  "hub-to-leaf",
  "leaf-rr",
  "leaf-to-hub-tls",
  "leaf-to-hub-ws",
] as const;

/** One of `LEAF_WORKLOAD_NAMES`. */
export type LeafWorkloadName = typeof LEAF_WORKLOAD_NAMES[number];

/** The target every ratio is relative to. */
const BASELINE_TARGET = "nats-server";

/** A generator this busy (CPU seconds per wall second) may have held the result back. */
const BUSY_WARNING = 0.8;

/** What each workload measures, for the report's headings and the JSON. */
export const LEAF_WORKLOAD_DESCRIPTIONS: Readonly<Record<LeafWorkloadName, string>> = {
  "leaf-to-hub": "1 publisher on the leaf -> 1 subscriber on the hub",
  "hub-to-leaf": "1 publisher on the hub -> 1 subscriber on the leaf",
  "leaf-rr": "requester on the leaf, responder on the hub, one request in flight",
  "leaf-to-hub-tls": "leaf-to-hub over mutual TLS (the hub verifies the leaf's certificate)",
  "leaf-to-hub-ws": "leaf-to-hub over plain WebSocket (ws://, no TLS, no compression)",
};

/** All rounds of one target for one workload and size. */
export interface RoundsSummary<M> {
  readonly target: string;
  /** The best round (see `summariseRounds()`); undefined when every round failed. */
  readonly best: M | undefined;
  readonly rounds: readonly M[];
  /** The largest loss of any round, so a loss is never hidden by a better round. */
  readonly lost: number;
  readonly errors: readonly string[];
}

/** Everything measured for one workload at one payload size. */
export interface LeafSizeSummary<M> {
  readonly payloadBytes: number;
  /** Messages per run (throughput) or measured requests per run (request/reply). */
  readonly count: number;
  readonly targets: readonly RoundsSummary<M>[];
}

/** One leaf workload over every payload size. */
export type LeafWorkloadSummary =
  | {
    readonly kind: "pubsub";
    readonly workload: LeafPubSubWorkload;
    readonly sizes: readonly LeafSizeSummary<LeafPubSubMeasurement>[];
  }
  | {
    readonly kind: "request-reply";
    readonly workload: "leaf-rr";
    readonly sizes: readonly LeafSizeSummary<RequestReplyMeasurement>[];
  };

/**
 * Summarises the rounds of one target: the best round by `score` (higher is better) among
 * those that lost nothing, else among all; the worst loss; all errors.
 */
export function summariseRounds<M extends { readonly lost: number }>(
  target: string,
  rounds: readonly M[],
  errors: readonly string[],
  score: (round: M) => number,
): RoundsSummary<M> {
  const complete = rounds.filter((round) => round.lost === 0);
  let best: M | undefined;
  for (const round of complete.length > 0 ? complete : rounds) {
    if (best === undefined || score(round) > score(best)) best = round;
  }
  const lost = rounds.reduce((worst, round) => Math.max(worst, round.lost), 0);
  return { target, best, rounds, lost, errors };
}

/** Throughput rounds are ranked by msgs/s. */
export function throughputScore(round: LeafPubSubMeasurement): number {
  return round.msgsPerSecond;
}

/** Request/reply rounds are ranked by median latency, lowest first. */
export function latencyScore(round: RequestReplyMeasurement): number {
  return -round.latency.p50Us;
}

/**
 * `target`'s best figure divided by the baseline's, where `figure` picks the number from a
 * best round; undefined when either has no result or the baseline's figure is 0.
 */
export function ratioOf<M>(
  size: LeafSizeSummary<M>,
  target: string,
  figure: (round: M) => number,
): number | undefined {
  const numerator = size.targets.find((entry) => entry.target === target)?.best;
  const denominator = size.targets.find((entry) => entry.target === BASELINE_TARGET)?.best;
  if (numerator === undefined || denominator === undefined) return undefined;
  const base = figure(denominator);
  return base === 0 ? undefined : figure(numerator) / base;
}

function sizeLabel(bytes: number): string {
  return bytes >= 1024 && bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} B`;
}

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

function serverCells(hub: ServerUsage, leaf: ServerUsage): string[] {
  return [
    hub.cpuSeconds.toFixed(2),
    leaf.cpuSeconds.toFixed(2),
    (hub.peakRssBytes / 1e6).toFixed(1),
    (leaf.peakRssBytes / 1e6).toFixed(1),
  ];
}

const SERVER_COLUMNS = ["hub CPU s", "leaf CPU s", "hub RSS MB", "leaf RSS MB"];
const THROUGHPUT_COLUMNS = [
  "workload",
  "size",
  "target",
  "msgs/s",
  "MB/s",
  ...SERVER_COLUMNS,
  "lost",
];
const LATENCY_COLUMNS = [
  "workload",
  "size",
  "target",
  "p50 µs",
  "p99 µs",
  "req/s",
  ...SERVER_COLUMNS,
  "lost",
];

function missingCells(entry: RoundsSummary<unknown>, figures: number): string[] {
  const what = entry.errors.length === 0 ? "not run" : "failed";
  return [what, ...Array.from({ length: figures - 1 }, () => "-")];
}

function throughputRow(
  workload: string,
  size: LeafSizeSummary<LeafPubSubMeasurement>,
  entry: RoundsSummary<LeafPubSubMeasurement>,
): string[] {
  const head = [workload, sizeLabel(size.payloadBytes), entry.target];
  const best = entry.best;
  if (best === undefined) return [...head, ...missingCells(entry, 8)];
  return [
    ...head,
    integer.format(best.msgsPerSecond),
    best.payloadMBPerSecond.toFixed(1),
    ...serverCells(best.hub, best.leaf),
    String(entry.lost),
  ];
}

function latencyRow(
  workload: string,
  size: LeafSizeSummary<RequestReplyMeasurement>,
  entry: RoundsSummary<RequestReplyMeasurement>,
): string[] {
  const head = [workload, sizeLabel(size.payloadBytes), entry.target];
  const best = entry.best;
  if (best === undefined) return [...head, ...missingCells(entry, 9)];
  return [
    ...head,
    integer.format(best.latency.p50Us),
    integer.format(best.latency.p99Us),
    integer.format(best.requestsPerSecond),
    ...serverCells(best.hub, best.leaf),
    String(entry.lost),
  ];
}

function ratioText(ratio: number | undefined): string {
  return ratio === undefined ? "n/a" : ratio.toFixed(2);
}

function sizeNoteLabel(workload: string, payloadBytes: number): string {
  return `${workload} ${sizeLabel(payloadBytes).padEnd(6)}`;
}

/** Warnings about a busy generator, and every loss and error, of one target's rounds. */
function problemNotes<M extends { readonly lost: number }>(
  label: string,
  entry: RoundsSummary<M>,
  busy: (round: M) => number,
  lossText: (round: M) => string,
): string[] {
  const notes: string[] = [];
  if (entry.best !== undefined && busy(entry.best) >= BUSY_WARNING) {
    notes.push(
      `${label} WARNING ${entry.target}: a generator process was ${
        Math.round(busy(entry.best) * 100)
      }% busy; it may be the limit`,
    );
  }
  for (const round of entry.rounds) {
    if (round.lost > 0) notes.push(`${label} ERROR ${entry.target}: ${lossText(round)}`);
  }
  for (const error of entry.errors) {
    notes.push(`${label} ERROR ${entry.target}: ${error.split("\n")[0]}`);
  }
  return notes;
}

function throughputNotes(
  workload: string,
  size: LeafSizeSummary<LeafPubSubMeasurement>,
): string[] {
  const label = sizeNoteLabel(workload, size.payloadBytes);
  const notes = size.targets
    .filter((entry) => entry.target !== BASELINE_TARGET)
    .map((entry) =>
      `${label} ${entry.target}/${BASELINE_TARGET} msgs/s = ${
        ratioText(ratioOf(size, entry.target, throughputScore))
      }`
    );
  for (const entry of size.targets) {
    notes.push(...problemNotes(
      label,
      entry,
      (round) => Math.max(round.publisher.busy, round.subscriber.busy),
      (round) => {
        const why = round.subscriberError === undefined
          ? round.outcome
          : `${round.outcome}: ${round.subscriberError}`;
        return `${round.lost} of ${round.sent} messages lost (subscriber ${why})`;
      },
    ));
  }
  return notes;
}

function latencyNotes(workload: string, size: LeafSizeSummary<RequestReplyMeasurement>): string[] {
  const label = sizeNoteLabel(workload, size.payloadBytes);
  const notes = size.targets
    .filter((entry) => entry.target !== BASELINE_TARGET)
    .map((entry) => {
      const p50 = ratioOf(size, entry.target, (round) => round.latency.p50Us);
      const p99 = ratioOf(size, entry.target, (round) => round.latency.p99Us);
      return `${label} ${entry.target}/${BASELINE_TARGET} latency p50 = ${ratioText(p50)}, ` +
        `p99 = ${ratioText(p99)} (below 1 is faster)`;
    });
  for (const entry of size.targets) {
    notes.push(...problemNotes(
      label,
      entry,
      (round) => round.requester.busy,
      (round) => {
        const why = round.error === undefined ? "" : ` (requester: ${round.error})`;
        return `${round.lost} of ${round.requests} requests unanswered${why}`;
      },
    ));
  }
  return notes;
}

/** The leaf part of the printed report: one throughput table, one latency table, notes. */
export function formatLeafReport(
  workloads: readonly LeafWorkloadSummary[],
  rounds: number,
): string {
  if (workloads.length === 0) return "";
  const throughputRows: string[][] = [];
  const latencyRows: string[][] = [];
  const notes: string[] = [];
  for (const summary of workloads) {
    if (summary.kind === "pubsub") {
      for (const size of summary.sizes) {
        for (const entry of size.targets) {
          throughputRows.push(throughputRow(summary.workload, size, entry));
        }
        notes.push(...throughputNotes(summary.workload, size));
      }
    } else {
      for (const size of summary.sizes) {
        for (const entry of size.targets) {
          latencyRows.push(latencyRow(summary.workload, size, entry));
        }
        notes.push(...latencyNotes(summary.workload, size));
      }
    }
  }
  const lines = [
    `Leaf workloads: a hub and a leaf of the same implementation, best of ${rounds} round(s)`,
    ...workloads.map((summary) =>
      `  ${summary.workload}: ${LEAF_WORKLOAD_DESCRIPTIONS[summary.workload]}`
    ),
    "CPU s and peak RSS are each server process's; request/reply keeps the round with the " +
    "lowest p50",
    "",
  ];
  if (throughputRows.length > 0) {
    lines.push(...formatTable(THROUGHPUT_COLUMNS, throughputRows, { leftColumns: 3 }), "");
  }
  if (latencyRows.length > 0) {
    lines.push(...formatTable(LATENCY_COLUMNS, latencyRows, { leftColumns: 3 }), "");
  }
  lines.push(...notes);
  return lines.join("\n");
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function serverJson(usage: ServerUsage): Record<string, number> {
  return { cpuSeconds: round(usage.cpuSeconds, 2), peakRssMB: round(usage.peakRssBytes / 1e6, 1) };
}

function throughputJson(entry: RoundsSummary<LeafPubSubMeasurement>): Record<string, unknown> {
  const best = entry.best;
  if (best === undefined) return { msgsPerSecond: null, lost: entry.lost, errors: entry.errors };
  return {
    msgsPerSecond: Math.round(best.msgsPerSecond),
    payloadMBPerSecond: round(best.payloadMBPerSecond, 1),
    hub: serverJson(best.hub),
    leaf: serverJson(best.leaf),
    lost: entry.lost,
    elapsedMs: Math.round(best.elapsedMs),
    probeMs: round(best.probeMs, 1),
    roundsMsgsPerSecond: entry.rounds.map((measurement) => Math.round(measurement.msgsPerSecond)),
    generatorBusy: {
      publisher: round(best.publisher.busy, 2),
      subscriber: round(best.subscriber.busy, 2),
    },
    errors: entry.errors,
  };
}

function latencyJson(entry: RoundsSummary<RequestReplyMeasurement>): Record<string, unknown> {
  const best = entry.best;
  if (best === undefined) return { p50Us: null, lost: entry.lost, errors: entry.errors };
  const latency = best.latency;
  return {
    p50Us: round(latency.p50Us, 1),
    p90Us: round(latency.p90Us, 1),
    p99Us: round(latency.p99Us, 1),
    maxUs: round(latency.maxUs, 1),
    meanUs: round(latency.meanUs, 1),
    requestsPerSecond: Math.round(best.requestsPerSecond),
    hub: serverJson(best.hub),
    leaf: serverJson(best.leaf),
    lost: entry.lost,
    answered: best.answered,
    probeMs: round(best.probeMs, 1),
    roundsP50Us: entry.rounds.map((measurement) => round(measurement.latency.p50Us, 1)),
    roundsP99Us: entry.rounds.map((measurement) => round(measurement.latency.p99Us, 1)),
    generatorBusy: { requester: round(best.requester.busy, 2) },
    errors: entry.errors,
  };
}

function ratioJson(ratio: number | undefined): number | null {
  return ratio === undefined ? null : round(ratio, 3);
}

function throughputSizeJson(size: LeafSizeSummary<LeafPubSubMeasurement>): unknown {
  const others = size.targets.filter((entry) => entry.target !== BASELINE_TARGET);
  return {
    payloadBytes: size.payloadBytes,
    messages: size.count,
    ratios: Object.fromEntries(others.map((entry) => [
      `${entry.target}/${BASELINE_TARGET}`,
      ratioJson(ratioOf(size, entry.target, throughputScore)),
    ])),
    targets: Object.fromEntries(size.targets.map((entry) => [entry.target, throughputJson(entry)])),
  };
}

function latencySizeJson(size: LeafSizeSummary<RequestReplyMeasurement>): unknown {
  const others = size.targets.filter((entry) => entry.target !== BASELINE_TARGET);
  return {
    payloadBytes: size.payloadBytes,
    requests: size.count,
    ratios: Object.fromEntries(others.flatMap((entry) => [
      [
        `${entry.target}/${BASELINE_TARGET} p50`,
        ratioJson(ratioOf(size, entry.target, (round) => round.latency.p50Us)),
      ],
      [
        `${entry.target}/${BASELINE_TARGET} p99`,
        ratioJson(ratioOf(size, entry.target, (round) => round.latency.p99Us)),
      ],
    ])),
    targets: Object.fromEntries(size.targets.map((entry) => [entry.target, latencyJson(entry)])),
  };
}

/**
 * The leaf part of the JSON summary, keyed by workload name: per size the ratios to the
 * baseline and each target's best round, rounded as in the table, plus every round's figure.
 */
export function leafToJson(workloads: readonly LeafWorkloadSummary[]): Record<string, unknown> {
  return Object.fromEntries(workloads.map((summary) => [summary.workload, {
    description: LEAF_WORKLOAD_DESCRIPTIONS[summary.workload],
    sizes: summary.kind === "pubsub"
      ? summary.sizes.map(throughputSizeJson)
      : summary.sizes.map(latencySizeJson),
  }]));
}

/** True when any leaf run failed or lost a message or a request. */
export function leafHasFailures(workloads: readonly LeafWorkloadSummary[]): boolean {
  const failed = (entry: RoundsSummary<unknown>) => entry.lost > 0 || entry.errors.length > 0;
  return workloads.some((summary) =>
    summary.kind === "pubsub"
      ? summary.sizes.some((size) => size.targets.some(failed))
      : summary.sizes.some((size) => size.targets.some(failed))
  );
}
