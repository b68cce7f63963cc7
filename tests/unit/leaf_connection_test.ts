import assert from "node:assert/strict";
import { FakeClock } from "../../actors/clock.ts";
import { Logger } from "../../actors/logger.ts";
import { ServerActor } from "../../actors/server.ts";
import { defaultOptions } from "../../config/mod.ts";
import type { PermissionsOptions, ServerOptions } from "../../config/options.ts";
import type { LeafInfo } from "../../protocol/leaf_info.ts";
import { MemoryTransport } from "../helpers/memory_transport.ts";

const HUB = "HUB";
const LOOP_TEXT = `Loop detected for leafnode account="$G". Delaying attempt to reconnect for 30s`;

/** Lets every queued actor message, microtask and async auth step run. */
const settle = async () => {
  for (let i = 0; i < 6; i++) await new Promise((r) => setTimeout(r, 0));
};

function setup(overrides: Partial<ServerOptions> = {}) {
  const clock = new FakeClock();
  const lines: string[] = [];
  const logger = new Logger({ debug: true, sink: (l) => lines.push(l) });
  const server = new ServerActor({ ...defaultOptions(), serverName: HUB, ...overrides }, {
    clock,
    logger,
  });
  /** A fake leaf dialling our leafnode port. */
  const leaf = () => {
    const transport = new MemoryTransport();
    server.tell({ kind: "leafAccepted", transport });
    return transport;
  };
  /** A client on the client port, already past CONNECT. */
  const client = (ops = "", credentials: Record<string, string> = {}) => {
    const transport = new MemoryTransport();
    server.tell({ kind: "accepted", transport });
    const connect = JSON.stringify({ verbose: false, headers: true, ...credentials });
    transport.push(`CONNECT ${connect}\r\n${ops}`);
    return transport;
  };
  /** A fake leaf that has completed the handshake; its output so far is discarded. */
  const connectedLeaf = async (cluster: string, extra: Record<string, unknown> = {}) => {
    const t = leaf();
    t.push(`CONNECT ${JSON.stringify({ name: cluster, cluster, headers: true, ...extra })}\r\n`);
    await settle();
    assert.match(t.text(), /"connect_info":true/, "handshake completed");
    t.written = [];
    return t;
  };
  const lds = () => server.accounts.get("$G")!.lds;
  return { clock, lines, server, leaf, client, connectedLeaf, lds };
}

/** The protocol lines written so far (CRLF removed); payloads appear as their own lines. */
function linesOf(t: MemoryTransport): string[] {
  return t.text().split("\r\n").filter((l) => l !== "");
}

function infosOf(t: MemoryTransport): LeafInfo[] {
  return linesOf(t).filter((l) => l.startsWith("INFO ")).map((l) => JSON.parse(l.slice(5)));
}

// ---- handshake --------------------------------------------------------------

Deno.test("leaf connection - accept side greets with INFO: nonce, client_id, leafnode_urls", async () => {
  const { leaf } = setup();
  const t = leaf();
  await settle();
  const text = t.text();
  assert.match(text, /^INFO \{.*\} \r\n$/, "one INFO line, space before CRLF");
  const [info] = infosOf(t);
  assert.match(info.nonce ?? "", /^[A-Za-z0-9_-]{15}$/);
  assert.equal(typeof info.client_id, "number");
  assert.ok(info.client_id! > 0);
  assert.ok(Array.isArray(info.leafnode_urls));
  assert.equal(info.info_on_connect, true);
  assert.equal(info.auth_required, true);
  assert.equal(info.server_name, HUB);
  assert.equal(info.connect_info, undefined);
  assert.equal(t.closed, false);
  // Every link gets its own nonce and id.
  const other = leaf();
  await settle();
  const [second] = infosOf(other);
  assert.notEqual(second.nonce, info.nonce);
  assert.notEqual(second.client_id, info.client_id);
});

