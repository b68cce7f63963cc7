/**
 * The error raised when a peer breaks the NATS wire protocol, and the exact `-ERR` texts that
 * nats-server 2.9.10 sends for each case (probed against the real binary over TCP).
 *
 * @module
 */

/**
 * Texts that nats-server 2.9.10 puts inside `-ERR '<text>'`, byte for byte.
 * Each was observed on the wire from `/usr/sbin/nats-server` 2.9.10.
 */
export const ErrText = Object.freeze(
  {
    /** Unknown or misplaced op, missing space after an op name, empty line, bad payload terminator. */
    unknownProtocol: "Unknown Protocol Operation",
    /** PUB/HPUB whose declared (total) size is larger than `max_payload`. */
    maxPayload: "Maximum Payload Violation",
    /** Control line arguments longer than `max_control_line` (lower-case, no detail appended). */
    maxControlLine: "maximum control line exceeded",
    /** First op is not CONNECT while authentication is pending. */
    authorization: "Authorization Violation",
    /** No CONNECT within the auth timeout. */
    authTimeout: "Authentication Timeout",
    /** Too many outstanding PINGs. */
    staleConnection: "Stale Connection",
    /** Sent after INFO to a client beyond `max_connections`. */
    maxConnections: "maximum connections exceeded",
    /** SUB with a malformed subject or queue (the connection stays open). */
    invalidSubject: "Invalid Subject",
    /** CONNECT asking for no_responders without headers. */
    noRespondersRequiresHeaders: "no responders requires headers support",
    /** A NATS client dialled the leafnode port. */
    attemptedLeafPort: "attempted to connect to leaf node port",
  } as const,
);

/**
 * `-ERR` texts after which the sender closes the connection (from the spec's `-ERR` catalogue).
 * Used by {@linkcode ProtocolError.parse} to fill in `close` for errors received from a peer.
 */
const CLOSING_TEXTS: ReadonlySet<string> = new Set([
  ErrText.unknownProtocol,
  ErrText.maxPayload,
  ErrText.maxControlLine,
  ErrText.authorization,
  ErrText.authTimeout,
  ErrText.staleConnection,
  "User Authentication Expired",
  "Account Authentication Expired",
  "attempted to connect to leaf node port",
  "remote leafnode has same cluster name",
  "cluster name cannot contain spaces",
  "Duplicate Remote LeafNode Connection",
  "Stale Leaf Node Connection - Closing",
  "maximum connections exceeded",
  "maximum account active connections exceeded",
]);

/** Prefixes of `-ERR` texts after which the sender closes the connection. */
const CLOSING_PREFIXES: readonly string[] = [
  "Loop detected for leafnode account=",
  "Rejecting connection from gateway ",
  "connection rejected since minimum version required is ",
];

/** Options for {@linkcode ProtocolError}. */
export interface ProtocolErrorOptions {
  /**
   * The text nats-server sends as `-ERR '<errText>'` for this case; `undefined` when nats-server
   * closes the connection without sending any `-ERR` (for example a PUB with a bad size).
   */
  errText?: string;
  /** Whether the connection is closed because of this error. Defaults to `true`. */
  close?: boolean;
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * A violation of the NATS wire protocol, raised by the parser or built from a peer's `-ERR`.
 *
 * @example
 * ```ts
 * import { ProtocolError } from "./protocol_error.ts";
 * const err = new ProtocolError("Cannot parse op: unknown name", {
 *   errText: "Unknown Protocol Operation",
 * });
 * console.log(err.errText, err.close); // "Unknown Protocol Operation" true
 * ```
 */
export class ProtocolError extends Error {
  override name = "ProtocolError";
  /** Text for `-ERR '<errText>'`, or `undefined` when nats-server closes silently. */
  readonly errText: string | undefined;
  /** Whether nats-server closes the connection in this case. */
  readonly close: boolean;

  /** Creates a protocol error; `message` is for logs, `errText` is what goes on the wire. */
  constructor(message: string, options: ProtocolErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.errText = options.errText;
    this.close = options.close ?? true;
  }

  /**
   * Builds an error from the text of a peer's `-ERR` line. Accepts the whole line
   * (`-ERR 'text'\r\n`), the quoted text or the bare text. `close` is `true` for texts after
   * which nats-server closes the connection.
   *
   * @example
   * ```ts
   * import { ProtocolError } from "./protocol_error.ts";
   * const err = ProtocolError.parse("-ERR 'Stale Connection'\r\n");
   * console.log(err.errText, err.close); // "Stale Connection" true
   * ```
   */
  static parse(text: string): ProtocolError {
    let t = text.trim();
    if (t.length >= 4 && t.slice(0, 4).toUpperCase() === "-ERR") t = t.slice(4).trim();
    t = unquoteErrText(t);
    const close = CLOSING_TEXTS.has(t) || CLOSING_PREFIXES.some((p) => t.startsWith(p));
    return new ProtocolError(`Peer sent -ERR: '${t}'`, { errText: t, close });
  }
}

/**
 * Removes the single quotes that wrap `-ERR` texts on the wire (`'text'` → `text`); returns
 * other text unchanged.
 *
 * @example
 * ```ts
 * import { unquoteErrText } from "./protocol_error.ts";
 * console.log(unquoteErrText("'Stale Connection'")); // "Stale Connection"
 * ```
 */
export function unquoteErrText(text: string): string {
  if (
    text.length >= 2 && text.charCodeAt(0) === 0x27 && text.charCodeAt(text.length - 1) === 0x27
  ) {
    return text.slice(1, -1);
  }
  return text;
}
