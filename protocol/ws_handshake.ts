/**
 * The HTTP/1.1 upgrade that opens a WebSocket (RFC 6455 §4), both sides, with no I/O: an
 * incremental reader for the request or response head, nats-server's request checks (same order,
 * same status codes, same reason texts as `wsUpgrade` in `server/websocket.go`), its 101 and
 * error responses, and the solicit side's request and response validation (`leafnode.go`).
 *
 * nats-server details kept here:
 * - Compression is accepted when the server enables it and the request names
 *   `permessage-deflate` (parameters are not checked); the answer always asks for no context
 *   takeover in both directions.
 * - `Nats-No-Masking` is honoured only when its value is exactly `true`; the 101 then echoes it
 *   and the client may send unmasked frames.
 * - Origins are checked only when `sameOrigin` or `allowedOrigins` is set, and a request without
 *   `Origin` (or `Sec-WebSocket-Origin`) passes: dedicated clients can send any origin anyway.
 * - A rejected upgrade gets the HTTP status text as its body (`400 Bad Request` → "Bad
 *   Request\n"); the detailed reason is only for the log.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** RFC 6455 §1.3: appended to the client's key before hashing it into `Sec-WebSocket-Accept`. */
export const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** Header by which a NATS peer asks to skip masking (NATS extension, not RFC 6455). */
export const NO_MASKING_HEADER = "Nats-No-Masking";

/** The only extension nats-server supports, in the form it requests and answers it. */
export const PERMESSAGE_DEFLATE_OFFER =
  "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

/**
 * Largest request or response head accepted. Go's default is 1 MiB; an unauthenticated peer
 * gets much less here, still far above a browser's upgrade request with a JWT cookie (< 8 KiB).
 */
export const DEFAULT_MAX_HEAD_BYTES: number = 64 * 1024;

/** Texts nats-server uses, byte for byte (handshake errors are logged, not sent). */
export const HandshakeReason = Object.freeze(
  {
    methodNotGet: "request method must be GET",
    hostMissing: "'Host' missing in request",
    badUpgrade: "invalid value for header 'Upgrade'",
    badConnection: "invalid value for header 'Connection'",
    keyMissing: "key missing",
    /** nats-server 2.11.14+ and 2.12.5+; 2.9.10 accepted any non-empty key. */
    badKey: "invalid websocket key",
    badVersion: "invalid version",
    /** Prefix of every origin rejection, followed by the detail. */
    originNotAllowed: "origin not allowed: ",
    notSameOrigin: "not same origin",
    notInAllowedList: "not in the allowed list",
    earlyData: "client sent data before handshake is complete",
    /** Solicit side: status, `Upgrade`, `Connection` or accept key wrong. */
    invalidConnection: "invalid websocket connection",
    /** Solicit side: compression answered without both no-context-takeover parameters. */
    compressionNegotiation: "compression negotiation error",
  } as const,
);

const STATUS_TEXT: Readonly<Record<number, string>> = Object.freeze({
  101: "Switching Protocols",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
});

/**
 * A failed upgrade. On the accepting side `status` is the HTTP status to answer with and
 * `message` nats-server's log reason; on the soliciting side `status` is the status received
 * (0 when there was no valid response) and `message` nats-server's error text.
 *
 * @example
 * ```ts
 * import { WebSocketHandshakeError } from "./ws_handshake.ts";
 * const err = new WebSocketHandshakeError(400, "invalid version");
 * console.log(err.status, err.message); // 400 "invalid version"
 * ```
 */
export class WebSocketHandshakeError extends Error {
  override name = "WebSocketHandshakeError";
  /** HTTP status to send (accept side) or received (solicit side, 0 if none). */
  readonly status: number;

  /** Creates the error; `message` is the reason text. */
  constructor(status: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
  }
}

/**
 * Header fields with case-insensitive names; `get()` returns the first value, like Go's
 * `Header.Get`, which is what nats-server compares against.
 */
export class HttpHeaders {
  #fields = new Map<string, string[]>();