Deno.test("leaf connection - CONNECT is answered by a connect_info INFO and the LS+ dump", async () => {
  const { leaf, client, lds } = setup();
  client("SUB foo 1\r\nSUB bar q1 2\r\nSUB bar q1 3\r\nSUB foo 4\r\n");
  await settle();
  const t = leaf();
  await settle();
  t.push('CONNECT {"name":"LEAF","cluster":"LEAF","headers":true}\r\n');
  await settle();
  const infos = infosOf(t);
  assert.equal(infos.length, 2);
  const reply = infos[1];
  assert.equal(reply.connect_info, true);
  assert.equal(reply.remote_account, "$G");
  assert.equal(reply.nonce, undefined, "no nonce in the reply to CONNECT");
  assert.equal(reply.client_id, infos[0].client_id);
  const dump = linesOf(t).filter((l) => l.startsWith("LS"));
  assert.deepEqual([...dump].sort(), [`LS+ ${lds()}`, "LS+ bar q1 2", "LS+ foo"].sort());
  assert.match(lds(), /^\$LDS\.[0-9A-Za-z]{22}$/);
  // The dump follows the reply INFO.
  const order = linesOf(t);
  assert.ok(order.indexOf(`LS+ ${lds()}`) > order.findIndex((l) => l.includes("connect_info")));
  assert.equal(t.closed, false);
});

Deno.test("leaf connection - a leaf bound by its user gets that account in remote_account", async () => {
  const { leaf, server } = setup({
    accounts: {
      $G: { name: "$G", users: [] },
      ACME: { name: "ACME", users: [] },
    },
    leafnodes: {
      ...defaultOptions().leafnodes,
      authorization: { users: [{ user: "l", password: "p", account: "ACME" }] },
    },
  });
  const t = leaf();
  t.push('CONNECT {"user":"l","pass":"p","name":"LEAF","cluster":"LEAF"}\r\n');
  await settle();
  const reply = infosOf(t)[1];
  assert.equal(reply?.remote_account, "ACME");
  assert.ok(linesOf(t).includes(`LS+ ${server.accounts.get("ACME")!.lds}`));
});

Deno.test("leaf connection - bad credentials are an 'Authorization Violation'", async () => {
  const { leaf } = setup({
    leafnodes: {
      ...defaultOptions().leafnodes,
      authorization: { user: "l", password: "p", users: [] },
    },
  });
  const t = leaf();
  t.push('CONNECT {"user":"l","pass":"wrong","name":"LEAF","cluster":"LEAF"}\r\n');
  await settle();
  assert.match(t.text(), /-ERR 'Authorization Violation'\r\n$/);
  assert.equal(t.closed, true);
  assert.equal(infosOf(t).length, 1);
});

Deno.test("leaf connection - no CONNECT within the auth timeout: 'Authentication Timeout'", async () => {
  const { clock, leaf } = setup();
  const t = leaf();
  await settle();
  clock.advance(1999);
  await settle();
  assert.equal(t.closed, false);
  clock.advance(1);
  await settle();
  assert.match(t.text(), /-ERR 'Authentication Timeout'\r\n$/);
  assert.equal(t.closed, true);
});

Deno.test("leaf connection - leafnodes.authorization.timeout overrides the auth timeout", async () => {
  const { clock, leaf } = setup({
    leafnodes: {
      ...defaultOptions().leafnodes,
      authorization: { timeoutMs: 500, users: [] },
    },
  });
  const t = leaf();
  await settle();
  clock.advance(499);
  await settle();
  assert.equal(t.closed, false);
  clock.advance(1);
  await settle();
  assert.match(t.text(), /-ERR 'Authentication Timeout'\r\n$/);
  assert.equal(t.closed, true);
});

Deno.test("leaf connection - a CONNECT in time disarms the auth timer", async () => {
  const { clock, connectedLeaf } = setup();
  const t = await connectedLeaf("LEAF");
  t.push("PING\r\n");
  clock.advance(5000);
  await settle();
  assert.doesNotMatch(t.text(), /Authentication Timeout/);
  assert.equal(t.closed, false);
});

for (const first of ["LS+ foo\r\n", "PING\r\n", "LMSG foo 2\r\nhi\r\n"]) {
  Deno.test(`leaf connection - ${JSON.stringify(first.split(" ")[0].trim())} before CONNECT is an 'Authorization Violation'`, async () => {
    const { leaf } = setup();
    const t = leaf();
    await settle();
    t.push(first);
    await settle();
    assert.match(t.text(), /\r\n-ERR 'Authorization Violation'\r\n$/);
    assert.equal(t.closed, true);
  });
}

