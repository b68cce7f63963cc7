/**
 * `[leafnodes]`: the accepting side (listener, TLS, authorization) and the
 * soliciting side (`remotes`). Absent, Canopy still listens on 7422 as a hub.
 *
 * @module
 */

import { DEFAULT_HOST, DEFAULT_LEAFNODE_PORT, DEFAULT_LEAFNODE_RECONNECT_MS } from "./defaults.ts";
import type { KeyPath } from "./key_path.ts";
import { readListenAddress } from "./listen_address.ts";
import type { LeafnodeOptions } from "./options.ts";
import { readCompression } from "./parse_compression.ts";
import { readLeafAuthorization } from "./parse_leaf_authorization.ts";
import { readRemotes } from "./parse_remote.ts";
import { readTls } from "./parse_tls.ts";
import { LEAFNODES_KEYS } from "./schema.ts";
import type { TableReader } from "./table_reader.ts";
import { dropUndefined, durationReader, readBoolean, readNonEmptyString } from "./value_readers.ts";

/** Leafnode options plus every account name they reference, with its path. */
export interface ParsedLeafnodes {
  options: LeafnodeOptions;
  accountRefs: { account: string; path: KeyPath; role: "authorization" | "remote" }[];
}

const readReconnect = durationReader({ positive: true });

/** Reads `[leafnodes]` from the top-level table, defaults when absent. */
export function readLeafnodes(root: TableReader): ParsedLeafnodes {
  const defaults: LeafnodeOptions = {
    host: DEFAULT_HOST,
    port: DEFAULT_LEAFNODE_PORT,
    noAdvertise: false,
    reconnectMs: DEFAULT_LEAFNODE_RECONNECT_MS,
    remotes: [],
  };
  const table = root.table("leafnodes", LEAFNODES_KEYS);
  if (table === undefined) return { options: defaults, accountRefs: [] };

  const address = readListenAddress(table, DEFAULT_HOST);
  const authorization = readLeafAuthorization(table);
  const remotes = table.has("remotes")
    ? readRemotes(table.issues, table.pathOf("remotes"), table.raw("remotes"))
    : [];
  const accountRefs: ParsedLeafnodes["accountRefs"] = [
    ...(authorization?.accountRefs ?? []).map((ref) => ({
      ...ref,
      role: "authorization" as const,
    })),
    ...remotes.map((r) => ({
      account: r.options.account ?? "",
      path: r.accountPath,
      role: "remote" as const,
    })),
  ];
  return {
    options: dropUndefined({
      host: address.host,
      port: address.port ?? DEFAULT_LEAFNODE_PORT,
      advertise: table.read("advertise", readNonEmptyString),
      noAdvertise: table.read("no_advertise", readBoolean) ?? false,
      reconnectMs: table.read("reconnect", readReconnect) ?? DEFAULT_LEAFNODE_RECONNECT_MS,
      compression: readCompression(table, "compression"),
      tls: readTls(table, "tls", "listener"),
      authorization: authorization?.options,
      remotes: remotes.map((r) => r.options),
    }),
    accountRefs,
  };
}
