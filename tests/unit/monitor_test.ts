import assert from "node:assert/strict";
import { FakeClock } from "../../actors/clock.ts";
import { Logger } from "../../actors/logger.ts";
import { createMonitorHandler, goDuration, startMonitor, uptime } from "../../actors/monitor.ts";
import { monitorViewOf } from "../../actors/monitor_view.ts";
import { RemoteActor } from "../../actors/remote.ts";
import { LeafConnection, type LeafEnvironment } from "../../actors/leaf_connection.ts";
import { ClientAuthenticator } from "../../protocol/client_auth.ts";
import { LeafAuthenticator } from "../../protocol/leaf_auth.ts";
import { generateNonce } from "../../protocol/nonce.ts";
import { ServerActor } from "../../actors/server.ts";
import { defaultOptions } from "../../config/mod.ts";
import type { RemoteOptions, ServerOptions } from "../../config/options.ts";
import { JETSTREAM_DENIES } from "../../protocol/leaf_info.ts";
import { MemoryTransport } from "../helpers/memory_transport.ts";

/** Lets every queued actor message, microtask and async auth step run. */
const settle = async () => {
  for (let i = 0; i < 6; i++) await new Promise((r) => setTimeout(r, 0));
};

const HTTP_PORT = 8222;

type Json = Record<string, unknown>;

function setup(overrides: Partial<ServerOptions> = {}) {
  const clock = new FakeClock(Date.UTC(2026, 0, 2, 3, 4, 5));
  const lines: string[] = [];
  const logger = new Logger({ sink: (l) => lines.push(l) });
  const server = new ServerActor({ ...defaultOptions(), serverName: "HUB", ...overrides }, {
    clock,
    logger,
  });
  const view = monitorViewOf(server);
  const handle = createMonitorHandler(view, { host: "127.0.0.1", port: HTTP_PORT });
  /** A client past CONNECT, sending `ops`. */
  const client = (ops = "", connect: Json = {}) => {
    const transport = new MemoryTransport();
    server.tell({ kind: "accepted", transport });
    transport.push(`CONNECT ${JSON.stringify({ verbose: false, ...connect })}\r\n${ops}`);
    return transport;
  };
  /** A leaf that dialled our leafnode port and finished the handshake. */
  const leaf = async (name: string, ops = "") => {
    const transport = new MemoryTransport();
    server.tell({ kind: "leafAccepted", transport });
    transport.push(`CONNECT ${JSON.stringify({ name, cluster: name, headers: true })}\r\n`);
    await settle();
    assert.match(transport.text(), /"connect_info":true/, "handshake completed");
    if (ops) transport.push(ops);
    await settle();
    return transport;
  };
  const get = async (path: string) => {
    const response = handle(new Request(`http://localhost${path}`));
    const text = await response.text();
    return {
      status: response.status,
      type: response.headers.get("content-type"),
      text,
      json: () => JSON.parse(text) as Json,
    };
  };
  const done = () => view.dispose();
  return { clock, lines, server, view, client, leaf, get, done };
}

/** Asserts `value[key]` has the JavaScript type `type` (or is an array, for "array"). */
function assertTypes(value: Json, types: Record<string, string>, where: string): void {
  for (const [key, type] of Object.entries(types)) {
    const actual = Array.isArray(value[key]) ? "array" : typeof value[key];
    assert.equal(actual, type, `${where}.${key} should be ${type}, is ${actual}`);
  }
}

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

