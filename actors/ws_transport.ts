/**
 * WebSocket as a {@linkcode Transport}: RFC 6455 frames over another transport (TCP or TLS) that
 * already carried the HTTP upgrade, so a connection actor reads and writes plain NATS bytes and
 * never knows it is on a WebSocket. Plus the two upgrade helpers: {@linkcode acceptWebSocket}
 * (listener side) and {@linkcode connectWebSocket} (remote side).
 *
 * @module
 */

import type { Transport } from "./transport.ts";
import {
  encodeCloseFrame,
  encodeDataMessage,
  encodeFrame,
  WebSocketError,
  WebSocketFrameDecoder,
  type WebSocketFrameHandler,
  WsCloseCode,
  WsOpcode,
} from "../protocol/ws_frame.ts";
import {
  type AcceptUpgradeOptions,
  buildErrorResponse,
  buildUpgradeRequest,
  buildUpgradeResponse,
  HandshakeReason,
  type HttpHead,
  type HttpHeaders,
  HttpHeadReader,
  newWebSocketKey,
  parseUpgradeRequest,
  parseUpgradeResponse,
  type UpgradeKind,
  validateUpgradeRequest,
  validateUpgradeResponse,
  WebSocketHandshakeError,
} from "../protocol/ws_handshake.ts";

/**
 * How long `close()` lets a queued close frame drain before it closes the socket anyway: a peer
 * that stopped reading must not keep the socket open.
 */
const CLOSE_GRACE_MS = 1_000;

/** Output frame buffers up to this size are kept for the next write instead of reallocated. */
const RETAINED_OUTPUT_BYTES = 256 * 1024;

/** Options for {@linkcode WebSocketTransport}. */
export interface WebSocketTransportOptions {
  /**
   * `"server"` accepted the upgrade: it never masks, and requires masked frames unless
   * no-masking was agreed. `"client"` sent the upgrade: it masks unless no-masking was agreed.
   */
  role: "server" | "client";
  /** permessage-deflate was negotiated. */
  compression?: boolean;
  /** `Nats-No-Masking` was asked for and echoed. */
  noMasking?: boolean;
  /** Stream bytes that arrived with the HTTP head; decoded before reading the socket. */
  initialBytes?: Uint8Array;
  /** Largest message on the wire; see `FrameDecoderOptions.maxMessageSize`. */
  maxMessageSize?: number;
  /** Largest inflated message; see `FrameDecoderOptions.maxDecompressedSize`. */
  maxDecompressedSize?: number;
}

/**
 * A {@linkcode Transport} that speaks WebSocket frames over `inner`.
 *
 * - `read()` returns NATS bytes from binary and text messages (inflated when compressed),
 *   answers pings with pongs, and on a close frame replies with a close frame and then reports
 *   end of stream. A broken stream sends a close frame with the matching status (1002, 1007,
 *   1009) and makes `read()` reject with the {@linkcode WebSocketError}.
 * - `write(data)` sends `data` as one binary message (masked on the client side unless
 *   no-masking was agreed, compressed when negotiated and worth it) and resolves with
 *   `data.length` once all of it is written.
 * - Writes, pongs and close frames go out one at a time, in call order.
 *
 * One `read()` at a time; `data` given to `write()` must not change until the write resolves.
 *
 * @example
 * ```ts
 * import { connectWebSocket } from "./ws_transport.ts";
 * import { TcpTransport } from "./transport.ts";
 * const tcp = new TcpTransport(await Deno.connect({ hostname: "127.0.0.1", port: 8080 }));
 * const { transport } = await connectWebSocket(tcp, { url: "ws://127.0.0.1:8080" });
 * const buffer = new Uint8Array(4096);
 * const n = await transport.read(buffer); // "INFO {...}\r\n"
 * await transport.write(new TextEncoder().encode("CONNECT {}\r\nPING\r\n"));
 * transport.close();
 * ```
 */
export class WebSocketTransport implements Transport {
  #inner: Transport;
  #mask: boolean;
  #compression: boolean;
  #decoder: WebSocketFrameDecoder;
  #initial: Uint8Array | undefined;
  /** Data pieces decoded by the current `feed()`, in order. */
  #chunks: Uint8Array[] = [];
  /** Data decoded earlier that did not fit the caller's buffer; owned copies. */
  #pending: Uint8Array[] = [];
  #peerClosed = false;
  #failure: unknown;
  #closed = false;
  #closeSent = false;
  #writeChain: Promise<void> = Promise.resolve();
  #output: Uint8Array | undefined;

