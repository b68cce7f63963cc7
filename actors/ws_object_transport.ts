/**
 * A {@linkcode Transport} over a standard `WebSocket` object, the kind an edge platform hands
 * out (`Deno.upgradeWebSocket`): the host did the HTTP upgrade, TLS and framing, so each
 * binary message simply carries NATS bytes.
 *
 * @module
 */

import type { Transport } from "./transport.ts";

/**
 * Incoming bytes that may wait for the reader: 16 MiB. A `WebSocket` object cannot be told to
 * stop reading, so while the connection is held back (its receivers are congested) messages
 * pile up here instead of in the kernel. Sixteen 1 MiB payloads ride out a short stall; a peer
 * that keeps sending past that is cut, like a slow consumer in the other direction. Raise it for
 * bursty publishers of large messages, lower it where isolates have little memory.
 */
export const DEFAULT_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/**
 * Outgoing bytes the socket may hold before `write()` waits: 1 MiB. Waiting here is what lets
 * the write deadline spot a peer that stopped reading; without it `send()` would queue forever.
 */
export const DEFAULT_WRITE_HIGH_WATER_MARK = 1024 * 1024;

/** How often a waiting `write()` looks at `bufferedAmount` (the socket has no drain event). */
const DRAIN_POLL_MS = 5;

/** WebSocket status 1008 (policy violation): sent when the input bound is exceeded. */
const POLICY_VIOLATION = 1008;

/** The `readyState` values of a standard `WebSocket`. */
const CONNECTING = 0;
const OPEN = 1;

/** Options for {@linkcode WebSocketObjectTransport}. */
export interface WebSocketObjectTransportOptions {
  /** The peer's address for logs and INFO `client_ip`; `""` when the host does not tell. */
  remoteHost?: string;
  /** The peer's port; 0 when the host does not tell. */
  remotePort?: number;
  /** See {@linkcode DEFAULT_MAX_BUFFERED_BYTES}. */
  maxBufferedBytes?: number;
  /** See {@linkcode DEFAULT_WRITE_HIGH_WATER_MARK}. */
  writeHighWaterMark?: number;
}

/**
 * The peer sent more than `maxBufferedBytes` while the reader was held back: `read()` rejects
 * with this after the socket was closed with status 1008.
 *
 * @example
 * ```ts
 * import { InputOverflowError, type WebSocketObjectTransport } from "./ws_object_transport.ts";
 * async function readOrExplain(transport: WebSocketObjectTransport, buffer: Uint8Array) {
 *   try {
 *     return await transport.read(buffer);
 *   } catch (error) {
 *     if (error instanceof InputOverflowError) console.warn(`peer too fast: ${error.message}`);
 *     throw error;
 *   }
 * }
 * ```
 */
export class InputOverflowError extends Error {
  /** Always `"InputOverflowError"`. */
  override name = "InputOverflowError";
}

/**
 * Wraps a standard `WebSocket`: binary (or text) messages in become `read()` bytes, `write()`
 * becomes `socket.send()`, and a close or error is the end of the stream. Writes issued before
 * the socket opens (a `Deno.upgradeWebSocket` socket opens once the response is returned) wait
 * for it.
 *
 * One `read()` at a time.
 *
 * @example
 * ```ts
 * import { WebSocketObjectTransport } from "./ws_object_transport.ts";
 * Deno.serve((req) => {
 *   const { socket, response } = Deno.upgradeWebSocket(req);
 *   const transport = new WebSocketObjectTransport(socket, { remoteHost: "203.0.113.7" });
 *   transport.write(new TextEncoder().encode("hello\r\n"));
 *   return response;
 * });
 * ```
 */
export class WebSocketObjectTransport implements Transport {
  /** The peer's address as the host reported it (`""` when unknown). */
  readonly remoteHost: string;
  /** The peer's port (0 when unknown). */
  readonly remotePort: number;
  #socket: WebSocket;
  #maxBuffered: number;
  #highWater: number;
  /** Received messages not yet read; `#queue[#head]` may be partly consumed already. */
  #queue: Uint8Array[] = [];
  #head = 0;
  #queuedBytes = 0;
  #ended = false;
  #failure: Error | undefined;
  #wakeReader: (() => void) | undefined;
  #opened: Promise<void> | undefined;
  #encoder: TextEncoder | undefined;

