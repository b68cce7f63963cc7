/**
 * A tiny raw-TCP client for wire-level tests: send exact protocol bytes and assert on the exact
 * text the server answers, which the real NATS client library hides.
 *
 * @example
 * ```ts
 * import { connectRaw } from "./raw_client.ts";
 * const raw = await connectRaw(4222);
 * const info = await raw.readUntil("\r\n");
 * await raw.send("PING\r\n");
 * await raw.readUntil("PONG\r\n");
 * raw.close();
 * ```
 *
 * @module
 */

/** Raised when the expected text or the close does not arrive in time. */
export class RawTimeoutError extends Error {
  override name = "RawTimeoutError";
}

/** Decides whether the text received so far is what the test waits for. */
export type RawPredicate = (received: string) => boolean;

/** Options for `connectRaw()`. */
export interface ConnectRawOptions {
  hostname?: string;
}

const encoder = new TextEncoder();

/**
 * A raw connection. Bytes are read in the background and decoded as latin1 so that any byte
 * sequence (including garbage) maps one byte to one character.
 */
export class RawClient {
  #conn: Deno.TcpConn;
  #buffered = "";
  #closed = false;
  #closeReason: string | undefined;
  #paused = false;
  #resumeReading: (() => void) | undefined;
  #waiters = new Set<() => void>();
  #readLoopDone: Promise<void>;
  /** Total bytes read from the socket since connect. */
  bytesRead = 0;

  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    this.#readLoopDone = this.#readLoop();
  }

  /** True once the peer closed the connection (or it failed). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Text received and not yet consumed by `readUntil()`. */
  get pending(): string {
    return this.#buffered;
  }

  async #readLoop(): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    const latin1 = new TextDecoder("latin1");
    try {
      while (true) {
        if (this.#paused) {
          await new Promise<void>((resolve) => (this.#resumeReading = resolve));
        }
        const count = await this.#conn.read(chunk);
        if (count === null) break;
        this.bytesRead += count;
        this.#buffered += latin1.decode(chunk.subarray(0, count));
        this.#wakeAll();
      }
    } catch (error) {
      this.#closeReason = error instanceof Error ? error.message : String(error);
    }
    this.#closed = true;
    this.#wakeAll();
  }

  #wakeAll(): void {
    for (const wake of this.#waiters) wake();
  }

  #waitFor(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const wake = () => {
        if (check()) {
          done();
          resolve();
        } else if (this.#closed) {
          done();
          reject(new RawTimeoutError(`Cannot read ${what()}: connection closed`));
        }
      };
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
      };
      const timer = setTimeout(() => {
        done();
        reject(new RawTimeoutError(`Cannot read ${what()} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.add(wake);
      wake();
    });
  }

  /**
   * Reads INFO, sends `CONNECT <connect>` and a PING, and waits for the PONG, so the
   * connection is registered before the test goes on. Returns the parsed INFO.
   * `verbose` defaults to false because nats-server treats an absent `verbose` as true.
   */
  async handshake(connect: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const info = parseInfo(await this.readUntil("\r\n"));
    await this.send(`CONNECT ${JSON.stringify({ verbose: false, ...connect })}\r\nPING\r\n`);
    await this.readUntil("PONG\r\n");
    return info;
  }

  /** Writes protocol text (UTF-8) or raw bytes. */
  async send(data: string | Uint8Array): Promise<void> {
    let bytes = typeof data === "string" ? encoder.encode(data) : data;
    while (bytes.length > 0) {
      const written = await this.#conn.write(bytes);
      bytes = bytes.subarray(written);
    }
  }

  /**
   * Waits for text. With a string, resolves with everything up to and including its first
   * occurrence and keeps the rest buffered. With a predicate over all buffered text, resolves
   * with that text and consumes it.
   */
  async readUntil(until: string | RawPredicate, timeoutMs = 2_000): Promise<string> {
    const describe = () =>
      `${typeof until === "string" ? JSON.stringify(until) : "the expected text"} ` +
      `(received so far: ${JSON.stringify(this.#buffered.slice(0, 500))})`;
    if (typeof until === "string") {
      await this.#waitFor(() => this.#buffered.includes(until), timeoutMs, describe);
      const end = this.#buffered.indexOf(until) + until.length;
      const text = this.#buffered.slice(0, end);
      this.#buffered = this.#buffered.slice(end);
      return text;
    }
    await this.#waitFor(() => until(this.#buffered), timeoutMs, describe);
    const text = this.#buffered;
    this.#buffered = "";
    return text;
  }

  /** Waits for the peer to close and resolves with all text still buffered. */
  async expectClosed(timeoutMs = 2_000): Promise<string> {
    // A paused reader would never notice the close.
    this.resume();
    await this.#waitFor(
      () => this.#closed,
      timeoutMs,
      () => `a close (received so far: ${JSON.stringify(this.#buffered.slice(0, 500))})`,
    );
    const text = this.#buffered;
    this.#buffered = "";
    return text;
  }

  /** Why the read loop ended, when it ended with an error (e.g. a reset). */
  get closeReason(): string | undefined {
    return this.#closeReason;
  }

  /**
   * Stops reading from the socket after the read in flight, so the kernel buffers fill up and
   * the server sees a consumer that does not keep up.
   */
  pause(): void {
    this.#paused = true;
  }

  /** Starts reading again after `pause()`. */
  resume(): void {
    this.#paused = false;
    this.#resumeReading?.();
    this.#resumeReading = undefined;
  }

  /** Closes the socket; safe to call more than once. */
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
    this.resume();
  }

  /** Closes the socket and waits for the background reader to finish. */
  async dispose(): Promise<void> {
    this.close();
    await this.#readLoopDone;
  }
}

/** Opens a raw TCP connection to a server on 127.0.0.1 (or `hostname`). */
export async function connectRaw(
  port: number,
  options: ConnectRawOptions = {},
): Promise<RawClient> {
  const conn = await Deno.connect({ hostname: options.hostname ?? "127.0.0.1", port });
  conn.setNoDelay(true);
  return new RawClient(conn);
}

/** Counts the `MSG`/`HMSG` lines in protocol text. */
export function countMessages(text: string): number {
  return text.match(/^H?MSG /gm)?.length ?? 0;
}

/**
 * Parses the JSON of the first `INFO {...}\r\n` line in `text`. nats-server 2.9.10 writes a
 * space between the JSON and the CRLF, so trailing blanks are allowed.
 */
export function parseInfo(text: string): Record<string, unknown> {
  const match = /INFO[ \t]+(\{.*\})[ \t]*\r\n/.exec(text);
  if (!match) throw new SyntaxError(`Cannot parse INFO: none in ${JSON.stringify(text)}`);
  return JSON.parse(match[1]);
}
