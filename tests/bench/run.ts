/**
 * `deno task bench`: Canopy against nats-server in the same run, on the same load generator.
 *
 * Workloads (`--workloads`, all by default):
 * - `pubsub`: 1 publisher → 1 subscriber on one server. For each payload size it first
 *   measures the load generator's own ceiling.
 * - `leaf-to-hub`, `hub-to-leaf`: the same publisher and subscriber on the two ends of a
 *   leafnode link between a hub and a leaf of the same implementation.
 * - `leaf-rr`: request/reply latency across that link, one request in flight, requester on
 *   the leaf, responder on the hub.
 * - `leaf-to-hub-tls`, `leaf-to-hub-ws`: `leaf-to-hub` with the link over mutual TLS, or over
 *   plain WebSocket (no TLS, no compression). By default at 128 B, 1 KiB and 16 KiB only.
 * - `leaf-compression`: Canopy only, leaf→hub with the link's S2 compression `off` against
 *   `s2_fast`, 1 KiB JSON payloads by default (`compression_bench.ts`).
 *
 * Each run gets fresh servers. Targets alternate, and their order flips between rounds, so
 * that machine noise hits both alike; each target's best round is kept. It prints tables,
 * ratio lines and a JSON summary, and stops every process it started, also on error or Ctrl-C.
 *
 * ```
 * deno task bench [--quick] [--workloads pubsub,leaf-to-hub,hub-to-leaf,leaf-rr,
 *                                         leaf-to-hub-tls,leaf-to-hub-ws,leaf-compression]
 *                 [--messages N] [--requests N] [--sizes 16,128,1024,16384] [--rounds 2]
 *                 [--targets nats-server,canopy] [--canopy PATH] [--timeout 60] [--no-ceiling]
 *                 [--json]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { COMPRESSION_WORKLOAD, runCompressionWorkload } from "./compression_bench.ts";
import { type GeneratorCeiling, measureGeneratorCeiling } from "./generator_ceiling.ts";
import {
  latencyScore,
  LEAF_WORKLOAD_NAMES,
  type LeafSizeSummary,
  type LeafWorkloadName,
  type LeafWorkloadSummary,
  summariseRounds,
  throughputScore,
} from "./leaf_report.ts";
import {
  type LeafPubSubMeasurement,
  type LeafPubSubWorkload,
  measureLeafPubSub,
  measureLeafRequestReply,
  type RequestReplyMeasurement,
} from "./leaf_workloads.ts";
import { measurePubSub } from "./measure_target.ts";
import { killAllChildren } from "./process_registry.ts";
import {
  type BenchSummary,
  formatReport,
  formatSize,
  hasFailures,
  type SizeSummary,
  summariseTarget,
  toJson,
} from "./report.ts";
import { ServerStartError } from "./server_process.ts";
import {
  canopyTarget,
  NATS_SERVER_BINARY,
  natsServerTarget,
  type Target,
  TARGET_NAMES,
} from "./targets.ts";

/**
 * Messages per payload size, chosen so that one nats-server run lasts about 2 s on a 2-core
 * machine (about 3.2 M, 2.3 M, 0.7 M and 0.05 M msgs/s there).
 */
const DEFAULT_MESSAGES: Readonly<Record<number, number>> = {
  16: 6_000_000,
  128: 4_000_000,
  1024: 1_500_000,
  16384: 100_000,
};

/**
 * Messages per payload size for the leaf throughput workloads, chosen so that one run lasts
 * about 1.5-2.5 s on a 2-core machine (nats-server and Canopy both did about 2.4 M, 1.2 M,
 * 0.5 M and 0.03 M msgs/s there across a link).
 */
const DEFAULT_LEAF_MESSAGES: Readonly<Record<number, number>> = {
  16: 4_000_000,
  128: 2_500_000,
  1024: 800_000,
  16384: 60_000,
};