Deno.test("monitor /varz - nats-server's fields and types with live counts", async () => {
  const s = setup();
  s.client("SUB foo 1\r\nPUB foo 2\r\nhi\r\n");
  await settle();
  const r = await s.get("/varz");
  assert.equal(r.status, 200);
  assert.equal(r.type, "application/json");
  const v = r.json();
  assertTypes(v, {
    server_id: "string",
    server_name: "string",
    version: "string",
    proto: "number",
    go: "string",
    host: "string",
    port: "number",
    max_connections: "number",
    ping_interval: "number",
    ping_max: "number",
    http_host: "string",
    http_port: "number",
    http_base_path: "string",
    https_port: "number",
    auth_timeout: "number",
    max_control_line: "number",
    max_payload: "number",
    max_pending: "number",
    cluster: "object",
    gateway: "object",
    leaf: "object",
    mqtt: "object",
    websocket: "object",
    jetstream: "object",
    tls_timeout: "number",
    write_deadline: "number",
    start: "string",
    now: "string",
    uptime: "string",
    mem: "number",
    cores: "number",
    gomaxprocs: "number",
    cpu: "number",
    connections: "number",
    total_connections: "number",
    routes: "number",
    remotes: "number",
    leafnodes: "number",
    in_msgs: "number",
    out_msgs: "number",
    in_bytes: "number",
    out_bytes: "number",
    slow_consumers: "number",
    subscriptions: "number",
    http_req_stats: "object",
    config_load_time: "string",
    slow_consumer_stats: "object",
  }, "varz");
  assert.equal(v.server_name, "HUB");
  assert.equal(v.server_id, s.server.serverId);
  assert.equal(v.http_port, HTTP_PORT);
  // Go marshals time.Duration as integer nanoseconds.
  assert.equal(v.ping_interval, 120_000_000_000);
  assert.equal(v.write_deadline, 10_000_000_000);
  assert.equal(v.auth_timeout, 2);
  assert.match(v.start as string, ISO_TIME);
  assert.match(v.now as string, ISO_TIME);
  assert.equal(v.connections, 1);
  assert.equal(v.total_connections, 1);
  assert.equal(v.in_msgs, 1);
  assert.equal(v.out_msgs, 1);
  assert.equal(v.in_client_msgs, 1);
  assert.equal(v.subscriptions, 1);
  assert.equal(v.leafnodes, 0);
  assert.deepEqual(v.http_req_stats, { "/varz": 1 });
  assertTypes(v.leaf as Json, { host: "string", port: "number", auth_timeout: "number" }, "leaf");
  assert.deepEqual(Object.keys(v.slow_consumer_stats as Json), [
    "clients",
    "routes",
    "gateways",
    "leafs",
  ]);
  assert.equal(v.auth_required, undefined, "omitted when false, as Go's omitempty");
  s.done();
});

Deno.test("monitor /varz - counters keep the traffic of connections that closed", async () => {
  const s = setup();
  const publisher = s.client();
  await settle();
  // The periodic scan picks the new connection up, so its close is accounted.
  s.clock.advance(250);
  publisher.push("PUB a 1\r\nx\r\nPUB a 1\r\ny\r\n");
  await settle();
  publisher.close();
  await settle();
  const v = (await s.get("/varz")).json();
  assert.equal(v.connections, 0);
  assert.equal(v.total_connections, 1);
  assert.equal(v.in_msgs, 2, "closed connection's messages still counted");
  assert.equal(v.in_client_msgs, 2);
  s.done();
});

Deno.test("monitor /connz - lists clients, paginates with limit and offset, subs=1 and detail", async () => {
  const s = setup();
  s.client("SUB foo 1\r\nSUB bar grp 2\r\n", { name: "first" });
  s.client();
  s.client();
  await settle();
  const all = (await s.get("/connz")).json();
  assertTypes(all, {
    server_id: "string",
    now: "string",
    num_connections: "number",
    total: "number",
    offset: "number",
    limit: "number",
    connections: "array",
  }, "connz");
  assert.equal(all.total, 3);
  assert.equal(all.limit, 1024);
  const conns = all.connections as Json[];
  assert.deepEqual(conns.map((c) => c.cid), [...conns.map((c) => c.cid as number)].sort());
  const first = conns[0];
  assertTypes(first, {
    cid: "number",
    kind: "string",
    type: "string",
    ip: "string",
    port: "number",
    start: "string",
    last_activity: "string",
    uptime: "string",
    idle: "string",
    pending_bytes: "number",
    in_msgs: "number",
    out_msgs: "number",
    in_bytes: "number",
    out_bytes: "number",
    subscriptions: "number",
  }, "connz.connections[0]");
  assert.equal(first.kind, "Client");
  assert.equal(first.type, "nats");
  assert.equal(first.name, "first");
  assert.equal(first.subscriptions, 2);
  assert.equal(first.subscriptions_list, undefined, "no list without subs=1");

  const page = (await s.get("/connz?limit=2&offset=1")).json();
  assert.equal(page.num_connections, 2);
  assert.equal(page.total, 3);
  assert.equal(page.offset, 1);
  assert.deepEqual(
    (page.connections as Json[]).map((c) => c.cid),
    conns.slice(1).map((c) => c.cid),
  );
  const past = (await s.get("/connz?offset=5")).json();
  assert.deepEqual(past.connections, []);

  const subs = ((await s.get("/connz?subs=1")).json().connections as Json[])[0];
  assert.deepEqual([...subs.subscriptions_list as string[]].sort(), ["bar", "foo"]);
  const detail = ((await s.get("/connz?subs=detail")).json().connections as Json[])[0];
  const bar = (detail.subscriptions_list_detail as Json[]).find((d) => d.subject === "bar");
  assert.deepEqual(bar, { subject: "bar", qgroup: "grp", sid: "2", msgs: 0, cid: first.cid });

  const one = (await s.get(`/connz?cid=${conns[2].cid}`)).json();
  assert.deepEqual((one.connections as Json[]).map((c) => c.cid), [conns[2].cid]);

  const bad = await s.get("/connz?limit=x");
  assert.equal(bad.status, 400);
  assert.equal(
    bad.text,
    `Error decoding int for 'limit': strconv.Atoi: parsing "x": invalid syntax`,
  );
  const badSort = await s.get("/connz?sort=nope");
  assert.equal(badSort.status, 400);
  assert.equal(badSort.text, "invalid sorting option: nope");
  s.done();
});

