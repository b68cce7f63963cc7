/**
 * What S2 compression costs and saves on a leafnode link: leaf→hub throughput of Canopy↔Canopy
 * with the link's compression `off` against `s2_fast` (and any other modes asked for), both
 * sides configured alike, at JSON-like payloads.
 *
 * ```
 * deno run -A tests/bench/compression_bench.ts [--modes off,s2_fast] [--messages 300000]
 *     [--payload 1024] [--rounds 2] [--timeout 120] [--profile hub|leaf] [--canopy PATH] [--json]
 * ```
 *
 * `--profile leaf` (or `hub`) starts that server with `--inspect`, records a V8 CPU profile
 * over the publish phase, prints self time by file and by function, and saves the raw profile
 * as `$TMPDIR/canopy-compression-<mode>-<server>.cpuprofile`. Profiling slows the server down;
 * compare figures from runs without it.
 *
 * For every mode and round it starts a fresh hub and leaf, a subscriber on the hub
 * (`load_generator.ts sub`) and, in this process, a publisher on the leaf that sends `--messages`
 * PUBs drawn from 4096 distinct JSON documents (so that one flush never repeats a document and
 * the ratio reflects JSON, not repetition). It reports:
 * - msgs/s from the first publish to the last message at the hub's subscriber;
 * - bytes on the wire leaf→hub, from the kernel's counters for the leaf's link socket
 *   (`ss -ti` `bytes_acked`: no relay in the path, nothing added to the measured processes);
 * - CPU seconds of the hub and of the leaf during the run;
 * - the level the leaf logged for the link, to show the mode really took effect.
 *
 * Modes alternate and their order flips between rounds; each mode's best round is kept. The
 * target for the issue is `s2_fast` ≥ 0.7× the msgs/s of `off` while sending fewer bytes.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { stringify as stringifyToml } from "smol-toml";
import { freePort } from "../helpers/free_port.ts";
import { type ProcessStats, readProcessStats } from "../helpers/process_stats.ts";
import { jsonText } from "../fixtures/s2/sample_data.ts";
import { epochMs } from "./clock.ts";
import { GeneratorProcess } from "./generator_process.ts";
import { awaitInterest } from "./interest_probe.ts";
import type { SubscribeReport } from "./load_generator.ts";
import { killAllChildren } from "./process_registry.ts";
import { type ServerProcess, startServerProcess } from "./server_process.ts";
import { REPO_ROOT } from "./targets.ts";
import { formatTable } from "./text_table.ts";
import { type Endpoint, WireConnection } from "./wire_connection.ts";

/** Options for one measurement. */
export interface CompressionRunOptions {
  /** The `compression` both the hub's `[leafnodes]` and the leaf's remote get. */
  mode: string;
  messages: number;
  payloadBytes: number;
  timeoutMs: number;
  /** Canopy entry file; default this tree's `mod.ts`. */
  entry?: string;
  /** Record a CPU profile of this server during the publish phase (V8 inspector). */
  profile?: "hub" | "leaf";
}

/** One leaf→hub run over a link in one compression mode. */
export interface CompressionMeasurement {
  readonly mode: string;
  /** What the leaf logged for the link: "compression <level>". */
  readonly linkLevel: string;
  readonly messages: number;
  readonly received: number;
  readonly payloadBytes: number;
  readonly msgsPerSecond: number;
  readonly elapsedMs: number;
  /** Bytes the leaf's link socket sent during the run (kernel count). */
  readonly wireBytesToHub: number;
  /** `wireBytesToHub / messages`. */
  readonly wireBytesPerMessage: number;
  readonly hubCpuSeconds: number;
  readonly leafCpuSeconds: number;
  /** The publisher (this process) CPU seconds, to show it was not the bottleneck. */
  readonly publisherCpuSeconds: number;
  /** With `profile`: where the profiled server spent its CPU during the run. */
  readonly profile?: ProfileSummary;
}

/** Distinct documents the publisher cycles through. */
const DISTINCT_DOCUMENTS = 4096;
/** Bytes of PUB frames per write. */
const BATCH_BYTES = 64 * 1024;
/** Bytes between PINGs, and PINGs in flight, as `load_generator.ts` does. */
const WINDOW_BYTES = 512 * 1024;
const WINDOWS_IN_FLIGHT = 2;
const SUBJECT = "bench.compression";
const STARTUP_TIMEOUT_MS = 30_000;
const INTEREST_TIMEOUT_MS = 15_000;
const LINK_TIMEOUT_MS = 15_000;

