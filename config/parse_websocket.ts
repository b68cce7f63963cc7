/**
 * `[websocket]`: client and leafnode connections over WebSocket (the only way
 * in on edge runtimes that cannot open raw TCP listeners).
 *
 * @module
 */

import { DEFAULT_HOST } from "./defaults.ts";
import { readListenAddress } from "./listen_address.ts";
import type { WebsocketOptions } from "./options.ts";
import { readTls } from "./parse_tls.ts";
import { WEBSOCKET_KEYS } from "./schema.ts";
import type { TableReader } from "./table_reader.ts";
import { dropUndefined, readBoolean, stringListReader } from "./value_readers.ts";

const readOrigins = stringListReader("origins");

/** Reads `[websocket]` from the top-level table, `undefined` when absent or broken. */
export function readWebsocket(root: TableReader): WebsocketOptions | undefined {
  const table = root.table("websocket", WEBSOCKET_KEYS);
  if (table === undefined) return undefined;
  const address = readListenAddress(table, DEFAULT_HOST);
  if (address.port === undefined && !table.has("port") && !table.has("listen")) {
    table.fail(undefined, `missing "port" or "listen": the websocket listener needs a port`);
  }
  const noTls = table.read("no_tls", readBoolean) ?? false;
  const tls = readTls(table, "tls", "listener");
  // nats-server refuses plain-text websocket unless asked for explicitly.
  if (!table.has("tls") && !noTls) table.fail(undefined, "websocket requires TLS configuration");
  if (table.has("tls") && noTls) {
    table.fail("no_tls", `"no_tls = true" contradicts the "tls" block; remove one`);
  }
  const allowedOrigins = table.read("allowed_origins", readOrigins) ?? [];
  allowedOrigins.forEach((origin, index) => {
    if (!URL.canParse(origin)) {
      const raw = table.raw("allowed_origins");
      const path = typeof raw === "string"
        ? table.pathOf("allowed_origins")
        : [...table.pathOf("allowed_origins"), index];
      table.issues.add(path, `unable to parse allowed origin: ${JSON.stringify(origin)}`);
    }
  });
  return dropUndefined({
    host: address.host,
    port: address.port ?? 0,
    noTls,
    compression: table.read("compression", readBoolean) ?? false,
    sameOrigin: table.read("same_origin", readBoolean) ?? false,
    allowedOrigins,
    tls,
  });
}