Deno.test("leaf connection - a client CONNECT (with lang) on the leaf port is refused", async () => {
  const { leaf } = setup();
  const t = leaf();
  t.push('CONNECT {"verbose":false,"lang":"go","version":"1.30.0"}\r\n');
  await settle();
  assert.match(t.text(), /-ERR 'attempted to connect to leaf node port'\r\n$/);
  assert.equal(t.closed, true);
  assert.equal(infosOf(t).length, 1, "no connect_info");
});

Deno.test("leaf connection - a leaf with our cluster name is refused", async () => {
  const { leaf, lines } = setup();
  const t = leaf();
  t.push(`CONNECT {"name":"OTHER","cluster":"${HUB}"}\r\n`);
  await settle();
  assert.match(t.text(), /-ERR 'remote leafnode has same cluster name'\r\n$/);
  assert.equal(t.closed, true);
  assert.ok(lines.some((l) => l.includes("same cluster name")));
});

Deno.test("leaf connection - LS+ of our own $LDS subject is a loop", async () => {
  const { connectedLeaf, lds } = setup();
  const t = await connectedLeaf("LEAF");
  t.push(`LS+ ${lds()}\r\n`);
  await settle();
  assert.equal(t.text(), `-ERR '${LOOP_TEXT}'\r\n`);
  assert.equal(t.closed, true);
});

Deno.test("leaf connection - a foreign $LDS subject is interest like any other", async () => {
  const { connectedLeaf } = setup();
  const a = await connectedLeaf("A");
  const b = await connectedLeaf("B");
  a.push("LS+ $LDS.someoneElsesSubject00000\r\n");
  await settle();
  assert.equal(a.closed, false);
  assert.deepEqual(linesOf(b), ["LS+ $LDS.someoneElsesSubject00000"]);
});

// ---- interest and messages --------------------------------------------------

Deno.test("leaf connection - LS+ makes client messages flow as LMSG; LS- stops them", async () => {
  const { connectedLeaf, client } = setup();
  const t = await connectedLeaf("LEAF");
  t.push("LS+ foo\r\nLS+ bar.*\r\n");
  await settle();
  const publisher = client("PUB foo 5\r\nhello\r\nPUB foo rep 2\r\nhi\r\nPUB bar.x 0\r\n\r\n");
  await settle();
  assert.equal(t.text(), "LMSG foo 5\r\nhello\r\nLMSG foo rep 2\r\nhi\r\nLMSG bar.x 0\r\n\r\n");
  t.written = [];
  t.push("LS- foo\r\n");
  await settle();
  publisher.push("PUB foo 5\r\nagain\r\nPUB bar.y 1\r\ny\r\n");
  await settle();
  assert.equal(t.text(), "LMSG bar.y 1\r\ny\r\n");
});

Deno.test("leaf connection - messages with headers go out as HMSG", async () => {
  const { connectedLeaf, client } = setup();
  const t = await connectedLeaf("LEAF");
  t.push("LS+ h\r\n");
  await settle();
  client("HPUB h 18 23\r\nNATS/1.0\r\nA: B\r\n\r\nhello\r\n");
  await settle();
  assert.equal(t.text(), "HMSG h 18 23\r\nNATS/1.0\r\nA: B\r\n\r\nhello\r\n");
});

Deno.test("leaf connection - a leaf that did not negotiate headers gets the body as LMSG", async () => {
  const { connectedLeaf, client } = setup();
  const t = await connectedLeaf("LEAF", { headers: false });
  t.push("LS+ h\r\n");
  await settle();
  client("HPUB h 18 23\r\nNATS/1.0\r\nA: B\r\n\r\nhello\r\n");
  await settle();
  assert.equal(t.text(), "LMSG h 5\r\nhello\r\n");
});