const encoder = new TextEncoder();

/** PUB frames for `DISTINCT_DOCUMENTS` JSON documents of `payloadBytes` each, back to back. */
export function buildJsonFrames(payloadBytes: number): { frames: Uint8Array; frameBytes: number } {
  const header = encoder.encode(`PUB ${SUBJECT} ${payloadBytes}\r\n`);
  const frameBytes = header.length + payloadBytes + 2;
  const frames = new Uint8Array(frameBytes * DISTINCT_DOCUMENTS);
  for (let i = 0; i < DISTINCT_DOCUMENTS; i++) {
    const start = i * frameBytes;
    frames.set(header, start);
    // A JSON array of sensor/order records, cut at the payload size: keys and vocabulary
    // repeat from document to document, ids, numbers and timestamps do not.
    frames.set(jsonText(payloadBytes, i + 1), start + header.length);
    frames[start + frameBytes - 2] = 0x0d;
    frames[start + frameBytes - 1] = 0x0a;
  }
  return { frames, frameBytes };
}

/** Writes and removes a temporary TOML config around a Canopy process. */
async function startCanopy(
  name: string,
  config: Record<string, unknown>,
  entry: string,
  denoFlags: readonly string[] = [],
): Promise<ServerProcess> {
  const path = await Deno.makeTempFile({ prefix: "canopy-cmp-bench-", suffix: ".toml" });
  await Deno.writeTextFile(path, stringifyToml(config));
  try {
    const server = await startServerProcess({
      name,
      command: Deno.execPath(),
      args: ["run", "-A", ...denoFlags, entry, "-c", path],
      cwd: REPO_ROOT,
    });
    return {
      name: server.name,
      pid: server.pid,
      get running() {
        return server.running;
      },
      get exitDescription() {
        return server.exitDescription;
      },
      logTail: () => server.logTail(),
      stop: () => server.stop().finally(() => Deno.remove(path).catch(() => {})),
    };
  } catch (error) {
    await Deno.remove(path).catch(() => {});
    throw error;
  }
}