  /** Adds a value (names are matched case-insensitively). */
  append(name: string, value: string): void {
    const key = name.toLowerCase();
    const values = this.#fields.get(key);
    if (values) values.push(value);
    else this.#fields.set(key, [value]);
  }

  /** The first value of `name`, or `undefined`. */
  get(name: string): string | undefined {
    return this.#fields.get(name.toLowerCase())?.[0];
  }

  /** Every value of `name`, in order (empty when absent). */
  getAll(name: string): readonly string[] {
    return this.#fields.get(name.toLowerCase()) ?? [];
  }

  has(name: string): boolean {
    return this.#fields.has(name.toLowerCase());
  }

  /** `[lower-case name, values]` pairs in first-seen order. */
  entries(): IterableIterator<[string, readonly string[]]> {
    return this.#fields.entries();
  }
}

/**
 * Whether any comma-separated token of any `name` header equals `token` (case-insensitive), the
 * way nats-server reads `Upgrade`, `Connection` and `Sec-WebSocket-Version`.
 */
export function headerHasToken(headers: HttpHeaders, name: string, token: string): boolean {
  const wanted = token.toLowerCase();
  for (const value of headers.getAll(name)) {
    for (const part of value.split(",")) {
      if (trimOws(part).toLowerCase() === wanted) return true;
    }
  }
  return false;
}

function trimOws(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, "");
}

/** What permessage-deflate the `Sec-WebSocket-Extensions` headers carry. */
export interface DeflateOffer {
  /** `permessage-deflate` is named. */
  offered: boolean;
  /** Both `server_no_context_takeover` and `client_no_context_takeover` follow it. */
  noContextTakeover: boolean;
}

/** Reads `Sec-WebSocket-Extensions` like nats-server does. */
export function readDeflateOffer(headers: HttpHeaders): DeflateOffer {
  for (const list of headers.getAll("sec-websocket-extensions")) {
    for (const extension of list.split(",")) {
      const params = extension.split(";").map((param) => trimOws(param).toLowerCase());
      const at = params.indexOf("permessage-deflate");
      if (at < 0) continue;
      const rest = params.slice(at + 1);
      return {
        offered: true,
        noContextTakeover: rest.includes("server_no_context_takeover") &&
          rest.includes("client_no_context_takeover"),
      };
    }
  }
  return { offered: false, noContextTakeover: false };
}

/** A request or response head: the start line, the fields, and the bytes that followed it. */
export interface HttpHead {
  startLine: string;
  headers: HttpHeaders;
  /** Bytes after the blank line: the start of the WebSocket stream. Owned by the caller. */
  rest: Uint8Array;
}

/**
 * Collects bytes until the blank line that ends an HTTP head (CRLF or bare LF line ends), bounded
 * by `maxBytes`.
 *
 * @example
 * ```ts
 * import { HttpHeadReader } from "./ws_handshake.ts";
 * const reader = new HttpHeadReader();
 * const bytes = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\nxy");
 * console.log(reader.feed(bytes.subarray(0, 10))); // undefined
 * const head = reader.feed(bytes.subarray(10))!;
 * console.log(head.startLine, head.headers.get("host"), head.rest.length); // "GET / HTTP/1.1" "a" 2
 * ```
 */
export class HttpHeadReader {
  #maxBytes: number;
  #buffer = new Uint8Array(1024);
  #length = 0;
  #done = false;

  /** A reader that refuses heads longer than `maxBytes`. */
  constructor(maxBytes: number = DEFAULT_MAX_HEAD_BYTES) {
    this.#maxBytes = maxBytes;
  }

