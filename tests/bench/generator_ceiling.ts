/**
 * Measures how fast the load generator itself can go, against null peers (`null_peer.ts`) that
 * route nothing. If a server's result comes close to this ceiling, the generator (not the
 * server) was the limit, and the report says so.
 *
 * @example
 * ```ts
 * import { measureGeneratorCeiling } from "./generator_ceiling.ts";
 * const ceiling = await measureGeneratorCeiling({ payloadBytes: 16, messages: 1_000_000, timeoutMs: 30_000 });
 * console.log(ceiling.publishMsgsPerSecond, ceiling.subscribeMsgsPerSecond);
 * ```
 *
 * @module
 */

import { freePort } from "../helpers/free_port.ts";
import { GeneratorProcess } from "./generator_process.ts";
import type { GeneratorEvent } from "./load_generator.ts";
import { type ServerProcess, startServerProcess } from "./server_process.ts";

const NULL_PEER_SCRIPT = new URL("./null_peer.ts", import.meta.url).pathname;
const STARTUP_TIMEOUT_MS = 30_000;

/** Options for `measureGeneratorCeiling()`. */
export interface CeilingOptions {
  payloadBytes: number;
  messages: number;
  timeoutMs: number;
  /** Same flow-control window as the real runs, so the ceiling includes its cost. */
  windowBytes?: number;
}

/** The generator's own limits for one payload size. */
export interface GeneratorCeiling {
  readonly payloadBytes: number;
  /** Publisher into a sink that only counts and answers PINGs. */
  readonly publishMsgsPerSecond: number;
  /** Subscriber fed by a source that writes pre-built MSG batches. */
  readonly subscribeMsgsPerSecond: number;
  /** The smaller of the two: no server can be measured above this. */
  readonly msgsPerSecond: number;
}

/** Runs the publisher against a sink, then the subscriber against a source. */
export async function measureGeneratorCeiling(options: CeilingOptions): Promise<GeneratorCeiling> {
  const publishMsgsPerSecond = await measurePublisher(options);
  const subscribeMsgsPerSecond = await measureSubscriber(options);
  return {
    payloadBytes: options.payloadBytes,
    publishMsgsPerSecond,
    subscribeMsgsPerSecond,
    msgsPerSecond: Math.min(publishMsgsPerSecond, subscribeMsgsPerSecond),
  };
}

function startNullPeer(port: number, args: string[]): Promise<ServerProcess> {
  return startServerProcess({
    name: `null peer (${args[0]})`,
    command: Deno.execPath(),
    args: ["run", "-A", NULL_PEER_SCRIPT, ...args, "-p", String(port)],
  });
}

async function measurePublisher(options: CeilingOptions): Promise<number> {
  const port = freePort();
  const sink = await startNullPeer(port, ["sink"]);
  const publisher = GeneratorProcess.spawn("pub", [
    "--port",
    String(port),
    "--payload",
    String(options.payloadBytes),
    "--messages",
    String(options.messages),
    ...(options.windowBytes === undefined ? [] : ["--window-bytes", String(options.windowBytes)]),
  ]);
  try {
    await publisher.nextEvent(STARTUP_TIMEOUT_MS);
    await publisher.send("go");
    const event = await publisher.nextEvent(options.timeoutMs);
    if (!isResult(event) || !("publish" in event)) throw unexpected(event);
    const seconds = (event.publish.finishedAt - event.publish.startedAt) / 1000;
    return event.publish.messages / seconds;
  } finally {
    await Promise.all([publisher.stop(), sink.stop()]);
  }
}

async function measureSubscriber(options: CeilingOptions): Promise<number> {
  const port = freePort();
  const source = await startNullPeer(port, [
    "source",
    "--payload",
    String(options.payloadBytes),
    "--messages",
    String(options.messages),
  ]);
  const subscriber = GeneratorProcess.spawn("sub", [
    "--port",
    String(port),
    "--messages",
    String(options.messages),
    "--timeout-ms",
    String(options.timeoutMs),
  ]);
  try {
    // The source starts streaming as soon as the subscription is confirmed: no "go" needed.
    await subscriber.nextEvent(STARTUP_TIMEOUT_MS);
    const event = await subscriber.nextEvent(options.timeoutMs + 5_000);
    if (!isResult(event) || !("subscribe" in event)) throw unexpected(event);
    const report = event.subscribe;
    const seconds = (report.lastReceivedAt - report.readyAt) / 1000;
    return seconds > 0 ? report.received / seconds : 0;
  } finally {
    await Promise.all([subscriber.stop(), source.stop()]);
  }
}

function isResult(event: GeneratorEvent): event is Extract<GeneratorEvent, { event: "result" }> {
  return event.event === "result";
}

function unexpected(event: GeneratorEvent): TypeError {
  return new TypeError(`Cannot measure generator ceiling: got ${JSON.stringify(event)}`);
}