/** Kernel counters of the established TCP sockets from this host to `port`. */
async function socketBytes(port: number): Promise<{ sent: number; received: number }> {
  const output = await new Deno.Command("ss", {
    args: ["-tinH", "state", "established", `( dport = :${port} )`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(
      `Cannot read socket counters: ss failed: ${new TextDecoder().decode(output.stderr)}`,
    );
  }
  const text = new TextDecoder().decode(output.stdout);
  const sum = (key: string) =>
    [...text.matchAll(new RegExp(`\\b${key}:(\\d+)`, "g"))].reduce((n, m) => n + Number(m[1]), 0);
  return { sent: sum("bytes_acked"), received: sum("bytes_received") };
}

/** The level the leaf logged when the link came up. */
async function linkLevel(leaf: ServerProcess, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = /Leafnode connection created .*compression ([^)]+)\)/.exec(leaf.logTail());
    if (match) return match[1];
    if (Date.now() > deadline) {
      throw new Error(`Cannot see the leaf's link come up:\n${leaf.logTail()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Publishes `messages` frames from `frames` in batches, with PING/PONG flow control. */
async function publish(
  connection: WireConnection,
  frames: Uint8Array,
  frameBytes: number,
  messages: number,
): Promise<void> {
  const framesPerBatch = Math.max(1, Math.floor(BATCH_BYTES / frameBytes));
  const batchesPerWindow = Math.max(1, Math.round(WINDOW_BYTES / (framesPerBatch * frameBytes)));
  const totalFrames = frames.length / frameBytes;
  const pongs: Promise<void>[] = [];
  let next = 0;
  let remaining = messages;
  let batches = 0;
  while (remaining > 0) {
    // Whole batches from the document ring, wrapping at its end.
    const count = Math.min(framesPerBatch, remaining, totalFrames - next);
    await connection.write(frames.subarray(next * frameBytes, (next + count) * frameBytes));
    next = (next + count) % totalFrames;
    remaining -= count;
    if (++batches % batchesPerWindow === 0 && remaining > 0) {
      const pong = connection.ping();
      pong.catch(() => {});
      pongs.push(pong);
      if (pongs.length > WINDOWS_IN_FLIGHT) await pongs.shift();
    }
  }
  await Promise.all(pongs);
  await connection.ping();
}

/**
 * Runs one leaf→hub measurement on fresh servers in `options.mode`, and stops everything it
 * started, also on failure.
 */
export async function measureCompressedLink(
  options: CompressionRunOptions,
): Promise<CompressionMeasurement> {
  const entry = options.entry ?? `${REPO_ROOT}mod.ts`;
  const hubPorts = { port: freePort(), leafPort: freePort() };
  const leafPorts = { port: freePort(), leafPort: freePort() };
  const inspectPort = freePort();
  const inspect = (who: "hub" | "leaf") =>
    options.profile === who ? [`--inspect=127.0.0.1:${inspectPort}`] : [];
  const hub = await startCanopy(
    "canopy HUB",
    {
      server_name: "HUB",
      host: "127.0.0.1",
      port: hubPorts.port,
      leafnodes: { host: "127.0.0.1", port: hubPorts.leafPort, compression: options.mode },
    },
    entry,
    inspect("hub"),
  );
  const stopping: (() => Promise<unknown>)[] = [() => hub.stop()];
  try {
    const leaf = await startCanopy(
      "canopy LEAF",
      {
        server_name: "LEAF",
        host: "127.0.0.1",
        port: leafPorts.port,
        leafnodes: {
          host: "127.0.0.1",
          port: leafPorts.leafPort,
          remotes: [{
            url: `nats-leaf://127.0.0.1:${hubPorts.leafPort}`,
            compression: options.mode,
          }],
        },
      },
      entry,
      inspect("leaf"),
    );
    stopping.unshift(() => leaf.stop());
    const level = await linkLevel(leaf, LINK_TIMEOUT_MS);

    const hubEndpoint: Endpoint = { hostname: "127.0.0.1", port: hubPorts.port };
    const leafEndpoint: Endpoint = { hostname: "127.0.0.1", port: leafPorts.port };
    const subscriber = GeneratorProcess.spawn("sub", [
      "--host",
      "127.0.0.1",
      "--port",
      String(hubPorts.port),
      "--subject",
      SUBJECT,
      "--messages",
      String(options.messages),
      "--timeout-ms",
      String(options.timeoutMs),
    ]);
    stopping.unshift(() => subscriber.stop());
    await subscriber.nextEvent(STARTUP_TIMEOUT_MS);
    await awaitInterest({ publisher: leafEndpoint, subscriber: hubEndpoint }, {
      timeoutMs: INTEREST_TIMEOUT_MS,
    });

    const { frames, frameBytes } = buildJsonFrames(options.payloadBytes);
    const publisher = await WireConnection.open(leafEndpoint, { name: "bench-cmp-publisher" });
    stopping.unshift(() => Promise.resolve(publisher.close()));
    const profiler = options.profile === undefined
      ? undefined
      : await InspectorProfiler.attach(inspectPort);
    if (profiler) stopping.unshift(() => Promise.resolve(profiler.close()));
    await profiler?.start();

    const [wireBefore, hubBefore, leafBefore, pubBefore] = await Promise.all([
      socketBytes(hubPorts.leafPort),
      readProcessStats(hub.pid),
      readProcessStats(leaf.pid),
      readProcessStats(Deno.pid),
    ]);
    const startedAt = epochMs();
    await publish(publisher, frames, frameBytes, options.messages);
    const publisherCpu = (await readProcessStats(Deno.pid)).cpuSeconds - pubBefore.cpuSeconds;
    await subscriber.send("drain");
    const event = await subscriber.nextEvent(options.timeoutMs + 10_000);
    if (!("subscribe" in event)) {
      throw new Error(`Unexpected subscriber event ${JSON.stringify(event)}`);
    }
    const report: SubscribeReport = event.subscribe;
    const profile = await profiler?.stop(profilePath(options.mode, options.profile!));
    const [wireAfter, hubAfter, leafAfter] = await Promise.all([
      socketBytes(hubPorts.leafPort),
      readProcessStats(hub.pid),
      readProcessStats(leaf.pid),
    ]);
    const elapsedMs = report.lastReceivedAt - startedAt;
    const wireBytesToHub = wireAfter.sent - wireBefore.sent;
    return {
      mode: options.mode,
      linkLevel: level,
      messages: options.messages,
      received: report.received,
      payloadBytes: options.payloadBytes,
      msgsPerSecond: elapsedMs > 0 ? report.received / (elapsedMs / 1000) : 0,
      elapsedMs,
      wireBytesToHub,
      wireBytesPerMessage: wireBytesToHub / options.messages,
      hubCpuSeconds: cpuBetween(hubBefore, hubAfter),
      leafCpuSeconds: cpuBetween(leafBefore, leafAfter),
      publisherCpuSeconds: publisherCpu,
      ...(profile === undefined ? {} : { profile }),
    };
  } finally {
    for (const stop of stopping) await stop().catch(() => {});
  }
}