  /** Wraps an upgraded transport; see {@linkcode WebSocketTransportOptions}. */
  constructor(inner: Transport, options: WebSocketTransportOptions) {
    this.#inner = inner;
    const noMasking = options.noMasking ?? false;
    this.#mask = options.role === "client" && !noMasking;
    this.#compression = options.compression ?? false;
    this.#initial = options.initialBytes?.length ? options.initialBytes.slice() : undefined;
    const handler: WebSocketFrameHandler = {
      onData: (payload) => {
        if (payload.length > 0) this.#chunks.push(payload);
      },
      onPing: (payload) => {
        this.#queueControl(encodeFrame({ opcode: WsOpcode.pong, payload, mask: this.#mask }));
      },
      onPong: () => {},
      onClose: (code, reason) => {
        this.#peerClosed = true;
        this.#sendClose(code, reason);
      },
    };
    this.#decoder = new WebSocketFrameDecoder(handler, {
      requireMask: options.role === "server" && !noMasking,
      compression: this.#compression,
      maxMessageSize: options.maxMessageSize,
      maxDecompressedSize: options.maxDecompressedSize,
    });
  }

  get remoteHost(): string {
    return this.#inner.remoteHost;
  }

  get remotePort(): number {
    return this.#inner.remotePort;
  }

  /** Reads decoded NATS bytes into `buffer`; null once the peer closed (or `close()` was called). */
  async read(buffer: Uint8Array): Promise<number | null> {
    if (buffer.length === 0) return 0;
    for (;;) {
      if (this.#pending.length > 0) return this.#drainPending(buffer);
      if (this.#failure !== undefined) throw this.#failure;
      if (this.#peerClosed || this.#closed) return null;
      let input: Uint8Array;
      if (this.#initial !== undefined) {
        input = this.#initial;
        this.#initial = undefined;
      } else {
        let n: number | null;
        try {
          n = await this.#inner.read(buffer);
        } catch (error) {
          if (this.#closed) return null;
          throw error;
        }
        if (n === null || this.#closed) return null;
        input = buffer.subarray(0, n);
      }
      try {
        this.#decoder.feed(input);
      } catch (error) {
        this.#failure = error;
        if (error instanceof WebSocketError) this.#sendClose(error.code, error.message);
        else this.#sendClose(WsCloseCode.internalError, "internal error");
      }
      const n = this.#place(buffer, input);
      if (n > 0) return n;
    }
  }

  /**
   * Moves this feed's data pieces to the front of `buffer`. Pieces that are views into `buffer`
   * itself (uncompressed payload, unmasked in place) only shift left; inflated pieces are copied
   * in, but never over a later piece that has not moved yet. What does not fit waits in
   * `#pending`, copied out of `buffer` because the caller owns it from now on.
   */
  #place(buffer: Uint8Array, input: Uint8Array): number {
    const chunks = this.#chunks;
    const sameBuffer = input.buffer === buffer.buffer;
    const startIn = (chunk: Uint8Array): number =>
      sameBuffer && chunk.buffer === buffer.buffer ? chunk.byteOffset - buffer.byteOffset : -1;
    let written = 0;
    let i = 0;
    for (; i < chunks.length; i++) {
      const chunk = chunks[i];
      const start = startIn(chunk);
      if (start >= 0) {
        if (start !== written) buffer.copyWithin(written, start, start + chunk.length);
        written += chunk.length;
        continue;
      }
      let limit = buffer.length;
      for (let j = i + 1; j < chunks.length; j++) {
        const later = startIn(chunks[j]);
        if (later >= 0) {
          limit = later;
          break;
        }
      }
      const room = limit - written;
      if (chunk.length <= room) {
        buffer.set(chunk, written);
        written += chunk.length;
        continue;
      }
      buffer.set(chunk.subarray(0, room), written);
      written += room;
      this.#pending.push(chunk.subarray(room));
      i++;
      break;
    }
    for (; i < chunks.length; i++) {
      const chunk = chunks[i];
      this.#pending.push(startIn(chunk) >= 0 ? chunk.slice() : chunk);
    }
    chunks.length = 0;
    return written;
  }

  #drainPending(buffer: Uint8Array): number {
    let written = 0;
    const pending = this.#pending;
    while (pending.length > 0 && written < buffer.length) {
      const chunk = pending[0];
      const take = Math.min(chunk.length, buffer.length - written);
      buffer.set(chunk.subarray(0, take), written);
      written += take;
      if (take === chunk.length) pending.shift();
      else pending[0] = chunk.subarray(take);
    }
    return written;
  }

  /** Sends `data` as one binary message; resolves with `data.length` once it is all written. */
  write(data: Uint8Array): Promise<number> {
    if (this.#closed || this.#closeSent) {
      return Promise.reject(new Deno.errors.BrokenPipe("Cannot write: the websocket is closed"));
    }
    const length = data.length;
    const job = this.#writeChain.then(async () => {
      // Encoded only now: the previous frame is fully written, so the output buffer is free.
      const frame = encodeDataMessage(data, {
        mask: this.#mask,
        compress: this.#compression,
        output: this.#output,
      });
      if (frame.buffer !== this.#output?.buffer && frame.length <= RETAINED_OUTPUT_BYTES) {
        this.#output = new Uint8Array(frame.buffer);
      }
      await writeAll(this.#inner, frame);
      return length;
    });
    this.#writeChain = job.then(noop, noop);
    return job;
  }

  #queueControl(frame: Uint8Array): void {
    if (this.#closeSent) return;
    this.#writeChain = this.#writeChain.then(() => writeAll(this.#inner, frame)).then(noop, noop);
  }

  #sendClose(code: number, reason: string): void {
    if (this.#closeSent) return;
    this.#queueControl(encodeCloseFrame(code, reason, this.#mask));
    this.#closeSent = true;
  }

  /**
   * Sends a close frame (unless one was sent already) with `code` and `reason` (nats-server
   * maps its close reasons to statuses: 1000 client closed, 1001 shutdown or stale, 1002
   * protocol violation, 1008 auth and limits, 1009 max payload), then closes the inner
   * transport once queued writes are out, or after a short grace period. Safe to call twice.
   */
  close(code: number = WsCloseCode.normalClosure, reason = ""): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sendClose(code, reason);
    const inner = this.#inner;
    const timer = setTimeout(() => inner.close(), CLOSE_GRACE_MS);
    Deno.unrefTimer(timer);
    this.#writeChain.finally(() => {
      clearTimeout(timer);
      inner.close();
    });
  }
}

