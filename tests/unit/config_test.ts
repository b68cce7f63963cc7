import assert from "node:assert/strict";
import { ConfigError } from "../../config/config_error.ts";
import { durationToMs, parseDurationText } from "../../config/duration.ts";
import { KeyLocator } from "../../config/key_locator.ts";
import { formatKeyPath } from "../../config/key_path.ts";
import { defaultOptions, loadConfigFile, parseConfigText } from "../../config/load.ts";
import { generateServerId } from "../../config/server_id.ts";
import { parseSizeText } from "../../config/size.ts";
import { closestKey } from "../../config/suggest.ts";

const FIXTURE = new URL("../fixtures/config/design_example.toml", import.meta.url);
const USER_NKEY = "UAOECULFGAUDQR57O3QM6TNBGB327R6ETATK4MINQQ4JBTWMFFW47RD4";
const OTHER_USER_NKEY = "UANGR2EWLJ62R6KUMFCFB6BMHBOL5HDK6NUV4A2GPMKLRCLPBOWFNVYS";
const USER_SEED = "SUAHQXNPONPQIVBHLKFFWOXZ3DZFRBF6W63C3CW5YA6CIMG7ZRYKA2K6TM";

/** Lines joined with "\n", so tests can count lines by eye. */
function toml(...lines: string[]): string {
  return lines.join("\n") + "\n";
}

interface Expected {
  line: number;
  column?: number;
  key: string;
  reason: string | RegExp;
}

