/**
 * `deno task bench`: the pub/sub benchmark, Canopy against nats-server in the same run.
 *
 * For each payload size it measures the load generator's own ceiling, then runs the workload
 * (1 publisher → 1 subscriber on one server, each a separate process) against every target,
 * alternating targets and their order between rounds so that machine noise hits both alike,
 * and keeps each target's best round. It prints a table, a ratio line per size and a JSON
 * summary, and stops every process it started, also on error or Ctrl-C.
 *
 * ```
 * deno task bench [--quick] [--messages N] [--sizes 16,128,1024,16384] [--rounds 2]
 *                 [--targets nats-server,canopy] [--canopy PATH] [--timeout 60] [--no-ceiling]
 *                 [--json]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type GeneratorCeiling, measureGeneratorCeiling } from "./generator_ceiling.ts";
import { measurePubSub, type TargetMeasurement } from "./measure_target.ts";
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

/** `--quick` runs this fraction of the messages, one round. */
const QUICK_FRACTION = 10;

const USAGE = `Usage: deno task bench [options]
  --quick            ${QUICK_FRACTION}x fewer messages and one round: a smoke test, not a result
  --messages N       messages per run for every size (default: per size, ~2 s on nats-server)
  --sizes LIST       payload sizes in bytes (default: 16,128,1024,16384)
  --rounds N         rounds per size and target, best one kept (default: 2)
  --targets LIST     targets to run (default: nats-server,canopy)
  --canopy PATH      Canopy entry file to run (default: mod.ts of this working tree)
  --timeout SECONDS  longest a publisher or subscriber may take per run (default: 60)
  --no-ceiling       skip measuring the load generator's own ceiling
  --json             print only the JSON summary on stdout
  --help             this text`;

interface BenchOptions {
  quick: boolean;
  messages: number | undefined;
  sizes: number[];
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
      messages: { type: "string" },
      sizes: { type: "string", default: "16,128,1024,16384" },
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
  return {
    quick: values.quick,
    messages: values.messages === undefined
      ? undefined
      : positiveInteger("messages", values.messages),
    sizes: values.sizes.split(",").map((size) => positiveInteger("sizes", size.trim())),
    rounds: values.rounds === undefined
      ? (values.quick ? 1 : 2)
      : positiveInteger("rounds", values.rounds),
    targets,
    timeoutMs: positiveInteger("timeout", values.timeout) * 1000,
    ceiling: !values["no-ceiling"],
    json: values.json,
  };
}

function messagesFor(options: BenchOptions, payloadBytes: number): number {
  if (options.messages !== undefined) return options.messages;
  // Sizes without a tuned count get the same payload volume as 1 KiB.
  const base = DEFAULT_MESSAGES[payloadBytes] ??
    Math.max(1000, Math.round((DEFAULT_MESSAGES[1024] * 1024) / payloadBytes));
  return options.quick ? Math.max(1000, Math.round(base / QUICK_FRACTION)) : base;
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
  const rounds = new Map<string, TargetMeasurement[]>();
  const errors = new Map<string, string[]>();
  for (const target of options.targets) {
    rounds.set(target.name, []);
    errors.set(target.name, []);
  }
  for (let round = 1; round <= options.rounds; round++) {
    // Reverse the order every other round so neither target always runs first.
    const order = round % 2 === 1 ? options.targets : [...options.targets].reverse();
    for (const target of order) {
      if (failedTargets.has(target.name)) continue;
      const prefix = `[${label} round ${round}/${options.rounds}] ${target.name}`;
      try {
        const measurement = await measurePubSub(target, workload);
        rounds.get(target.name)!.push(measurement);
        progress(
          `${prefix}: ${Math.round(measurement.msgsPerSecond).toLocaleString("en-US")} msgs/s, ` +
            `lost ${measurement.lost}`,
        );
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
  return {
    payloadBytes,
    messages,
    ceiling,
    targets: options.targets.map((target) =>
      summariseTarget(target.name, rounds.get(target.name)!, errors.get(target.name)!)
    ),
  };
}

async function main(args: string[]): Promise<number> {
  const options = parseOptions(args);
  if (options === undefined) {
    console.log(USAGE);
    return 0;
  }
  const failedTargets = new Map<string, string>();
  const sizes: SizeSummary[] = [];
  const startedAt = new Date().toISOString();
  for (const payloadBytes of options.sizes) {
    sizes.push(await runSize(options, payloadBytes, failedTargets));
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
    sizes,
    failedTargets: Object.fromEntries(failedTargets),
  };
  if (!options.json) {
    console.log(formatReport(summary));
    console.log("\nJSON summary:");
  }
  console.log(JSON.stringify(toJson(summary), null, options.json ? 2 : undefined));
  return hasFailures(summary) ? 1 : 0;
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