  /** Takes over `socket`'s events; see {@linkcode WebSocketObjectTransportOptions}. */
  constructor(socket: WebSocket, options: WebSocketObjectTransportOptions = {}) {
    this.#socket = socket;
    this.remoteHost = options.remoteHost ?? "";
    this.remotePort = options.remotePort ?? 0;
    this.#maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.#highWater = options.writeHighWaterMark ?? DEFAULT_WRITE_HIGH_WATER_MARK;
    // Array buffers arrive whole and synchronously; Blobs would need an async read each.
    socket.binaryType = "arraybuffer";
    socket.addEventListener("message", (event) => this.#received(event.data));
    socket.addEventListener("close", () => this.#end());
    socket.addEventListener("error", () => this.#end());
    if (socket.readyState === CONNECTING) {
      this.#opened = new Promise((resolve) => {
        const settle = () => {
          this.#opened = undefined;
          resolve();
        };
        socket.addEventListener("open", settle, { once: true });
        socket.addEventListener("close", settle, { once: true });
      });
    } else if (socket.readyState !== OPEN) this.#ended = true;
  }

  /** Copies queued bytes into `buffer`; null once the socket closed and everything was read. */
  async read(buffer: Uint8Array): Promise<number | null> {
    if (buffer.length === 0) return 0;
    while (this.#head === this.#queue.length) {
      if (this.#failure !== undefined) throw this.#failure;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wakeReader = resolve);
    }
    if (this.#failure !== undefined) throw this.#failure;
    return this.#drain(buffer);
  }

  /** Sends `data` as one binary message; resolves once the socket's send buffer is low again. */
  async write(data: Uint8Array): Promise<number> {
    if (this.#opened !== undefined) await this.#opened;
    const socket = this.#socket;
    if (this.#ended || socket.readyState !== OPEN) {
      throw new Deno.errors.BrokenPipe("Cannot write: the websocket is closed");
    }
    // `send()` copies the bytes, so the caller may reuse `data` as soon as this returns.
    socket.send(data);
    while (socket.bufferedAmount > this.#highWater && socket.readyState === OPEN) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
    return data.length;
  }

  /** Closes the socket (normal closure) and ends the stream; safe to call more than once. */
  close(): void {
    this.#closeSocket(1000, "");
    this.#end();
  }

  #received(data: unknown): void {
    if (this.#ended) return;
    let bytes: Uint8Array;
    if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
    else if (typeof data === "string") {
      bytes = (this.#encoder ??= new TextEncoder()).encode(data);
    } else return; // binaryType is "arraybuffer": nothing else arrives
    if (bytes.length === 0) return;
    this.#queuedBytes += bytes.length;
    if (this.#queuedBytes > this.#maxBuffered) {
      this.#failure = new InputOverflowError(
        `Cannot buffer input: more than ${this.#maxBuffered} bytes are waiting to be read`,
      );
      this.#queue.length = 0;
      this.#head = 0;
      this.#queuedBytes = 0;
      this.#closeSocket(POLICY_VIOLATION, "input buffer limit exceeded");
      this.#end();
      return;
    }
    this.#queue.push(bytes);
    this.#wake();
  }

  #drain(buffer: Uint8Array): number {
    const queue = this.#queue;
    let written = 0;
    while (this.#head < queue.length && written < buffer.length) {
      const chunk = queue[this.#head];
      const take = Math.min(chunk.length, buffer.length - written);
      buffer.set(take === chunk.length ? chunk : chunk.subarray(0, take), written);
      written += take;
      if (take === chunk.length) queue[this.#head++] = EMPTY;
      else queue[this.#head] = chunk.subarray(take);
    }
    this.#queuedBytes -= written;
    if (this.#head === queue.length) {
      queue.length = 0;
      this.#head = 0;
    } else if (this.#head >= COMPACT_AFTER) {
      queue.splice(0, this.#head);
      this.#head = 0;
    }
    return written;
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#wake();
  }

  #wake(): void {
    const wake = this.#wakeReader;
    if (wake === undefined) return;
    this.#wakeReader = undefined;
    wake();
  }

  #closeSocket(code: number, reason: string): void {
    const state = this.#socket.readyState;
    if (state !== OPEN && state !== CONNECTING) return;
    try {
      this.#socket.close(code, reason);
    } catch {
      // A socket still connecting may refuse; the host drops it when the response is discarded.
    }
  }
}

/** Read slots are cleared so the queue does not pin consumed messages. */
const EMPTY = new Uint8Array(0);

/** Consumed slots at the front are cut off once there are this many. */
const COMPACT_AFTER = 1024;