  /**
   * Adds bytes; returns the head once its blank line arrived, else `undefined`.
   *
   * @throws {WebSocketHandshakeError} 431 when the head is longer than `maxBytes`, 400 when a
   * field line is malformed.
   */
  feed(bytes: Uint8Array): HttpHead | undefined {
    if (this.#done) throw new RangeError("Cannot feed HttpHeadReader: the head is complete");
    const scanFrom = Math.max(0, this.#length - 2);
    this.#append(bytes);
    const end = findHeadEnd(this.#buffer, scanFrom, this.#length);
    if (end < 0) {
      if (this.#length > this.#maxBytes) throw headTooLarge();
      return undefined;
    }
    if (end > this.#maxBytes) throw headTooLarge();
    this.#done = true;
    const head = parseHeadLines(latin1(this.#buffer.subarray(0, end)));
    const rest = this.#buffer.slice(end, this.#length);
    this.#buffer = new Uint8Array(0);
    return { ...head, rest };
  }

  #append(bytes: Uint8Array): void {
    const needed = this.#length + bytes.length;
    if (needed > this.#buffer.length) {
      const grown = new Uint8Array(Math.max(needed, this.#buffer.length * 2));
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
    }
    this.#buffer.set(bytes, this.#length);
    this.#length = needed;
  }
}

function headTooLarge(): WebSocketHandshakeError {
  return new WebSocketHandshakeError(431, STATUS_TEXT[431]);
}

/** Index just past the blank line (`\n\n` or `\n\r\n`), or -1. */
function findHeadEnd(buffer: Uint8Array, from: number, length: number): number {
  for (let i = buffer.indexOf(0x0a, from); i >= 0 && i < length; i = buffer.indexOf(0x0a, i + 1)) {
    if (i + 1 < length && buffer[i + 1] === 0x0a) return i + 2;
    if (i + 2 < length && buffer[i + 1] === 0x0d && buffer[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

/** Header bytes are ISO-8859-1: one byte, one character, never a decoding error. */
function latin1(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return text;
}

const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function parseHeadLines(text: string): { startLine: string; headers: HttpHeaders } {
  const lines = text.split("\n").map((line) => line.endsWith("\r") ? line.slice(0, -1) : line);
  const headers = new HttpHeaders();
  // The last two entries are the blank line and what follows its LF.
  for (let i = 1; i < lines.length - 2; i++) {
    const line = lines[i];
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon) : "";
    if (!FIELD_NAME.test(name)) {
      throw new WebSocketHandshakeError(400, `malformed MIME header line: ${line}`);
    }
    headers.append(name, trimOws(line.slice(colon + 1)));
  }
  return { startLine: lines[0], headers };
}

/** Which connection an upgrade path asks for, as nats-server routes it. */
export type UpgradeKind = "client" | "leafnode" | "mqtt";

/**
 * nats-server 2.11+ routes paths that end with `/leafnode` (or `/mqtt`); 2.9.10 routed paths that
 * start with them, and its remotes send `/leafnode` + their URL path (`/leafnodesome/path`).
 * Both forms are accepted so either generation of remote is recognised.
 *
 * @example
 * ```ts
 * import { upgradeKind } from "./ws_handshake.ts";
 * console.log(upgradeKind("/hub/leafnode"), upgradeKind("/leafnodehub"), upgradeKind("/")); // "leafnode" "leafnode" "client"
 * ```
 */
export function upgradeKind(path: string): UpgradeKind {
  if (path.endsWith("/leafnode") || path.startsWith("/leafnode")) return "leafnode";
  if (path.endsWith("/mqtt") || path.startsWith("/mqtt")) return "mqtt";
  return "client";
}

/**
 * The request path a soliciting leafnode uses for a remote URL path: the path with `leafnode`
 * appended as a last segment (the rule of current nats-server; 2.9.10 sent `/leafnode` + path).
 *
 * @example
 * ```ts
 * import { leafnodeUpgradePath } from "./ws_handshake.ts";
 * console.log(leafnodeUpgradePath(""), leafnodeUpgradePath("/some/path/")); // "/leafnode" "/some/path/leafnode"
 * ```
 */
export function leafnodeUpgradePath(urlPath: string): string {
  const segments = urlPath.split("/").filter((segment) => segment !== "");
  return "/" + [...segments, "leafnode"].join("/");
}

/** An upgrade request as read from the wire. */
export interface UpgradeRequest {
  method: string;
  /** The request target as sent. */
  target: string;
  /** The escaped path, without query. */
  path: string;
  /** `HTTP/1.1` or `HTTP/1.0`. */
  version: string;
  /** The authority: `Host`, or the host of an absolute-form target. */
  host: string;
  headers: HttpHeaders;
}

const ABSOLUTE_TARGET = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)([^?#]*)/;

/**
 * Reads the request line of a head.
 *
 * @throws {WebSocketHandshakeError} 400 when it is not `METHOD target HTTP/1.x`.
 */
export function parseUpgradeRequest(head: HttpHead): UpgradeRequest {
  const parts = head.startLine.split(" ");
  const [method, target, version] = parts;
  if (
    parts.length !== 3 || !FIELD_NAME.test(method) || !/^HTTP\/1\.\d$/.test(version) ||
    target === ""
  ) {
    throw new WebSocketHandshakeError(400, `malformed HTTP request "${head.startLine}"`);
  }
  let path: string;
  let host = head.headers.get("host") ?? "";
  if (target.startsWith("/")) {
    const query = target.search(/[?#]/);
    path = query < 0 ? target : target.slice(0, query);
  } else {
    const absolute = ABSOLUTE_TARGET.exec(target);
    if (!absolute) {
      throw new WebSocketHandshakeError(400, `malformed HTTP request "${head.startLine}"`);
    }
    if (absolute[1] !== "") host = absolute[1].slice(absolute[1].lastIndexOf("@") + 1);
    path = absolute[2] === "" ? "/" : absolute[2];
  }
  return { method, target, path, version, host, headers: head.headers };
}

/** Server-side upgrade policy (the `[websocket]` config). */
export interface AcceptUpgradeOptions {
  /** `websocket.compression`: agree to permessage-deflate when the client offers it. */
  compression?: boolean;
  /** `websocket.same_origin`: an `Origin` must match the request's `Host` (scheme, host, port). */
  sameOrigin?: boolean;
  /** `websocket.allowed_origins`: an `Origin` must match one of these (scheme, host, port). */
  allowedOrigins?: readonly string[];
  /** The upgrade arrived over TLS: default port 443 and scheme `https` for `sameOrigin`. */
  tls?: boolean;
}

/** The outcome of a valid upgrade request. */
export interface UpgradeAcceptance {
  /** `Sec-WebSocket-Key`, for the accept value. */
  key: string;
  path: string;
  kind: UpgradeKind;
  /** permessage-deflate is on for this connection. */
  compression: boolean;
  /** The client asked for, and gets, no masking: its frames may be unmasked. */
  noMasking: boolean;
}

const WEBSOCKET_KEY = /^[A-Za-z0-9+/]{22}==$/;

/**
 * Checks an upgrade request like nats-server (method, `Host`, `Upgrade`, `Connection`, key,
 * version, origin, in that order) and decides compression and masking.
 *
 * @throws {WebSocketHandshakeError} with the status to answer (405, 400 or 403) and
 * nats-server's reason.
 *
 * @example
 * ```ts
 * import { HttpHeaders, validateUpgradeRequest } from "./ws_handshake.ts";
 * const headers = new HttpHeaders();
 * headers.append("Upgrade", "websocket");
 * headers.append("Connection", "Upgrade");
 * headers.append("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
 * headers.append("Sec-WebSocket-Version", "13");
 * const ok = validateUpgradeRequest(
 *   { method: "GET", target: "/", path: "/", version: "HTTP/1.1", host: "h", headers },
 *   {},
 * );
 * console.log(ok.kind, ok.compression); // "client" false
 * ```
 */
export function validateUpgradeRequest(
  request: UpgradeRequest,
  options: AcceptUpgradeOptions = {},
): UpgradeAcceptance {
  const { headers } = request;
  if (request.method !== "GET") {
    throw new WebSocketHandshakeError(405, HandshakeReason.methodNotGet);
  }
  if (request.host === "") throw new WebSocketHandshakeError(400, HandshakeReason.hostMissing);
  if (!headerHasToken(headers, "upgrade", "websocket")) {
    throw new WebSocketHandshakeError(400, HandshakeReason.badUpgrade);
  }
  if (!headerHasToken(headers, "connection", "upgrade")) {
    throw new WebSocketHandshakeError(400, HandshakeReason.badConnection);
  }
  const key = headers.get("sec-websocket-key") ?? "";
  if (key === "") throw new WebSocketHandshakeError(400, HandshakeReason.keyMissing);
  if (!WEBSOCKET_KEY.test(key)) throw new WebSocketHandshakeError(400, HandshakeReason.badKey);
  if (!headerHasToken(headers, "sec-websocket-version", "13")) {
    throw new WebSocketHandshakeError(400, HandshakeReason.badVersion);
  }
  const originProblem = checkOrigin(request, options);
  if (originProblem !== undefined) {
    throw new WebSocketHandshakeError(403, HandshakeReason.originNotAllowed + originProblem);
  }
  return {
    key,
    path: request.path,
    kind: upgradeKind(request.path),
    compression: (options.compression ?? false) && readDeflateOffer(headers).offered,
    noMasking: headers.get(NO_MASKING_HEADER) === "true",
  };
}

interface HostPort {
  host: string;
  port: string;
}

/** Go's `net.SplitHostPort`, with the scheme's default port when none is given. */
function splitHostPort(hostPort: string, tls: boolean): HostPort | string {
  const defaultPort = tls ? "443" : "80";
  if (hostPort.startsWith("[")) {
    const close = hostPort.indexOf("]");
    if (close < 0) return `address ${hostPort}: missing ']' in address`;
    const host = hostPort.slice(1, close).toLowerCase();
    const after = hostPort.slice(close + 1);
    if (after === "") return { host, port: defaultPort };
    if (!after.startsWith(":")) return `address ${hostPort}: missing port in address`;
    return { host, port: after.slice(1) };
  }
  const colon = hostPort.indexOf(":");
  if (colon < 0) return { host: hostPort.toLowerCase(), port: defaultPort };
  if (hostPort.indexOf(":", colon + 1) >= 0) {
    return `address ${hostPort}: too many colons in address`;
  }
  return { host: hostPort.slice(0, colon).toLowerCase(), port: hostPort.slice(colon + 1) };
}

interface ParsedOrigin extends HostPort {
  scheme: string;
}

const ORIGIN_URL = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/;

function parseOrigin(origin: string): ParsedOrigin | string {
  const match = ORIGIN_URL.exec(origin);
  if (!match) return `parse "${origin}": invalid URI for request`;
  const scheme = match[1].toLowerCase();
  const authority = match[2].slice(match[2].lastIndexOf("@") + 1);
  const hostPort = splitHostPort(authority, scheme === "https");
  return typeof hostPort === "string" ? hostPort : { scheme, ...hostPort };
}

/**
 * Why the request's origin is refused (the text after "origin not allowed: "), or `undefined`
 * when it passes. Follows nats-server 2.11.14+ / 2.12.5+, which also compare the scheme for
 * `sameOrigin` (2.9.10 compared host and port only, so `https://h` passed for a plain `h`).
 */
export function checkOrigin(
  request: Pick<UpgradeRequest, "headers" | "host">,
  options: AcceptUpgradeOptions,
): string | undefined {
  const allowed = options.allowedOrigins ?? [];
  if (!options.sameOrigin && allowed.length === 0) return undefined;
  const header = request.headers.get("origin") || request.headers.get("sec-websocket-origin");
  if (!header) return undefined;
  const origin = parseOrigin(header);
  if (typeof origin === "string") return origin;
  if (options.sameOrigin) {
    const tls = options.tls ?? false;
    const own = splitHostPort(request.host, tls);
    if (typeof own === "string") return own;
    if (
      origin.host !== own.host || origin.port !== own.port ||
      origin.scheme !== (tls ? "https" : "http")
    ) {
      return HandshakeReason.notSameOrigin;
    }
  }
  if (allowed.length > 0) {
    const match = allowed.some((entry) => {
      // Unparsable entries are skipped, as nats-server logs and skips them.
      const candidate = parseOrigin(entry);
      return typeof candidate !== "string" && candidate.host === origin.host &&
        candidate.scheme === origin.scheme && candidate.port === origin.port;
    });
    if (!match) return HandshakeReason.notInAllowedList;
  }
  return undefined;
}

/**
 * `Sec-WebSocket-Accept` for a client key: base64(SHA-1(key + GUID)).
 *
 * @example
 * ```ts
 * import { websocketAcceptKey } from "./ws_handshake.ts";
 * console.log(websocketAcceptKey("dGhlIHNhbXBsZSBub25jZQ==")); // "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
 * ```
 */
export function websocketAcceptKey(key: string): string {
  return createHash("sha1").update(key + WEBSOCKET_GUID).digest("base64");
}

/** A fresh `Sec-WebSocket-Key`: base64 of 16 random bytes. */
export function newWebSocketKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}

const encoder = new TextEncoder();

/**
 * The 101 response, byte for byte as nats-server writes it.
 *
 * @example
 * ```ts
 * import { buildUpgradeResponse } from "./ws_handshake.ts";
 * const bytes = buildUpgradeResponse({ key: "dGhlIHNhbXBsZSBub25jZQ==", compression: false, noMasking: true });
 * console.log(new TextDecoder().decode(bytes).includes("Nats-No-Masking: true\r\n")); // true
 * ```
 */
export function buildUpgradeResponse(
  acceptance: Pick<UpgradeAcceptance, "key" | "compression" | "noMasking">,
): Uint8Array {
  let text = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    `Sec-WebSocket-Accept: ${websocketAcceptKey(acceptance.key)}\r\n`;
  if (acceptance.compression) text += `Sec-WebSocket-Extensions: ${PERMESSAGE_DEFLATE_OFFER}\r\n`;
  if (acceptance.noMasking) text += `${NO_MASKING_HEADER}: true\r\n`;
  return encoder.encode(text + "\r\n");
}

/** Options for {@linkcode buildErrorResponse}. */
export interface ErrorResponseOptions {
  /** The `Date` header's time; defaults to now. */
  date?: Date;
}

/**
 * The response to a refused upgrade, shaped like nats-server's (Go `http.Error`): the status
 * text as a plain-text body and `Sec-Websocket-Version: 13`. It adds `Connection: close`
 * because the connection is closed after it.
 *
 * @example
 * ```ts
 * import { buildErrorResponse } from "./ws_handshake.ts";
 * const text = new TextDecoder().decode(buildErrorResponse(403));
 * console.log(text.startsWith("HTTP/1.1 403 Forbidden\r\n"), text.endsWith("\r\n\r\nForbidden\n")); // true true
 * ```
 */
export function buildErrorResponse(status: number, options: ErrorResponseOptions = {}): Uint8Array {
  const statusText = STATUS_TEXT[status] ?? "Error";
  const body = `${statusText}\n`;
  const date = (options.date ?? new Date()).toUTCString();
  return encoder.encode(
    `HTTP/1.1 ${status} ${statusText}\r\n` +
      "Content-Type: text/plain; charset=utf-8\r\n" +
      "Sec-Websocket-Version: 13\r\n" +
      "X-Content-Type-Options: nosniff\r\n" +
      `Date: ${date}\r\n` +
      `Content-Length: ${body.length}\r\n` +
      "Connection: close\r\n" +
      "\r\n" + body,
  );
}

/** What the soliciting side puts in its upgrade request. */
export interface UpgradeRequestOptions {
  /** `Host` header: `host[:port]`. */
  host: string;
  /** Request path (and query); defaults to `/`. */
  path?: string;
  /** `Sec-WebSocket-Key`, from {@linkcode newWebSocketKey}. */
  key: string;
  /** Offer permessage-deflate with no context takeover. */
  compression?: boolean;
  /** Send `Nats-No-Masking: true`. */
  noMasking?: boolean;
  /** More header fields (for example `Authorization`), written after `Host`. */
  headers?: Readonly<Record<string, string>>;
}

/**
 * The upgrade request, in the shape a nats-server remote sends (Go `net/http` writes `Host`
 * first, then the fields sorted by name).
 *
 * @example
 * ```ts
 * import { buildUpgradeRequest } from "./ws_handshake.ts";
 * const bytes = buildUpgradeRequest({ host: "hub:443", path: "/leafnode", key: "dGhlIHNhbXBsZSBub25jZQ==" });
 * console.log(new TextDecoder().decode(bytes).split("\r\n")[0]); // "GET /leafnode HTTP/1.1"
 * ```
 */
export function buildUpgradeRequest(options: UpgradeRequestOptions): Uint8Array {
  let text = `GET ${options.path || "/"} HTTP/1.1\r\nHost: ${options.host}\r\n`;
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    text += `${name}: ${value}\r\n`;
  }
  text += "Connection: Upgrade\r\n";
  if (options.noMasking) text += `${NO_MASKING_HEADER}: true\r\n`;
  text += `Sec-WebSocket-Key: ${options.key}\r\nSec-WebSocket-Version: 13\r\n`;
  if (options.compression) text += `Sec-Websocket-Extensions: ${PERMESSAGE_DEFLATE_OFFER}\r\n`;
  text += "Upgrade: websocket\r\n\r\n";
  return encoder.encode(text);
}

/** A response head as read from the wire. */
export interface UpgradeResponse {
  status: number;
  statusText: string;
  headers: HttpHeaders;
}

/**
 * Reads the status line of a response head.
 *
 * @throws {WebSocketHandshakeError} (status 0) when it is not `HTTP/1.x NNN text`.
 */
export function parseUpgradeResponse(head: HttpHead): UpgradeResponse {
  const match = /^HTTP\/1\.\d (\d{3})(?: (.*))?$/.exec(head.startLine);
  if (!match) {
    throw new WebSocketHandshakeError(0, `malformed HTTP response "${head.startLine}"`);
  }
  return { status: Number(match[1]), statusText: match[2] ?? "", headers: head.headers };
}

/** What the soliciting side asked for, to check the response against. */
export interface UpgradeResponseOptions {
  key: string;
  compression?: boolean;
  noMasking?: boolean;
}

/** The connection's settings once the server answered. */
export interface UpgradeOutcome {
  /** permessage-deflate is on. */
  compression: boolean;
  /** This side masks its frames (it did not ask for no-masking, or the server did not agree). */
  masking: boolean;
}

/**
 * Validates the server's answer the way a nats-server remote does: status 101,
 * `Upgrade: websocket`, `Connection: upgrade` (whole values, case-insensitive) and the exact
 * accept key. A server that ignores the compression offer turns compression off; one that
 * accepts it without both no-context-takeover parameters is an error. No-masking applies only
 * when the response echoes `Nats-No-Masking: true`.
 *
 * @throws {WebSocketHandshakeError} "invalid websocket connection" or
 * "compression negotiation error".
 */
export function validateUpgradeResponse(
  response: UpgradeResponse,
  options: UpgradeResponseOptions,
): UpgradeOutcome {
  const { headers } = response;
  if (
    response.status !== 101 ||
    headers.get("upgrade")?.toLowerCase() !== "websocket" ||
    headers.get("connection")?.toLowerCase() !== "upgrade" ||
    headers.get("sec-websocket-accept") !== websocketAcceptKey(options.key)
  ) {
    throw new WebSocketHandshakeError(response.status, HandshakeReason.invalidConnection);
  }
  let compression = options.compression ?? false;
  if (compression) {
    const offer = readDeflateOffer(headers);
    if (!offer.offered) compression = false;
    else if (!offer.noContextTakeover) {
      throw new WebSocketHandshakeError(response.status, HandshakeReason.compressionNegotiation);
    }
  }
  const masking = !(options.noMasking && headers.get(NO_MASKING_HEADER) === "true");
  return { compression, masking };
}
