/**
 * The benchmark's load generator: a publisher and a subscriber speaking raw NATS over Deno TCP.
 *
 * Each runs in its own process (see `generator_process.ts`), apart from the server and from
 * each other, so neither steals the other's event loop. Run as a script, this file is that
 * child process: it prints JSON events on stdout, one per line, and takes commands on stdin.
 *
 * ```
 * deno run -A tests/bench/load_generator.ts pub --port 4222 --payload 128 --messages 1000000
 *   stdout {"event":"ready"}  stdin "go"  stdout {"event":"result",...}
 * deno run -A tests/bench/load_generator.ts sub --port 4222 --messages 1000000
 *   stdout {"event":"ready"}  (stdin "drain" once the publisher is done)  stdout {"event":"result",...}
 * ```
 *
 * Why the generator is not the bottleneck: the publisher's only per-message work is done once,
 * up front (one 64 KiB batch of identical PUB frames, written again and again), and the
 * subscriber reads the size from each MSG header and skips the payload without touching it.
 * `generator_ceiling.ts` measures both against null peers with no routing behind them; on the
 * 2-core development machine that ceiling was 15-22 M msgs/s at 16 B, 6-13 M at 128 B,
 * 2-3.7 M at 1 KiB and 0.16-0.25 M at 16 KiB, against nats-server's 3.3 M, 2.3 M, 0.7 M and
 * 0.047 M, while the publisher and subscriber processes were 5-25 % busy (CPU seconds per
 * wall second) during nats-server runs. `run.ts` prints the ceiling per size and warns when a
 * result comes within 30 % of it or a generator process is over 80 % busy.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { readCpuSeconds } from "../helpers/process_stats.ts";
import { epochMs } from "./clock.ts";
import { type Endpoint, WireConnection } from "./wire_connection.ts";

/** Bytes of PUB frames written per syscall. */
export const DEFAULT_BATCH_BYTES = 64 * 1024;

/**
 * Bytes the publisher sends between two PINGs. With `DEFAULT_WINDOWS_IN_FLIGHT` this bounds
 * how far the publisher can run ahead of the server to about 1.5 MiB (two unanswered windows
 * plus the one being written), the way a real publisher
 * that flushes now and then is bounded; without it a fast publisher can pile up data in the
 * server until it is cut off as a slow consumer.
 */
export const DEFAULT_WINDOW_BYTES = 512 * 1024;

/** Windows whose PONG the publisher has not seen yet before it waits. */
export const DEFAULT_WINDOWS_IN_FLIGHT = 2;

/** Options for `Publisher.connect()`. */
export interface PublisherOptions {
  subject: string;
  payloadBytes: number;
  messages: number;
  batchBytes?: number;
  windowBytes?: number;
  windowsInFlight?: number;
}

/** What a publisher did. Times are `epochMs()` values. */
export interface PublishReport {
  readonly messages: number;
  /** Just before the first write. */
  readonly startedAt: number;
  /** When the PONG after the last message arrived: the server has routed everything. */
  readonly finishedAt: number;
  /** CPU seconds this process used between `startedAt` and `finishedAt`. */
  readonly cpuSeconds: number;
}

/** Options for `Subscriber.connect()`. */
export interface SubscriberOptions {
  subject: string;
  /** Messages to wait for. */
  messages: number;
}

/** Options for `Subscriber.collect()`. */
export interface CollectOptions {
  /** Give up after this long and report what arrived. */
  timeoutMs: number;
  /**
   * Resolves once the publisher's final PONG arrived. The subscriber then stops waiting as soon
   * as it has seen its own PONG and no message for `quietMs`: on a single server the PONG
   * already follows every routed message; across several servers messages may still be on
   * their way, which is what the quiet period is for.
   */
  publisherDone?: Promise<void>;
  quietMs?: number;
}

/** What a subscriber received. Times are `epochMs()` values; 0 when nothing arrived. */
export interface SubscribeReport {
  readonly received: number;
  /** When the server confirmed the subscription (PONG after SUB). */
  readonly readyAt: number;
  readonly firstReceivedAt: number;
  readonly lastReceivedAt: number;
  /** CPU seconds this process used while collecting. */
  readonly cpuSeconds: number;
  /**
   * Why collecting ended: every message arrived, the stream drained short, time ran out, or the
   * server closed the connection (e.g. as a slow consumer).
   */
  readonly outcome: "complete" | "drained" | "timeout" | "closed";
  /** The connection's failure (a `-ERR` line, a reset) when there was one. */
  readonly error?: string;
}

const encoder = new TextEncoder();

/** Bytes of one `PUB <subject> <size>\r\n<payload>\r\n` frame. */
export function publishFrameBytes(subject: string, payloadBytes: number): number {
  return encoder.encode(`PUB ${subject} ${payloadBytes}\r\n`).length + payloadBytes + 2;
}