Deno.test("monitor /leafz - a leaf link with nats-server's fields, policies and queue weights", async () => {
  const s = setup();
  await s.leaf("LEAF", "LS+ foo\r\nLS+ bar workers 3\r\nLMSG foo 2\r\nhi\r\n");
  const r = (await s.get("/leafz?subs=1")).json();
  assertTypes(
    r,
    { server_id: "string", now: "string", leafnodes: "number", leafs: "array" },
    "leafz",
  );
  assert.equal(r.leafnodes, 1);
  const l = (r.leafs as Json[])[0];
  assertTypes(l, {
    id: "number",
    name: "string",
    is_spoke: "boolean",
    account: "string",
    ip: "string",
    port: "number",
    rtt: "string",
    in_msgs: "number",
    out_msgs: "number",
    in_bytes: "number",
    out_bytes: "number",
    subscriptions: "number",
    subscriptions_list: "array",
    compression: "string",
    import_policy: "object",
    export_policy: "object",
    subs_list: "array",
    reconnect_attempts: "number",
    last_close_reason: "string",
    last_close_time: "string",
  }, "leafz.leafs[0]");
  assert.equal(l.name, "LEAF");
  assert.equal(l.is_spoke, false, "we are the hub of an accepted link");
  assert.equal(l.account, "$G");
  assert.equal(l.rtt, "");
  assert.equal(
    l.compression,
    "not supported",
    "the fake leaf sent CONNECT first, like a 2.9 server",
  );
  assert.equal(l.solicited, false);
  assert.equal(l.state, "open");
  assert.equal(l.subscriptions, 2);
  assert.equal(l.in_msgs, 1);
  assert.deepEqual([...l.subscriptions_list as string[]].sort(), ["bar", "foo"]);
  const subsList = [...l.subs_list as Json[]].sort((a, b) =>
    String(a.subject).localeCompare(String(b.subject))
  );
  assert.deepEqual(subsList, [
    { subject: "bar", queue: "workers", weight: 3 },
    { subject: "foo", weight: 1 },
  ]);
  assert.deepEqual(l.import_policy, { deny: [...JETSTREAM_DENIES] });
  assert.deepEqual(l.export_policy, { deny: [...JETSTREAM_DENIES] });
  assert.equal(l.reconnect_attempts, 0);
  assert.equal(l.last_close_reason, "");

  const plain = ((await s.get("/leafz")).json().leafs as Json[])[0];
  assert.equal(plain.subscriptions_list, undefined, "no lists without subs=1");
  assert.equal(plain.subs_list, undefined);
  const other = (await s.get("/leafz?acc=OTHER")).json();
  assert.equal(other.leafnodes, 0);
  assert.deepEqual(other.leafs, []);
  const bad = await s.get("/leafz?subs=maybe");
  assert.equal(bad.status, 400);
  assert.equal(
    bad.text,
    `Error decoding boolean for 'subs': strconv.ParseBool: parsing "maybe": invalid syntax`,
  );
  // The link shows in /connz too, as nats-server 2.11.5+ lists leafnodes there.
  const conn = ((await s.get("/connz")).json().connections as Json[])[0];
  assert.equal(conn.kind, "Leafnode");
  assert.equal(conn.name, "LEAF");
  s.done();
});