function noop(): void {}

/** Writes all of `bytes`: `Transport.write` may take only part of them. */
async function writeAll(transport: Transport, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await transport.write(bytes.subarray(offset));
}

/** Reads an HTTP head from `transport`, through the bounded reader. */
async function readHead(transport: Transport, maxHeadBytes?: number): Promise<HttpHead> {
  const reader = new HttpHeadReader(maxHeadBytes);
  const buffer = new Uint8Array(4096);
  for (;;) {
    const n = await transport.read(buffer);
    if (n === null) {
      throw new WebSocketHandshakeError(0, "Cannot upgrade: connection closed during handshake");
    }
    const head = reader.feed(buffer.subarray(0, n));
    if (head !== undefined) return head;
  }
}

/** Options for {@linkcode acceptWebSocket}: the `[websocket]` policy and limits. */
export interface AcceptWebSocketOptions extends AcceptUpgradeOptions {
  /** Largest request head; more is answered with 431. */
  maxHeadBytes?: number;
  maxMessageSize?: number;
  maxDecompressedSize?: number;
  /**
   * Keep bytes the client sent after its request, before our 101, as the start of the stream.
   * Off by default: nats-server refuses such a client ("client sent data before handshake is
   * complete"), since RFC 6455 §4.1 has clients wait for the response.
   */
  allowEarlyData?: boolean;
}

/** An accepted upgrade. */
export interface AcceptedWebSocket {
  transport: WebSocketTransport;
  /** The request path (without query). */
  path: string;
  /** Client, leafnode or MQTT, from the path. */
  kind: UpgradeKind;
  /** The request's header fields (for `X-Forwarded-For`, cookies, `User-Agent`). */
  headers: HttpHeaders;
  compression: boolean;
  noMasking: boolean;
}

