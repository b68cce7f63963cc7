/**
 * Turns a parsed TOML document into `ServerOptions`: reads every section,
 * fills nats-server's defaults, then runs the checks that span sections
 * (users unique across accounts, referenced accounts exist, no_auth_user,
 * max_payload against max_pending, what operator mode forbids).
 *
 * @module
 */

import type { ConfigIssues } from "./config_issues.ts";
import {
  DEFAULT_AUTH_TIMEOUT_MS,
  DEFAULT_HOST,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_CONTROL_LINE,
  DEFAULT_MAX_PAYLOAD,
  DEFAULT_MAX_PENDING,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_PING_MAX,
  DEFAULT_PORT,
  DEFAULT_TLS_TIMEOUT_MS,
  DEFAULT_WRITE_DEADLINE_MS,
  GLOBAL_ACCOUNT,
  MAX_CONTROL_LINE_LIMIT,
  MAX_PAYLOAD_LIMIT,
  SYSTEM_ACCOUNT,
  TLS_AUTH_TIMEOUT_EXTRA_MS,
} from "./defaults.ts";
import { readListenAddress } from "./listen_address.ts";
import type { ServerOptions } from "./options.ts";
import { readAccounts } from "./parse_accounts.ts";
import { type ParsedAuthorization, readAuthorization } from "./parse_authorization.ts";
import { readLeafnodes } from "./parse_leafnodes.ts";
import { checkOperatorMode, operatorAccountNames, readOperator } from "./parse_operator.ts";
import { readTls } from "./parse_tls.ts";
import type { ParsedUser } from "./parse_users.ts";
import { readWebsocket } from "./parse_websocket.ts";
import { SERVER_KEYS } from "./schema.ts";
import { generateServerId } from "./server_id.ts";
import { TableReader } from "./table_reader.ts";
import {
  dropUndefined,
  durationReader,
  integerReader,
  readBoolean,
  readNonEmptyString,
  readPort,
  readSize,
  type TomlTable,
} from "./value_readers.ts";

const readPositiveDuration = durationReader({ positive: true });
const readCount = integerReader(1, 2 ** 31 - 1);

/** Builds options from a parsed document, recording every problem in `issues`. */
export function buildServerOptions(issues: ConfigIssues, document: TomlTable): ServerOptions {
  const root = new TableReader(issues, [], document, SERVER_KEYS);
  const address = readListenAddress(root, DEFAULT_HOST);
  const tls = readTls(root, "tls", "listener");
  const authorization = readAuthorization(root);
  const declared = readAccounts(root);
  const leafnodes = readLeafnodes(root);
  const websocket = readWebsocket(root);
  const limits = readLimits(root);
  const operator = readOperator(root);

  const globalUsers = authorization?.users ?? [];
  const accounts: ServerOptions["accounts"] = {
    [GLOBAL_ACCOUNT]: { name: GLOBAL_ACCOUNT, users: globalUsers.map((u) => u.options) },
    ...declared.accounts,
  };
  if (operator !== undefined) {
    checkOperatorMode(root, operator, { accounts: declared, authorization, leafnodes });
    // Accounts are named by their public keys; they come from the resolver, not the config.
    for (const name of operatorAccountNames(operator)) accounts[name] = { name, users: [] };
  }
  checkAuthorizationAgainstAccounts(root, authorization, declared.userLists);
  checkUniqueUsers(issues, [...globalUsers, ...declared.users]);
  const noAuthUser = root.read("no_auth_user", readNonEmptyString);
  if (noAuthUser !== undefined) {
    checkNoAuthUser(root, noAuthUser, [...globalUsers, ...declared.users]);
  }

  // Leafnode links may bind to any declared account, to $G, and to $SYS,
  // which nats-server creates whether or not it is declared. Operator mode
  // checked its own rules above.
  for (const ref of operator === undefined ? leafnodes.accountRefs : []) {
    if (ref.account !== SYSTEM_ACCOUNT && !Object.hasOwn(accounts, ref.account)) {
      issues.add(
        ref.path,
        `cannot find local account ${
          JSON.stringify(ref.account)
        } specified in leafnode ${ref.role}`,
      );
    }
  }

  const authTimeoutMs = authorization?.options.timeoutMs ??
    (tls === undefined
      ? DEFAULT_AUTH_TIMEOUT_MS
      : (tls.timeoutMs ?? DEFAULT_TLS_TIMEOUT_MS) + TLS_AUTH_TIMEOUT_EXTRA_MS);

  return dropUndefined({
    serverName: root.read("server_name", readNonEmptyString) ?? generateServerId(),
    host: address.host,
    port: address.port ?? DEFAULT_PORT,
    httpPort: root.read("http_port", readPort),
    ...limits,
    pingIntervalMs: root.read("ping_interval", readPositiveDuration) ?? DEFAULT_PING_INTERVAL_MS,
    pingMax: root.read("ping_max", readCount) ?? DEFAULT_PING_MAX,
    writeDeadlineMs: root.read("write_deadline", readPositiveDuration) ?? DEFAULT_WRITE_DEADLINE_MS,
    authTimeoutMs,
    noAuthUser,
    authorization: authorization?.options,
    accounts,
    leafnodes: leafnodes.options,
    websocket,
    tls,
    operator,
    ...readLameDuck(root),
    debug: root.read("debug", readBoolean) ?? false,
    trace: root.read("trace", readBoolean) ?? false,
  });
}