/** Parses `text`, expects a ConfigError, and checks its first problem. */
function expectConfigError(text: string, expected: Expected): ConfigError {
  let caught: unknown;
  try {
    parseConfigText(text, "canopy.toml");
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${caught}`);
  assert.equal(caught.file, "canopy.toml");
  assert.equal(caught.key, expected.key);
  assert.equal(caught.line, expected.line, `line of ${caught.message}`);
  if (expected.column !== undefined) {
    assert.equal(caught.column, expected.column, `column of ${caught.message}`);
  }
  if (typeof expected.reason === "string") assert.equal(caught.reason, expected.reason);
  else assert.match(caught.reason, expected.reason);
  return caught;
}

// --- defaults --------------------------------------------------------------

Deno.test("defaultOptions - match nats-server 2.9.10 defaults", () => {
  const options = defaultOptions();
  assert.equal(options.host, "0.0.0.0");
  assert.equal(options.port, 4222);
  assert.equal(options.maxPayload, 1048576);
  assert.equal(options.maxControlLine, 4096);
  assert.equal(options.maxConnections, 65536);
  assert.equal(options.maxPending, 67108864);
  assert.equal(options.pingIntervalMs, 120_000);
  assert.equal(options.pingMax, 2);
  assert.equal(options.writeDeadlineMs, 10_000);
  assert.equal(options.authTimeoutMs, 2000);
  assert.equal(options.leafnodes.port, 7422);
  assert.equal(options.leafnodes.host, "0.0.0.0");
  assert.equal(options.leafnodes.reconnectMs, 1000);
  assert.deepEqual(options.leafnodes.remotes, []);
  assert.deepEqual(Object.keys(options.accounts), ["$G"]);
  assert.equal(options.httpPort, undefined);
  assert.equal(options.debug, false);
  assert.equal(options.trace, false);
});

Deno.test("generateServerId - 56-char server nkey starting with N, fresh each call", () => {
  const id = generateServerId();
  assert.match(id, /^N[A-Z2-7]{55}$/);
  assert.notEqual(generateServerId(), id);
});

Deno.test("parseConfigText - an empty file gives the defaults and a generated name", () => {
  const options = parseConfigText("", "empty.toml");
  const { serverName: _a, ...fromFile } = options;
  const { serverName: _b, ...defaults } = defaultOptions();
  assert.deepEqual(fromFile, { configFile: "empty.toml", ...defaults });
  assert.match(options.serverName, /^N[A-Z2-7]{55}$/);
});

Deno.test("parseConfigText - remote first_info_timeout defaults to 1s and urls get port 7422", () => {
  const options = parseConfigText(
    toml("[[leafnodes.remotes]]", 'url = "nats-leaf://hub.example.com"'),
    "c.toml",
  );
  const remote = options.leafnodes.remotes[0];
  assert.equal(remote.firstInfoTimeoutMs, 1000);
  assert.deepEqual(remote.urls, ["nats-leaf://hub.example.com:7422"]);
  assert.equal(remote.account, "$G");
  assert.deepEqual(remote.denyImports, []);
  assert.equal(remote.hub, false);
});

// --- the design.md example ---------------------------------------------------

Deno.test("loadConfigFile - the design.md example loads", async () => {
  const options = await loadConfigFile(FIXTURE.pathname);
  assert.equal(options.configFile, FIXTURE.pathname);
  assert.equal(options.serverName, "hub-1");
  assert.equal(options.port, 4222);
  assert.equal(options.httpPort, 8222);
  assert.equal(options.pingIntervalMs, 120_000);
  assert.deepEqual(options.authorization?.users, [{
    user: "app",
    password: "s3cret",
    account: "$G",
    permissions: { publish: { allow: ["orders.>"] } },
  }]);
  assert.deepEqual(options.accounts.ACME.users, [
    { user: "acme", password: "pw", account: "ACME" },
    { nkey: USER_NKEY, account: "ACME" },
  ]);
  assert.equal(options.accounts.$G.users[0].user, "app");
  assert.deepEqual(options.leafnodes.compression, {
    mode: "s2_auto",
    rttThresholdsMs: [10, 50, 100],
  });
  assert.equal(options.leafnodes.tls?.certFile, "certs/server-cert.pem");
  assert.deepEqual(options.leafnodes.authorization, { users: [] });
  const [remote] = options.leafnodes.remotes;
  assert.deepEqual(remote.urls, ["nats-leaf://leaf:secret@hub.example.com:7422"]);
  assert.equal(remote.account, "ACME");
  assert.deepEqual(remote.denyImports, ["internal.>"]);
  assert.deepEqual(remote.denyExports, ["secrets.*"]);
  assert.equal(remote.credentials, "leaf.creds");
  assert.equal(remote.firstInfoTimeoutMs, 1000);
  assert.equal(remote.tls?.timeoutMs, 2000);
  assert.deepEqual(options.websocket, {
    host: "0.0.0.0",
    port: 8080,
    noTls: true,
    compression: true,
    sameOrigin: false,
    allowedOrigins: [],
  });
});

Deno.test("loadConfigFile - flags override the file", async () => {
  const options = await loadConfigFile(FIXTURE.pathname, {
    port: 5222,
    host: "127.0.0.1",
    serverName: "from-flag",
    httpPort: 0,
    debug: true,
    trace: true,
  });
  assert.equal(options.port, 5222);
  assert.equal(options.host, "127.0.0.1");
  assert.equal(options.serverName, "from-flag");
  assert.equal(options.httpPort, 0);
  assert.equal(options.debug, true);
  assert.equal(options.trace, true);
});

Deno.test("loadConfigFile - a missing file is a ConfigError naming it", async () => {
  await assert.rejects(loadConfigFile("/nonexistent/canopy.toml"), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.file, "/nonexistent/canopy.toml");
    assert.equal(error.line, 0);
    assert.equal(error.message, "/nonexistent/canopy.toml: Cannot read config file: no such file");
    return true;
  });
});

// --- durations and sizes -----------------------------------------------------

Deno.test("parseDurationText - Go-style durations in milliseconds", () => {
  assert.equal(parseDurationText("500ms"), 500);
  assert.equal(parseDurationText("2s"), 2000);
  assert.equal(parseDurationText("1m"), 60_000);
  assert.equal(parseDurationText("1h"), 3_600_000);
  assert.equal(parseDurationText("1m30s"), 90_000);
  assert.equal(parseDurationText("1.5s"), 1500);
  assert.equal(parseDurationText("1h2m3s4ms"), 3_723_004);
  assert.equal(parseDurationText("250us"), 0.25);
  assert.equal(parseDurationText("0"), 0);
  assert.equal(parseDurationText("-2s"), -2000);
});

Deno.test("parseDurationText - rejects text that is not a duration", () => {
  assert.throws(() => parseDurationText(""), RangeError);
  assert.throws(() => parseDurationText("5"), /missing unit/);
  assert.throws(() => parseDurationText("5x"), /unknown unit "x"/);
  assert.throws(() => parseDurationText("s"), /Invalid duration "s"/);
  assert.throws(() => parseDurationText("1s junk"), RangeError);
});

Deno.test("durationToMs - numbers are seconds, fractions allowed", () => {
  assert.equal(durationToMs(2), 2000);
  assert.equal(durationToMs(0.5), 500);
  assert.equal(durationToMs(" 1m "), 60_000);
  assert.throws(() => durationToMs(true), TypeError);
});

Deno.test("parseSizeText - nats-server suffixes: k = 1000, kb/ki/kib = 1024", () => {
  assert.equal(parseSizeText("1MB"), 1048576);
  assert.equal(parseSizeText("64KB"), 65536);
  assert.equal(parseSizeText("64kb"), 65536);
  assert.equal(parseSizeText("1k"), 1000);
  assert.equal(parseSizeText("1m"), 1_000_000);
  assert.equal(parseSizeText("2KiB"), 2048);
  assert.equal(parseSizeText("1Ki"), 1024);
  assert.equal(parseSizeText("1 GB"), 1024 ** 3);
  assert.equal(parseSizeText("123"), 123);
  assert.throws(() => parseSizeText("1.5MB"), RangeError);
  assert.throws(() => parseSizeText("MB"), RangeError);
  assert.throws(() => parseSizeText("1XB"), /Invalid size "1XB"/);
});

Deno.test("parseConfigText - durations and sizes in the file", () => {
  const options = parseConfigText(
    toml(
      'ping_interval = "30s"',
      "write_deadline = 2.5",
      'max_payload = "64KB"',
      'max_pending = "1GB"',
      'max_control_line = "8KB"',
      "[authorization]",
      'timeout = "500ms"',
      "[leafnodes]",
      'reconnect = "250ms"',
    ),
    "c.toml",
  );
  assert.equal(options.pingIntervalMs, 30_000);
  assert.equal(options.writeDeadlineMs, 2500);
  assert.equal(options.maxPayload, 65536);
  assert.equal(options.maxPending, 1024 ** 3);
  assert.equal(options.maxControlLine, 8192);
  assert.equal(options.authTimeoutMs, 500);
  assert.equal(options.leafnodes.reconnectMs, 250);
});

Deno.test("parseConfigText - a bad duration names its key and line", () => {
  expectConfigError(toml("port = 4222", 'ping_interval = "5x"'), {
    line: 2,
    column: 1,
    key: "ping_interval",
    reason: 'Invalid duration "5x": unknown unit "x" (use ns, us, ms, s, m or h)',
  });
});

Deno.test("parseConfigText - a negative write_deadline is refused", () => {
  expectConfigError(toml("write_deadline = -1"), {
    line: 1,
    key: "write_deadline",
    reason: "expected a duration that is not negative, got -1",
  });
});

Deno.test("parseConfigText - a bad size names its key", () => {
  expectConfigError(toml("", 'max_pending = "lots"'), {
    line: 2,
    key: "max_pending",
    reason: /^Invalid size "lots"/,
  });
});

// --- limits -------------------------------------------------------------------

Deno.test("parseConfigText - max_payload above max_pending uses nats-server's text", () => {
  expectConfigError(toml("port = 1", 'max_payload = "100MB"'), {
    line: 2,
    key: "max_payload",
    reason: "max_payload (104857600) cannot be higher than max_pending (67108864)",
  });
});

Deno.test("parseConfigText - max_payload above int32 is too big", () => {
  expectConfigError(toml("max_pending = 9999999999", "max_payload = 4294967296"), {
    line: 2,
    key: "max_payload",
    reason: "max_payload value is too big",
  });
});

Deno.test("parseConfigText - max_pending below the default max_payload is reported on max_pending", () => {
  expectConfigError(toml("max_pending = 1000"), {
    line: 1,
    key: "max_pending",
    reason: "max_payload (1048576) cannot be higher than max_pending (1000)",
  });
});

// --- unknown keys and types -----------------------------------------------------

Deno.test("parseConfigText - unknown top-level key suggests the closest known key", () => {
  expectConfigError(toml("port = 4222", "max_paylod = 5"), {
    line: 2,
    column: 1,
    key: "max_paylod",
    reason: 'unknown field "max_paylod", did you mean "max_payload"?',
  });
});

Deno.test("parseConfigText - unknown key in a nested table has its own line", () => {
  expectConfigError(toml("[leafnodes]", "port = 7422", "", "  reconect = 1"), {
    line: 4,
    column: 3,
    key: "leafnodes.reconect",
    reason: 'unknown field "reconect", did you mean "reconnect"?',
  });
});

Deno.test("parseConfigText - unknown key with nothing close has no suggestion", () => {
  expectConfigError(toml("zzzzzzzz = 1"), {
    line: 1,
    key: "zzzzzzzz",
    reason: 'unknown field "zzzzzzzz"',
  });
});

Deno.test("parseConfigText - nats-server options Canopy lacks say so", () => {
  expectConfigError(toml("[cluster]", "port = 6222"), {
    line: 1,
    key: "cluster",
    reason: 'unknown field "cluster" (a nats-server option that Canopy does not support)',
  });
});

Deno.test("parseConfigText - nats-server aliases are accepted", () => {
  const options = parseConfigText(
    toml(
      'net = "127.0.0.1"',
      "[leaf]",
      'leafnode_advertise = "hub:7422"',
      "reconnect_interval = 3",
    ),
    "c.toml",
  );
  assert.equal(options.host, "127.0.0.1");
  assert.equal(options.leafnodes.advertise, "hub:7422");
  assert.equal(options.leafnodes.reconnectMs, 3000);
});

Deno.test("parseConfigText - an option given twice through an alias is an error", () => {
  expectConfigError(toml('host = "a"', 'net = "b"'), {
    line: 2,
    key: "net",
    reason: '"net" and "host" are the same option; set it once',
  });
});

Deno.test("parseConfigText - wrong type in permissions uses the documented message", () => {
  const error = expectConfigError(
    toml(
      "port = 4222",
      "",
      "[accounts.ACME]",
      "users = [",
      '  { user = "a", password = "b", permissions = { publish = 5 } },',
      "]",
    ),
    {
      line: 5,
      column: 49,
      key: "accounts.ACME.users[0].permissions.publish",
      reason: "expected a list of subjects, got a number",
    },
  );
  assert.equal(
    error.message,
    "canopy.toml:5:49: accounts.ACME.users[0].permissions.publish: expected a list of subjects, got a number",
  );
});

Deno.test("parseConfigText - wrong scalar types name the expected type", () => {
  expectConfigError(toml('port = "abc"'), {
    line: 1,
    key: "port",
    reason: "expected a port number, got a string",
  });
  expectConfigError(toml("", 'debug = "yes"'), {
    line: 2,
    key: "debug",
    reason: "expected a boolean (true or false), got a string",
  });
  expectConfigError(toml("server_name = 5"), {
    line: 1,
    key: "server_name",
    reason: "expected a string, got a number",
  });
  expectConfigError(toml("ping_max = 1.5"), {
    line: 1,
    key: "ping_max",
    reason: "expected an integer, got a number",
  });
  expectConfigError(toml("leafnodes = 3"), {
    line: 1,
    key: "leafnodes",
    reason: "expected a table, got a number",
  });
});

// --- ports and listen ------------------------------------------------------------

Deno.test("parseConfigText - ports out of range are errors", () => {
  expectConfigError(toml("port = 70000"), {
    line: 1,
    key: "port",
    reason: "expected a port number between 0 and 65535 (or -1 for any free port), got 70000",
  });
  expectConfigError(toml("[leafnodes]", "port = -5"), {
    line: 2,
    key: "leafnodes.port",
    reason: /got -5$/,
  });
  expectConfigError(toml("http_port = 65536"), { line: 1, key: "http_port", reason: /got 65536$/ });
});

Deno.test("parseConfigText - port -1 means any free port (0)", () => {
  const options = parseConfigText(toml("port = -1", "[leafnodes]", "port = -1"), "c.toml");
  assert.equal(options.port, 0);
  assert.equal(options.leafnodes.port, 0);
});

Deno.test("parseConfigText - listen sets host and port", () => {
  const options = parseConfigText(
    toml(
      'listen = "127.0.0.1:4333"',
      "[leafnodes]",
      'listen = "[::1]:7433"',
      "[websocket]",
      "listen = 8443",
      "no_tls = true",
    ),
    "c.toml",
  );
  assert.equal(options.host, "127.0.0.1");
  assert.equal(options.port, 4333);
  assert.equal(options.leafnodes.host, "::1");
  assert.equal(options.leafnodes.port, 7433);
  assert.equal(options.websocket?.port, 8443);
  assert.equal(options.websocket?.host, "0.0.0.0");
});

Deno.test("parseConfigText - a bad listen value uses nats-server's text", () => {
  expectConfigError(toml('listen = "nope"'), {
    line: 1,
    key: "listen",
    reason: 'could not parse address string "nope"',
  });
  expectConfigError(toml('listen = "h:x"'), {
    line: 1,
    key: "listen",
    reason: 'could not parse port "x"',
  });
  expectConfigError(toml("port = 1", 'listen = "h:2"'), {
    line: 2,
    key: "listen",
    reason: 'cannot be combined with "port"; use one or the other',
  });
});

// --- authorization and accounts ------------------------------------------------------

Deno.test("parseConfigText - users with token is nats-server's error", () => {
  expectConfigError(
    toml("[authorization]", 'users = [{user = "a", password = "b"}]', 'token = "t"'),
    {
      line: 3,
      key: "authorization.token",
      reason: "Can not have a token and a users array",
    },
  );
});

Deno.test("parseConfigText - single user with token, and with users, are errors", () => {
  expectConfigError(toml("[authorization]", 'user = "a"', 'password = "b"', 'token = "t"'), {
    line: 4,
    key: "authorization.token",
    reason: "Cannot have a user/pass and token",
  });
  expectConfigError(toml("[authorization]", 'user = "a"', "users = []"), {
    line: 2,
    key: "authorization.user",
    reason: "Can not have a single user/pass and a users array",
  });
});

Deno.test("parseConfigText - authorization singleton and token exclude account users", () => {
  expectConfigError(
    toml(
      "[authorization]",
      'user = "a"',
      'password = "b"',
      "[accounts.A]",
      'users = [{user = "c", password = "d"}]',
    ),
    { line: 5, key: "accounts.A.users", reason: "Can not have a single user/pass and accounts" },
  );
  expectConfigError(
    toml(
      "[authorization]",
      'token = "t"',
      "[accounts.A]",
      'users = [{user = "c", password = "d"}]',
    ),
    { line: 4, key: "accounts.A.users", reason: "Can not have a token and accounts" },
  );
});

Deno.test("parseConfigText - singleton authorization user binds to $G", () => {
  const options = parseConfigText(
    toml("[authorization]", 'user = "a"', 'password = "$2a$11$abc"'),
    "c.toml",
  );
  assert.deepEqual(options.authorization?.users, [{
    user: "a",
    password: "$2a$11$abc",
    account: "$G",
  }]);
  assert.deepEqual(options.accounts.$G.users, options.authorization?.users);
});

Deno.test("parseConfigText - duplicate user in one users list", () => {
  expectConfigError(
    toml(
      "[authorization]",
      "users = [",
      '  {user = "a", password = "1"},',
      '  {user = "a", password = "2"},',
      "]",
    ),
    {
      line: 4,
      column: 4,
      key: "authorization.users[1].user",
      reason: 'Duplicate user "a" detected',
    },
  );
});

Deno.test("parseConfigText - a user in two accounts", () => {
  expectConfigError(
    toml(
      "[accounts.A]",
      'users = [{user = "s", password = "p"}]',
      "[accounts.B]",
      'users = [{user = "s", password = "q"}]',
    ),
    { line: 4, column: 11, key: "accounts.B.users[0].user", reason: 'Duplicate user "s" detected' },
  );
});

Deno.test("parseConfigText - a user in authorization and an account", () => {
  expectConfigError(
    toml(
      "[authorization]",
      'users = [{user = "s", password = "p"}]',
      "[accounts.B]",
      'users = [{user = "s", password = "q"}]',
    ),
    { line: 4, key: "accounts.B.users[0].user", reason: 'Duplicate user "s" detected' },
  );
});

Deno.test("parseConfigText - the same nkey twice", () => {
  expectConfigError(
    toml(
      "[accounts.A]",
      `users = [{nkey = "${USER_NKEY}"}]`,
      "[accounts.B]",
      `users = [{nkey = "${USER_NKEY}"}]`,
    ),
    { line: 4, key: "accounts.B.users[0].nkey", reason: `Duplicate nkey "${USER_NKEY}" detected` },
  );
});

Deno.test("parseConfigText - different nkeys in different accounts are fine", () => {
  const options = parseConfigText(
    toml(
      "[accounts.A]",
      `users = [{nkey = "${USER_NKEY}"}]`,
      "[accounts.B]",
      `users = [{nkey = "${OTHER_USER_NKEY}"}]`,
    ),
    "c.toml",
  );
  assert.deepEqual(options.accounts.B.users, [{ nkey: OTHER_USER_NKEY, account: "B" }]);
});

Deno.test("parseConfigText - nkey user checks", () => {
  expectConfigError(toml("[accounts.A]", 'users = [{nkey = "UABC"}]'), {
    line: 2,
    key: "accounts.A.users[0].nkey",
    reason: "Not a valid public nkey for a user",
  });
  expectConfigError(toml("[accounts.A]", `users = [{nkey = "${USER_NKEY}", user = "x"}]`), {
    line: 2,
    column: 10,
    key: "accounts.A.users[0]",
    reason: "Nkey users do not take usernames or passwords",
  });
  expectConfigError(toml("[accounts.A]", 'users = [{password = "x"}]'), {
    line: 2,
    key: "accounts.A.users[0]",
    reason: "User entry requires a user",
  });
});

Deno.test("parseConfigText - no_auth_user must name a known user", () => {
  expectConfigError(
    toml('no_auth_user = "zz"', "[authorization]", 'users = [{user = "a", password = "b"}]'),
    {
      line: 1,
      key: "no_auth_user",
      reason:
        'no_auth_user: "zz" not present as user in authorization block or account configuration',
    },
  );
  expectConfigError(toml("port = 1", 'no_auth_user = "zz"'), {
    line: 2,
    key: "no_auth_user",
    reason: 'no_auth_user: "zz" present, but users are not defined',
  });
  const options = parseConfigText(
    toml('no_auth_user = "c"', "[accounts.A]", 'users = [{user = "c", password = "d"}]'),
    "c.toml",
  );
  assert.equal(options.noAuthUser, "c");
});

Deno.test("parseConfigText - $G is reserved, $SYS may be declared", () => {
  expectConfigError(
    toml("[accounts.A]", '[accounts."$G"]', 'users = [{user = "s", password = "s"}]'),
    {
      line: 2,
      key: "accounts.$G",
      reason: '"$G" is a Reserved Account',
    },
  );
  const options = parseConfigText(
    toml('[accounts."$SYS"]', 'users = [{user = "sys", password = "s"}]'),
    "c.toml",
  );
  assert.deepEqual(options.accounts.$SYS, {
    name: "$SYS",
    users: [{ user: "sys", password: "s", account: "$SYS" }],
  });
});

Deno.test("parseConfigText - accounts as a list of names", () => {
  const options = parseConfigText(toml('accounts = ["A", "B"]'), "c.toml");
  assert.deepEqual(Object.keys(options.accounts), ["$G", "A", "B"]);
  expectConfigError(toml('accounts = ["A", "A"]'), {
    line: 1,
    column: 18,
    key: "accounts[1]",
    reason: "Duplicate Account Entry: A",
  });
});

// --- permissions -----------------------------------------------------------------------

Deno.test("parseConfigText - permission forms: table, list, single subject", () => {
  const options = parseConfigText(
    toml(
      "[authorization]",
      "users = [",
      '  {user = "a", permissions = {publish = {allow = ["a.>"], deny = ["a.b"]}, subscribe = ["x", "y q"]}},',
      '  {user = "b", permissions = {publish = "only.this"}},',
      "]",
    ),
    "c.toml",
  );
  const [a, b] = options.authorization!.users;
  assert.deepEqual(a.permissions, {
    publish: { allow: ["a.>"], deny: ["a.b"] },
    subscribe: { allow: ["x", "y q"] },
  });
  assert.deepEqual(b.permissions, { publish: { allow: ["only.this"] } });
});

Deno.test("parseConfigText - allow_responses turns off the implicit publish allow", () => {
  const options = parseConfigText(
    toml(
      "[authorization]",
      "users = [",
      '  {user = "a", permissions = {allow_responses = true}},',
      '  {user = "b", permissions = {allow_responses = {max = 5, expires = "1m"}}},',
      '  {user = "c", permissions = {allow_responses = false}},',
      "]",
    ),
    "c.toml",
  );
  const [a, b, c] = options.authorization!.users;
  assert.deepEqual(a.permissions, {
    publish: { allow: [] },
    allowResponses: { maxMsgs: 1, expiresMs: 120_000 },
  });
  assert.deepEqual(b.permissions?.allowResponses, { maxMsgs: 5, expiresMs: 60_000 });
  assert.deepEqual(c.permissions, {});
});

Deno.test("parseConfigText - default_permissions apply to users without their own", () => {
  const options = parseConfigText(
    toml(
      "[accounts.A]",
      'default_permissions = { subscribe = { deny = [">"] } }',
      'users = [{user = "a"}, {user = "b", permissions = {publish = "x"}}]',
    ),
    "c.toml",
  );
  const [a, b] = options.accounts.A.users;
  assert.deepEqual(a.permissions, { subscribe: { deny: [">"] } });
  assert.deepEqual(b.permissions, { publish: { allow: ["x"] } });
});

Deno.test("parseConfigText - invalid subjects in permissions point at the element", () => {
  expectConfigError(
    toml(
      "[[accounts.ACME.users]]",
      'user = "x"',
      "[[accounts.ACME.users]]",
      'user = "y"',
      'permissions.subscribe = ["ok", "bad..subject"]',
    ),
    {
      line: 5,
      column: 32,
      key: "accounts.ACME.users[1].permissions.subscribe[1]",
      reason: 'subject "bad..subject" is not a valid subject',
    },
  );
  expectConfigError(
    toml("[authorization]", 'users = [{user = "a", permissions = {publish = {deny = "a.>.b"}}}]'),
    {
      line: 2,
      key: "authorization.users[0].permissions.publish.deny",
      reason: 'subject "a.>.b" is not a valid subject',
    },
  );
});

Deno.test("parseConfigText - unknown key in a permissions table", () => {
  expectConfigError(
    toml("[authorization]", 'users = [{user = "a", permissions = {publish = {alow = ["x"]}}}]'),
    {
      line: 2,
      column: 49,
      key: "authorization.users[0].permissions.publish.alow",
      reason: 'unknown field "alow", did you mean "allow"?',
    },
  );
});

// --- leafnodes -------------------------------------------------------------------------------

Deno.test("parseConfigText - a remote with no url", () => {
  expectConfigError(
    toml("[leafnodes]", "port = 7422", "", "[[leafnodes.remotes]]", 'account = "$G"'),
    {
      line: 4,
      column: 1,
      key: "leafnodes.remotes[0]",
      reason: 'missing "url" or "urls": a remote needs at least one URL',
    },
  );
});

Deno.test("parseConfigText - a remote mixing ws and non-ws urls", () => {
  expectConfigError(
    toml(
      "[[leafnodes.remotes]]",
      'url = "nats://a:1"',
      "[[leafnodes.remotes]]",
      'urls = ["ws://u:pw@a", "nats://b:2"]',
    ),
    {
      line: 4,
      key: "leafnodes.remotes[1].urls",
      reason:
        'remote leaf node configuration cannot have a mix of websocket and non-websocket urls: ["ws://u:xxxxx@a:7422" "nats://b:2"]',
    },
  );
});

Deno.test("parseConfigText - remote url problems", () => {
  expectConfigError(toml("[[leafnodes.remotes]]", 'urls = ["nats://ok", "not a url"]'), {
    line: 2,
    column: 22,
    key: "leafnodes.remotes[0].urls[1]",
    reason: 'error parsing leafnode url ["not a url"]',
  });
  expectConfigError(toml("[[leafnodes.remotes]]", 'url = "nats://a"', 'urls = ["nats://b"]'), {
    line: 3,
    key: "leafnodes.remotes[0].urls",
    reason: 'set either "url" or "urls", not both',
  });
});

Deno.test("parseConfigText - remote account must exist", () => {
  expectConfigError(
    toml("[leafnodes]", "[[leafnodes.remotes]]", 'url = "nats://h"', 'account = "NOPE"'),
    {
      line: 4,
      key: "leafnodes.remotes[0].account",
      reason: 'cannot find local account "NOPE" specified in leafnode remote',
    },
  );
  const options = parseConfigText(
    toml("[[leafnodes.remotes]]", 'url = "nats://h"', 'account = "$SYS"'),
    "c.toml",
  );
  assert.equal(options.leafnodes.remotes[0].account, "$SYS");
});

Deno.test("parseConfigText - remote credentials and nkey", () => {
  expectConfigError(
    toml(
      "[[leafnodes.remotes]]",
      'url = "nats://h"',
      'credentials = "a.creds"',
      `nkey = "${USER_SEED}"`,
    ),
    {
      line: 4,
      key: "leafnodes.remotes[0].nkey",
      reason: "Remote leafnode can not have both creds and nkey defined",
    },
  );
  expectConfigError(toml("[[leafnodes.remotes]]", 'url = "nats://h"', `nkey = "${USER_NKEY}"`), {
    line: 3,
    key: "leafnodes.remotes[0].nkey",
    reason: "Remote leafnode nkey is not a valid seed",
  });
  const options = parseConfigText(
    toml("[[leafnodes.remotes]]", 'url = "nats://h"', `seed = "${USER_SEED}"`),
    "c.toml",
  );
  assert.equal(options.leafnodes.remotes[0].nkey, USER_SEED);
});

Deno.test("parseConfigText - duplicate remotes", () => {
  expectConfigError(
    toml(
      "[[leafnodes.remotes]]",
      'url = "nats://h:1"',
      "[[leafnodes.remotes]]",
      'urls = ["nats://h:1"]',
    ),
    {
      line: 3,
      key: "leafnodes.remotes[1]",
      reason: 'duplicate remote urls=["nats://h:1"], account="$G"',
    },
  );
});

Deno.test("parseConfigText - deny lists are checked as subjects", () => {
  expectConfigError(
    toml("[[leafnodes.remotes]]", 'url = "nats://h"', 'deny_imports = ["ok.>", "bad.>.x"]'),
    {
      line: 3,
      column: 25,
      key: "leafnodes.remotes[0].deny_imports[1]",
      reason: 'subject "bad.>.x" is not a valid subject',
    },
  );
  const options = parseConfigText(
    toml("[[leafnodes.remotes]]", 'url = "nats://h"', 'deny_export = "secrets.*"'),
    "c.toml",
  );
  assert.deepEqual(options.leafnodes.remotes[0].denyExports, ["secrets.*"]);
});

Deno.test("parseConfigText - compression forms", () => {
  const options = parseConfigText(
    toml(
      "[leafnodes]",
      "compression = true",
      "[[leafnodes.remotes]]",
      'url = "nats://a"',
      'compression = "fast"',
      "[[leafnodes.remotes]]",
      'url = "nats://b"',
      'compression = { mode = "s2_auto", rtt_thresholds = ["5ms", 0, "40ms", 0] }',
      "[[leafnodes.remotes]]",
      'url = "nats://c"',
      "compression = false",
    ),
    "c.toml",
  );
  assert.deepEqual(options.leafnodes.compression, {
    mode: "s2_auto",
    rttThresholdsMs: [10, 50, 100],
  });
  const [a, b, c] = options.leafnodes.remotes;
  assert.deepEqual(a.compression, { mode: "s2_fast" });
  assert.deepEqual(b.compression, { mode: "s2_auto", rttThresholdsMs: [5, 0, 40] });
  assert.deepEqual(c.compression, { mode: "off" });
});

Deno.test("parseConfigText - compression errors use nats-server's text", () => {
  expectConfigError(toml("[leafnodes]", 'compression = "zip"'), {
    line: 2,
    key: "leafnodes.compression",
    reason: 'unsupported compression mode "zip"',
  });
  expectConfigError(
    toml("[leafnodes]", 'compression = { mode = "auto", rtt_thresholds = ["50ms", "10ms"] }'),
    {
      line: 2,
      key: "leafnodes.compression.rtt_thresholds",
      reason: "RTT threshold values [50ms 10ms] should be in ascending order",
    },
  );
  expectConfigError(
    toml("[leafnodes]", 'compression = { rtt_thresholds = ["1ms", "2ms", "3ms", "4ms", "5ms"] }'),
    {
      line: 2,
      key: "leafnodes.compression.rtt_thresholds",
      reason:
        'compression mode "s2_auto" should have no more than 4 RTT thresholds: [1ms 2ms 3ms 4ms 5ms]',
    },
  );
});

Deno.test("parseConfigText - leafnode authorization checks", () => {
  expectConfigError(
    toml(
      "[leafnodes.authorization]",
      "users = [",
      '  {user = "a", password = "1"},',
      '  {user = "a", password = "2"},',
      "]",
    ),
    {
      line: 4,
      key: "leafnodes.authorization.users[1].user",
      reason: 'duplicate user "a" detected in leafnode authorization',
    },
  );
  expectConfigError(
    toml(
      "[leafnodes.authorization]",
      'user = "x"',
      'password = "y"',
      'users = [{user = "a", password = "1"}]',
    ),
    {
      line: 2,
      key: "leafnodes.authorization.user",
      reason: "can not have a single user/pass and a users array",
    },
  );
  expectConfigError(toml("[leafnodes.authorization]", 'account = "GONE"'), {
    line: 2,
    key: "leafnodes.authorization.account",
    reason: 'cannot find local account "GONE" specified in leafnode authorization',
  });
});

Deno.test("parseConfigText - leafnode authorization binds users to accounts", () => {
  const options = parseConfigText(
    toml(
      "[accounts.A]",
      "[leafnodes.authorization]",
      "timeout = 3",
      'users = [{user = "a", password = "1", account = "A"}, {user = "b", password = "2"}]',
    ),
    "c.toml",
  );
  assert.deepEqual(options.leafnodes.authorization, {
    timeoutMs: 3000,
    users: [{ user: "a", password: "1", account: "A" }, { user: "b", password: "2" }],
  });
});

// --- TLS and websocket --------------------------------------------------------------------------

Deno.test("parseConfigText - TLS blocks", () => {
  const options = parseConfigText(
    toml(
      "[tls]",
      'cert_file = "c.pem"',
      'key_file = "k.pem"',
      "verify_and_map = true",
      'timeout = "3s"',
    ),
    "c.toml",
  );
  assert.equal(options.tls?.verify, true);
  assert.equal(options.tls?.verifyAndMap, true);
  assert.equal(options.tls?.timeoutMs, 3000);
  // nats-server: with TLS the default auth timeout is the TLS timeout plus one second.
  assert.equal(options.authTimeoutMs, 4000);
  expectConfigError(toml("[tls]", 'cert_file = "c.pem"'), {
    line: 1,
    key: "tls",
    reason: "missing 'key_file' in TLS configuration",
  });
  expectConfigError(toml("[leafnodes.tls]", "verify = true"), {
    line: 1,
    key: "leafnodes.tls",
    reason: "a listener's TLS needs 'cert_file' and 'key_file'",
  });
  expectConfigError(toml("[tls]", 'cert_file = "c"', 'key_file = "k"', "cipher_suites = []"), {
    line: 4,
    key: "tls.cipher_suites",
    reason: "error parsing tls config, 'cipher_suites' cannot be empty",
  });
});

Deno.test("parseConfigText - authorization timeout overrides the TLS-derived default", () => {
  const options = parseConfigText(
    toml("[tls]", 'cert_file = "c"', 'key_file = "k"', "[authorization]", "timeout = 1.5"),
    "c.toml",
  );
  assert.equal(options.authTimeoutMs, 1500);
  assert.equal(options.authorization?.timeoutMs, 1500);
});

Deno.test("parseConfigText - websocket requires TLS unless no_tls", () => {
  expectConfigError(toml("port = 1", "[websocket]", "port = 8080"), {
    line: 2,
    key: "websocket",
    reason: "websocket requires TLS configuration",
  });
  expectConfigError(toml("[websocket]", "no_tls = true"), {
    line: 1,
    key: "websocket",
    reason: 'missing "port" or "listen": the websocket listener needs a port',
  });
  expectConfigError(
    toml("[websocket]", "port = 1", "no_tls = true", 'allowed_origins = ["http://ok", "::bad"]'),
    {
      line: 4,
      key: "websocket.allowed_origins[1]",
      reason: 'unable to parse allowed origin: "::bad"',
    },
  );
});

// --- syntax errors and reporting ------------------------------------------------------------------

Deno.test("parseConfigText - TOML syntax errors carry smol-toml's line and column", () => {
  expectConfigError(toml("port = 4222", "host = "), {
    line: 2,
    column: 8,
    key: "",
    reason: "invalid TOML: invalid value",
  });
  const error = expectConfigError(toml("a = 1", "a = 2"), {
    line: 2,
    column: 1,
    key: "",
    reason: /^invalid TOML: /,
  });
  assert.ok(error.cause instanceof Error);
  assert.match(error.message, /^canopy\.toml:2:1: invalid TOML: /);
});

Deno.test("parseConfigText - every problem is reported, first in file order", () => {
  const error = expectConfigError(
    toml("max_paylod = 1", "port = 70000", "[leafnodes]", "prot = 1"),
    { line: 1, key: "max_paylod", reason: /unknown field/ },
  );
  assert.deepEqual(error.related.map((e) => [e.line, e.key]), [[2, "port"], [4, "leafnodes.prot"]]);
  assert.equal(error.message.split("\n").length, 3);
  assert.match(
    error.message.split("\n")[2],
    /^canopy\.toml:4:1: leafnodes\.prot: unknown field "prot", did you mean "port"\?$/,
  );
});

Deno.test("ConfigError - is a named Error with its fields", () => {
  const error = new ConfigError({ file: "f.toml", line: 3, column: 7, key: "a.b", reason: "bad" });
  assert.ok(error instanceof Error);
  assert.equal(error.name, "ConfigError");
  assert.equal(error.message, "f.toml:3:7: a.b: bad");
  assert.deepEqual(error.related, []);
});

Deno.test("closestKey - suggests plausible typos only", () => {
  assert.equal(closestKey("max_paylod", ["port", "max_payload", "max_pending"]), "max_payload");
  assert.equal(closestKey("PORT", ["port", "host"]), "port");
  assert.equal(closestKey("prot", ["port", "host"]), "port");
  assert.equal(closestKey("completely_else", ["port", "host"]), undefined);
});

// --- the key locator --------------------------------------------------------------------------------

Deno.test("formatKeyPath - dots, indexes and quoted keys", () => {
  assert.equal(
    formatKeyPath(["accounts", "ACME", "users", 0, "password"]),
    "accounts.ACME.users[0].password",
  );
  assert.equal(formatKeyPath(["a", "b.c", "$SYS"]), 'a."b.c".$SYS');
});

Deno.test("KeyLocator - tables, arrays of tables, inline tables and multi-line arrays", () => {
  const text = toml(
    "# [not.a.header] in a comment",
    'server_name = "x" # trailing [comment]',
    'motd = """',
    "[fake.header]",
    'still = "in the string"',
    '"""',
    "[leafnodes]",
    "  port = 7422",
    "[[leafnodes.remotes]]",
    'url = "nats://a"',
    "[[leafnodes.remotes]]",
    "deny_imports = [",
    '  "a.>",',
    '  "b.>",  # why',
    "]",
    "[leafnodes.remotes.tls]",
    "verify = true",
    "[accounts.ACME]",
    "users = [ { user = 'a', permissions = { publish = { allow = ['x'] } } },",
    '          { nkey = "U" } ]',
    '[accounts."odd.name"]',
    "a.b.c = 1",
  );
  const locator = new KeyLocator(text);
  const at = (...path: (string | number)[]) => {
    const { line, column } = locator.locate(path);
    return `${line}:${column}`;
  };
  assert.equal(at("server_name"), "2:1");
  assert.equal(at("fake"), "1:1"); // never written: falls back to the top
  assert.equal(at("leafnodes"), "7:1");
  assert.equal(at("leafnodes", "port"), "8:3");
  assert.equal(at("leafnodes", "remotes", 0), "9:1");
  assert.equal(at("leafnodes", "remotes", 0, "url"), "10:1");
  assert.equal(at("leafnodes", "remotes", 1), "11:1");
  assert.equal(at("leafnodes", "remotes", 1, "deny_imports", 1), "14:3");
  assert.equal(at("leafnodes", "remotes", 1, "tls", "verify"), "17:1");
  assert.equal(at("leafnodes", "remotes", 1, "missing"), "11:1");
  assert.equal(at("accounts", "ACME", "users", 0, "permissions", "publish", "allow", 0), "19:62");
  assert.equal(at("accounts", "ACME", "users", 1, "nkey"), "20:13");
  assert.equal(at("accounts", "odd.name", "a", "b", "c"), "22:5");
});

Deno.test("KeyLocator - nested arrays of tables restart their index per parent", () => {
  const text = toml("[[a]]", "[[a.b]]", "x = 1", "[[a]]", "[[a.b]]", "x = 2", "[[a.b]]", "x = 3");
  const locator = new KeyLocator(text);
  assert.equal(locator.locate(["a", 1, "b", 0, "x"]).line, 6);
  assert.equal(locator.locate(["a", 1, "b", 1, "x"]).line, 8);
  assert.equal(locator.locate(["a", 0, "b", 0, "x"]).line, 3);
});

Deno.test("KeyLocator - CRLF line endings", () => {
  const locator = new KeyLocator("a = 1\r\n[t]\r\nb = 2\r\n");
  assert.deepEqual(locator.locate(["t", "b"]), { line: 3, column: 1 });
});

Deno.test("config - lame duck keys: durations as nats-server, under 30 s refused", () => {
  const options = parseConfigText(
    'lame_duck_duration = "45s"\nlame_duck_grace_period = 5\n',
    "x.toml",
  );
  assert.equal(options.lameDuckDurationMs, 45_000);
  assert.equal(options.lameDuckGracePeriodMs, 5_000);
  assert.throws(
    () => parseConfigText('lame_duck_duration = "4s"\n', "x.toml"),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.message.includes("x.toml:1:") &&
      error.message.includes("invalid lame_duck_duration of 4s, minimum is 30 seconds"),
  );
});
