/**
 * nats-server's `listen` option: `"host:port"` (IPv6 as `"[::1]:4222"`) or a
 * bare port number, replacing `host` and `port` in one key.
 *
 * @module
 */

import type { TableReader } from "./table_reader.ts";
import { describeType, readNonEmptyString, readPort } from "./value_readers.ts";

/** Host and port of one listener after `host`, `port` and `listen` are merged. */
export interface ListenAddress {
  host: string;
  port: number | undefined;
}

/**
 * Reads `host`, `port` and `listen` from `table`; `listen` may not be combined
 * with the other two because nats-server would let whichever key it happened
 * to read last win.
 */
export function readListenAddress(table: TableReader, defaultHost: string): ListenAddress {
  const host = table.read("host", readNonEmptyString);
  const port = table.read("port", readPort);
  if (!table.has("listen")) return { host: host ?? defaultHost, port };
  for (const other of ["host", "port"]) {
    if (table.has(other)) {
      table.fail("listen", `cannot be combined with "${other}"; use one or the other`);
    }
  }
  const listen = table.raw("listen");
  if (typeof listen === "number") {
    const only = table.read("listen", readPort);
    return { host: host ?? defaultHost, port: only };
  }
  if (typeof listen !== "string") {
    table.fail("listen", `expected port or host:port, got ${describeType(listen)}`);
    return { host: host ?? defaultHost, port };
  }
  const split = splitHostPort(listen);
  if (split === undefined) {
    table.fail("listen", `could not parse address string ${JSON.stringify(listen)}`);
    return { host: host ?? defaultHost, port };
  }
  const portNumber = /^-?\d+$/.test(split.port) ? Number(split.port) : NaN;
  if (Number.isNaN(portNumber)) {
    table.fail("listen", `could not parse port ${JSON.stringify(split.port)}`);
    return { host: split.host, port };
  }
  const checked = readPort(table.issues, table.pathOf("listen"), portNumber);
  return { host: split.host === "" ? defaultHost : split.host, port: checked };
}

/** Splits `host:port` / `[v6]:port` the way Go's `net.SplitHostPort` does. */
export function splitHostPort(text: string): { host: string; port: string } | undefined {
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close === -1 || text[close + 1] !== ":") return undefined;
    return { host: text.slice(1, close), port: text.slice(close + 2) };
  }
  const colon = text.lastIndexOf(":");
  if (colon === -1 || text.indexOf(":") !== colon) return undefined;
  return { host: text.slice(0, colon), port: text.slice(colon + 1) };
}