/**
 * Reads an upgrade request from a raw transport, validates it like nats-server and answers
 * 101. On a bad request it writes the HTTP error response first, then throws; the caller closes
 * `transport` either way on failure, and bounds the wait with its own handshake timeout
 * (closing the transport ends it).
 *
 * @throws {WebSocketHandshakeError} with the HTTP status that was sent (0 when the peer left
 * before a complete request).
 *
 * @example
 * ```ts
 * import { acceptWebSocket } from "./ws_transport.ts";
 * import { TcpTransport } from "./transport.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const raw = new TcpTransport(await listener.accept());
 * const { transport, kind } = await acceptWebSocket(raw, { compression: true });
 * console.log(kind); // "client" or "leafnode"
 * transport.close();
 * ```
 */
export async function acceptWebSocket(
  transport: Transport,
  options: AcceptWebSocketOptions = {},
): Promise<AcceptedWebSocket> {
  try {
    const head = await readHead(transport, options.maxHeadBytes);
    const request = parseUpgradeRequest(head);
    const acceptance = validateUpgradeRequest(request, options);
    if (head.rest.length > 0 && !options.allowEarlyData) {
      throw new WebSocketHandshakeError(400, HandshakeReason.earlyData);
    }
    await writeAll(transport, buildUpgradeResponse(acceptance));
    return {
      transport: new WebSocketTransport(transport, {
        role: "server",
        compression: acceptance.compression,
        noMasking: acceptance.noMasking,
        initialBytes: head.rest,
        maxMessageSize: options.maxMessageSize,
        maxDecompressedSize: options.maxDecompressedSize,
      }),
      path: acceptance.path,
      kind: acceptance.kind,
      headers: request.headers,
      compression: acceptance.compression,
      noMasking: acceptance.noMasking,
    };
  } catch (error) {
    if (error instanceof WebSocketHandshakeError && error.status > 0) {
      await writeAll(transport, buildErrorResponse(error.status)).catch(noop);
    }
    throw error;
  }
}

/** Options for {@linkcode connectWebSocket}. */
export interface ConnectWebSocketOptions {
  /** `ws://host[:port][/path]` or `wss://…` (TLS is the inner transport's business). */
  url: string | URL;
  /** Request path instead of the URL's, e.g. `leafnodeUpgradePath(url.pathname)` for a leaf. */
  path?: string;
  /** Offer permessage-deflate (`ws_compression`). */
  compression?: boolean;
  /** Ask not to mask (`ws_no_masking`); applies only if the server echoes it. */
  noMasking?: boolean;
  /** Extra request header fields. */
  headers?: Readonly<Record<string, string>>;
  maxHeadBytes?: number;
  maxMessageSize?: number;
  maxDecompressedSize?: number;
}

/** A completed client-side upgrade. */
export interface ConnectedWebSocket {
  transport: WebSocketTransport;
  /** permessage-deflate is on. */
  compression: boolean;
  /** This side masks its frames. */
  masking: boolean;
  /** The 101 response's header fields. */
  headers: HttpHeaders;
}

/**
 * Sends the upgrade request over a connected transport and validates the 101 like a nats-server
 * remote. Bytes that arrived after the response head (often the first INFO) are kept for the
 * first `read()`. The caller closes `transport` on failure and bounds the wait.
 *
 * @throws {WebSocketHandshakeError} "invalid websocket connection" or "compression negotiation
 * error".
 * @throws {TypeError} when `url` is not a ws/wss (or http/https) URL.
 */
export async function connectWebSocket(
  transport: Transport,
  options: ConnectWebSocketOptions,
): Promise<ConnectedWebSocket> {
  const url = new URL(options.url);
  if (!["ws:", "wss:", "http:", "https:"].includes(url.protocol)) {
    throw new TypeError(`Cannot connect websocket: unsupported scheme "${url.protocol}"`);
  }
  const key = newWebSocketKey();
  await writeAll(
    transport,
    buildUpgradeRequest({
      host: url.host,
      path: options.path ?? url.pathname + url.search,
      key,
      compression: options.compression,
      noMasking: options.noMasking,
      headers: options.headers,
    }),
  );
  const head = await readHead(transport, options.maxHeadBytes);
  const response = parseUpgradeResponse(head);
  const outcome = validateUpgradeResponse(response, {
    key,
    compression: options.compression,
    noMasking: options.noMasking,
  });
  return {
    transport: new WebSocketTransport(transport, {
      role: "client",
      compression: outcome.compression,
      noMasking: !outcome.masking,
      initialBytes: head.rest,
      maxMessageSize: options.maxMessageSize,
      maxDecompressedSize: options.maxDecompressedSize,
    }),
    compression: outcome.compression,
    masking: outcome.masking,
    headers: response.headers,
  };
}
