/**
 * The leaf workloads: throughput leaf→hub (over plain TCP, mutual TLS or WebSocket) and
 * hub→leaf, and request/reply latency across the link, each on a fresh hub + leaf of one
 * implementation (`leaf_topology_process.ts`), with the CPU time and peak memory of both
 * server processes.
 *
 * @example
 * ```ts
 * import { measureLeafPubSub, measureLeafRequestReply } from "./leaf_workloads.ts";
 * import { natsServerTarget } from "./targets.ts";
 * const throughput = await measureLeafPubSub(natsServerTarget, {
 *   workload: "leaf-to-hub",
 *   payloadBytes: 128,
 *   messages: 200_000,
 *   timeoutMs: 30_000,
 * });
 * const latency = await measureLeafRequestReply(natsServerTarget, {
 *   payloadBytes: 128,
 *   requests: 5_000,
 *   timeoutMs: 30_000,
 * });
 * console.log(throughput.msgsPerSecond, latency.latency.p99Us);
 * ```
 *
 * @module
 */

import type { ProcessStats } from "../helpers/process_stats.ts";
import { awaitInterest } from "./interest_probe.ts";
import type { LatencySummary } from "./latency_stats.ts";
import {
  type LeafLink,
  type LeafTopology,
  startLeafTopology,
  type TopologyStats,
} from "./leaf_topology_process.ts";
import { ServerExitedError } from "./measure_target.ts";
import {
  type GeneratorUsage,
  type PubSubOptions,
  type PubSubResult,
  runPubSub,
} from "./pub_sub_workload.ts";
import {
  DEFAULT_REQUEST_SUBJECT,
  type RequesterReport,
  type ResponderReport,
} from "./request_reply.ts";
import { ScriptProcess } from "./script_process.ts";
import type { Target } from "./targets.ts";

/**
 * The throughput workloads across a link, named by the direction messages flow and, unless
 * plain TCP, the link's transport.
 */
export type LeafPubSubWorkload =
  | "leaf-to-hub"
  | "hub-to-leaf"
  | "leaf-to-hub-tls"
  | "leaf-to-hub-ws";

/** Where each throughput workload publishes, and over which link. */
const PUB_SUB_SHAPES: Readonly<
  Record<LeafPubSubWorkload, { readonly publisherOn: "leaf" | "hub"; readonly link: LeafLink }>
> = {
  "leaf-to-hub": { publisherOn: "leaf", link: "tcp" },
  "hub-to-leaf": { publisherOn: "hub", link: "tcp" },
  "leaf-to-hub-tls": { publisherOn: "leaf", link: "tls" },
  "leaf-to-hub-ws": { publisherOn: "leaf", link: "ws" },
};

/** What one server process spent during a measurement. */
export interface ServerUsage {
  /** User + system CPU seconds during the workload (start-up excluded). */
  readonly cpuSeconds: number;
  /** Peak RSS (`VmHWM`) since the process started, in bytes. */
  readonly peakRssBytes: number;
}

/** A leaf throughput run plus what both servers spent on it. */
export interface LeafPubSubMeasurement extends PubSubResult {
  readonly target: string;
  readonly workload: LeafPubSubWorkload;
  readonly hub: ServerUsage;
  readonly leaf: ServerUsage;
  /** How long the probe waited for the subscriber's interest to cross the link. */
  readonly probeMs: number;
}

/** Options for `measureLeafPubSub()`. */
export interface LeafPubSubOptions extends PubSubOptions {
  workload: LeafPubSubWorkload;
  /** Longest wait for the link and the subscriber's interest (default 10 s). */
  probeTimeoutMs?: number;
}

/** Options for `measureLeafRequestReply()`. */
export interface LeafRequestReplyOptions {
  payloadBytes: number;
  /** Measured requests, sent one at a time. */
  requests: number;
  /** Longest the requester may take for everything (probe, warm-up, requests). */
  timeoutMs: number;
  /** Unmeasured requests before the measured ones (default `DEFAULT_WARMUP_REQUESTS`). */
  warmupRequests?: number;
}

/** A request/reply run: requester on the leaf, responder on the hub. */
export interface RequestReplyMeasurement {
  readonly target: string;
  readonly payloadBytes: number;
  readonly requests: number;
  readonly answered: number;
  /** Requests with no answer within the request timeout; must be 0. */
  readonly lost: number;
  readonly latency: LatencySummary;
  /** Answered requests per second of the measured phase (one request in flight at a time). */
  readonly requestsPerSecond: number;
  readonly elapsedMs: number;
  /** From "go" to the first answered probe: link up and interest across both ways. */
  readonly probeMs: number;
  readonly requester: GeneratorUsage;
  readonly hub: ServerUsage;
  readonly leaf: ServerUsage;
  /** The requester connection's failure, if any. */
  readonly error?: string;
}

const REQUEST_REPLY_SCRIPT = new URL("./request_reply.ts", import.meta.url).pathname;
const DEFAULT_PROBE_TIMEOUT_MS = 10_000;
const STARTUP_TIMEOUT_MS = 30_000;

function usageBetween(before: ProcessStats, after: ProcessStats): ServerUsage {
  return { cpuSeconds: after.cpuSeconds - before.cpuSeconds, peakRssBytes: after.peakRssBytes };
}