/**
 * Messages per payload size for leaf→hub over TLS or WebSocket, chosen so that one nats-server
 * run lasts about 1.5-2.5 s on a 2-core machine (there nats-server did about 1.2 M, 0.37 M and
 * 0.022 M msgs/s at 128 B, 1 KiB and 16 KiB over either; Canopy about 0.6-1.3 M, 0.24-0.4 M
 * and 0.013-0.028 M).
 */
const DEFAULT_TLS_WS_LEAF_MESSAGES: Readonly<Record<number, number>> = {
  16: 2_500_000,
  128: 2_500_000,
  1024: 600_000,
  16384: 40_000,
};

/** Message counts per throughput workload; the single-server `pubsub` uses `DEFAULT_MESSAGES`. */
const LEAF_MESSAGES: Readonly<Record<LeafPubSubWorkload, Readonly<Record<number, number>>>> = {
  "leaf-to-hub": DEFAULT_LEAF_MESSAGES,
  "hub-to-leaf": DEFAULT_LEAF_MESSAGES,
  "leaf-to-hub-tls": DEFAULT_TLS_WS_LEAF_MESSAGES,
  "leaf-to-hub-ws": DEFAULT_TLS_WS_LEAF_MESSAGES,
};

/** Measured requests per request/reply run: about 1-2 s one at a time, and a stable p99. */
const DEFAULT_REQUESTS = 5_000;

/** `--quick` runs this fraction of the messages and requests, one round. */
const QUICK_FRACTION = 10;

/** Every workload `--workloads` knows, in the order they run. */
const WORKLOAD_NAMES = ["pubsub", ...LEAF_WORKLOAD_NAMES, COMPRESSION_WORKLOAD] as const;
type WorkloadName = typeof WORKLOAD_NAMES[number];

/** Payload sizes when `--sizes` is not given. */
const DEFAULT_SIZES: readonly number[] = [16, 128, 1024, 16384];

/**
 * The TLS and WebSocket workloads measure what the wrapping costs: 128 B shows the per-message
 * side, 16 KiB the per-byte side (encryption, masking); 16 B would add run time but little
 * that 128 B does not already show.
 */
const WORKLOAD_DEFAULT_SIZES: Readonly<Partial<Record<WorkloadName, readonly number[]>>> = {
  "leaf-to-hub-tls": [128, 1024, 16384],
  "leaf-to-hub-ws": [128, 1024, 16384],
  [COMPRESSION_WORKLOAD]: [1024],
};

const USAGE = `Usage: deno task bench [options]
  --quick            ${QUICK_FRACTION}x fewer messages and one round: a smoke test, not a result
  --workloads LIST   workloads to run (default: ${WORKLOAD_NAMES.join(",")})
  --messages N       messages per run for every size and throughput workload
                     (default: per size and workload, ~2 s on nats-server)
  --requests N       measured requests per leaf-rr run (default: ${DEFAULT_REQUESTS})
  --sizes LIST       payload sizes in bytes, for every workload (default: 16,128,1024,16384;
                     128,1024,16384 for leaf-to-hub-tls and leaf-to-hub-ws)
  --rounds N         rounds per size and target, best one kept (default: 2)
  --targets LIST     targets to run (default: nats-server,canopy)
  --canopy PATH      Canopy entry file to run (default: mod.ts of this working tree)
  --timeout SECONDS  longest a publisher or subscriber may take per run (default: 60)
  --no-ceiling       skip measuring the load generator's own ceiling
  --json             print only the JSON summary on stdout
  --help             this text`;

interface BenchOptions {
  quick: boolean;
  workloads: WorkloadName[];
  messages: number | undefined;
  requests: number | undefined;
  /** `--sizes`; undefined means each workload's default sizes. */
  sizes: number[] | undefined;
  rounds: number;
  targets: Target[];
  timeoutMs: number;
  ceiling: boolean;
  json: boolean;
}

function positiveInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) {
    throw new RangeError(`Cannot parse "--${flag}": expected a positive integer, got "${text}"`);
  }
  return value;
}

