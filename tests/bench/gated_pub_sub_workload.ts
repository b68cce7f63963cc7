/**
 * The pub/sub workload (one publisher, one subscriber, one subject, each a `load_generator.ts`
 * process) with a gate between "subscriber registered" and "publisher starts": across a
 * leafnode link the subscription is confirmed by its own server long before the publisher's
 * server knows about it, and messages published in between are dropped there. The gate is
 * where the caller waits for that interest to arrive (`interest_probe.ts`).
 *
 * It measures exactly what `runPubSub()` measures and returns the same `PubSubResult`.
 *
 * @example
 * ```ts
 * import { runGatedPubSub } from "./gated_pub_sub_workload.ts";
 * import { awaitInterest } from "./interest_probe.ts";
 * const leaf = { hostname: "127.0.0.1", port: 4223 };
 * const hub = { hostname: "127.0.0.1", port: 4222 };
 * const endpoints = { publisher: leaf, subscriber: hub };
 * const result = await runGatedPubSub(endpoints, {
 *   payloadBytes: 128,
 *   messages: 100_000,
 *   timeoutMs: 30_000,
 *   gate: () => awaitInterest(endpoints, { timeoutMs: 10_000 }),
 * });
 * console.log(result.msgsPerSecond, result.lost);
 * ```
 *
 * @module
 */

import { GeneratorProcess } from "./generator_process.ts";
import type { PublishReport, SubscribeReport } from "./load_generator.ts";
import type {
  GeneratorUsage,
  PubSubEndpoints,
  PubSubOptions,
  PubSubResult,
} from "./pub_sub_workload.ts";
import type { Endpoint } from "./wire_connection.ts";

/** Options for `runGatedPubSub()`. */
export interface GatedPubSubOptions extends PubSubOptions {
  /**
   * Runs once the subscriber's SUB is confirmed and the publisher is connected, before the
   * first message; the run fails if it rejects. Its result is not used.
   */
  gate: () => Promise<unknown>;
}

/** Time allowed for a generator process to start Deno, connect and subscribe. */
const STARTUP_TIMEOUT_MS = 30_000;

/**
 * Runs the workload once: subscriber and publisher start, the gate opens, the publisher sends
 * every message and waits for its final PONG, then the subscriber is told to drain and
 * reports. Both generator processes are stopped before this returns, also on failure.
 */
export async function runGatedPubSub(
  endpoints: PubSubEndpoints,
  options: GatedPubSubOptions,
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
    await Promise.all([
      subscriber.nextEvent(STARTUP_TIMEOUT_MS),
      publisher.nextEvent(STARTUP_TIMEOUT_MS),
    ]);
    await options.gate();
    await publisher.send("go");
    const publish = expectReport(await publisher.nextEvent(options.timeoutMs), "publish");
    await subscriber.send("drain");
    const subscribe = expectReport(
      await subscriber.nextEvent(options.timeoutMs + 5_000),
      "subscribe",
    );
    return summarisePubSub(options.payloadBytes, publish, subscribe);
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

/**
 * The figures of one run from the two generators' reports, computed as `runPubSub()` does:
 * throughput over the time from the publisher's first write to the subscriber's last receive.
 */
export function summarisePubSub(
  payloadBytes: number,
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
    payloadBytes,
    sent: publish.messages,
    received: subscribe.received,
    lost: publish.messages - subscribe.received,
    elapsedMs,
    msgsPerSecond,
    payloadMBPerSecond: (msgsPerSecond * payloadBytes) / 1e6,
    publisher: usage(publish.cpuSeconds, publisherSeconds),
    subscriber: usage(subscribe.cpuSeconds, subscriberSeconds),
    outcome: subscribe.outcome,
    ...(subscribe.error === undefined ? {} : { subscriberError: subscribe.error }),
  };
}

function usage(cpuSeconds: number, wallSeconds: number): GeneratorUsage {
  return { cpuSeconds, busy: wallSeconds > 0 ? cpuSeconds / wallSeconds : 0 };
}