// ---- CPU profile of one server over the V8 inspector --------------------------------------

/** Self time by function and by source file, from a V8 CPU profile. */
export interface ProfileSummary {
  readonly totalMs: number;
  /** `[label, ms]`, largest first: `function file:line`. */
  readonly functions: readonly (readonly [string, number])[];
  /** `[file, ms]`, largest first. */
  readonly files: readonly (readonly [string, number])[];
}

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Sums the sample time of each node by function and by file. */
export function summariseProfile(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const functions = new Map<string, number>();
  const files = new Map<string, number>();
  let totalMs = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) return;
    totalMs += ms;
    const file = frame.url === "" ? "(native)" : frame.url.replace(/^.*\/(main|canopy)\//, "");
    const name = `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber + 1}`;
    const label = frame.url === "" ? frame.functionName || "(program)" : name;
    functions.set(label, (functions.get(label) ?? 0) + ms);
    files.set(file, (files.get(file) ?? 0) + ms);
  });
  const sorted = (map: Map<string, number>) =>
    [...map].sort((a, b) => b[1] - a[1]).slice(0, top) as [string, number][];
  return { totalMs, functions: sorted(functions), files: sorted(files) };
}

/** A V8 inspector session on a process started with `--inspect`, for `Profiler.*` only. */
class InspectorProfiler {
  #socket: WebSocket;
  #nextId = 1;
  #pending = new Map<number, (result: Record<string, unknown>) => void>();

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.onmessage = (event) => {
      const message = JSON.parse(String(event.data));
      const resolve = this.#pending.get(message.id);
      if (resolve === undefined) return;
      this.#pending.delete(message.id);
      resolve(message.result ?? {});
    };
  }

  static async attach(port: number): Promise<InspectorProfiler> {
    const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    const socket = new WebSocket(targets[0].webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = reject;
    });
    return new InspectorProfiler(socket);
  }

  #call(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#socket.send(JSON.stringify({ id, method, params }));
    });
  }

  async start(): Promise<void> {
    await this.#call("Profiler.enable");
    await this.#call("Profiler.setSamplingInterval", { interval: 200 });
    await this.#call("Profiler.start");
  }

  /** Stops sampling, saves the raw profile at `path` and summarises it. */
  async stop(path: string): Promise<ProfileSummary> {
    const { profile } = await this.#call("Profiler.stop");
    await Deno.writeTextFile(path, JSON.stringify(profile));
    return summariseProfile(profile as CpuProfile);
  }

  close(): void {
    this.#socket.close();
  }
}

/** Where a run's raw profile goes (open it in Chrome DevTools' Performance panel). */
export function profilePath(mode: string, server: string): string {
  return `${Deno.env.get("TMPDIR") ?? "/tmp"}/canopy-compression-${mode}-${server}.cpuprofile`;
}

function cpuBetween(before: ProcessStats, after: ProcessStats): number {
  return after.cpuSeconds - before.cpuSeconds;
}

/** Options for `runCompressionBench()`. */
export interface CompressionBenchOptions {
  modes: readonly string[];
  messages: number;
  payloadBytes: number;
  rounds: number;
  timeoutMs: number;
  entry?: string;
  profile?: "hub" | "leaf";
  /** Progress lines (stderr by default). */
  progress?: (line: string) => void;
}

/** Every mode's rounds, and the best (highest msgs/s) complete one. */
export interface CompressionBenchSummary {
  readonly payloadBytes: number;
  readonly messages: number;
  readonly modes: readonly {
    readonly mode: string;
    readonly best?: CompressionMeasurement;
    readonly rounds: readonly CompressionMeasurement[];
    readonly errors: readonly string[];
  }[];
}

/**
 * Measures every mode `rounds` times, alternating modes and flipping their order every other
 * round so machine noise hits them alike; a round that lost messages is not eligible as best.
 */