Deno.test("monitor /leafz - the next link from a peer shows the previous close and the reconnect", async () => {
  const s = setup();
  const first = await s.leaf("LEAF");
  await s.get("/leafz");
  s.clock.advance(5000);
  first.close();
  await settle();
  assert.equal((await s.get("/leafz")).json().leafnodes, 0);
  await s.leaf("LEAF");
  const l = ((await s.get("/leafz")).json().leafs as Json[])[0];
  assert.equal(l.reconnect_attempts, 1);
  assert.equal(l.last_close_reason, "Client Closed");
  assert.equal(l.last_close_time, new Date(s.clock.now()).toISOString());
  s.done();
});

Deno.test("monitor /leafz - remotes section: a refused remote backs off with its error", async () => {
  const remote: RemoteOptions = {
    urls: ["nats-leaf://user:secret@hub.example:7422"],
    account: "$G",
    noRandomize: true,
    denyImports: ["private.>"],
    denyExports: [],
    firstInfoTimeoutMs: 1000,
    hub: false,
    wsCompression: false,
    wsNoMasking: false,
  };
  const s = setup({ leafnodes: { ...defaultOptions().leafnodes, remotes: [remote] } });
  const actor = new RemoteActor(0, remote, {
    clock: s.clock,
    logger: s.server.logger,
    supervisor: s.server,
    reconnectMs: 1000,
    createLink: () => {
      throw new Error("never dialled successfully in this test");
    },
    dial: () => Promise.reject(new Deno.errors.ConnectionRefused("connection refused")),
  });
  // Stands in for what listen() does with configured remotes, without opening sockets.
  s.server.remotes.push(actor);
  actor.start();
  await settle();
  const r = (await s.get("/leafz")).json();
  const remotes = r.remotes as Json[];
  assert.equal(remotes.length, 1);
  assertTypes(remotes[0], {
    index: "number",
    urls: "array",
    account: "string",
    state: "string",
    attempts: "number",
    last_error: "string",
    next_attempt_in_ms: "number",
  }, "leafz.remotes[0]");
  assert.deepEqual(remotes[0].urls, ["hub.example:7422"], "host:port only, no credentials");
  assert.equal(remotes[0].state, "backoff");
  assert.equal(remotes[0].attempts, 1);
  assert.equal(remotes[0].last_error, "connection refused");
  assert.ok((remotes[0].next_attempt_in_ms as number) > 0);
  assert.equal(remotes[0].penalty, undefined);
  // /varz describes the configured remote the way nats-server does.
  const leaf = (await s.get("/varz")).json().leaf as Json;
  assert.deepEqual(leaf.remotes, [{
    local_account: "$G",
    urls: ["hub.example:7422"],
    deny: { imports: ["private.>"] },
  }]);
  actor.tell({ kind: "stop" });
  await settle();
  s.done();
});

/** The hub's first INFO as nats-server 2.9.10 sends it, with overrides. */
function hubInfo(overrides: Json = {}): string {
  const info = {
    server_id: "NHUBSERVERID",
    server_name: "UPSTREAM",
    version: "2.9.10",
    proto: 1,
    headers: true,
    auth_required: true,
    max_payload: 1048576,
    client_id: 4,
    nonce: "abcdefghijklmno",
    cluster: "UPSTREAM",
    info_on_connect: true,
    leafnode_urls: ["127.0.0.1:7422"],
    ...overrides,
  };
  return `INFO ${JSON.stringify(info)} \r\n`;
}