/** Builds `count` PUB frames (see `publishFrameBytes()`) back to back. */
export function buildPublishBatch(
  subject: string,
  payloadBytes: number,
  count: number,
): Uint8Array {
  const header = encoder.encode(`PUB ${subject} ${payloadBytes}\r\n`);
  const frameBytes = publishFrameBytes(subject, payloadBytes);
  const batch = new Uint8Array(frameBytes * count);
  for (let frame = 0; frame < count; frame++) {
    const start = frame * frameBytes;
    batch.set(header, start);
    // Printable filler: a payload with CRLFs in it would be just as valid, but this keeps
    // captured traffic readable.
    batch.fill(0x61 + (frame % 26), start + header.length, start + header.length + payloadBytes);
    batch[start + frameBytes - 2] = 0x0d;
    batch[start + frameBytes - 1] = 0x0a;
  }
  return batch;
}

/** Publishes N messages of one size in large batched writes, with PING/PONG flow control. */
export class Publisher {
  #connection: WireConnection;
  #options: PublisherOptions;

  private constructor(connection: WireConnection, options: PublisherOptions) {
    this.#connection = connection;
    this.#options = options;
  }

  /** Connects and completes the handshake; nothing is published until `run()`. */
  static async connect(endpoint: Endpoint, options: PublisherOptions): Promise<Publisher> {
    const connection = await WireConnection.open(endpoint, { name: "bench-publisher" });
    return new Publisher(connection, options);
  }

  /** Publishes every message and resolves once the server has acknowledged them all. */
  async run(): Promise<PublishReport> {
    const { subject, payloadBytes, messages } = this.#options;
    const batchBytes = this.#options.batchBytes ?? DEFAULT_BATCH_BYTES;
    const windowBytes = this.#options.windowBytes ?? DEFAULT_WINDOW_BYTES;
    const windowsInFlight = this.#options.windowsInFlight ?? DEFAULT_WINDOWS_IN_FLIGHT;
    const frameBytes = publishFrameBytes(subject, payloadBytes);
    const framesPerBatch = Math.max(1, Math.floor(batchBytes / frameBytes));
    const batch = buildPublishBatch(subject, payloadBytes, framesPerBatch);
    const batchesPerWindow = Math.max(1, Math.round(windowBytes / batch.length));
    const connection = this.#connection;
    const pongs: Promise<void>[] = [];

    const cpuBefore = await readCpuSeconds(Deno.pid);
    const startedAt = epochMs();
    let remaining = messages;
    let batchesInWindow = 0;
    while (remaining > 0) {
      const frames = Math.min(framesPerBatch, remaining);
      await connection.write(
        frames === framesPerBatch ? batch : batch.subarray(0, frames * frameBytes),
      );
      remaining -= frames;
      if (++batchesInWindow === batchesPerWindow && remaining > 0) {
        batchesInWindow = 0;
        const pong = connection.ping();
        // Awaited below; this only keeps an early rejection from counting as unhandled.
        pong.catch(() => {});
        pongs.push(pong);
        if (pongs.length > windowsInFlight) await pongs.shift();
      }
    }
    await Promise.all(pongs);
    await connection.ping();
    const finishedAt = epochMs();
    const cpuSeconds = (await readCpuSeconds(Deno.pid)) - cpuBefore;
    return { messages, startedAt, finishedAt, cpuSeconds };
  }

  close(): void {
    this.#connection.close();
  }
}

/** Arrival times of a subscriber's messages, updated once per socket read. */
class ArrivalTracker {
  firstAt = 0;
  lastAt = 0;
  #expected: number;
  #onComplete: (() => void) | undefined;

  constructor(expected: number) {
    this.#expected = expected;
  }

  /** Calls `callback` (once) when the expected count is reached; replaces any earlier one. */
  onComplete(callback: (() => void) | undefined): void {
    this.#onComplete = callback;
  }

  record(frames: number): void {
    const now = epochMs();
    if (this.firstAt === 0) this.firstAt = now;
    this.lastAt = now;
    if (frames >= this.#expected) this.#onComplete?.();
  }
}

/** Subscribes to a subject and counts messages until all arrived, the stream drained, or time ran out. */
export class Subscriber {
  #connection: WireConnection;
  #arrivals: ArrivalTracker;
  #expected: number;
  #readyAt: number;

  private constructor(connection: WireConnection, arrivals: ArrivalTracker, expected: number) {
    this.#connection = connection;
    this.#arrivals = arrivals;
    this.#expected = expected;
    this.#readyAt = epochMs();
  }