export async function runCompressionBench(
  options: CompressionBenchOptions,
): Promise<CompressionBenchSummary> {
  const progress = options.progress ?? ((line: string) => console.error(line));
  const rounds = new Map(options.modes.map((mode) => [mode, [] as CompressionMeasurement[]]));
  const errors = new Map(options.modes.map((mode) => [mode, [] as string[]]));
  for (let round = 1; round <= options.rounds; round++) {
    const order = round % 2 === 1 ? options.modes : [...options.modes].reverse();
    for (const mode of order) {
      const prefix = `[compression ${mode} round ${round}/${options.rounds}]`;
      try {
        const m = await measureCompressedLink({
          mode,
          messages: options.messages,
          payloadBytes: options.payloadBytes,
          timeoutMs: options.timeoutMs,
          entry: options.entry,
          profile: options.profile,
        });
        rounds.get(mode)!.push(m);
        progress(
          `${prefix} ${Math.round(m.msgsPerSecond).toLocaleString("en-US")} msgs/s, ` +
            `${m.wireBytesPerMessage.toFixed(0)} B/msg on the wire, link ${m.linkLevel}, ` +
            `lost ${m.messages - m.received}`,
        );
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        errors.get(mode)!.push(message);
        progress(`${prefix} FAILED: ${message}`);
      }
    }
  }
  return {
    payloadBytes: options.payloadBytes,
    messages: options.messages,
    modes: options.modes.map((mode) => {
      const complete = rounds.get(mode)!.filter((m) => m.received === m.messages);
      const best = complete.reduce<CompressionMeasurement | undefined>(
        (top, m) => top === undefined || m.msgsPerSecond > top.msgsPerSecond ? m : top,
        undefined,
      );
      return { mode, best, rounds: rounds.get(mode)!, errors: errors.get(mode)! };
    }),
  };
}

