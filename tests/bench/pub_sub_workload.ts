/**
 * Workload: one publisher, one subscriber, one subject. The endpoints are parameters so the same
 * workload runs on one server (both on the same port) or across servers, e.g. publishing on a
 * leaf and subscribing on its hub.
 *
 * @example
 * ```ts
 * import { runPubSub } from "./pub_sub_workload.ts";
 * const server = { hostname: "127.0.0.1", port: 4222 };
 * const result = await runPubSub(
 *   { publisher: server, subscriber: server },
 *   { payloadBytes: 128, messages: 100_000, timeoutMs: 30_000 },
 * );
 * console.log(result.msgsPerSecond, result.lost);
 * ```
 *
 * @module
 */

import { GeneratorProcess } from "./generator_process.ts";
import type { PublishReport, SubscribeReport } from "./load_generator.ts";
import type { Endpoint } from "./wire_connection.ts";

/** Where each side of the workload connects. */
export interface PubSubEndpoints {
  readonly publisher: Endpoint;
  readonly subscriber: Endpoint;
}

/** Options for `runPubSub()`. */
export interface PubSubOptions {
  payloadBytes: number;
  messages: number;
  /** Longest the publisher and the subscriber may each take. */
  timeoutMs: number;
  subject?: string;
  /** Bytes between two PINGs of the publisher; see `DEFAULT_WINDOW_BYTES`. */
  windowBytes?: number;
  /**
   * Runs once the subscriber's SUB is confirmed and the publisher is connected, before the
   * first message; the run fails if it rejects. Across a leafnode link this is where the
   * caller waits for the interest to reach the publisher's server (`interest_probe.ts`).
   */
  gate?: () => Promise<unknown>;
}

/** Resource use of one generator process during its part of the run. */
export interface GeneratorUsage {
  readonly cpuSeconds: number;
  /**
   * CPU seconds per wall-clock second of its own activity. Close to 1 means that process was
   * saturated and may have limited the result (Deno runs one JS thread, plus some I/O).
   */
  readonly busy: number;
}

/** What one pub/sub run measured. */
export interface PubSubResult {
  readonly payloadBytes: number;
  readonly sent: number;
  readonly received: number;
  /** `sent - received`; must be 0. */
  readonly lost: number;
  /** From the publisher's first write to the subscriber's last receive. */
  readonly elapsedMs: number;
  /** Received messages per second over `elapsedMs`. */
  readonly msgsPerSecond: number;
  /** Received payload bytes per second over `elapsedMs`, in MB (10^6 bytes). */
  readonly payloadMBPerSecond: number;
  readonly publisher: GeneratorUsage;
  readonly subscriber: GeneratorUsage;
  /** Why the subscriber stopped waiting; see `SubscribeReport.outcome`. */
  readonly outcome: SubscribeReport["outcome"];
  /** The subscriber connection's failure, if any (e.g. closed as a slow consumer). */
  readonly subscriberError?: string;
}

/** Time allowed for a generator process to start Deno, connect and subscribe. */
const STARTUP_TIMEOUT_MS = 30_000;

/**
 * Runs the workload once: subscriber first (SUB confirmed by PONG), then the publisher sends
 * every message and waits for its final PONG, then the subscriber is told to drain and reports.
 * Both generator processes are stopped before this returns, also on failure.
 */
export async function runPubSub(
  endpoints: PubSubEndpoints,
  options: PubSubOptions,
): Promise<PubSubResult> {
  const common = [
    "--subject",
    options.subject ?? "bench.pubsub",
    "--messages",
    String(options.messages),
    "--timeout-ms",
    String(options.timeoutMs),
  ];
  const subscriber = GeneratorProcess.spawn("sub", [
    ...endpointArgs(endpoints.subscriber),
    ...common,
  ]);
  const publisher = GeneratorProcess.spawn("pub", [
    ...endpointArgs(endpoints.publisher),
    ...common,
    "--payload",
    String(options.payloadBytes),
    ...(options.windowBytes === undefined ? [] : ["--window-bytes", String(options.windowBytes)]),
  ]);
  try {
    // Both start in parallel; only the subscriber must be registered before anything is sent.
    await Promise.all([
      subscriber.nextEvent(STARTUP_TIMEOUT_MS),
      publisher.nextEvent(STARTUP_TIMEOUT_MS),
    ]);
    await options.gate?.();
    await publisher.send("go");
    const publish = expectReport(await publisher.nextEvent(options.timeoutMs), "publish");
    await subscriber.send("drain");
    const subscribe = expectReport(
      await subscriber.nextEvent(options.timeoutMs + 5_000),
      "subscribe",
    );
    return summarise(options, publish, subscribe);
  } finally {
    await Promise.all([publisher.stop(), subscriber.stop()]);
  }
}

function endpointArgs(endpoint: Endpoint): string[] {
  return ["--host", endpoint.hostname, "--port", String(endpoint.port)];
}

function expectReport(event: unknown, kind: "publish"): PublishReport;
function expectReport(event: unknown, kind: "subscribe"): SubscribeReport;
function expectReport(event: unknown, kind: string): unknown {
  const report = (event as Record<string, unknown>)[kind];
  if (report === undefined) {
    throw new TypeError(`Cannot read ${kind} result: got ${JSON.stringify(event)}`);
  }
  return report;
}

function summarise(
  options: PubSubOptions,
  publish: PublishReport,
  subscribe: SubscribeReport,
): PubSubResult {
  const elapsedMs = subscribe.received > 0 ? subscribe.lastReceivedAt - publish.startedAt : 0;
  const seconds = elapsedMs / 1000;
  const msgsPerSecond = seconds > 0 ? subscribe.received / seconds : 0;
  const publisherSeconds = (publish.finishedAt - publish.startedAt) / 1000;
  const subscriberSeconds = subscribe.received > 0
    ? (subscribe.lastReceivedAt - subscribe.firstReceivedAt) / 1000
    : 0;
  return {
    payloadBytes: options.payloadBytes,
    sent: publish.messages,
    received: subscribe.received,
    lost: publish.messages - subscribe.received,
    elapsedMs,
    msgsPerSecond,
    payloadMBPerSecond: (msgsPerSecond * options.payloadBytes) / 1e6,
    publisher: usage(publish.cpuSeconds, publisherSeconds),
    subscriber: usage(subscribe.cpuSeconds, subscriberSeconds),
    outcome: subscribe.outcome,
    ...(subscribe.error === undefined ? {} : { subscriberError: subscribe.error }),
  };
}

function usage(cpuSeconds: number, wallSeconds: number): GeneratorUsage {
  return { cpuSeconds, busy: wallSeconds > 0 ? cpuSeconds / wallSeconds : 0 };
}