  /** Connects, subscribes and waits for the PONG that proves the subscription is registered. */
  static async connect(endpoint: Endpoint, options: SubscriberOptions): Promise<Subscriber> {
    const arrivals = new ArrivalTracker(options.messages);
    const connection = await WireConnection.open(endpoint, {
      name: "bench-subscriber",
      onFrames: (frames) => arrivals.record(frames),
    });
    try {
      await connection.ping(`SUB ${options.subject} 1\r\n`);
    } catch (error) {
      connection.close();
      throw error;
    }
    return new Subscriber(connection, arrivals, options.messages);
  }

  /** Waits for the expected messages; see `CollectOptions` for when it gives up earlier. */
  async collect(options: CollectOptions): Promise<SubscribeReport> {
    const connection = this.#connection;
    const arrivals = this.#arrivals;
    const cpuBefore = await readCpuSeconds(Deno.pid);
    let outcome: SubscribeReport["outcome"] = "timeout";
    let finished = false;
    const timers: ReturnType<typeof setTimeout>[] = [];
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => timers.push(setTimeout(resolve, ms)));
    const complete = new Promise<"complete">((resolve) => {
      arrivals.onComplete(() => resolve("complete"));
      if (connection.frames >= this.#expected) resolve("complete");
    });
    const drained = options.publisherDone === undefined
      ? new Promise<never>(() => {})
      : options.publisherDone.then(async () => {
        await connection.ping();
        const quietMs = options.quietMs ?? 200;
        while (!finished && epochMs() - Math.max(arrivals.lastAt, this.#readyAt) < quietMs) {
          await sleep(quietMs / 4);
        }
        return "drained" as const;
      });
    const closed = connection.done.then(() => "closed" as const);
    const timedOut = sleep(options.timeoutMs).then(() => "timeout" as const);
    try {
      outcome = await Promise.race([complete, drained, closed, timedOut]);
    } finally {
      finished = true;
      for (const timer of timers) clearTimeout(timer);
      arrivals.onComplete(undefined);
    }
    const cpuSeconds = (await readCpuSeconds(Deno.pid)) - cpuBefore;
    return {
      received: connection.frames,
      readyAt: this.#readyAt,
      firstReceivedAt: arrivals.firstAt,
      lastReceivedAt: arrivals.lastAt,
      cpuSeconds,
      outcome,
      ...(connection.failure === undefined ? {} : { error: connection.failure.message }),
    };
  }

  close(): void {
    this.#connection.close();
  }
}

/** One line a generator process prints on stdout. */
export type GeneratorEvent =
  | { event: "ready" }
  | { event: "result"; publish: PublishReport }
  | { event: "result"; subscribe: SubscribeReport }
  | { event: "error"; message: string };

function emit(event: GeneratorEvent): void {
  console.log(JSON.stringify(event));
}

/** Resolves with each line of stdin as it arrives (the parent's commands). */
async function* stdinLines(): AsyncGenerator<string> {
  let pending = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    let newline;
    while ((newline = pending.indexOf("\n")) !== -1) {
      yield pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
    }
  }
}

async function waitForCommand(lines: AsyncGenerator<string>, command: string): Promise<void> {
  for await (const line of lines) {
    if (line === command) return;
  }
  throw new Error(`Cannot wait for "${command}": stdin closed`);
}

async function main(args: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string" },
      subject: { type: "string", default: "bench.pubsub" },
      payload: { type: "string", default: "16" },
      messages: { type: "string" },
      "timeout-ms": { type: "string", default: "60000" },
      "window-bytes": { type: "string", default: String(DEFAULT_WINDOW_BYTES) },
    },
  });
  const role = positionals[0];
  const endpoint = { hostname: values.host, port: Number(values.port) };
  const messages = Number(values.messages);
  if (!Number.isInteger(endpoint.port) || !Number.isInteger(messages) || messages <= 0) {
    throw new RangeError(`Cannot start ${role}: "--port" and "--messages" must be integers`);
  }
  const lines = stdinLines();
  if (role === "pub") {
    const publisher = await Publisher.connect(endpoint, {
      subject: values.subject,
      payloadBytes: Number(values.payload),
      messages,
      windowBytes: Number(values["window-bytes"]),
    });
    emit({ event: "ready" });
    await waitForCommand(lines, "go");
    const publish = await publisher.run();
    publisher.close();
    emit({ event: "result", publish });
  } else if (role === "sub") {
    const subscriber = await Subscriber.connect(endpoint, { subject: values.subject, messages });
    emit({ event: "ready" });
    const subscribe = await subscriber.collect({
      timeoutMs: Number(values["timeout-ms"]),
      publisherDone: waitForCommand(lines, "drain"),
    });
    subscriber.close();
    emit({ event: "result", subscribe });
  } else {
    throw new RangeError(`Cannot start generator: role must be "pub" or "sub", got "${role}"`);
  }
}

if (import.meta.main) {
  try {
    await main(Deno.args);
    Deno.exit(0);
  } catch (error) {
    emit({ event: "error", message: error instanceof Error ? error.message : String(error) });
    Deno.exit(1);
  }
}