Deno.test("monitor /leafz - a loop-detected link's 30s penalty and reason show on its remote", async () => {
  const remote: RemoteOptions = {
    urls: ["nats-leaf://upstream.example:7422"],
    noRandomize: true,
    denyImports: [],
    denyExports: [],
    firstInfoTimeoutMs: 1000,
    hub: false,
    wsCompression: false,
    wsNoMasking: false,
  };
  const s = setup({ leafnodes: { ...defaultOptions().leafnodes, remotes: [remote] } });
  const { server, clock } = s;
  // The link is built the way the server builds solicited links, with a hand-made environment.
  const env: LeafEnvironment = {
    options: server.options,
    clock,
    logger: server.logger,
    supervisor: server,
    serverId: server.serverId,
    serverName: "HUB",
    clusterName: "HUB",
    leafAuth: new LeafAuthenticator(undefined, new ClientAuthenticator(server.options)),
    account: (name) => server.accounts.get(name),
    info: () => {
      throw new Error("the solicit side never greets");
    },
    nonce: generateNonce,
    established: () => {},
    closed: () => {},
  };
  const upstream = new MemoryTransport();
  const actor = new RemoteActor(0, remote, {
    clock,
    logger: server.logger,
    supervisor: server,
    reconnectMs: 1000,
    createLink: (transport, context) => new LeafConnection(900, transport, env, context),
    dial: () => Promise.resolve(upstream),
    prepare: (raw) => Promise.resolve({ transport: raw, firstInfo: hubInfo().trimEnd() }),
  });
  server.remotes.push(actor);
  actor.start();
  await settle();
  upstream.push(hubInfo({ nonce: undefined, connect_info: true, remote_account: "$G" }));
  await settle();
  const connected = ((await s.get("/leafz")).json().remotes as Json[])[0];
  assert.equal(connected.state, "connected");
  assert.equal(connected.link_id, 900);
  upstream.push(
    `-ERR 'Loop detected for leafnode account="$G". Delaying attempt to reconnect for 30s'\r\n`,
  );
  await settle();
  const waiting = ((await s.get("/leafz")).json().remotes as Json[])[0];
  assert.equal(waiting.state, "backoff");
  assert.equal(waiting.last_close_reason, "Loop Detected");
  assert.deepEqual(waiting.penalty, { ms: 30_000, reason: "Loop Detected" });
  assert.equal(waiting.next_attempt_in_ms, 31_000, "the interval plus the penalty");
  assert.match(waiting.last_close_time as string, ISO_TIME);
  actor.tell({ kind: "stop" });
  await settle();
  s.done();
});

Deno.test("monitor /subsz, /accountz, /healthz - shapes and errors", async () => {
  const s = setup();
  s.client("SUB foo 1\r\nSUB foo.* q 2\r\n");
  await s.leaf("LEAF", "LS+ leafonly\r\n");
  const stats = (await s.get("/subsz")).json();
  assertTypes(stats, {
    server_id: "string",
    now: "string",
    num_subscriptions: "number",
    num_cache: "number",
    num_inserts: "number",
    num_removes: "number",
    num_matches: "number",
    cache_hit_rate: "number",
    max_fanout: "number",
    avg_fanout: "number",
    total: "number",
    offset: "number",
    limit: "number",
  }, "subsz");
  assert.equal(stats.num_subscriptions, 3, "every subscription, leaf interest included");
  assert.equal(stats.subscriptions_list, undefined);
  const listed = (await s.get("/subsz?subs=1")).json();
  assert.equal(listed.total, 2, "the list holds client subscriptions only, as nats-server's");
  const queue = (listed.subscriptions_list as Json[]).find((d) => d.subject === "foo.*");
  assert.deepEqual(Object.keys(queue!).sort(), [
    "account",
    "cid",
    "msgs",
    "qgroup",
    "sid",
    "subject",
  ]);
  assert.equal(queue!.account, "$G");
  assert.equal(queue!.qgroup, "q");
  const tested = (await s.get("/subsz?subs=1&test=foo.bar")).json();
  assert.deepEqual((tested.subscriptions_list as Json[]).map((d) => d.subject), ["foo.*"]);
  const badTest = await s.get("/subsz?subs=1&test=foo.*");
  assert.equal(badTest.status, 400);
  assert.equal(badTest.text, "invalid test subject, must be valid publish subject: foo.*");

  const accounts = (await s.get("/accountz")).json();
  assert.ok((accounts.accounts as string[]).includes("$G"));
  const detail = (await s.get("/accountz?acc=$G")).json().account_detail as Json;
  assertTypes(detail, {
    account_name: "string",
    update_time: "string",
    expired: "boolean",
    complete: "boolean",
    jetstream_enabled: "boolean",
    leafnode_connections: "number",
    client_connections: "number",
    subscriptions: "number",
    sublist_stats: "object",
  }, "accountz.account_detail");
  assert.equal(detail.leafnode_connections, 1);
  assert.equal(detail.client_connections, 1);
  assert.equal(detail.subscriptions, 3);
  const missing = await s.get("/accountz?acc=NOPE");
  assert.equal(missing.status, 400);
  assert.equal(missing.text, "Account NOPE does not exist");

  const health = await s.get("/healthz");
  assert.equal(health.status, 200);
  assert.equal(health.text, '{"status":"ok"}');
  s.done();
});