Deno.test("leaf connection - LMSG from the leaf reaches local subscribers", async () => {
  const { connectedLeaf, client } = setup();
  const sub = client("SUB foo 7\r\nSUB grp g 8\r\n");
  await settle();
  const t = await connectedLeaf("LEAF");
  t.push("LMSG foo r 2\r\nhi\r\nLMSG grp 1\r\nx\r\nLMSG grp | g 1\r\ny\r\n");
  await settle();
  assert.match(sub.text(), /MSG foo 7 r 2\r\nhi\r\nMSG grp 8 1\r\ny\r\n$/);
  assert.doesNotMatch(sub.text(), /MSG grp 8 1\r\nx\r\n/, "no queue names: no queue delivery");
});

Deno.test("leaf connection - LS+ sent right behind CONNECT takes effect once the link is up", async () => {
  const { leaf, client } = setup();
  const t = leaf();
  t.push('CONNECT {"name":"LEAF","cluster":"LEAF"}\r\nLS+ early\r\n');
  await settle();
  t.written = [];
  client("PUB early 1\r\nx\r\n");
  await settle();
  assert.equal(t.text(), "LMSG early 1\r\nx\r\n");
});

Deno.test("leaf connection - queue LS+ weights reach other leafs and pick the member", async () => {
  const { connectedLeaf, client } = setup();
  const a = await connectedLeaf("A");
  const b = await connectedLeaf("B");
  a.push("LS+ svc q 3\r\n");
  await settle();
  a.push("LS+ svc q 5\r\n");
  await settle();
  assert.deepEqual(linesOf(b), ["LS+ svc q 3", "LS+ svc q 5"]);
  assert.deepEqual(linesOf(a), [], "no echo of a link's own interest");
  client("PUB svc 2\r\nhi\r\nPUB svc r 2\r\nho\r\n");
  await settle();
  assert.equal(a.text(), "LMSG svc | q 2\r\nhi\r\nLMSG svc + r q 2\r\nho\r\n");
  assert.deepEqual(linesOf(b).length, 2, "b has no members, so no messages");
  a.push("LS- svc q\r\n");
  await settle();
  assert.deepEqual(linesOf(b).slice(2), ["LS- svc q"]);
});

Deno.test("leaf connection - interest of one leaf is announced to another, not back", async () => {
  const { connectedLeaf } = setup();
  const a = await connectedLeaf("A");
  const b = await connectedLeaf("B");
  a.push("LS+ x.>\r\nLS+ y\r\n");
  await settle();
  a.push("LS- y\r\n");
  await settle();
  assert.deepEqual(linesOf(b), ["LS+ x.>", "LS+ y", "LS- y"]);
  assert.deepEqual(linesOf(a), []);
  // When a closes, b hears its interest go away.
  a.close();
  await settle();
  assert.deepEqual(linesOf(b).slice(3), ["LS- x.>"]);
});

Deno.test("leaf connection - a closed leaf's interest is gone from the account", async () => {
  const { connectedLeaf, server } = setup();
  const t = await connectedLeaf("LEAF");
  t.push("LS+ a\r\nLS+ b q 2\r\n");
  await settle();
  assert.equal(server.accounts.get("$G")!.subscriptionCount, 2);
  t.close();
  await settle();
  assert.equal(server.accounts.get("$G")!.subscriptionCount, 0);
  assert.equal(server.leafs.size, 0);
});

// ---- pings ------------------------------------------------------------------

Deno.test("leaf connection - the first PING goes out about a second after connect", async () => {
  const { clock, connectedLeaf } = setup();
  const t = await connectedLeaf("LEAF");
  clock.advance(999);
  await settle();
  assert.equal(t.text(), "");
  clock.advance(201);
  await settle();
  assert.equal(t.text(), "PING\r\n");
});

Deno.test("leaf connection - a silent peer is closed as 'Stale Connection' after ping_max PINGs", async () => {
  const { clock, connectedLeaf } = setup({ pingIntervalMs: 1000, pingMax: 2 });
  const t = await connectedLeaf("LEAF");
  clock.advance(1200);
  await settle();
  assert.equal(t.text(), "PING\r\n");
  clock.advance(1000);
  await settle();
  assert.equal(t.text(), "PING\r\nPING\r\n");
  assert.equal(t.closed, false);
  clock.advance(1000);
  await settle();
  assert.equal(t.text(), "PING\r\nPING\r\n-ERR 'Stale Connection'\r\n");
  assert.equal(t.closed, true);
});

