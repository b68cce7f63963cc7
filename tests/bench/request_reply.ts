/**
 * The request/reply load generator: a requester that sends one request at a time and times
 * each answer, and a responder that echoes every request to its reply subject. Both speak raw
 * NATS over Deno TCP (`MessageConnection`), and each runs in its own process, like
 * `load_generator.ts`; run as a script, this file is that process:
 *
 * ```
 * deno run -A tests/bench/request_reply.ts responder --port 4222 --subject bench.rr
 *   stdout {"event":"ready"}  stdin "stop"  stdout {"event":"result","responder":{...}}
 * deno run -A tests/bench/request_reply.ts requester --port 4223 --subject bench.rr \
 *     --payload 16 --requests 5000
 *   stdout {"event":"ready"}  stdin "go"  stdout {"event":"result","requester":{...}}
 * ```
 *
 * After "go" the requester first probes (short-timeout requests until one is answered: the
 * link is up and interest has crossed it both ways), then sends unmeasured warm-up requests
 * (Canopy's JIT and nats-server's buffers both settle), then the measured ones. A latency is
 * the time from just before the request's write to the parse of its answer, so it includes
 * both generators' event loops; they are the same for every target.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { readCpuSeconds } from "../helpers/process_stats.ts";
import { epochMs } from "./clock.ts";
import { type LatencySummary, summariseLatencies } from "./latency_stats.ts";
import { MessageConnection } from "./message_connection.ts";
import type { ReceivedMessage } from "./message_reader.ts";
import { emitEvent as emitAnyEvent, stdinLines, waitForCommand } from "./script_io.ts";
import type { Endpoint } from "./wire_connection.ts";

/** Default subject the responder listens on. */
export const DEFAULT_REQUEST_SUBJECT = "bench.rr";

/** A request not answered in this long is counted as lost and the next one is sent. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 1_000;

/** Unmeasured requests after the probe. */
export const DEFAULT_WARMUP_REQUESTS = 500;

/** How long the probe may take to get its first answer: start-up plus link set-up. */
export const DEFAULT_PROBE_TIMEOUT_MS = 10_000;

/** Each probe request gets this long before the next is sent. */
const PROBE_REQUEST_TIMEOUT_MS = 100;

/** How often the watchdog looks for a request past its timeout. */
const WATCHDOG_INTERVAL_MS = 20;

/** Raised when no probe is answered in time: the link or the interest is not there. */
export class RequestReplyError extends Error {
  override name = "RequestReplyError";
}

/** Options for `Requester.connect()`. */
export interface RequesterOptions {
  subject: string;
  payloadBytes: number;
  /** Measured requests. */
  requests: number;
  /** The whole run (probe, warm-up, measured requests) stops after this long. */
  timeoutMs: number;
  warmupRequests?: number;
  requestTimeoutMs?: number;
  probeTimeoutMs?: number;
}

/** What a requester measured. Times are `epochMs()` values. */
export interface RequesterReport {
  /** Measured requests asked for. */
  readonly requests: number;
  /** Measured requests answered in time; their latencies are in `latency`. */
  readonly answered: number;
  /** Measured requests not answered within the request timeout (or sent at all before the run timed out). */
  readonly lost: number;
  /** From "go" to the first answered probe. */
  readonly probeMs: number;
  readonly warmupRequests: number;
  readonly latency: LatencySummary;
  /** Just before the first measured request. */
  readonly startedAt: number;
  /** After the last measured answer. */
  readonly finishedAt: number;
  /** CPU seconds this process used in the measured phase. */
  readonly cpuSeconds: number;
  /** The connection's failure, if it failed. */
  readonly error?: string;
}

/** What a responder did. */
export interface ResponderReport {
  /** Answers written (probes and warm-up included). */
  readonly responded: number;
  readonly cpuSeconds: number;
}

/** One line a request/reply process prints on stdout. */
export type RequestReplyEvent =
  | { event: "ready" }
  | { event: "result"; requester: RequesterReport }
  | { event: "result"; responder: ResponderReport }
  | { event: "error"; message: string };

function emitEvent(event: RequestReplyEvent): void {
  emitAnyEvent(event);
}

const encoder = new TextEncoder();
const CRLF_LENGTH = 2;

/** A random inbox prefix, so concurrent runs never answer each other. */
function inboxPrefix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return `_INBOX.bench.${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}.`;
}

/** Sends requests one at a time and times each answer. */
export class Requester {
  #connection!: MessageConnection;
  #options: RequesterOptions;
  #inbox = inboxPrefix();
  /** Reused for every request: a request is only built once the previous one is finished. */
  #frame: Uint8Array;
  #payloadOffset = 0;
  /** The reply subject the outstanding request waits on. */
  #awaited: string | undefined;
  #sentAt = 0;
  #deadline = 0;
  #settle: ((latencyUs: number | undefined) => void) | undefined;

