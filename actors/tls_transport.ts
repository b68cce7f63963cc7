/**
 * TLS for connection actors, through `node:tls` (runtime facts §2): Deno's own TLS API can
 * neither request client certificates, nor show the peer's certificate, nor upgrade an accepted
 * socket as the server. `node:tls` runs here on top of our own {@linkcode Transport}s through
 * {@linkcode duplexOver}, so plaintext stays on the fast Deno TCP path and TLS can also run
 * inside a WebSocket.
 *
 * Flows:
 * - INFO first (nats-server 2.9): the server writes INFO in plaintext, then
 *   {@linkcode upgradeServerTls}; the client reads that INFO, then {@linkcode upgradeClientTls}.
 * - `handshake_first`: {@linkcode acceptTlsFirst} / {@linkcode connectTlsFirst} before any
 *   byte of NATS protocol; {@linkcode sniffClientHello} tells, for the "auto" fallback,
 *   whether a client opened with a ClientHello.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { Duplex } from "node:stream";
import * as nodeTls from "node:tls";
import type { TlsOptions } from "../config/options.ts";
import type { Transport } from "./transport.ts";

/** Handshake timeout when neither the caller nor the config gives one (nats-server: 2 s). */
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 2_000;

/** Decrypted bytes a {@linkcode NodeTlsTransport} holds for a slow reader before it pauses. */
const PAUSE_ABOVE_BYTES = 1024 * 1024;
/** ...and resumes below this, so a reader draining the buffer does not toggle per chunk. */
const RESUME_BELOW_BYTES = 256 * 1024;

/** {@linkcode duplexOver} reads into slices of one slab; a slab is replaced when nearly used. */
const SLAB_BYTES = 256 * 1024;
const READ_SLICE_BYTES = 64 * 1024;
const MIN_READ_SLICE_BYTES = 16 * 1024;

/** A TLS record starts with content type 22 (handshake) when a client opens with ClientHello. */
const TLS_HANDSHAKE_RECORD = 0x16;

/** Why a TLS handshake failed; `TlsHandshakeError.reason`. */
export type TlsFailureReason =
  /** No handshake within the timeout. */
  | "timeout"
  /** The peer closed or reset the connection during the handshake. */
  | "closed"
  /** The peer spoke plaintext where a ClientHello was required. */
  | "not_tls"
  /** `verify` is on and the client sent no certificate. */
  | "no_certificate"
  /** The peer's certificate was rejected for a reason not listed below. */
  | "bad_certificate"
  /** The peer's certificate is past its notAfter date. */
  | "expired_certificate"
  /** The peer's certificate is before its notBefore date. */
  | "not_yet_valid_certificate"
  /** The peer's certificate does not chain to a trusted CA (`ca_file`, or system roots). */
  | "unknown_ca"
  /** The server's certificate does not name the host we dialled. */
  | "hostname_mismatch"
  /** The TLS settings cannot be used (unreadable files, options the runtime ignores). */
  | "config"
  /** Any other TLS protocol failure (alerts from the peer, version mismatch). */
  | "protocol";

/** A TLS handshake failed; the socket is closed by the time this is thrown. */
export class TlsHandshakeError extends Error {
  override name = "TlsHandshakeError";
  /** What went wrong, for logs, metrics and tests. */
  readonly reason: TlsFailureReason;

  constructor(reason: TlsFailureReason, detail: string, options?: ErrorOptions) {
    super(`Cannot complete TLS handshake: ${detail}`, options);
    this.reason = reason;
  }
}

/** The peer's certificate, as needed for `verify_and_map` and logs. */
export interface PeerCertificate {
  /**
   * The subject as `X509Certificate.subject` prints it: `"CN=leaf-client\nO=Canopy\nOU=test"`.
   * Deno's `getPeerCertificate().subject` object has its keys in a different order than
   * Node's, so DN mapping must use this string (runtime facts §2b).
   */
  subject: string;
  /** `"DNS:leaf.example, email:leaf@example.com"`, when the certificate has SANs. */
  subjectAltName?: string;
  /** The DER bytes. */
  raw: Uint8Array;
}

/** Timing options of the handshake functions. */
export interface HandshakeOptions {
  /** Gives up after this long; defaults to the config's `timeout`, then 2 s. */
  timeoutMs?: number;
}

/** Options of the client-side handshake functions. */
export interface ClientHandshakeOptions extends HandshakeOptions {
  /**
   * The name the server's certificate must carry; also sent as SNI unless it is an IP address.
   * Defaults to the transport's `remoteHost`.
   */
  servername?: string;
}