Deno.test("monitor /metrics - Prometheus text with canopy_ families and per-leaf labels", async () => {
  const s = setup();
  s.client("SUB foo 1\r\n");
  await s.leaf('LE"AF', "LMSG foo 2\r\nhi\r\n");
  const r = await s.get("/metrics");
  assert.equal(r.status, 200);
  assert.match(r.type ?? "", /^text\/plain; version=0\.0\.4/);
  const lines = r.text.trimEnd().split("\n");
  const sample = /^[a-z_:][a-z0-9_:]*(\{([a-z_]+="([^"\\\n]|\\.)*",?)*\})? ([-+0-9.eE]+|NaN)$/;
  for (const line of lines) {
    if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
    assert.match(line, sample, `not a valid sample line: ${line}`);
  }
  assert.ok(lines.includes("canopy_connections 1"));
  assert.ok(lines.includes("canopy_leafnodes 1"));
  assert.ok(lines.includes("# TYPE canopy_in_msgs_total counter"));
  assert.ok(lines.includes("canopy_in_msgs_total 1"));
  const leafLine = lines.find((l) => l.startsWith("canopy_leaf_in_msgs_total{"));
  assert.match(leafLine ?? "", /\{peer="LE\\"AF",account="\$G",direction="in",id="\d+"\} 1$/);
  s.done();
});

Deno.test("monitor - topology page at /, 404 elsewhere, JSONP callback", async () => {
  const s = setup();
  const page = await s.get("/");
  assert.equal(page.status, 200);
  assert.match(page.type ?? "", /^text\/html/);
  assert.match(page.text, /fetch\("\.\/leafz"\)/);
  assert.match(page.text, /fetch\("\.\/varz"\)/);
  assert.match(page.text, /setTimeout\(poll, 1000\)/);
  // The inline script must at least parse; a syntax error would leave the page blank.
  const script = page.text.match(/<script>([\s\S]*)<\/script>/)?.[1] ?? "";
  assert.ok(script.length > 0);
  assert.doesNotThrow(() => new Function(script));
  const missing = await s.get("/nothing");
  assert.equal(missing.status, 404);
  assert.equal(missing.text, "404 page not found\n");
  const jsonp = await s.get("/healthz?callback=show");
  assert.equal(jsonp.type, "application/javascript");
  assert.equal(jsonp.text, 'show({"status":"ok"})');
  assert.equal((await s.get("/healthz?callback=alert(1)//")).status, 400);
  s.done();
});

Deno.test("startMonitor - serves over HTTP on a free port, logs it, and closes", async () => {
  const s = setup();
  const logger = new Logger({ sink: (l) => s.lines.push(l) });
  const monitor = await startMonitor(monitorViewOf(s.server), {
    host: "127.0.0.1",
    port: 0,
    logger,
  });
  try {
    assert.ok(monitor.port > 0);
    assert.ok(
      s.lines.some((l) => l.includes(`Starting http monitor on 127.0.0.1:${monitor.port}`)),
    );
    const response = await fetch(`http://127.0.0.1:${monitor.port}/varz`);
    const varz = await response.json();
    assert.equal(varz.http_port, monitor.port);
    assert.equal(varz.server_name, "HUB");
  } finally {
    await monitor.close();
  }
  await assert.rejects(fetch(`http://127.0.0.1:${monitor.port}/healthz`));
  s.done();
});

Deno.test("monitor formatting - uptime and Go durations read like nats-server's", () => {
  assert.equal(uptime(0), "0s");
  assert.equal(uptime(59_999), "59s");
  assert.equal(uptime(61_000), "1m1s");
  assert.equal(uptime(3_600_000), "1h0m0s");
  assert.equal(uptime(86_400_000 + 1000), "1d0h0m1s");
  assert.equal(uptime(366 * 86_400_000), "1y1d0h0m0s");
  assert.equal(goDuration(0.301), "301µs");
  assert.equal(goDuration(40.627897), "40.627897ms");
  assert.equal(goDuration(1500), "1.5s");
});