function formatCount(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

/** A table of each mode's best round, then the ratios against the first mode (`off`). */
export function formatCompressionReport(summary: CompressionBenchSummary): string {
  const baseline = summary.modes[0]?.best;
  const rows = summary.modes.map(({ mode, best, errors }) => {
    if (best === undefined) return [mode, "FAILED", errors[0] ?? "lost messages", "", "", "", ""];
    return [
      mode,
      best.linkLevel,
      formatCount(best.msgsPerSecond),
      ((best.msgsPerSecond * best.payloadBytes) / 1e6).toFixed(0),
      best.wireBytesPerMessage.toFixed(0),
      `${best.hubCpuSeconds.toFixed(2)} / ${best.leafCpuSeconds.toFixed(2)}`,
      best.publisherCpuSeconds.toFixed(2),
    ];
  });
  const lines = [
    `Leaf→hub over one Canopy↔Canopy link, ${formatCount(summary.messages)} msgs of ` +
    `${summary.payloadBytes} B JSON, best round per mode`,
    "",
    ...formatTable(
      ["mode", "link", "msgs/s", "payload MB/s", "wire B/msg", "CPU s hub / leaf", "pub CPU s"],
      rows,
      { leftColumns: 2 },
    ),
  ];
  if (baseline !== undefined) {
    lines.push("");
    for (const { mode, best } of summary.modes.slice(1)) {
      if (best === undefined) continue;
      const speed = best.msgsPerSecond / baseline.msgsPerSecond;
      const bytes = best.wireBytesToHub / baseline.wireBytesToHub;
      // The target: at least 0.7x the messages while sending fewer bytes.
      const verdict = bytes >= 1
        ? "no fewer bytes, so no target"
        : `target >= 0.70: ${speed >= 0.7 ? "met" : "MISSED"}`;
      lines.push(
        `${mode} vs ${summary.modes[0].mode}: ${speed.toFixed(2)}x the msgs/s ` +
          `(${verdict}), ${bytes.toFixed(2)}x the bytes ` +
          `on the wire, ${(best.hubCpuSeconds / best.received * 1e6).toFixed(2)} vs ${
            (baseline.hubCpuSeconds / baseline.received * 1e6).toFixed(2)
          } hub CPU µs/msg, ` +
          `${(best.leafCpuSeconds / best.received * 1e6).toFixed(2)} vs ${
            (baseline.leafCpuSeconds / baseline.received * 1e6).toFixed(2)
          } leaf CPU µs/msg`,
      );
    }
  }
  for (const { mode, best } of summary.modes) {
    const profile = best?.profile;
    if (profile === undefined) continue;
    const share = (ms: number) =>
      `${ms.toFixed(0)} ms (${(100 * ms / profile.totalMs).toFixed(1)}%)`;
    lines.push("", `CPU profile, ${mode}: ${profile.totalMs.toFixed(0)} ms sampled`, "");
    lines.push(
      ...formatTable(
        ["self time by file", "ms"],
        profile.files.slice(0, 12).map(([file, ms]) => [file, share(ms)]),
        { leftColumns: 1 },
      ),
      "",
      ...formatTable(
        ["self time by function", "ms"],
        profile.functions.slice(0, 20).map(([name, ms]) => [name, share(ms)]),
        { leftColumns: 1 },
      ),
    );
  }
  return lines.join("\n");
}

/** True when a mode has no complete round. */
export function compressionBenchFailed(summary: CompressionBenchSummary): boolean {
  return summary.modes.some((m) => m.best === undefined);
}

/** The name of this workload in `deno task bench --workloads`. */
export const COMPRESSION_WORKLOAD = "leaf-compression";

/** What `run.ts` hands over: its own options, applied the way they apply to other workloads. */
export interface CompressionWorkloadOptions {
  quick: boolean;
  /** `--messages`, when given. */
  messages?: number;
  /** `--sizes`, when given; default 1 KiB. */
  sizes?: readonly number[];
  rounds: number;
  timeoutMs: number;
}

/** Messages per run at 1 KiB: about 2 s per `off` run and 4-5 s per `s2_fast` run on 2 cores. */
const DEFAULT_WORKLOAD_MESSAGES = 600_000;

/**
 * The `leaf-compression` workload of `deno task bench`: Canopy only (nats-server 2.9.10 has no
 * compression), `off` against `s2_fast` for each size. Returns the summaries, a printable
 * report and whether a mode failed.
 */
export async function runCompressionWorkload(options: CompressionWorkloadOptions): Promise<{
  summaries: CompressionBenchSummary[];
  report: string;
  failed: boolean;
}> {
  const summaries: CompressionBenchSummary[] = [];
  for (const payloadBytes of options.sizes ?? [1024]) {
    const base = options.messages ??
      Math.max(1000, Math.round(DEFAULT_WORKLOAD_MESSAGES * 1024 / payloadBytes));
    summaries.push(
      await runCompressionBench({
        modes: ["off", "s2_fast"],
        messages: options.quick && options.messages === undefined ? Math.round(base / 10) : base,
        payloadBytes,
        rounds: options.rounds,
        timeoutMs: options.timeoutMs,
      }),
    );
  }
  return {
    summaries,
    report: summaries.map(formatCompressionReport).join("\n\n"),
    failed: summaries.some(compressionBenchFailed),
  };
}

function positiveInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) {
    throw new RangeError(`Cannot parse "--${flag}": expected a positive integer, got "${text}"`);
  }
  return value;
}

function profileTarget(text: string | undefined): "hub" | "leaf" | undefined {
  if (text === undefined || text === "hub" || text === "leaf") return text;
  throw new RangeError(`Cannot parse "--profile": expected "hub" or "leaf", got "${text}"`);
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      modes: { type: "string", default: "off,s2_fast" },
      messages: { type: "string", default: "300000" },
      payload: { type: "string", default: "1024" },
      rounds: { type: "string", default: "2" },
      timeout: { type: "string", default: "120" },
      canopy: { type: "string" },
      profile: { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  const summary = await runCompressionBench({
    modes: values.modes.split(",").map((mode) => mode.trim()),
    messages: positiveInteger("messages", values.messages),
    payloadBytes: positiveInteger("payload", values.payload),
    rounds: positiveInteger("rounds", values.rounds),
    timeoutMs: positiveInteger("timeout", values.timeout) * 1000,
    entry: values.canopy,
    profile: profileTarget(values.profile),
  });
  if (values.json) console.log(JSON.stringify(summary, null, 2));
  else console.log(formatCompressionReport(summary));
  return compressionBenchFailed(summary) ? 1 : 0;
}

if (import.meta.main) {
  const stopOnSignal = () => {
    killAllChildren();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", stopOnSignal);
  Deno.addSignalListener("SIGTERM", stopOnSignal);
  let exitCode = 1;
  try {
    exitCode = await main(Deno.args);
  } catch (error) {
    console.error(`Benchmark failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    killAllChildren();
  }
  Deno.exit(exitCode);
}