/** What {@linkcode sniffClientHello} saw. */
export interface SniffResult {
  /** True when the first byte starts a TLS handshake record. */
  tls: boolean;
  /** The bytes read while sniffing (empty when the client stayed silent). */
  prefix: Uint8Array;
  /**
   * The connection to continue on, whichever way: it replays `prefix` first and owns a read
   * that may still be pending when the wait ran out. Never read the raw transport again.
   */
  transport: Transport;
}

/**
 * A {@linkcode Transport} over a `node:tls` socket. Decrypted data is queued as it arrives and
 * copied into the caller's buffer on `read()`; when a reader falls behind by more than 1 MiB the
 * socket is paused, which stops reading the underlying transport, so TCP flow control pushes
 * back on the peer.
 */
export class NodeTlsTransport implements Transport {
  readonly remoteHost: string;
  readonly remotePort: number;
  #socket: nodeTls.TLSSocket;
  #raw: Transport;
  #chunks: Uint8Array[] = [];
  #head = 0;
  #headOffset = 0;
  #buffered = 0;
  #paused = false;
  #ended = false;
  #error: unknown;
  #closed = false;
  #reader?: {
    buffer: Uint8Array;
    resolve: (n: number | null) => void;
    reject: (error: unknown) => void;
  };
  #writeFailures = new Set<(error: unknown) => void>();
  #underlying?: TransportDuplex;

  /**
   * Takes over `socket`, which must have finished its handshake; `raw` is the transport under
   * it (its address is reported, and it is closed with this one). `underlying` is the
   * {@linkcode duplexOver} duplex the socket runs on, if any: it is held while the reader is
   * behind, because pausing a `node:tls` socket in Deno stops its 'data' events but not its
   * reads from below, which would then pile up inside the socket without bound.
   */
  constructor(socket: nodeTls.TLSSocket, raw: Transport, underlying?: Duplex) {
    this.#socket = socket;
    this.#raw = raw;
    if (underlying instanceof TransportDuplex) this.#underlying = underlying;
    this.remoteHost = raw.remoteHost;
    this.remotePort = raw.remotePort;
    socket.on("data", (chunk: Uint8Array) => this.#onData(chunk));
    socket.on("end", () => this.#onEnd());
    socket.on("close", () => this.#onClose());
    socket.on("error", (error: unknown) => this.#onError(error));
  }

  /** Decrypted bytes received and not read yet. */
  get buffered(): number {
    return this.#buffered;
  }

  /** The TLS version in use, such as `"TLSv1.3"`. */
  get protocol(): string | null {
    return this.#socket.getProtocol();
  }

  /** The peer's certificate, or undefined when it sent none. */
  peerCertificate(): PeerCertificate | undefined {
    const certificate = this.#socket.getPeerX509Certificate();
    if (certificate === undefined) return undefined;
    const peer: PeerCertificate = {
      subject: certificate.subject,
      raw: new Uint8Array(certificate.raw),
    };
    if (certificate.subjectAltName) peer.subjectAltName = certificate.subjectAltName;
    return peer;
  }

  read(buffer: Uint8Array): Promise<number | null> {
    if (this.#buffered > 0) return Promise.resolve(this.#take(buffer));
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#ended || this.#closed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.#reader = { buffer, resolve, reject };
    });
  }

  write(data: Uint8Array): Promise<number> {
    if (this.#closed || this.#socket.destroyed) {
      return Promise.reject(new Deno.errors.BrokenPipe("TLS connection is closed"));
    }
    return new Promise((resolve, reject) => {
      this.#writeFailures.add(reject);
      // The callback runs once the TLS layer has encrypted the bytes and the transport below
      // took the records, so `data` may be reused afterwards, as with Deno's own `write()`,
      // and a slow peer holds back the writer instead of growing a queue here.
      this.#socket.write(data, (error?: Error | null) => {
        this.#writeFailures.delete(reject);
        if (error) reject(error);
        else resolve(data.length);
      });
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    this.#raw.close();
    this.#finishReader();
  }

  /** Copies queued bytes into `buffer`, across chunks, and resumes a paused socket. */
  #take(buffer: Uint8Array): number {
    let written = 0;
    while (written < buffer.length && this.#head < this.#chunks.length) {
      const chunk = this.#chunks[this.#head];
      const available = chunk.length - this.#headOffset;
      const n = Math.min(available, buffer.length - written);
      buffer.set(chunk.subarray(this.#headOffset, this.#headOffset + n), written);
      written += n;
      if (n === available) {
        this.#chunks[this.#head++] = EMPTY;
        this.#headOffset = 0;
      } else {
        this.#headOffset += n;
      }
    }
    if (this.#head === this.#chunks.length) {
      this.#chunks.length = 0;
      this.#head = 0;
    }
    this.#buffered -= written;
    if (this.#paused && this.#buffered < RESUME_BELOW_BYTES) {
      this.#paused = false;
      this.#underlying?.release();
      this.#socket.resume();
    }
    return written;
  }

  #onData(chunk: Uint8Array): void {
    const reader = this.#reader;
    if (reader !== undefined) {
      // A reader is waiting, so nothing is queued: copy straight into its buffer.
      this.#reader = undefined;
      const n = Math.min(chunk.length, reader.buffer.length);
      reader.buffer.set(n === chunk.length ? chunk : chunk.subarray(0, n));
      if (n < chunk.length) this.#queue(chunk.subarray(n));
      reader.resolve(n);
      return;
    }
    this.#queue(chunk);
  }

  #queue(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    if (!this.#paused && this.#buffered > PAUSE_ABOVE_BYTES) {
      this.#paused = true;
      this.#socket.pause();
      this.#underlying?.hold();
    }
  }

  #onEnd(): void {
    this.#ended = true;
    if (this.#buffered === 0) this.#finishReader();
  }

  #onClose(): void {
    this.#ended = true;
    this.#raw.close();
    if (this.#buffered === 0) this.#finishReader();
    const failures = [...this.#writeFailures];
    this.#writeFailures.clear();
    for (const fail of failures) fail(new Deno.errors.BrokenPipe("TLS connection is closed"));
  }

  #onError(error: unknown): void {
    this.#error ??= refusalAfterHandshake(error) ?? error;
    if (this.#buffered === 0) this.#finishReader();
  }

  /** Wakes a waiting reader with the error, or with end of stream. */
  #finishReader(): void {
    const reader = this.#reader;
    if (reader === undefined) return;
    this.#reader = undefined;
    if (this.#error !== undefined && !this.#closed) reader.reject(this.#error);
    else reader.resolve(null);
  }
}

const EMPTY = new Uint8Array(0);

/**
 * In TLS 1.3 a client finishes its handshake before the server has judged the client
 * certificate, so a refusal (nats-server: "client didn't provide a certificate") reaches the
 * client as an alert on its first read. Reported as the handshake failure it really is.
 */
function refusalAfterHandshake(error: unknown): TlsHandshakeError | undefined {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== "string" || !/ALERT_(BAD_CERTIFICATE|CERTIFICATE_REQUIRED)$/.test(code)) {
    return undefined;
  }
  return new TlsHandshakeError(
    "bad_certificate",
    `the peer refused our certificate (or its absence): ${message(error)}`,
    { cause: error },
  );
}

