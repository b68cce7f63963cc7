/**
 * `[[leafnodes.remotes]]`: the leafnode connections this server solicits.
 *
 * @module
 */

import type { ConfigIssues } from "./config_issues.ts";
import {
  DEFAULT_FIRST_INFO_TIMEOUT_MS,
  DEFAULT_LEAFNODE_PORT,
  GLOBAL_ACCOUNT,
} from "./defaults.ts";
import type { KeyPath } from "./key_path.ts";
import { isUserSeed } from "./nkey_check.ts";
import type { RemoteOptions } from "./options.ts";
import { readCompression } from "./parse_compression.ts";
import { readTls } from "./parse_tls.ts";
import {
  isUsableRemoteUrl,
  isWebsocketUrl,
  quoteList,
  redactUrl,
  withDefaultPort,
} from "./remote_url.ts";
import { REMOTE_KEYS } from "./schema.ts";
import { TableReader } from "./table_reader.ts";
import {
  dropUndefined,
  durationReader,
  readBoolean,
  readNonEmptyString,
  readSubjectList,
  readTableList,
  stringListReader,
} from "./value_readers.ts";

/** A remote plus where its `account` key is, for the account-exists check. */
export interface ParsedRemote {
  options: RemoteOptions;
  accountPath: KeyPath;
}

const readUrlStrings = stringListReader("URLs");
const readFirstInfoTimeout = durationReader({ positive: true });

/** Reads the `remotes` list at `path`. */
export function readRemotes(issues: ConfigIssues, path: KeyPath, value: unknown): ParsedRemote[] {
  const remotes: ParsedRemote[] = [];
  const names = new Set<string>();
  for (const entry of readTableList(issues, path, value, "remotes")) {
    const table = new TableReader(issues, entry.path, entry.table, REMOTE_KEYS);
    const urls = readUrls(table);
    const credentials = table.read("credentials", readNonEmptyString);
    const nkey = table.read("nkey", readNonEmptyString);
    // The seed itself is left out of the message: it is a secret.
    if (nkey !== undefined && !isUserSeed(nkey)) {
      table.fail("nkey", "Remote leafnode nkey is not a valid seed");
    }
    if (table.has("credentials") && table.has("nkey")) {
      table.fail("nkey", "Remote leafnode can not have both creds and nkey defined");
    }
    const options: RemoteOptions = dropUndefined({
      urls: urls ?? [],
      account: table.read("account", readNonEmptyString) ?? GLOBAL_ACCOUNT,
      noRandomize: table.read("no_randomize", readBoolean) ?? false,
      denyImports: table.read("deny_imports", readSubjectList) ?? [],
      denyExports: table.read("deny_exports", readSubjectList) ?? [],
      credentials,
      nkey,
      firstInfoTimeoutMs: table.read("first_info_timeout", readFirstInfoTimeout) ??
        DEFAULT_FIRST_INFO_TIMEOUT_MS,
      hub: table.read("hub", readBoolean) ?? false,
      wsCompression: table.read("ws_compression", readBoolean) ?? false,
      wsNoMasking: table.read("ws_no_masking", readBoolean) ?? false,
      compression: readCompression(table, "compression"),
      tls: readTls(table, "tls", "dialer"),
    });
    if (urls !== undefined && urls.length > 0) {
      // Two remotes with the same URLs, account and identity would be the same link twice.
      const name = remoteName(options, false);
      if (names.has(name)) table.fail(undefined, `duplicate remote ${remoteName(options, true)}`);
      names.add(name);
    }
    remotes.push({ options, accountPath: table.pathOf("account") });
  }
  return remotes;
}

/** `url` / `urls` (either key takes a string or a list), checked and given default ports. */
function readUrls(table: TableReader): string[] | undefined {
  if (table.has("url") && table.has("urls")) {
    table.fail("urls", `set either "url" or "urls", not both`);
    return undefined;
  }
  const key = table.has("urls") ? "urls" : "url";
  if (!table.has(key)) {
    table.fail(undefined, `missing "url" or "urls": a remote needs at least one URL`);
    return undefined;
  }
  const written = table.read(key, readUrlStrings);
  if (written === undefined) return undefined;
  if (written.length === 0) {
    table.fail(key, "expected at least one URL");
    return undefined;
  }
  const urls: string[] = [];
  let ok = true;
  written.forEach((text, index) => {
    const url = text.trim();
    if (!isUsableRemoteUrl(url)) {
      const at = typeof table.raw(key) === "string"
        ? table.pathOf(key)
        : [...table.pathOf(key), index];
      table.issues.add(at, `error parsing leafnode url [${JSON.stringify(url)}]`);
      ok = false;
      return;
    }
    const full = withDefaultPort(url, DEFAULT_LEAFNODE_PORT);
    // nats-server drops repeated URLs (with a warning) rather than failing.
    if (!urls.includes(full)) urls.push(full);
  });
  if (!ok) return undefined;
  if (urls.some(isWebsocketUrl) && !urls.every(isWebsocketUrl)) {
    table.fail(
      key,
      "remote leaf node configuration cannot have a mix of websocket and non-websocket urls: " +
        quoteList(urls.map(redactUrl)),
    );
    return undefined;
  }
  return urls;
}

/** nats-server's identity of a remote, as printed in its duplicate-remote error. */
function remoteName(remote: RemoteOptions, redacted: boolean): string {
  let identity = "";
  if (remote.credentials !== undefined) {
    identity = `, credentials=${JSON.stringify(remote.credentials)}`;
  } else if (remote.nkey !== undefined) {
    identity = `, nkey=${redacted ? '"[REDACTED]"' : JSON.stringify(remote.nkey)}`;
  }
  const urls = quoteList(redacted ? remote.urls.map(redactUrl) : remote.urls);
  return `urls=${urls}, account=${JSON.stringify(remote.account ?? GLOBAL_ACCOUNT)}${identity}`;
}