  private constructor(options: RequesterOptions) {
    this.#options = options;
    // Room for the longest header this run can write plus payload and CRLF.
    const longestHeader =
      `PUB ${options.subject} ${this.#inbox}p4294967295 ${options.payloadBytes}\r\n`;
    this.#frame = new Uint8Array(longestHeader.length + options.payloadBytes + CRLF_LENGTH);
  }

  /** Connects and subscribes to its inbox; nothing is requested until `run()`. */
  static async connect(endpoint: Endpoint, options: RequesterOptions): Promise<Requester> {
    const requester = new Requester(options);
    requester.#connection = await MessageConnection.open(endpoint, {
      name: "bench-requester",
      onMessage: (message) => requester.#receive(message),
    });
    try {
      await requester.#connection.ping(`SUB ${requester.#inbox}* 1\r\n`);
    } catch (error) {
      requester.#connection.close();
      throw error;
    }
    return requester;
  }

  /**
   * Probes, warms up and measures.
   *
   * @throws {RequestReplyError} when no probe is answered in time
   */
  async run(): Promise<RequesterReport> {
    const options = this.#options;
    const runDeadline = performance.now() + options.timeoutMs;
    const watchdog = setInterval(() => this.#checkTimeout(), WATCHDOG_INTERVAL_MS);
    try {
      const probeStarted = performance.now();
      await this.#probe(
        Math.min(options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS, options.timeoutMs),
      );
      const probeMs = performance.now() - probeStarted;
      const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
      const warmupRequests = options.warmupRequests ?? DEFAULT_WARMUP_REQUESTS;
      for (let index = 0; index < warmupRequests && performance.now() < runDeadline; index++) {
        await this.#request(`w${index}`, requestTimeoutMs);
      }
      const samples = new Float64Array(options.requests);
      let answered = 0;
      const cpuBefore = await readCpuSeconds(Deno.pid);
      const startedAt = epochMs();
      for (let index = 0; index < options.requests; index++) {
        if (performance.now() >= runDeadline || this.#connection.failure !== undefined) break;
        const latencyUs = await this.#request(String(index), requestTimeoutMs);
        if (latencyUs !== undefined) samples[answered++] = latencyUs;
      }
      const finishedAt = epochMs();
      const cpuSeconds = (await readCpuSeconds(Deno.pid)) - cpuBefore;
      const failure = this.#connection.failure;
      return {
        requests: options.requests,
        answered,
        lost: options.requests - answered,
        probeMs,
        warmupRequests,
        latency: summariseLatencies(samples.subarray(0, answered)),
        startedAt,
        finishedAt,
        cpuSeconds,
        ...(failure === undefined ? {} : { error: failure.message }),
      };
    } finally {
      clearInterval(watchdog);
    }
  }

  close(): void {
    this.#connection.close();
  }

  async #probe(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (let attempt = 0; performance.now() < deadline; attempt++) {
      const latency = await this.#request(`p${attempt}`, PROBE_REQUEST_TIMEOUT_MS);
      if (latency !== undefined) return;
      if (this.#connection.failure !== undefined) throw this.#connection.failure;
    }
    throw new RequestReplyError(
      `Cannot get an answer on "${this.#options.subject}" in ${timeoutMs} ms: ` +
        "no responder's interest reached the requester's server, or the answers never came back",
    );
  }

  /** Sends one request; resolves with its latency in µs, or undefined after `timeoutMs`. */
  async #request(token: string, timeoutMs: number): Promise<number | undefined> {
    const { subject, payloadBytes } = this.#options;
    const reply = `${this.#inbox}${token}`;
    const frame = this.#frame;
    const header = encoder.encodeInto(`PUB ${subject} ${reply} ${payloadBytes}\r\n`, frame);
    const payloadStart = header.written;
    if (payloadStart !== this.#payloadOffset) {
      // Header lengths change only when the token's length does; refill then.
      frame.fill(0x61, payloadStart, payloadStart + payloadBytes);
      this.#payloadOffset = payloadStart;
    }
    const end = payloadStart + payloadBytes + CRLF_LENGTH;
    frame[end - 2] = 0x0d;
    frame[end - 1] = 0x0a;
    const answer = new Promise<number | undefined>((resolve) => {
      this.#settle = resolve;
    });
    this.#awaited = reply;
    this.#sentAt = performance.now();
    this.#deadline = this.#sentAt + timeoutMs;
    const written = this.#connection.write(frame.subarray(0, end));
    // The frame buffer is reused by the next request: wait for the write too.
    const [latencyUs] = await Promise.all([answer, written.catch(() => {})]);
    return latencyUs;
  }

  #receive(message: ReceivedMessage): void {
    if (message.subject !== this.#awaited) return; // A late answer to a timed-out request.
    const latencyUs = (performance.now() - this.#sentAt) * 1000;
    this.#finish(latencyUs);
  }

  #checkTimeout(): void {
    if (this.#awaited === undefined) return;
    if (performance.now() >= this.#deadline || this.#connection.failure !== undefined) {
      this.#finish(undefined);
    }
  }

  #finish(latencyUs: number | undefined): void {
    const settle = this.#settle;
    this.#awaited = undefined;
    this.#settle = undefined;
    settle?.(latencyUs);
  }
}

