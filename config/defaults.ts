/**
 * Defaults, all taken from nats-server 2.9.10 (`server/const.go` and
 * `setBaselineOptions`) so that a Canopy with no config behaves like a
 * nats-server with no config, and clients tuned for one work with the other.
 *
 * @module
 */

import type { ServerOptions } from "./options.ts";
import { generateServerId } from "./server_id.ts";

/** Client port: the IANA-registered NATS port every client library dials by default. */
export const DEFAULT_PORT = 4222;

/** Listen on every interface, as nats-server does; restrict with `host` / `--addr`. */
export const DEFAULT_HOST = "0.0.0.0";

/** 1 MiB: the payload limit clients learn from INFO; larger messages are refused with `-ERR`. */
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/** 4 KiB: bounds the memory a peer can make us buffer before a protocol line ends. */
export const DEFAULT_MAX_CONTROL_LINE = 4096;

/** 64 Ki connections: a ceiling against descriptor exhaustion, not a tuning target. */
export const DEFAULT_MAX_CONNECTIONS = 64 * 1024;

/**
 * 64 MiB of queued outbound bytes per connection before it is cut as a slow
 * consumer: enough to ride out bursts, small enough that a stuck reader cannot
 * take the process down.
 */
export const DEFAULT_MAX_PENDING = 64 * 1024 * 1024;

/** nats-server refuses `max_payload` above this (it is stored as an int32). */
export const MAX_PAYLOAD_LIMIT = 2 ** 31 - 1;

/** Same int32 bound for `max_control_line`. */
export const MAX_CONTROL_LINE_LIMIT = 2 ** 31 - 1;

/** Above 8 MiB nats-server warns that large payloads hurt performance. */
export const MAX_PAYLOAD_WARN = 8 * 1024 * 1024;

/** 2 minutes between server PINGs: detects dead peers without chattering on idle links. */
export const DEFAULT_PING_INTERVAL_MS = 2 * 60_000;

/** Two unanswered PINGs (about 4 minutes) before the connection is declared stale. */
export const DEFAULT_PING_MAX = 2;

/** 10 s for a write to drain before the peer is treated as a slow consumer. */
export const DEFAULT_WRITE_DEADLINE_MS = 10_000;

/** 2 s for a client to send CONNECT (nats-server `AUTH_TIMEOUT`). */
export const DEFAULT_AUTH_TIMEOUT_MS = 2000;

/** 2 s for a TLS handshake (nats-server `TLS_TIMEOUT`, also the leafnode TLS timeout). */
export const DEFAULT_TLS_TIMEOUT_MS = 2000;

/**
 * With TLS on, nats-server's default auth timeout becomes the TLS timeout plus
 * one second, so a slow handshake does not eat the whole CONNECT window.
 */
export const TLS_AUTH_TIMEOUT_EXTRA_MS = 1000;

/** Leafnode port: the registered NATS leafnode port; remotes dial it when a URL has none. */
export const DEFAULT_LEAFNODE_PORT = 7422;

/** 1 s between remote reconnect attempts (nats-server `DEFAULT_LEAF_NODE_RECONNECT`). */
export const DEFAULT_LEAFNODE_RECONNECT_MS = 1000;

/** 1 s for the hub's first INFO after a remote connects (`DEFAULT_LEAFNODE_INFO_WAIT`). */
export const DEFAULT_FIRST_INFO_TIMEOUT_MS = 1000;

/** `allow_responses = true` allows one reply per request... (`DEFAULT_ALLOW_RESPONSE_MAX_MSGS`). */
export const DEFAULT_ALLOW_RESPONSE_MAX_MSGS = 1;

/** ...within 2 minutes of the request (`DEFAULT_ALLOW_RESPONSE_EXPIRATION`). */
export const DEFAULT_ALLOW_RESPONSE_EXPIRES_MS = 2 * 60_000;

/** `s2_auto` RTT steps: uncompressed up to 10 ms, fast to 50 ms, better to 100 ms, then best. */
export const DEFAULT_COMPRESSION_RTT_THRESHOLDS_MS: readonly number[] = [10, 50, 100];

/** The account every user without one belongs to. */
export const GLOBAL_ACCOUNT = "$G";

/** The system account nats-server creates unless told otherwise; declaring it is allowed. */
export const SYSTEM_ACCOUNT = "$SYS";

/**
 * Options of a server started with no config file: a hub with nats-server's
 * defaults (clients on 4222, leafnodes on 7422), no auth, and a fresh server id
 * as its name.
 *
 * @example
 * ```ts
 * const options = defaultOptions();
 * console.log(options.port, options.leafnodes.port); // 4222 7422
 * ```
 */
export function defaultOptions(): ServerOptions {
  return {
    serverName: generateServerId(),
    host: DEFAULT_HOST,
    port: DEFAULT_PORT,
    maxPayload: DEFAULT_MAX_PAYLOAD,
    maxControlLine: DEFAULT_MAX_CONTROL_LINE,
    maxConnections: DEFAULT_MAX_CONNECTIONS,
    maxPending: DEFAULT_MAX_PENDING,
    pingIntervalMs: DEFAULT_PING_INTERVAL_MS,
    pingMax: DEFAULT_PING_MAX,
    writeDeadlineMs: DEFAULT_WRITE_DEADLINE_MS,
    authTimeoutMs: DEFAULT_AUTH_TIMEOUT_MS,
    accounts: { [GLOBAL_ACCOUNT]: { name: GLOBAL_ACCOUNT, users: [] } },
    leafnodes: {
      host: DEFAULT_HOST,
      port: DEFAULT_LEAFNODE_PORT,
      noAdvertise: false,
      reconnectMs: DEFAULT_LEAFNODE_RECONNECT_MS,
      remotes: [],
    },
    debug: false,
    trace: false,
  };
}
