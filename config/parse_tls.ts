/**
 * `tls` tables: top level, `leafnodes.tls`, `websocket.tls` (listener side)
 * and `leafnodes.remotes[].tls` (dialing side).
 *
 * @module
 */

import { DEFAULT_TLS_TIMEOUT_MS } from "./defaults.ts";
import type { TlsOptions } from "./options.ts";
import { TLS_KEYS } from "./schema.ts";
import type { TableReader } from "./table_reader.ts";
import {
  dropUndefined,
  durationReader,
  readBoolean,
  readNonEmptyString,
  stringListReader,
} from "./value_readers.ts";

/** Listeners must present a certificate; dialers may go without one. */
export type TlsRole = "listener" | "dialer";

const readTimeout = durationReader({ positive: true });
const readNames = stringListReader("names");

/** Reads the `tls` table `name` of `parent`; `undefined` when absent or broken. */
export function readTls(parent: TableReader, name: string, role: TlsRole): TlsOptions | undefined {
  const table = parent.table(name, TLS_KEYS);
  if (table === undefined) return undefined;
  const verifyAndMap = table.read("verify_and_map", readBoolean);
  const options: TlsOptions = {
    certFile: table.read("cert_file", readNonEmptyString),
    keyFile: table.read("key_file", readNonEmptyString),
    caFile: table.read("ca_file", readNonEmptyString),
    insecure: table.read("insecure", readBoolean) ?? false,
    // verify_and_map implies verify: the client certificate is needed to map it to a user.
    verify: (table.read("verify", readBoolean) ?? false) || verifyAndMap === true,
    verifyAndMap: verifyAndMap ?? false,
    timeoutMs: table.read("timeout", readTimeout) ?? DEFAULT_TLS_TIMEOUT_MS,
    handshakeFirst: table.read("handshake_first", readBoolean) ?? false,
  };
  for (
    const [key, field] of [["cipher_suites", "cipherSuites"], [
      "curve_preferences",
      "curvePreferences",
    ]] as const
  ) {
    const names = table.read(key, readNames);
    if (names === undefined) continue;
    if (names.length === 0) table.fail(key, `error parsing tls config, '${key}' cannot be empty`);
    else options[field] = names;
  }
  if (options.certFile !== undefined && options.keyFile === undefined && !table.has("key_file")) {
    table.fail(undefined, "missing 'key_file' in TLS configuration");
  } else if (
    options.keyFile !== undefined && options.certFile === undefined && !table.has("cert_file")
  ) {
    table.fail(undefined, "missing 'cert_file' in TLS configuration");
  } else if (role === "listener" && !table.has("cert_file") && !table.has("key_file")) {
    table.fail(undefined, "a listener's TLS needs 'cert_file' and 'key_file'");
  }
  return dropUndefined(options);
}
