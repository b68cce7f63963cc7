/**
 * Command-line values that override the config file (flags win, as with
 * nats-server).
 *
 * @module
 */

import type { ServerOptions } from "./options.ts";

/** Flag values; each one present replaces the config file's value. */
export interface CliOverrides {
  /** `-p/--port`: client port (0 = any free port). */
  port?: number;
  /** `-a/--addr`: client listener host. */
  host?: string;
  /** `-m/--http_port`: monitoring port. */
  httpPort?: number;
  /** `-n/--name`: server name. */
  serverName?: string;
  /** `-D/--debug` (or `-DV`). */
  debug?: boolean;
  /** `-V/--trace` (or `-DV`). */
  trace?: boolean;
  /** `--log-json`: log lines as JSON. Not a server option: the logger setup reads it. */
  logJson?: boolean;
}

/**
 * Options with the flag values applied. Returns a new object; `options` is
 * not changed. `logJson` is not part of `ServerOptions` and is ignored here.
 *
 * @example
 * ```ts
 * const options = applyCliOverrides(defaultOptions(), { port: 5222 });
 * ```
 */
export function applyCliOverrides(
  options: ServerOptions,
  overrides: Partial<CliOverrides> = {},
): ServerOptions {
  const out = { ...options };
  if (overrides.port !== undefined) out.port = overrides.port;
  if (overrides.host !== undefined) out.host = overrides.host;
  if (overrides.httpPort !== undefined) out.httpPort = overrides.httpPort;
  if (overrides.serverName !== undefined) out.serverName = overrides.serverName;
  if (overrides.debug !== undefined) out.debug = overrides.debug;
  if (overrides.trace !== undefined) out.trace = overrides.trace;
  return out;
}