/**
 * A {@linkcode Transport} that hands out `prefix` (bytes already read from `inner`) before
 * reading `inner` again. With `pending`, a read of `inner` into `pending.buffer` that is still
 * in flight is awaited first, so no byte is lost or reordered.
 */
export class PrefixedTransport implements Transport {
  readonly remoteHost: string;
  readonly remotePort: number;
  #inner: Transport;
  #prefix: Uint8Array;
  #pending?: { read: Promise<number | null>; buffer: Uint8Array };
  #ended = false;

  constructor(
    inner: Transport,
    prefix: Uint8Array,
    pending?: { read: Promise<number | null>; buffer: Uint8Array },
  ) {
    this.#inner = inner;
    this.#prefix = prefix;
    this.#pending = pending;
    this.remoteHost = inner.remoteHost;
    this.remotePort = inner.remotePort;
  }

  read(buffer: Uint8Array): Promise<number | null> {
    if (this.#prefix.length === 0 && this.#pending === undefined) {
      return this.#ended ? Promise.resolve(null) : this.#inner.read(buffer);
    }
    return this.#readReplay(buffer);
  }

  write(data: Uint8Array): Promise<number> {
    return this.#inner.write(data);
  }

  close(): void {
    this.#inner.close();
  }

  async #readReplay(buffer: Uint8Array): Promise<number | null> {
    if (this.#prefix.length === 0 && this.#pending !== undefined) {
      const { read, buffer: pendingBuffer } = this.#pending;
      this.#pending = undefined;
      const n = await read;
      if (n === null) {
        this.#ended = true;
        return null;
      }
      this.#prefix = pendingBuffer.subarray(0, n);
    }
    const n = Math.min(this.#prefix.length, buffer.length);
    buffer.set(this.#prefix.subarray(0, n));
    this.#prefix = this.#prefix.subarray(n);
    return n;
  }
}

/**
 * A `stream.Duplex` over one of our transports, for running `node:tls` on top of Deno TCP, a
 * WebSocket, or anything else that implements {@linkcode Transport}. Reads land in slices of a
 * shared 256 KiB slab, so chunks are not copied and a new backing store is needed only every
 * few reads; destroying the duplex closes the transport. A failed read or write destroys the
 * duplex with that error, so give it an 'error' listener.
 */
export function duplexOver(transport: Transport): Duplex {
  return new TransportDuplex(transport);
}

class TransportDuplex extends Duplex {
  #transport: Transport;
  #slab = new Uint8Array(0);
  #slabUsed = 0;
  #pumping = false;
  /** The consumer asked for data and has not refused a push since. */
  #wanted = false;
  /** Reading stopped from above, whatever the consumer asks (see NodeTlsTransport). */
  #held = false;

