/**
 * A bare NATS client connection that hands every received message (subject, reply subject,
 * payload) to a callback, for the request/reply workload. It speaks the text protocol over
 * `Deno.connect` like `WireConnection`, which only counts frames and is the one to use for
 * throughput.
 *
 * @example
 * ```ts
 * import { MessageConnection } from "./message_connection.ts";
 * const connection = await MessageConnection.open({ hostname: "127.0.0.1", port: 4222 }, {
 *   onMessage: (message) => console.log(message.subject, message.reply),
 * });
 * await connection.ping("SUB svc 1\r\n");
 * connection.close();
 * ```
 *
 * @module
 */

import { MessageReader, type ReceivedMessage } from "./message_reader.ts";
import { type Endpoint, WireConnectionError, withTimeout } from "./wire_connection.ts";

/** Options for `MessageConnection.open()`. */
export interface MessageConnectionOptions {
  /** Sent as `name` in CONNECT. */
  name?: string;
  /** Called for every `MSG`/`HMSG`; the payload is only valid during the call. */
  onMessage: (message: ReceivedMessage) => void;
  /** Called after each socket read has been parsed: the place to flush batched answers. */
  onReadEnd?: () => void;
  /** How long the INFO / CONNECT / PING handshake may take. */
  handshakeTimeoutMs?: number;
}

const encoder = new TextEncoder();
const PING = encoder.encode("PING\r\n");
const PONG = encoder.encode("PONG\r\n");

/**
 * One client connection with a background read loop that parses messages, answers server
 * PINGs and resolves `ping()` calls in order. Writes are serialised so a PONG can never land
 * inside a caller's frame.
 */
export class MessageConnection {
  #conn: Deno.TcpConn;
  #reader: MessageReader;
  #onReadEnd: (() => void) | undefined;
  #pongWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  #infoWaiter: { resolve: () => void; reject: (error: Error) => void } | undefined;
  #failure: Error | undefined;
  #writeTail: Promise<void> = Promise.resolve();
  #closed = false;
  #readLoopDone: Promise<void>;

  private constructor(conn: Deno.TcpConn, options: MessageConnectionOptions) {
    this.#conn = conn;
    this.#onReadEnd = options.onReadEnd;
    this.#reader = new MessageReader({
      onMessage: options.onMessage,
      onControlLine: (line) => this.#handleControlLine(line),
    });
    this.#readLoopDone = this.#readLoop();
  }

  /**
   * Connects, waits for INFO, sends CONNECT (non-verbose, headers off) and PING, and resolves
   * once the PONG arrives.
   *
   * @throws {WireConnectionError} when the server refuses the connection or stays silent
   */
  static async open(
    endpoint: Endpoint,
    options: MessageConnectionOptions,
  ): Promise<MessageConnection> {
    const conn = await Deno.connect({ hostname: endpoint.hostname, port: endpoint.port });
    conn.setNoDelay(true);
    const connection = new MessageConnection(conn, options);
    const timeoutMs = options.handshakeTimeoutMs ?? 10_000;
    try {
      const info = new Promise<void>((resolve, reject) => {
        connection.#infoWaiter = { resolve, reject };
      });
      await withTimeout(info, timeoutMs, "INFO");
      const connect = JSON.stringify({
        verbose: false,
        pedantic: false,
        lang: "deno-raw-bench",
        version: "0.0.0",
        protocol: 1,
        name: options.name ?? "bench",
      });
      await withTimeout(connection.ping(`CONNECT ${connect}\r\n`), timeoutMs, "PONG");
    } catch (error) {
      connection.close();
      throw error;
    }
    return connection;
  }

  /** Writes all of `bytes`, after any write already in progress. */
  write(bytes: Uint8Array): Promise<void> {
    const next = this.#writeTail.then(() => this.#writeAll(bytes));
    this.#writeTail = next.catch(() => {});
    return next;
  }

  /** Sends `PING` (after `prefix`, in the same write) and resolves when its `PONG` arrives. */
  ping(prefix = ""): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const pong = new Promise<void>((resolve, reject) => {
      this.#pongWaiters.push({ resolve, reject });
    });
    this.write(prefix === "" ? PING : encoder.encode(`${prefix}PING\r\n`))
      .catch((error) => this.#fail(asError(error)));
    return pong;
  }

  /** Why the connection failed (`-ERR`, reset, server hung up), if it did. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Resolves when the read loop has ended. */
  get done(): Promise<void> {
    return this.#readLoopDone;
  }

  /** Closes the socket; pending `ping()` calls reject. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer.
    }
    this.#fail(new WireConnectionError("Cannot wait for PONG: connection closed"));
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let written = 0;
    while (written < bytes.length) {
      written += await this.#conn.write(written === 0 ? bytes : bytes.subarray(written));
    }
  }

  async #readLoop(): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const count = await this.#conn.read(buffer);
        if (count === null) break;
        this.#reader.push(buffer.subarray(0, count));
        this.#onReadEnd?.();
      }
      this.#fail(new WireConnectionError("Cannot read: server closed the connection"));
    } catch (error) {
      if (!this.#closed) this.#fail(asError(error));
    }
  }

  #handleControlLine(line: string): void {
    if (line.startsWith("PONG")) {
      this.#pongWaiters.shift()?.resolve();
    } else if (line.startsWith("PING")) {
      this.write(PONG).catch((error) => this.#fail(asError(error)));
    } else if (line.startsWith("INFO")) {
      const waiter = this.#infoWaiter;
      this.#infoWaiter = undefined;
      waiter?.resolve();
    } else if (line.startsWith("-ERR")) {
      this.#fail(new WireConnectionError(`Server sent ${line}`));
    }
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    this.#infoWaiter?.reject(this.#failure);
    this.#infoWaiter = undefined;
    const waiters = this.#pongWaiters;
    this.#pongWaiters = [];
    for (const waiter of waiters) waiter.reject(this.#failure);
  }
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