Deno.test("leaf connection - a PONG keeps the link up", async () => {
  const { clock, connectedLeaf } = setup({ pingIntervalMs: 1000, pingMax: 1 });
  const t = await connectedLeaf("LEAF");
  for (let i = 0; i < 10; i++) {
    clock.advance(1200);
    await settle();
    t.push("PONG\r\n");
    await settle();
  }
  assert.equal(t.closed, false);
  assert.ok((t.text().match(/PING\r\n/g)?.length ?? 0) >= 5);
});

Deno.test("leaf connection - any bytes from the peer count as liveness, not only PONG", async () => {
  const { clock, connectedLeaf } = setup({ pingIntervalMs: 1000, pingMax: 2 });
  const t = await connectedLeaf("LEAF");
  for (let i = 0; i < 20; i++) {
    clock.advance(500);
    await settle();
    t.push(`LMSG nobody.listens ${String(i).length}\r\n${i}\r\n`);
    await settle();
  }
  assert.equal(t.closed, false, "a busy peer is not stale");
  assert.doesNotMatch(t.text(), /Stale Connection/);
  // Once it goes quiet, the usual count applies.
  for (let i = 0; i < 4; i++) {
    clock.advance(1000);
    await settle();
  }
  assert.match(t.text(), /-ERR 'Stale Connection'\r\n$/);
  assert.equal(t.closed, true);
});

Deno.test("leaf connection - a PING from the peer is answered with PONG", async () => {
  const { connectedLeaf } = setup();
  const t = await connectedLeaf("LEAF");
  t.push("PING\r\n");
  await settle();
  assert.equal(t.text(), "PONG\r\n");
});

// ---- permissions, roles, duplicates -----------------------------------------

/** A client user without restrictions, for publishing in tests that configure users. */
const APP = { user: "app", password: "p", account: "$G" };
const APP_LOGIN = { user: "app", pass: "p" };

function pu(permissions: PermissionsOptions) {
  return { user: "pu", password: "pp", account: "$G", permissions };
}

Deno.test("leaf connection - LS+ on a JetStream API subject is a subscription violation", async () => {
  const { connectedLeaf } = setup();
  const t = await connectedLeaf("LEAF");
  t.push("LS+ $JS.API.INFO\r\n");
  await settle();
  assert.equal(t.text(), `-ERR 'Permissions Violation for Subscription to "$JS.API.INFO"'\r\n`);
  assert.equal(t.closed, true);
});

Deno.test("leaf connection - a leaf user's permissions shape INFO, the dump and LS+", async () => {
  const permissions = {
    publish: { allow: ["toHub.>"] },
    subscribe: { allow: ["toLeaf.>"], deny: ["toLeaf.secret"] },
  };
  const { leaf, client, lds } = setup({
    authorization: { users: [pu(permissions), APP] },
  });
  client("SUB toHub.x 1\r\nSUB elsewhere 2\r\nSUB toHub.* 3\r\n", APP_LOGIN);
  await settle();
  const t = leaf();
  t.push('CONNECT {"user":"pu","pass":"pp","name":"LEAF","cluster":"LEAF"}\r\n');
  await settle();
  const reply = infosOf(t)[1];
  assert.deepEqual(reply.import, { allow: ["toLeaf.>"], deny: ["toLeaf.secret"] });
  assert.deepEqual(reply.export, { allow: ["toHub.>"] });
  const dump = linesOf(t).filter((l) => l.startsWith("LS"));
  assert.deepEqual(dump.sort(), [`LS+ ${lds()}`, "LS+ toHub.*", "LS+ toHub.x"].sort());
  t.written = [];
  t.push("LS+ toLeaf.>\r\n");
  await settle();
  assert.equal(t.closed, false, "wildcard interest is accepted");
  t.push("LS+ toLeaf.secret\r\n");
  await settle();
  assert.equal(t.text(), `-ERR 'Permissions Violation for Subscription to "toLeaf.secret"'\r\n`);
  assert.equal(t.closed, true);
});