  constructor(transport: Transport) {
    super({ allowHalfOpen: false, readableHighWaterMark: READ_SLICE_BYTES });
    this.#transport = transport;
  }

  /** Stops reading the transport after the read in flight, until `release()`. */
  hold(): void {
    this.#held = true;
  }

  release(): void {
    this.#held = false;
    if (this.#wanted && !this.#pumping && !this.destroyed) this.#pump();
  }

  override _read(): void {
    this.#wanted = true;
    if (!this.#pumping && !this.#held) this.#pump();
  }

  override _write(
    chunk: Uint8Array,
    _encoding: string,
    callback: (error?: Error | null) => void,
  ): void {
    this.#write(chunk, callback);
  }

  override _writev(
    chunks: { chunk: Uint8Array }[],
    callback: (error?: Error | null) => void,
  ): void {
    // TLS hands over one record per chunk; one write of them all is one syscall, not many.
    // The batch is copied into one reused buffer: the duplex waits for the write to
    // finish before handing over the next batch, so the buffer is free again by then.
    if (chunks.length === 1) return this.#write(chunks[0].chunk, callback);
    let total = 0;
    for (const c of chunks) total += c.chunk.length;
    if (this.#batch.length < total) this.#batch = new Uint8Array(Math.max(total, 64 * 1024));
    let at = 0;
    for (const c of chunks) {
      this.#batch.set(c.chunk, at);
      at += c.chunk.length;
    }
    this.#write(this.#batch.subarray(0, total), callback);
  }

  #batch = new Uint8Array(0);

  #write(data: Uint8Array, callback: (error?: Error | null) => void): void {
    writeAll(this.#transport, data).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    // Transports have no half-close; the connection ends when the duplex is destroyed.
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#transport.close();
    callback(error);
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (!this.#held) {
        if (this.#slab.length - this.#slabUsed < MIN_READ_SLICE_BYTES) {
          this.#slab = new Uint8Array(SLAB_BYTES);
          this.#slabUsed = 0;
        }
        const end = Math.min(this.#slab.length, this.#slabUsed + READ_SLICE_BYTES);
        const slice = this.#slab.subarray(this.#slabUsed, end);
        const n = await this.#transport.read(slice);
        if (this.destroyed) return;
        if (n === null) {
          this.push(null);
          return;
        }
        this.#slabUsed += n;
        this.#wanted = this.push(Buffer.from(slice.buffer, slice.byteOffset, n));
        if (!this.#wanted) return;
      }
    } catch (error) {
      if (!this.destroyed) this.destroy(asError(error));
    } finally {
      this.#pumping = false;
    }
  }
}

async function writeAll(transport: Transport, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    offset += await transport.write(offset === 0 ? data : data.subarray(offset));
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Returns why the runtime cannot honour `tls`, or undefined when it can. Deno's `node:tls` is
 * rustls underneath and silently ignores `ciphers` and `ecdhCurve` (runtime facts §2e), so a
 * config that restricts suites or curves would look applied while it is not: refuse it.
 */
export function validateTlsOptions(tls: TlsOptions): string | undefined {
  const problems: string[] = [];
  if (tls.cipherSuites !== undefined) {
    problems.push(
      "'cipher_suites' cannot be honoured: this runtime's TLS (Deno node:tls on rustls) " +
        "silently ignores cipher suite settings and always negotiates its own " +
        "(TLS 1.3 AES-GCM/ChaCha20, TLS 1.2 ECDHE AEAD suites), so the restriction would not " +
        "be enforced; remove 'cipher_suites'",
    );
  }
  if (tls.curvePreferences !== undefined) {
    problems.push(
      "'curve_preferences' cannot be honoured: this runtime's TLS (Deno node:tls on rustls) " +
        "silently ignores curve settings and always negotiates its own key exchange groups, " +
        "so the preference would not be enforced; remove 'curve_preferences'",
    );
  }
  return problems.length === 0 ? undefined : problems.join("; ");
}

/** PEM material read once per `TlsOptions` object; configs are immutable once loaded. */
interface Material {
  cert?: string;
  key?: string;
  ca?: string;
  /** The trust roots of `ca_file`, parsed, for explaining a rejected certificate. */
  trusted: X509Certificate[];
}

const materials = new WeakMap<TlsOptions, Material>();

/** Reads the files of `config`; throws a `config` error naming the file that failed. */
function materialOf(config: TlsOptions): Material {
  const known = materials.get(config);
  if (known !== undefined) return known;
  const material: Material = {
    cert: readPem(config.certFile, "cert_file"),
    key: readPem(config.keyFile, "key_file"),
    ca: readPem(config.caFile, "ca_file"),
    trusted: [],
  };
  if (material.ca !== undefined) material.trusted = parseCertificates(material.ca);
  materials.set(config, material);
  return material;
}

function readPem(path: string | undefined, key: string): string | undefined {
  if (path === undefined) return undefined;
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    throw new TlsHandshakeError("config", `cannot read '${key}' "${path}": ${message(error)}`, {
      cause: error,
    });
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function parseCertificates(pem: string): X509Certificate[] {
  const certificates: X509Certificate[] = [];
  for (const block of pem.match(PEM_CERTIFICATE) ?? []) {
    try {
      certificates.push(new X509Certificate(block));
    } catch {
      // The TLS layer reports an unusable CA file itself; this list only explains rejections.
    }
  }
  return certificates;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Checks `config` and reads its files, or explains why it cannot be used. */
function prepare(config: TlsOptions, role: "server" | "client"): Material {
  const problem = validateTlsOptions(config);
  if (problem !== undefined) throw new TlsHandshakeError("config", problem);
  const material = materialOf(config);
  if (role === "server" && (material.cert === undefined || material.key === undefined)) {
    throw new TlsHandshakeError("config", "a TLS listener needs 'cert_file' and 'key_file'");
  }
  if ((material.cert === undefined) !== (material.key === undefined)) {
    throw new TlsHandshakeError("config", "'cert_file' and 'key_file' must be given together");
  }
  return material;
}

/** How one handshake attempt reports its outcome; only the first report counts. */
interface Outcome<T> {
  readonly settled: boolean;
  succeed(value: T): void;
  fail(error: TlsHandshakeError): void;
}

/**
 * Runs `attempt` under a timer with a settle-once outcome. On failure the attempt's cleanup
 * runs (it returns it) and `raw` is closed, whatever failed and however early.
 */
function handshakeAttempt<T>(
  raw: Transport,
  timeoutMs: number,
  attempt: (outcome: Outcome<T>) => () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let failed = false;
    let cleanup: (() => void) | undefined;
    const outcome: Outcome<T> = {
      get settled() {
        return settled;
      },
      succeed(value: T): void {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      fail(error: TlsHandshakeError): void {
        if (settled) return;
        settled = true;
        failed = true;
        clearTimeout(timer);
        cleanup?.();
        raw.close();
        reject(error);
      },
    };
    const timer = setTimeout(() => {
      outcome.fail(new TlsHandshakeError("timeout", `no TLS handshake within ${timeoutMs} ms`));
    }, timeoutMs);
    try {
      cleanup = attempt(outcome);
    } catch (error) {
      outcome.fail(
        error instanceof TlsHandshakeError
          ? error
          : new TlsHandshakeError("config", message(error), { cause: error }),
      );
    }
    // A failure reported before `attempt` returned could not run its cleanup yet.
    if (failed) cleanup?.();
  });
}

/**
 * Server side of the INFO-first flow: the caller has written INFO on `raw` in plaintext and has
 * read nothing. Reads the client's ClientHello and runs the handshake through `node:tls`.
 * With `verify` the client must present a certificate that chains to `ca_file` (or to the
 * system roots when there is none).
 *
 * @throws {TlsHandshakeError} on any failure, after closing `raw`.
 */
export function upgradeServerTls(
  raw: Transport,
  tls: TlsOptions,
  options: HandshakeOptions = {},
): Promise<NodeTlsTransport> {
  return serverHandshake(raw, tls, options);
}

/**
 * Server side of `handshake_first`: the TLS handshake before the server sends anything.
 * The same handshake as {@linkcode upgradeServerTls}; a separate name keeps call sites honest
 * about which flow they run.
 *
 * @throws {TlsHandshakeError} on any failure, after closing `raw`.
 */
export function acceptTlsFirst(
  raw: Transport,
  tls: TlsOptions,
  options: HandshakeOptions = {},
): Promise<NodeTlsTransport> {
  return serverHandshake(raw, tls, options);
}

/** The first read of a handshake; a ClientHello fits easily. */
const FIRST_READ_BYTES = 16 * 1024;

function serverHandshake(
  raw: Transport,
  config: TlsOptions,
  options: HandshakeOptions,
): Promise<NodeTlsTransport> {
  const timeoutMs = options.timeoutMs ?? config.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const verify = config.verify === true || config.verifyAndMap === true;
  return handshakeAttempt<NodeTlsTransport>(raw, timeoutMs, (settle) => {
    const material = prepare(config, "server");
    let socket: nodeTls.TLSSocket | undefined;
    let duplex: Duplex | undefined;
    const first = new Uint8Array(FIRST_READ_BYTES);
    // Reading the first bytes ourselves tells a plaintext client from a TLS one with a clear
    // message; they are replayed into the TLS layer unchanged.
    raw.read(first).then((n) => {
      if (settle.settled) return;
      if (n === null) {
        return settle.fail(
          new TlsHandshakeError("closed", "the client closed the connection before the handshake"),
        );
      }
      if (first[0] !== TLS_HANDSHAKE_RECORD) {
        return settle.fail(
          new TlsHandshakeError(
            "not_tls",
            `the client sent ${describeBytes(first.subarray(0, n))} where a TLS ClientHello ` +
              "was required (is it configured for TLS?)",
          ),
        );
      }
      duplex = duplexOver(new PrefixedTransport(raw, first.subarray(0, n)));
      duplex.on("error", (error: Error) => settle.fail(closedError(error)));
      // One server per connection: `secureConnection` and `tlsClientError` carry only the
      // TLSSocket, and nothing public links it back to the duplex it was built on. Building a
      // server costs ~75 µs, far below the handshake; the file reads are what is cached.
      const server = nodeTls.createServer({
        cert: material.cert,
        key: material.key,
        ca: material.ca,
        requestCert: verify,
        rejectUnauthorized: verify,
        handshakeTimeout: timeoutMs,
        minVersion: "TLSv1.2",
      });
      server.on("secureConnection", (secured: nodeTls.TLSSocket) => {
        socket = secured;
        if (settle.settled) return void secured.destroy();
        // rejectUnauthorized already refused unverified clients; this is a second lock.
        if (verify && !secured.authorized) {
          return settle.fail(
            secured.getPeerX509Certificate() === undefined
              ? noCertificateError()
              : clientCertificateError(secured.authorizationError),
          );
        }
        settle.succeed(new NodeTlsTransport(secured, raw, duplex));
      });
      server.on("tlsClientError", (error: Error, failed: nodeTls.TLSSocket) => {
        // With this listener in place node:tls leaves the socket open (runtime facts §2c).
        socket = failed;
        failed.destroy();
        settle.fail(serverSideError(error, failed));
      });
      server.emit("connection", duplex);
    }, (error) => settle.fail(closedError(error)));
    return () => tearDown(raw, duplex, socket);
  });
}

/** Tears down a failed handshake: the TLS socket, the duplex under it and the transport. */
function tearDown(raw: Transport, duplex?: Duplex, socket?: nodeTls.TLSSocket): void {
  socket?.destroy();
  duplex?.destroy();
  raw.close();
}

function closedError(error: unknown): TlsHandshakeError {
  return new TlsHandshakeError(
    "closed",
    `the connection failed during the handshake: ${message(error)}`,
    { cause: error },
  );
}

/** Up to 16 bytes, as text when printable (`"CONNECT {"`) and as hex otherwise. */
function describeBytes(bytes: Uint8Array): string {
  const head = bytes.subarray(0, 16);
  const printable = head.every((b) => (b >= 0x20 && b < 0x7f) || b === 0x0d || b === 0x0a);
  if (printable) return JSON.stringify(new TextDecoder().decode(head));
  return Array.from(head, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

function serverSideError(error: Error, socket: nodeTls.TLSSocket): TlsHandshakeError {
  const code = (error as { code?: string }).code;
  if (code === "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE") return noCertificateError(error);
  if (socket.authorizationError) {
    // Deno reports a client certificate its verifier refused as a hang-up ("ECONNRESET");
    // the verdict itself is on the socket.
    return clientCertificateError(socket.authorizationError, error);
  }
  if (/timeout/i.test(error.message)) {
    return new TlsHandshakeError("timeout", "no TLS handshake in time", { cause: error });
  }
  if (code === "ECONNRESET" || code === "EPIPE") {
    return new TlsHandshakeError("closed", "the client hung up during the handshake", {
      cause: error,
    });
  }
  return protocolError(error);
}

function protocolError(error: Error): TlsHandshakeError {
  const code = (error as { code?: string }).code;
  return new TlsHandshakeError("protocol", `${error.message}${code ? ` (${code})` : ""}`, {
    cause: error,
  });
}

function noCertificateError(cause?: unknown): TlsHandshakeError {
  return new TlsHandshakeError(
    "no_certificate",
    "the client presented no certificate, and 'verify' requires one",
    { cause },
  );
}

function clientCertificateError(
  authorizationError: Error | string | null | undefined,
  cause?: unknown,
): TlsHandshakeError {
  const code = String(authorizationError ?? "unknown");
  return new TlsHandshakeError(
    "bad_certificate",
    `the client certificate was rejected: ${
      CERTIFICATE_PROBLEMS[code] ?? `it was refused (${code})`
    }`,
    { cause },
  );
}

/**
 * Deno's node:tls reports every verification failure of rustls as
 * `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, whether the certificate expired or comes from an unknown
 * CA; the texts say so instead of guessing.
 */
const CERTIFICATE_PROBLEMS: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    "it does not chain to a trusted CA ('ca_file'), has expired, or is not valid for this use",
  UNABLE_TO_GET_ISSUER_CERT: "no certificate, or its issuer is unknown",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "it is signed by an unknown authority",
  SELF_SIGNED_CERT_IN_CHAIN: "it is signed by an unknown authority (self-signed chain)",
  DEPTH_ZERO_SELF_SIGNED_CERT: "it is self-signed",
  CERT_HAS_EXPIRED: "it has expired",
  CERT_NOT_YET_VALID: "it is not valid yet",
};

/**
 * Client side of the INFO-first flow: the caller has read the server's INFO from `raw` (and
 * nothing after it). Trusts `ca_file` (system roots when absent), presents `cert_file`/
 * `key_file` when given, and checks the server's certificate for `servername`. `tls` may be
 * undefined (a hub that requires TLS from a remote without a `tls` block: system roots, no
 * client certificate). With `insecure: true` any server certificate is accepted.
 *
 * @throws {TlsHandshakeError} on any failure, after closing `raw`.
 */
export function upgradeClientTls(
  raw: Transport,
  tls: TlsOptions | undefined,
  options: ClientHandshakeOptions = {},
): Promise<NodeTlsTransport> {
  return clientHandshake(raw, tls, options);
}

/**
 * Client side of `handshake_first`: the TLS handshake right after connecting, before the
 * server's INFO (which then arrives encrypted). Same checks as {@linkcode upgradeClientTls}.
 *
 * @throws {TlsHandshakeError} on any failure, after closing `raw`.
 */
export function connectTlsFirst(
  raw: Transport,
  tls: TlsOptions | undefined,
  options: ClientHandshakeOptions = {},
): Promise<NodeTlsTransport> {
  return clientHandshake(raw, tls, options);
}

const NO_TLS_CONFIG: TlsOptions = {};

function clientHandshake(
  raw: Transport,
  config: TlsOptions | undefined,
  options: ClientHandshakeOptions,
): Promise<NodeTlsTransport> {
  const tls = config ?? NO_TLS_CONFIG;
  const timeoutMs = options.timeoutMs ?? tls.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const host = options.servername ?? raw.remoteHost;
  return handshakeAttempt<NodeTlsTransport>(raw, timeoutMs, (settle) => {
    const material = prepare(tls, "client");
    const duplex = duplexOver(raw);
    duplex.on("error", (error: Error) => settle.fail(closedError(error)));
    // The runtime judges the certificate either way (`authorized` below decides). Verification
    // is not left to the TLS layer's own rejection because Deno reports every rustls verdict
    // as "unable to verify the first certificate"; completing the handshake keeps the
    // certificate available to say whether it expired or comes from an unknown CA.
    const socket = nodeTls.connect({
      socket: duplex,
      host,
      servername: isIP(host) === 0 ? host : undefined,
      ca: material.ca,
      cert: material.cert,
      key: material.key,
      rejectUnauthorized: false,
      minVersion: "TLSv1.2",
    });
    const onError = (error: Error) => settle.fail(clientSideError(error));
    socket.on("error", onError);
    socket.once("secureConnect", () => {
      if (settle.settled) return;
      if (tls.insecure !== true) {
        const problem = serverCertificateProblem(socket, host, material);
        if (problem !== undefined) return settle.fail(problem);
      }
      socket.off("error", onError);
      settle.succeed(new NodeTlsTransport(socket, raw, duplex));
    });
    return () => tearDown(raw, duplex, socket);
  });
}

function clientSideError(error: Error): TlsHandshakeError {
  const code = (error as { code?: string }).code ?? "";
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    return new TlsHandshakeError("hostname_mismatch", error.message, { cause: error });
  }
  if (code in CERTIFICATE_PROBLEMS) {
    return new TlsHandshakeError(
      "bad_certificate",
      `the server certificate was rejected: ${CERTIFICATE_PROBLEMS[code]}`,
      { cause: error },
    );
  }
  if (code === "ECONNRESET" || code === "EPIPE" || code === "ERR_STREAM_PREMATURE_CLOSE") {
    return new TlsHandshakeError("closed", "the server hung up during the handshake", {
      cause: error,
    });
  }
  if (code === "ERR_SSL_WRONG_VERSION_NUMBER" || /InvalidContentType/.test(error.message)) {
    // What a plaintext INFO looks like to a TLS client (handshake_first on one side only).
    return new TlsHandshakeError(
      "not_tls",
      "the server answered in plaintext (an INFO?) where a TLS ServerHello was expected; " +
        "is handshake_first set on only one side?",
      { cause: error },
    );
  }
  return refusalAfterHandshake(error) ?? protocolError(error);
}

/** Why the server's certificate must be refused, or undefined when it is good. */
function serverCertificateProblem(
  socket: nodeTls.TLSSocket,
  host: string,
  material: Material,
): TlsHandshakeError | undefined {
  const peer = socket.getPeerCertificate(true);
  const leaf = socket.getPeerX509Certificate();
  if (leaf === undefined || peer === undefined || Object.keys(peer).length === 0) {
    return new TlsHandshakeError("bad_certificate", "the server presented no certificate");
  }
  const nameError = nodeTls.checkServerIdentity(host, peer);
  if (socket.authorized && nameError === undefined) return undefined;
  if (
    nameError !== undefined || String(socket.authorizationError) === "ERR_TLS_CERT_ALTNAME_INVALID"
  ) {
    const names = leaf.subjectAltName ?? `no subject alternative names (${leaf.subject})`;
    return new TlsHandshakeError(
      "hostname_mismatch",
      `the server certificate is for ${names}, not for "${host}"`,
      { cause: nameError },
    );
  }
  const now = Date.now();
  if (now > Date.parse(leaf.validTo)) {
    return new TlsHandshakeError(
      "expired_certificate",
      `the server certificate (${oneLine(leaf.subject)}) expired on ${leaf.validTo}`,
    );
  }
  if (now < Date.parse(leaf.validFrom)) {
    return new TlsHandshakeError(
      "not_yet_valid_certificate",
      `the server certificate (${oneLine(leaf.subject)}) is not valid until ${leaf.validFrom}`,
    );
  }
  if (!chainsToTrusted(peer, material.trusted)) {
    const roots = material.ca === undefined ? "the system roots" : "'ca_file'";
    return new TlsHandshakeError(
      "unknown_ca",
      `the server certificate (${oneLine(leaf.subject)}) is signed by an unknown authority ` +
        `(${oneLine(leaf.issuer)}), not by ${roots}`,
    );
  }
  const code = String(socket.authorizationError ?? "unknown");
  return new TlsHandshakeError(
    "bad_certificate",
    `the server certificate was rejected: ${CERTIFICATE_PROBLEMS[code] ?? code}`,
  );
}

/**
 * True when some certificate of the peer's chain was issued by one of `trusted`. Only used to
 * explain a rejection; with system roots (`trusted` empty) nothing can be shown to chain.
 */
function chainsToTrusted(
  peer: nodeTls.DetailedPeerCertificate,
  trusted: X509Certificate[],
): boolean {
  const seen = new Set<nodeTls.DetailedPeerCertificate>();
  for (
    let current: nodeTls.DetailedPeerCertificate | undefined = peer;
    current?.raw !== undefined && !seen.has(current);
    current = current.issuerCertificate
  ) {
    seen.add(current);
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(current.raw);
    } catch {
      return false;
    }
    for (const root of trusted) {
      if (certificate.checkIssued(root) && certificate.verify(root.publicKey)) return true;
    }
  }
  return false;
}

function oneLine(distinguishedName: string): string {
  return distinguishedName.split("\n").join(", ");
}

/**
 * Waits up to `waitMs` for the client's first bytes, for `handshake_first: "auto"`: a client
 * that opens with a TLS record (first byte 0x16) gets the TLS-first path, a silent one (or one
 * that speaks plaintext) the plaintext INFO. Continue on `result.transport` either way: it
 * replays what was read and owns a read still in flight.
 */
export async function sniffClientHello(raw: Transport, waitMs: number): Promise<SniffResult> {
  const buffer = new Uint8Array(FIRST_READ_BYTES);
  const read = raw.read(buffer);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const waited = new Promise<"waited">((resolve) => {
    timer = setTimeout(() => resolve("waited"), waitMs);
  });
  let outcome: number | null | "waited";
  try {
    outcome = await Promise.race([read, waited]);
  } finally {
    clearTimeout(timer);
  }
  if (outcome === "waited" || outcome === null) {
    // A read still in flight stays with the returned transport: its bytes go to whoever reads
    // next, and a failure surfaces there instead of as an unhandled rejection here.
    read.catch(() => {});
    const transport = new PrefixedTransport(raw, EMPTY, { read, buffer });
    return { tls: false, prefix: EMPTY, transport };
  }
  const prefix = buffer.subarray(0, outcome);
  return {
    tls: prefix[0] === TLS_HANDSHAKE_RECORD,
    prefix,
    transport: new PrefixedTransport(raw, prefix),
  };
}