/** Echoes every request to its reply subject, all answers of one socket read in one write. */
export class Responder {
  #connection!: MessageConnection;
  #pending = new Uint8Array(64 * 1024);
  #pendingLength = 0;
  #responded = 0;

  private constructor() {}

  /** Connects and subscribes; resolves once the subscription is confirmed. */
  static async connect(endpoint: Endpoint, subject: string): Promise<Responder> {
    const responder = new Responder();
    responder.#connection = await MessageConnection.open(endpoint, {
      name: "bench-responder",
      onMessage: (message) => responder.#answer(message),
      onReadEnd: () => responder.#flush(),
    });
    try {
      await responder.#connection.ping(`SUB ${subject} 1\r\n`);
    } catch (error) {
      responder.#connection.close();
      throw error;
    }
    return responder;
  }

  /** Answers written so far. */
  get responded(): number {
    return this.#responded;
  }

  /** The connection's failure, if any. */
  get failure(): Error | undefined {
    return this.#connection.failure;
  }

  close(): void {
    this.#connection.close();
  }

  #answer(message: ReceivedMessage): void {
    if (message.reply === undefined) return;
    const body = message.payload.subarray(message.headerBytes);
    const header = `PUB ${message.reply} ${body.length}\r\n`;
    // Worst case one byte per UTF-16 unit times three; subjects here are ASCII.
    this.#reserve(header.length * 3 + body.length + CRLF_LENGTH);
    const { written } = encoder.encodeInto(header, this.#pending.subarray(this.#pendingLength));
    this.#pendingLength += written;
    this.#pending.set(body, this.#pendingLength);
    this.#pendingLength += body.length;
    this.#pending[this.#pendingLength++] = 0x0d;
    this.#pending[this.#pendingLength++] = 0x0a;
    this.#responded++;
  }

  #reserve(bytes: number): void {
    const needed = this.#pendingLength + bytes;
    if (needed <= this.#pending.length) return;
    const grown = new Uint8Array(Math.max(needed, this.#pending.length * 2));
    grown.set(this.#pending.subarray(0, this.#pendingLength));
    this.#pending = grown;
  }

  #flush(): void {
    if (this.#pendingLength === 0) return;
    // A copy: the buffer fills again while this write is in flight.
    const bytes = this.#pending.slice(0, this.#pendingLength);
    this.#pendingLength = 0;
    this.#connection.write(bytes).catch(() => {});
  }
}

function integerOption(name: string, text: string | undefined): number {
  const value = Number(text);
  if (text === undefined || !Number.isInteger(value) || value < 0) {
    throw new RangeError(
      `Cannot start request/reply: "--${name}" must be an integer, got "${text}"`,
    );
  }
  return value;
}

async function main(args: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string" },
      subject: { type: "string", default: DEFAULT_REQUEST_SUBJECT },
      payload: { type: "string", default: "16" },
      requests: { type: "string", default: "5000" },
      warmup: { type: "string", default: String(DEFAULT_WARMUP_REQUESTS) },
      "timeout-ms": { type: "string", default: "60000" },
    },
  });
  const role = positionals[0];
  const endpoint = { hostname: values.host, port: integerOption("port", values.port) };
  const commands = stdinLines();
  if (role === "responder") {
    const responder = await Responder.connect(endpoint, values.subject);
    emitEvent({ event: "ready" });
    const cpuBefore = await readCpuSeconds(Deno.pid);
    // Stdin closing (the parent went away) ends the responder as well as "stop" does.
    await waitForCommand(commands, "stop").catch(() => {});
    const cpuSeconds = (await readCpuSeconds(Deno.pid)) - cpuBefore;
    responder.close();
    emitEvent({ event: "result", responder: { responded: responder.responded, cpuSeconds } });
  } else if (role === "requester") {
    const requester = await Requester.connect(endpoint, {
      subject: values.subject,
      payloadBytes: integerOption("payload", values.payload),
      requests: integerOption("requests", values.requests),
      warmupRequests: integerOption("warmup", values.warmup),
      timeoutMs: integerOption("timeout-ms", values["timeout-ms"]),
    });
    emitEvent({ event: "ready" });
    await waitForCommand(commands, "go");
    const report = await requester.run();
    requester.close();
    emitEvent({ event: "result", requester: report });
  } else {
    throw new RangeError(
      `Cannot start request/reply: role must be "requester" or "responder", got "${role}"`,
    );
  }
}

if (import.meta.main) {
  try {
    await main(Deno.args);
    Deno.exit(0);
  } catch (error) {
    emitEvent({ event: "error", message: error instanceof Error ? error.message : String(error) });
    Deno.exit(1);
  }
}