Deno.test("leaf connection - the hub delivers nothing the leaf may not receive", async () => {
  const permissions = { subscribe: { allow: ["toLeaf.>"], deny: ["toLeaf.secret"] } };
  const { leaf, client } = setup({
    authorization: { users: [pu(permissions), APP] },
  });
  const t = leaf();
  t.push(
    'CONNECT {"user":"pu","pass":"pp","name":"LEAF","cluster":"LEAF","deny_pub":["toLeaf.di.>"]}\r\n',
  );
  await settle();
  t.written = [];
  t.push("LS+ >\r\n");
  await settle();
  client("PUB toLeaf.ok 1\r\na\r\nPUB toLeaf.secret 1\r\nb\r\nPUB other 1\r\nc\r\n", APP_LOGIN);
  client("PUB toLeaf.di.x 1\r\nd\r\nPUB $JS.API.INFO 1\r\ne\r\n", APP_LOGIN);
  await settle();
  assert.equal(t.text(), "LMSG toLeaf.ok 1\r\na\r\n");
});

Deno.test("leaf connection - the dump skips interest that came from the peer's own cluster", async () => {
  const { connectedLeaf, leaf, lds } = setup();
  const first = await connectedLeaf("EDGE", { name: "edge-1" });
  first.push("LS+ from.edge\r\n");
  await settle();
  const second = leaf();
  second.push('CONNECT {"name":"edge-2","cluster":"EDGE"}\r\n');
  await settle();
  const dump = linesOf(second).filter((l) => l.startsWith("LS"));
  assert.deepEqual(dump, [`LS+ ${lds()}`]);
  const third = leaf();
  third.push('CONNECT {"name":"west","cluster":"WEST"}\r\n');
  await settle();
  const other = linesOf(third).filter((l) => l.startsWith("LS"));
  assert.deepEqual(other.sort(), [`LS+ ${lds()}`, "LS+ from.edge"].sort());
});

Deno.test("leaf connection - with is_hub the peer gets only our local interest (spoke role)", async () => {
  const { connectedLeaf, leaf, client, lds } = setup();
  client("SUB local.sub 1\r\n");
  const ourSpoke = await connectedLeaf("SPOKE");
  ourSpoke.push("LS+ spoke.sub\r\n");
  const firstHub = await connectedLeaf("HUB1", { is_hub: true });
  firstHub.push("LS+ hub1.sub\r\n");
  await settle();
  const t = leaf();
  t.push('CONNECT {"name":"HUB2","cluster":"HUB2","is_hub":true}\r\n');
  await settle();
  // Spec 1.9 (verified on 2.9.10): local clients and leafs we are the hub of, plus $LDS;
  // not the interest of another hub we are a spoke of.
  const dump = linesOf(t).filter((l) => l.startsWith("LS"));
  assert.deepEqual(dump.sort(), [`LS+ ${lds()}`, "LS+ local.sub", "LS+ spoke.sub"].sort());
  t.written = [];
  firstHub.push("LS+ hub1.later\r\n");
  ourSpoke.push("LS+ spoke.later\r\n");
  await settle();
  assert.deepEqual(linesOf(t), ["LS+ spoke.later"]);
  // The hub-role link still hears everything.
  assert.deepEqual(linesOf(ourSpoke).filter((l) => l.startsWith("LS")), [
    "LS+ hub1.sub",
    "LS+ hub1.later",
  ]);
});

Deno.test("leaf connection - a newer link from the same leaf replaces the older one", async () => {
  const { connectedLeaf, server } = setup();
  const old = await connectedLeaf("LEAF", { name: "leaf-1" });
  const fresh = await connectedLeaf("LEAF", { name: "leaf-1" });
  await settle();
  assert.equal(old.text(), "-ERR 'Duplicate Remote LeafNode Connection'\r\n");
  assert.equal(old.closed, true);
  assert.equal(fresh.closed, false);
  assert.equal(server.leafs.size, 1);
  // Another name is not a duplicate.
  const other = await connectedLeaf("LEAF2", { name: "leaf-2" });
  await settle();
  assert.equal(other.closed, false);
  assert.equal(fresh.closed, false);
});