/** nats-server refuses lame duck durations under 30 s (clients need time to move). */
const LAME_DUCK_MIN_MS = 30_000;

function readLameDuck(
  root: TableReader,
): Pick<ServerOptions, "lameDuckDurationMs" | "lameDuckGracePeriodMs"> {
  const duration = root.read("lame_duck_duration", readPositiveDuration);
  if (duration !== undefined && duration < LAME_DUCK_MIN_MS) {
    root.fail(
      "lame_duck_duration",
      `invalid lame_duck_duration of ${duration / 1000}s, minimum is 30 seconds`,
    );
  }
  return {
    lameDuckDurationMs: duration,
    lameDuckGracePeriodMs: root.read("lame_duck_grace_period", readPositiveDuration),
  };
}

function readLimits(
  root: TableReader,
): Pick<ServerOptions, "maxPayload" | "maxControlLine" | "maxConnections" | "maxPending"> {
  let maxPayload = root.read("max_payload", readSize);
  if (maxPayload !== undefined && maxPayload > MAX_PAYLOAD_LIMIT) {
    root.fail("max_payload", "max_payload value is too big");
    maxPayload = undefined;
  }
  let maxControlLine = root.read("max_control_line", readSize);
  if (maxControlLine !== undefined && maxControlLine > MAX_CONTROL_LINE_LIMIT) {
    root.fail("max_control_line", "max_control_line value is too big");
    maxControlLine = undefined;
  }
  const maxPending = root.read("max_pending", readSize) ?? DEFAULT_MAX_PENDING;
  const payload = maxPayload ?? DEFAULT_MAX_PAYLOAD;
  // A message that can never fit in a connection's outbound buffer would make
  // every receiver a slow consumer.
  if (payload > maxPending) {
    root.fail(
      root.has("max_payload") ? "max_payload" : "max_pending",
      `max_payload (${payload}) cannot be higher than max_pending (${maxPending})`,
    );
  }
  return {
    maxPayload: payload,
    maxControlLine: maxControlLine ?? DEFAULT_MAX_CONTROL_LINE,
    maxConnections: root.read("max_connections", readCount) ?? DEFAULT_MAX_CONNECTIONS,
    maxPending,
  };
}

/** nats-server: a singleton user or a token in `[authorization]` excludes account users. */
function checkAuthorizationAgainstAccounts(
  root: TableReader,
  authorization: ParsedAuthorization | undefined,
  accountUserLists: readonly (readonly (string | number)[])[],
): void {
  if (authorization === undefined) return;
  for (const path of accountUserLists) {
    if (authorization.hasSingleUser) {
      root.issues.add(path, "Can not have a single user/pass and accounts");
    } else if (authorization.hasToken) root.issues.add(path, "Can not have a token and accounts");
  }
}

/** User names and nkeys must be unique across `[authorization]` and every account. */
function checkUniqueUsers(issues: ConfigIssues, users: readonly ParsedUser[]): void {
  const names = new Set<string>();
  const nkeys = new Set<string>();
  for (const { options, identityPath } of users) {
    if (options.nkey !== undefined) {
      if (nkeys.has(options.nkey)) {
        issues.add(identityPath, `Duplicate nkey ${JSON.stringify(options.nkey)} detected`);
      }
      nkeys.add(options.nkey);
    } else if (options.user !== undefined) {
      if (names.has(options.user)) {
        issues.add(identityPath, `Duplicate user ${JSON.stringify(options.user)} detected`);
      }
      names.add(options.user);
    }
  }
}

/** `no_auth_user` must name a user/password user defined somewhere in the file. */
function checkNoAuthUser(root: TableReader, name: string, users: readonly ParsedUser[]): void {
  if (!users.some((u) => u.options.nkey === undefined)) {
    root.fail(
      "no_auth_user",
      `no_auth_user: ${JSON.stringify(name)} present, but users are not defined`,
    );
  } else if (!users.some((u) => u.options.user === name)) {
    root.fail(
      "no_auth_user",
      `no_auth_user: ${
        JSON.stringify(name)
      } not present as user in authorization block or account configuration`,
    );
  }
}