function parseOptions(args: string[]): BenchOptions | undefined {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: "boolean", default: false },
      workloads: { type: "string", default: WORKLOAD_NAMES.join(",") },
      messages: { type: "string" },
      requests: { type: "string" },
      sizes: { type: "string" },
      rounds: { type: "string" },
      targets: { type: "string", default: TARGET_NAMES.join(",") },
      canopy: { type: "string" },
      timeout: { type: "string", default: "60" },
      "no-ceiling": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return undefined;
  const available: Target[] = [natsServerTarget, canopyTarget(values.canopy)];
  const targets = values.targets.split(",").map((name) => {
    const target = available.find((candidate) => candidate.name === name.trim());
    if (target === undefined) {
      const known = TARGET_NAMES.map((known) => `"${known}"`).join(", ");
      throw new RangeError(`Cannot select target "${name}": known targets are ${known}`);
    }
    return target;
  });
  const workloads = values.workloads.split(",").map((text) => {
    const name = WORKLOAD_NAMES.find((known) => known === text.trim());
    if (name === undefined) {
      const known = WORKLOAD_NAMES.map((known) => `"${known}"`).join(", ");
      throw new RangeError(`Cannot select workload "${text}": known workloads are ${known}`);
    }
    return name;
  });
  return {
    quick: values.quick,
    // Always in the documented order, whatever order they were listed in.
    workloads: WORKLOAD_NAMES.filter((name) => workloads.includes(name)),
    messages: values.messages === undefined
      ? undefined
      : positiveInteger("messages", values.messages),
    requests: values.requests === undefined
      ? undefined
      : positiveInteger("requests", values.requests),
    sizes: values.sizes?.split(",").map((size) => positiveInteger("sizes", size.trim())),
    rounds: values.rounds === undefined
      ? (values.quick ? 1 : 2)
      : positiveInteger("rounds", values.rounds),
    targets,
    timeoutMs: positiveInteger("timeout", values.timeout) * 1000,
    ceiling: !values["no-ceiling"],
    json: values.json,
  };
}

function messagesFor(
  options: BenchOptions,
  payloadBytes: number,
  defaults: Readonly<Record<number, number>> = DEFAULT_MESSAGES,
): number {
  if (options.messages !== undefined) return options.messages;
  // Sizes without a tuned count get the same payload volume as 1 KiB.
  const base = defaults[payloadBytes] ??
    Math.max(1000, Math.round((defaults[1024] * 1024) / payloadBytes));
  return options.quick ? Math.max(1000, Math.round(base / QUICK_FRACTION)) : base;
}

function sizesFor(options: BenchOptions, workload: WorkloadName): readonly number[] {
  return options.sizes ?? WORKLOAD_DEFAULT_SIZES[workload] ?? DEFAULT_SIZES;
}

function requestsFor(options: BenchOptions): number {
  if (options.requests !== undefined) return options.requests;
  return options.quick ? Math.round(DEFAULT_REQUESTS / QUICK_FRACTION) : DEFAULT_REQUESTS;
}