function serverUsage(
  before: TopologyStats,
  after: TopologyStats,
): { hub: ServerUsage; leaf: ServerUsage } {
  return { hub: usageBetween(before.hub, after.hub), leaf: usageBetween(before.leaf, after.leaf) };
}

/**
 * Starts a topology of `target`, runs `body` on it, checks both servers survived, and always
 * stops them. A failure while a server is down is reported as that server's exit, with its log.
 */
async function withTopology<T>(
  target: Target,
  link: LeafLink,
  body: (topology: LeafTopology) => Promise<T>,
): Promise<T> {
  const topology = await startLeafTopology(target, { link });
  try {
    const result = await body(topology);
    topology.assertRunning();
    return result;
  } catch (error) {
    if (!(error instanceof ServerExitedError)) topology.assertRunning(error);
    throw error;
  } finally {
    await topology.stop();
  }
}

/**
 * Runs the pub/sub workload across a leaf link: for the `leaf-to-hub` workloads the publisher
 * is a client of the leaf and the subscriber one of the hub, for `hub-to-leaf` the other way
 * round; the link is plain TCP unless the name ends in `-tls` or `-ws`. The publisher starts
 * once a probe proved the subscriber's interest reached its server.
 *
 * @throws {ServerStartError} when the target cannot start; other errors when the run fails
 */
export function measureLeafPubSub(
  target: Target,
  options: LeafPubSubOptions,
): Promise<LeafPubSubMeasurement> {
  const shape = PUB_SUB_SHAPES[options.workload];
  return withTopology(target, shape.link, async (topology) => {
    const endpoints = shape.publisherOn === "leaf"
      ? { publisher: topology.leafEndpoint, subscriber: topology.hubEndpoint }
      : { publisher: topology.hubEndpoint, subscriber: topology.leafEndpoint };
    const before = await topology.readStats();
    let probeMs = 0;
    const result = await runPubSub(endpoints, {
      ...options,
      subject: options.subject ?? "bench.leaf",
      gate: async () => {
        probeMs = await awaitInterest(endpoints, {
          timeoutMs: options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS,
        });
      },
    });
    const after = await topology.readStats();
    return {
      ...result,
      target: target.name,
      workload: options.workload,
      ...serverUsage(before, after),
      probeMs,
    };
  });
}

function expectField<T>(event: unknown, field: string): T {
  const value = (event as Record<string, unknown>)[field];
  if (value === undefined) {
    throw new TypeError(`Cannot read ${field} result: got ${JSON.stringify(event)}`);
  }
  return value as T;
}

/**
 * Measures request/reply latency across a leaf link: a responder (a client of the hub) echoes
 * each request, a requester (a client of the leaf) sends them one at a time.
 *
 * @throws {ServerStartError} when the target cannot start; other errors when the run fails
 */
export function measureLeafRequestReply(
  target: Target,
  options: LeafRequestReplyOptions,
): Promise<RequestReplyMeasurement> {
  return withTopology(target, "tcp", async (topology) => {
    const before = await topology.readStats();
    const endpointArgs = (port: number) => ["--host", "127.0.0.1", "--port", String(port)];
    const responder = ScriptProcess.spawn(REQUEST_REPLY_SCRIPT, [
      "responder",
      ...endpointArgs(topology.hubEndpoint.port),
      "--subject",
      DEFAULT_REQUEST_SUBJECT,
    ]);
    const requester = ScriptProcess.spawn(REQUEST_REPLY_SCRIPT, [
      "requester",
      ...endpointArgs(topology.leafEndpoint.port),
      "--subject",
      DEFAULT_REQUEST_SUBJECT,
      "--payload",
      String(options.payloadBytes),
      "--requests",
      String(options.requests),
      "--timeout-ms",
      String(options.timeoutMs),
      ...(options.warmupRequests === undefined ? [] : ["--warmup", String(options.warmupRequests)]),
    ]);
    try {
      await Promise.all([
        responder.nextEvent(STARTUP_TIMEOUT_MS),
        requester.nextEvent(STARTUP_TIMEOUT_MS),
      ]);
      await requester.send("go");
      const report = expectField<RequesterReport>(
        await requester.nextEvent(options.timeoutMs + 5_000),
        "requester",
      );
      await responder.send("stop");
      // Only read so the responder's own failure, if any, surfaces here.
      expectField<ResponderReport>(await responder.nextEvent(5_000), "responder");
      const after = await topology.readStats();
      const elapsedMs = report.finishedAt - report.startedAt;
      return {
        target: target.name,
        payloadBytes: options.payloadBytes,
        requests: report.requests,
        answered: report.answered,
        lost: report.lost,
        latency: report.latency,
        requestsPerSecond: elapsedMs > 0 ? report.answered / (elapsedMs / 1000) : 0,
        elapsedMs,
        probeMs: report.probeMs,
        requester: {
          cpuSeconds: report.cpuSeconds,
          busy: elapsedMs > 0 ? report.cpuSeconds / (elapsedMs / 1000) : 0,
        },
        ...serverUsage(before, after),
        ...(report.error === undefined ? {} : { error: report.error }),
      };
    } finally {
      await Promise.all([requester.stop(), responder.stop()]);
    }
  });
}
