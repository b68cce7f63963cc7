/**
 * A bare NATS client connection over `Deno.connect`, speaking the text protocol directly so the
 * benchmark measures the server and not a client library.
 *
 * @example
 * ```ts
 * import { WireConnection } from "./wire_connection.ts";
 * const connection = await WireConnection.open({ hostname: "127.0.0.1", port: 4222 });
 * await connection.write(new TextEncoder().encode("PUB greet 2\r\nhi\r\n"));
 * await connection.ping();
 * connection.close();
 * ```
 *
 * @module
 */

import { FrameScanner } from "./frame_scanner.ts";

/** Where a server accepts client connections. */
export interface Endpoint {
  readonly hostname: string;
  readonly port: number;
}

/** Options for `WireConnection.open()`. */
export interface WireConnectionOptions {
  /** Sent as `name` in CONNECT; shows up in the server's logs and monitoring. */
  name?: string;
  /**
   * Size of the reused read buffer. 256 KiB lets one read take many small messages or several
   * 16 KiB ones, so the per-read cost (an async op) is spread over many frames.
   */
  readBufferBytes?: number;
  /** Called after every read that contained at least one payload frame, with the new total. */
  onFrames?: (frames: number) => void;
  /** How long the INFO / CONNECT / PING handshake may take. */
  handshakeTimeoutMs?: number;
}

/** Raised when the server sends `-ERR`, closes the connection, or does not answer in time. */
export class WireConnectionError extends Error {
  override name = "WireConnectionError";
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const PING = encoder.encode("PING\r\n");
const PONG = encoder.encode("PONG\r\n");

/**
 * One client connection. A background read loop counts payload frames (see `FrameScanner`),
 * answers server PINGs and resolves `ping()` calls in order as PONGs arrive. Writes are
 * serialised so a PONG reply can never land inside a caller's batch.
 */
export class WireConnection {
  #conn: Deno.TcpConn;
  #scanner: FrameScanner;
  #onFrames: ((frames: number) => void) | undefined;
  #pongWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  #infoWaiter: { resolve: (info: string) => void; reject: (error: Error) => void } | undefined;
  #failure: Error | undefined;
  #writeTail: Promise<void> = Promise.resolve();
  #closed = false;
  #readLoopDone: Promise<void>;

  private constructor(conn: Deno.TcpConn, options: WireConnectionOptions) {
    this.#conn = conn;
    this.#onFrames = options.onFrames;
    this.#scanner = new FrameScanner((line) => this.#handleControlLine(line));
    this.#readLoopDone = this.#readLoop(options.readBufferBytes ?? 256 * 1024);
  }

  /**
   * Connects, waits for INFO, sends CONNECT (non-verbose) and PING, and resolves once the PONG
   * arrives, i.e. once the server has accepted the connection.
   *
   * @throws {WireConnectionError} when the server refuses the connection or stays silent
   */
  static async open(
    endpoint: Endpoint,
    options: WireConnectionOptions = {},
  ): Promise<WireConnection> {
    const conn = await Deno.connect({ hostname: endpoint.hostname, port: endpoint.port });
    conn.setNoDelay(true);
    const connection = new WireConnection(conn, options);
    const timeoutMs = options.handshakeTimeoutMs ?? 10_000;
    try {
      await withTimeout(connection.#waitForInfo(), timeoutMs, "INFO");
      const connect = JSON.stringify({
        verbose: false,
        pedantic: false,
        lang: "deno-raw-bench",
        version: "0.0.0",
        protocol: 1,
        name: options.name ?? "bench",
      });
      const pong = connection.ping(`CONNECT ${connect}\r\n`);
      await withTimeout(pong, timeoutMs, "PONG after CONNECT");
    } catch (error) {
      connection.close();
      throw error;
    }
    return connection;
  }

  /** Payload frames (MSG, HMSG; PUB, HPUB on a server-side sink) received so far. */
  get frames(): number {
    return this.#scanner.frames;
  }

  /** Writes all of `bytes` as one or a few syscalls, after any write already in progress. */
  write(bytes: Uint8Array): Promise<void> {
    const next = this.#writeTail.then(() => this.#writeAll(bytes));
    // A failed write must not poison later ones' ordering; the caller sees the error.
    this.#writeTail = next.catch(() => {});
    return next;
  }

  /**
   * Sends `PING` (after `prefix`, in the same write) and resolves when its `PONG` arrives. The
   * server answers a PING only after it has processed everything sent before it, so the PONG
   * proves the preceding messages were routed.
   */
  ping(prefix = ""): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const pong = new Promise<void>((resolve, reject) => {
      this.#pongWaiters.push({ resolve, reject });
    });
    const bytes = prefix === "" ? PING : encoder.encode(`${prefix}PING\r\n`);
    this.write(bytes).catch((error) => this.#fail(asError(error)));
    return pong;
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

  /** Why the connection failed (`-ERR`, reset, server hung up), if it did. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Resolves when the read loop has ended (after `close()` or when the server hung up). */
  get done(): Promise<void> {
    return this.#readLoopDone;
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let written = 0;
    while (written < bytes.length) {
      written += await this.#conn.write(written === 0 ? bytes : bytes.subarray(written));
    }
  }

  #waitForInfo(): Promise<string> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#infoWaiter = { resolve, reject };
    });
  }

  async #readLoop(bufferBytes: number): Promise<void> {
    const buffer = new Uint8Array(bufferBytes);
    try {
      while (true) {
        const count = await this.#conn.read(buffer);
        if (count === null) break;
        const before = this.#scanner.frames;
        this.#scanner.scan(count === buffer.length ? buffer : buffer.subarray(0, count));
        const after = this.#scanner.frames;
        if (after !== before) this.#onFrames?.(after);
      }
      this.#fail(new WireConnectionError("Cannot wait for PONG: server closed the connection"));
    } catch (error) {
      if (!this.#closed) this.#fail(asError(error));
    }
  }

  #handleControlLine(line: Uint8Array): void {
    // Dispatch on the first two bytes: PO(NG), PI(NG), IN(FO), -E(RR); +OK needs nothing.
    const first = line[0];
    const second = line[1];
    if (first === 0x50 && second === 0x4f) {
      this.#pongWaiters.shift()?.resolve();
    } else if (first === 0x50 && second === 0x49) {
      this.write(PONG).catch((error) => this.#fail(asError(error)));
    } else if (first === 0x49) {
      const waiter = this.#infoWaiter;
      this.#infoWaiter = undefined;
      waiter?.resolve(decoder.decode(line));
    } else if (first === 0x2d) {
      this.#fail(new WireConnectionError(`Server sent ${decoder.decode(line)}`));
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

/** Rejects with a `WireConnectionError` naming `what` if `promise` takes longer than `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new WireConnectionError(`Cannot wait for ${what}: no answer in ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