function progress(text: string): void {
  console.error(text);
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function natsServerVersion(): Promise<string> {
  try {
    const output = await new Deno.Command(NATS_SERVER_BINARY, { args: ["--version"] }).output();
    return new TextDecoder().decode(output.stdout).trim();
  } catch {
    return "missing";
  }
}

async function runSize(
  options: BenchOptions,
  payloadBytes: number,
  failedTargets: Map<string, string>,
): Promise<SizeSummary> {
  const messages = messagesFor(options, payloadBytes);
  const label = formatSize(payloadBytes);
  const workload = { payloadBytes, messages, timeoutMs: options.timeoutMs };
  let ceiling: GeneratorCeiling | undefined;
  if (options.ceiling) {
    try {
      ceiling = await measureGeneratorCeiling(workload);
      const rate = Math.round(ceiling.msgsPerSecond).toLocaleString("en-US");
      progress(`[${label}] generator ceiling ${rate} msgs/s`);
    } catch (error) {
      // The targets can still be compared; only the bottleneck check is lost.
      progress(`[${label}] generator ceiling FAILED: ${describeError(error)}`);
    }
  }
  const { rounds, errors } = await measureRounds(
    options,
    label,
    failedTargets,
    (target) => measurePubSub(target, workload),
    describeThroughput,
  );
  return {
    payloadBytes,
    messages,
    ceiling,
    targets: options.targets.map((target) =>
      summariseTarget(target.name, rounds.get(target.name)!, errors.get(target.name)!)
    ),
  };
}

function describeThroughput(measurement: { msgsPerSecond: number; lost: number }): string {
  return `${Math.round(measurement.msgsPerSecond).toLocaleString("en-US")} msgs/s, ` +
    `lost ${measurement.lost}`;
}

function describeLatency(measurement: RequestReplyMeasurement): string {
  const { p50Us, p99Us } = measurement.latency;
  return `p50 ${Math.round(p50Us)} µs, p99 ${Math.round(p99Us)} µs, lost ${measurement.lost}`;
}

/** Each target's measurements and error messages, by target name. */
interface RoundResults<M> {
  rounds: Map<string, M[]>;
  errors: Map<string, string[]>;
}

/**
 * Measures every target `options.rounds` times, reversing the order every other round so
 * neither target always runs first. A target that cannot start is recorded in
 * `failedTargets` and skipped from then on, in this workload and the following ones.
 */
async function measureRounds<M>(
  options: BenchOptions,
  label: string,
  failedTargets: Map<string, string>,
  measure: (target: Target) => Promise<M>,
  describe: (measurement: M) => string,
): Promise<RoundResults<M>> {
  const rounds = new Map<string, M[]>();
  const errors = new Map<string, string[]>();
  for (const target of options.targets) {
    rounds.set(target.name, []);
    errors.set(target.name, []);
  }
  for (let round = 1; round <= options.rounds; round++) {
    const order = round % 2 === 1 ? options.targets : [...options.targets].reverse();
    for (const target of order) {
      if (failedTargets.has(target.name)) continue;
      const prefix = `[${label} round ${round}/${options.rounds}] ${target.name}`;
      try {
        const measurement = await measure(target);
        rounds.get(target.name)!.push(measurement);
        progress(`${prefix}: ${describe(measurement)}`);
      } catch (error) {
        const message = describeError(error);
        if (error instanceof ServerStartError) {
          // It will not start for the next size either; say so once and move on.
          failedTargets.set(target.name, message);
        } else {
          errors.get(target.name)!.push(message);
        }
        progress(`${prefix}: FAILED: ${message}`);
      }
    }
  }
  return { rounds, errors };
}

async function runLeafPubSub(
  options: BenchOptions,
  workload: LeafPubSubWorkload,
  failedTargets: Map<string, string>,
): Promise<LeafWorkloadSummary> {
  const sizes: LeafSizeSummary<LeafPubSubMeasurement>[] = [];
  for (const payloadBytes of sizesFor(options, workload)) {
    const messages = messagesFor(options, payloadBytes, LEAF_MESSAGES[workload]);
    const { rounds, errors } = await measureRounds(
      options,
      `${workload} ${formatSize(payloadBytes)}`,
      failedTargets,
      (target) =>
        measureLeafPubSub(target, {
          workload,
          payloadBytes,
          messages,
          timeoutMs: options.timeoutMs,
        }),
      describeThroughput,
    );
    sizes.push({
      payloadBytes,
      count: messages,
      targets: options.targets.map((target) =>
        summariseRounds(
          target.name,
          rounds.get(target.name)!,
          errors.get(target.name)!,
          throughputScore,
        )
      ),
    });
  }
  return { kind: "pubsub", workload, sizes };
}

async function runLeafRequestReply(
  options: BenchOptions,
  failedTargets: Map<string, string>,
): Promise<LeafWorkloadSummary> {
  const requests = requestsFor(options);
  const sizes: LeafSizeSummary<RequestReplyMeasurement>[] = [];
  for (const payloadBytes of sizesFor(options, "leaf-rr")) {
    const { rounds, errors } = await measureRounds(
      options,
      `leaf-rr ${formatSize(payloadBytes)}`,
      failedTargets,
      (target) =>
        measureLeafRequestReply(target, { payloadBytes, requests, timeoutMs: options.timeoutMs }),
      describeLatency,
    );
    sizes.push({
      payloadBytes,
      count: requests,
      targets: options.targets.map((target) =>
        summariseRounds(
          target.name,
          rounds.get(target.name)!,
          errors.get(target.name)!,
          latencyScore,
        )
      ),
    });
  }
  return { kind: "request-reply", workload: "leaf-rr", sizes };
}

function runLeafWorkload(
  options: BenchOptions,
  workload: LeafWorkloadName,
  failedTargets: Map<string, string>,
): Promise<LeafWorkloadSummary> {
  return workload === "leaf-rr"
    ? runLeafRequestReply(options, failedTargets)
    : runLeafPubSub(options, workload, failedTargets);
}

async function main(args: string[]): Promise<number> {
  const options = parseOptions(args);
  if (options === undefined) {
    console.log(USAGE);
    return 0;
  }
  const failedTargets = new Map<string, string>();
  const sizes: SizeSummary[] = [];
  const leafWorkloads: LeafWorkloadSummary[] = [];
  const startedAt = new Date().toISOString();
  let compression: Awaited<ReturnType<typeof runCompressionWorkload>> | undefined;
  for (const workload of options.workloads) {
    if (workload === "pubsub") {
      for (const payloadBytes of sizesFor(options, workload)) {
        sizes.push(await runSize(options, payloadBytes, failedTargets));
      }
    } else if (workload === COMPRESSION_WORKLOAD) {
      // Canopy against itself: nats-server 2.9.10 has no leafnode compression.
      if (!options.targets.some((target) => target.name === "canopy")) continue;
      compression = await runCompressionWorkload({
        ...options,
        sizes: sizesFor(options, workload),
      });
    } else {
      leafWorkloads.push(await runLeafWorkload(options, workload, failedTargets));
    }
  }
  const summary: BenchSummary = {
    workload: "pub/sub 1 publisher -> 1 subscriber, one server",
    startedAt,
    environment: {
      deno: Deno.version.deno,
      natsServer: await natsServerVersion(),
      cpus: navigator.hardwareConcurrency,
      os: `${Deno.build.os} ${Deno.osRelease()}`,
    },
    rounds: options.rounds,
    workloads: options.workloads,
    sizes,
    leafWorkloads,
    failedTargets: Object.fromEntries(failedTargets),
  };
  if (!options.json) {
    console.log(formatReport(summary));
    if (compression) console.log(`\n${compression.report}`);
    console.log("\nJSON summary:");
  }
  const json = compression
    ? {
      ...toJson(summary) as Record<string, unknown>,
      [COMPRESSION_WORKLOAD]: compression.summaries,
    }
    : toJson(summary);
  console.log(JSON.stringify(json, null, options.json ? 2 : undefined));
  return hasFailures(summary) || compression?.failed ? 1 : 0;
}

if (import.meta.main) {
  const stopOnSignal = () => {
    console.error("Interrupted: stopping every process the benchmark started");
    killAllChildren();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", stopOnSignal);
  Deno.addSignalListener("SIGTERM", stopOnSignal);
  let exitCode = 1;
  try {
    exitCode = await main(Deno.args);
  } catch (error) {
    console.error(`Benchmark failed: ${describeError(error)}`);
  } finally {
    killAllChildren();
  }
  Deno.exit(exitCode);
}
