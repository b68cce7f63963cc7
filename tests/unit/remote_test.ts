import assert from "node:assert/strict";
import { AccountActor } from "../../actors/account.ts";
import type { Supervisor } from "../../actors/actor.ts";
import { FakeClock } from "../../actors/clock.ts";
import { LeafConnection, type LeafEnvironment } from "../../actors/leaf_connection.ts";
import { Logger } from "../../actors/logger.ts";
import { RemoteActor } from "../../actors/remote.ts";
import type { LeafTarget } from "../../actors/subscription.ts";
import { defaultOptions } from "../../config/mod.ts";
import type { RemoteOptions } from "../../config/options.ts";
import { ClientAuthenticator } from "../../protocol/client_auth.ts";
import { LeafAuthenticator } from "../../protocol/leaf_auth.ts";
import type { LeafConnect, LeafInfo } from "../../protocol/leaf_info.ts";
import { generateNonce } from "../../protocol/nonce.ts";
import { MemoryTransport } from "../helpers/memory_transport.ts";

const LOOP_TEXT = `Loop detected for leafnode account="$G". Delaying attempt to reconnect for 30s`;
const RECONNECT_MS = 1000;

/** Lets every queued actor message, microtask and async credential step run. */
const settle = async () => {
  for (let i = 0; i < 6; i++) await new Promise((r) => setTimeout(r, 0));
};

interface Dial {
  at: number;
  url: URL;
  transport: MemoryTransport;
}

/** The hub's first INFO, as nats-server 2.9.10 sends it (spec 1.2), with overrides. */
function hubInfo(overrides: Partial<LeafInfo> | Record<string, unknown> = {}): string {
  const info = {
    server_id: "NHUBSERVERID",
    server_name: "HUB",
    version: "2.9.10",
    proto: 1,
    go: "go1.19.8",
    host: "127.0.0.1",
    port: 7422,
    headers: true,
    auth_required: true,
    max_payload: 1048576,
    ip: "127.0.0.1:7422",
    client_id: 4,
    nonce: "abcdefghijklmno",
    cluster: "HUB",
    info_on_connect: true,
    leafnode_urls: ["127.0.0.1:7422"],
    ...overrides,
  };
  return `INFO ${JSON.stringify(info)} \r\n`;
}

/** The hub's reply to CONNECT. */
function connectInfo(overrides: Record<string, unknown> = {}): string {
  return hubInfo({ nonce: undefined, connect_info: true, remote_account: "$G", ...overrides });
}

/**
 * A soliciting server built by hand: one `$G` account, a remote whose `dial` hands out
 * MemoryTransports (the test plays the hub), and a fake clock.
 */
function setup(
  remoteOverrides: Partial<RemoteOptions> = {},
  dialOutcome: (attempt: number) => "ok" | "refused" | "hang" = () => "ok",
) {
  const clock = new FakeClock();
  const lines: string[] = [];
  const logger = new Logger({ debug: true, sink: (l) => lines.push(l) });
  const options = { ...defaultOptions(), serverName: "LEAF" };
  const supervisor: Supervisor = { childFailed: () => "stop" };
  const account = new AccountActor("$G", { supervisor });
  const env: LeafEnvironment = {
    options,
    clock,
    logger,
    supervisor,
    serverId: "NLEAFSERVERID",
    serverName: "LEAF",
    clusterName: "LEAF",
    leafAuth: new LeafAuthenticator(undefined, new ClientAuthenticator(options)),
    account: (name) => name === "$G" ? account : undefined,
    info: () => {
      throw new Error("the solicit side never sends a greeting INFO");
    },
    nonce: generateNonce,
    established: () => {},
    closed: () => {},
  };
  const remote: RemoteOptions = {
    urls: ["nats-leaf://myuser:mypass@hub.example:7422"],
    noRandomize: true,
    denyImports: [],
    denyExports: [],
    firstInfoTimeoutMs: 1000,
    hub: false,
    wsCompression: false,
    wsNoMasking: false,
    ...remoteOverrides,
  };
  const dials: Dial[] = [];
  let nextCid = 1;
  const actor = new RemoteActor(0, remote, {
    clock,
    logger,
    supervisor,
    reconnectMs: RECONNECT_MS,
    createLink: (transport, context) => new LeafConnection(nextCid++, transport, env, context),
    dial: (url) => {
      const transport = new MemoryTransport();
      dials.push({ at: clock.now(), url, transport });
      switch (dialOutcome(dials.length)) {
        case "ok":
          return Promise.resolve(transport);
        case "refused":
          return Promise.reject(new Deno.errors.ConnectionRefused("connection refused"));
        case "hang":
          return new Promise(() => {});
      }
    },
  });
  /** The transport of the latest dial. */
  const hub = () => dials.at(-1)!.transport;
  /** Advances the fake clock in steps, letting actors react to each timer. */
  const advance = async (ms: number, step = 100) => {
    for (let done = 0; done < ms; done += step) {
      clock.advance(Math.min(step, ms - done));
      await settle();
    }
  };
  const stop = async () => {
    actor.tell({ kind: "stop" });
    await settle();
  };
  return { clock, lines, account, actor, dials, hub, advance, stop };
}

function connectOf(t: MemoryTransport): LeafConnect {
  const line = t.text().split("\r\n").find((l) => l.startsWith("CONNECT "));
  assert.ok(line, `no CONNECT in ${JSON.stringify(t.text())}`);
  return JSON.parse(line.slice("CONNECT ".length));
}

/** Dials, answers with INFO, waits for CONNECT, answers with connect_info. */
async function establish(s: ReturnType<typeof setup>): Promise<MemoryTransport> {
  s.actor.start();
  await settle();
  const t = s.hub();
  t.push(hubInfo());
  await settle();
  connectOf(t);
  t.push(connectInfo());
  await settle();
  assert.equal(s.actor.link?.state, "open");
  return t;
}

Deno.test("remote - dials at once and sends CONNECT after the hub's INFO", async () => {
  const s = setup();
  s.actor.start();
  await settle();
  assert.equal(s.dials.length, 1);
  assert.equal(s.dials[0].at, 0);
  assert.equal(s.dials[0].url.host, "hub.example:7422");
  assert.equal(s.hub().text(), "", "the solicit side waits for INFO");
  s.hub().push(hubInfo());
  await settle();
  assert.match(s.hub().text(), /^CONNECT \{.*\}\r\n$/);
  await s.stop();
});

Deno.test("remote - CONNECT carries name, cluster, headers, deny_pub and URL credentials", async () => {
  const s = setup({ denyImports: ["di.>", "di2"], denyExports: ["de.>"] });
  s.actor.start();
  await settle();
  s.hub().push(hubInfo());
  await settle();
  const connect = connectOf(s.hub());
  assert.equal(connect.name, "LEAF");
  assert.equal(connect.cluster, "LEAF");
  assert.equal(connect.server_id, "NLEAFSERVERID");
  assert.equal(connect.headers, true);
  assert.deepEqual(connect.deny_pub, ["di.>", "di2"]);
  assert.equal(connect.user, "myuser");
  assert.equal(connect.pass, "mypass");
  assert.equal(connect.is_hub, undefined);
  assert.equal(connect.lang, undefined, "a server never sends lang");
  assert.doesNotMatch(s.hub().text(), /de\.>/, "deny_exports is enforced locally, never sent");
  assert.equal(typeof connect.version, "string");
  await s.stop();
});

Deno.test("remote - hub: true sends is_hub and no URL credentials when there are none", async () => {
  const s = setup({ hub: true, urls: ["nats-leaf://hub.example"] });
  s.actor.start();
  await settle();
  assert.equal(s.dials[0].url.port, "7422", "default leafnode port");
  s.hub().push(hubInfo());
  await settle();
  const connect = connectOf(s.hub());
  assert.equal(connect.is_hub, true);
  assert.equal(connect.user, undefined);
  assert.equal(connect.pass, undefined);
  assert.equal(connect.deny_pub, undefined, "no deny_pub without deny_imports");
  await s.stop();
});

Deno.test("remote - CONNECT offers headers only when the hub's INFO does", async () => {
  const s = setup();
  s.actor.start();
  await settle();
  s.hub().push(hubInfo({ headers: false }));
  await settle();
  assert.notEqual(connectOf(s.hub()).headers, true);
  await s.stop();
});

for (
  const [label, info] of [
    ["client_id 0", hubInfo({ client_id: 0 })],
    ["no client_id", hubInfo({ client_id: undefined })],
    ["no leafnode_urls", hubInfo({ leafnode_urls: undefined })],
  ] as const
) {
  Deno.test(`remote - a wrong-port INFO (${label}) closes and redials after the interval`, async () => {
    const s = setup();
    s.actor.start();
    await settle();
    s.hub().push(info);
    await settle();
    const first = s.hub();
    assert.equal(first.closed, true);
    assert.doesNotMatch(first.text(), /CONNECT/);
    assert.ok(s.lines.some((l) => l.includes("attempted to connect to wrong port")));
    await s.advance(RECONNECT_MS - 100);
    assert.equal(s.dials.length, 1);
    await s.advance(100);
    assert.equal(s.dials.length, 2);
    assert.equal(s.dials[1].at, RECONNECT_MS);
    await s.stop();
  });
}

Deno.test("remote - an empty leafnode_urls array passes the wrong-port check", async () => {
  const s = setup();
  s.actor.start();
  await settle();
  s.hub().push(hubInfo({ leafnode_urls: [] }));
  await settle();
  assert.equal(s.hub().closed, false);
  connectOf(s.hub());
  await s.stop();
});

Deno.test("remote - no INFO within first_info_timeout closes the attempt", async () => {
  const s = setup({ firstInfoTimeoutMs: 3000 });
  s.actor.start();
  await settle();
  await s.advance(2900);
  assert.equal(s.hub().closed, false);
  await s.advance(100);
  assert.equal(s.dials[0].transport.closed, true);
  assert.equal(s.dials[0].transport.text(), "", "nothing is sent to a silent hub");
  await s.advance(RECONNECT_MS);
  assert.equal(s.dials.length, 2);
  assert.equal(s.dials[1].at, 3000 + RECONNECT_MS);
  await s.stop();
});

Deno.test("remote - no connect_info within 2 s: 'Stale Leaf Node Connection - Closing'", async () => {
  const s = setup();
  s.actor.start();
  await settle();
  s.hub().push(hubInfo());
  await settle();
  connectOf(s.hub());
  await s.advance(1900);
  assert.equal(s.hub().closed, false);
  await s.advance(100);
  const t = s.dials[0].transport;
  assert.match(t.text(), /\r\n-ERR 'Stale Leaf Node Connection - Closing'\r\n$/);
  assert.equal(t.closed, true);
  await s.advance(RECONNECT_MS);
  assert.equal(s.dials.length, 2, "reconnects one interval later");
  await s.stop();
});

Deno.test("remote - a hub without info_on_connect completes at once after CONNECT", async () => {
  const s = setup();
  s.actor.start();
  await settle();
  s.hub().push(hubInfo({ info_on_connect: undefined }));
  await settle();
  assert.equal(s.actor.link?.state, "open");
  assert.match(s.hub().text(), /^CONNECT .*\r\nLS\+ \$LDS\./);
  await s.advance(3000);
  assert.doesNotMatch(s.hub().text(), /Stale Leaf Node/);
  await s.stop();
});

Deno.test("remote - connect_info completes the link: the spoke sends its dump", async () => {
  const s = setup();
  s.account.tell({
    kind: "subscribe",
    sub: {
      subject: "local.sub",
      sid: "1",
      target: { kind: "client", cid: 99, echo: true, tell: () => {} },
      weight: 1,
      delivered: 0,
    },
  });
  const t = await establish(s);
  const after = t.text().slice(t.text().indexOf("\r\n") + 2);
  const dump = after.split("\r\n").filter((l) => l !== "").sort();
  assert.deepEqual(dump, [`LS+ ${s.account.lds}`, "LS+ local.sub"].sort());
  assert.equal(s.actor.state, "connected");
  assert.equal(s.actor.link?.established, true);
  assert.equal(s.actor.link?.peerCluster, "HUB");
  await s.stop();
});

Deno.test("remote - a closed link is redialled after the reconnect interval", async () => {
  const s = setup();
  const t = await establish(s);
  t.close(); // the hub went away
  await settle();
  assert.equal(s.actor.state, "backoff");
  await s.advance(RECONNECT_MS - 100);
  assert.equal(s.dials.length, 1);
  await s.advance(100);
  assert.equal(s.dials.length, 2);
  assert.equal(s.actor.attempts, 1, "an established link resets the attempt count");
  await s.stop();
});

Deno.test("remote - a received 'Loop detected' -ERR closes and waits 30 s more", async () => {
  const s = setup();
  const t = await establish(s);
  t.push(`-ERR '${LOOP_TEXT}'\r\n`);
  await settle();
  assert.equal(t.closed, true, "a loop -ERR closes the link on our side");
  assert.equal(s.actor.lastCloseReason, "Loop Detected");
  await s.advance(RECONNECT_MS, 500);
  assert.equal(s.dials.length, 1, "no dial at 1 s");
  await s.advance(29_000, 29_000);
  assert.equal(s.dials.length, 1, "no dial at 30 s");
  await s.advance(1000, 1000);
  assert.equal(s.dials.length, 2, "a dial at 31 s");
  assert.equal(s.dials[1].at, RECONNECT_MS + 30_000);
  await s.stop();
});

Deno.test("remote - a 'same cluster name' -ERR earns 30 s once the hub closes", async () => {
  const s = setup();
  s.actor.start();
  await settle();
  const t = s.hub();
  t.push(hubInfo());
  await settle();
  t.push("-ERR 'remote leafnode has same cluster name'\r\n");
  await settle();
  assert.equal(t.closed, false, "an -ERR alone does not close a leaf link (spec 1.10)");
  t.close();
  await settle();
  await s.advance(30_000, 30_000);
  assert.equal(s.dials.length, 1);
  await s.advance(1000, 1000);
  assert.equal(s.dials.length, 2);
  await s.stop();
});

Deno.test("remote - an -ERR without a penalty leaves the link up and the interval plain", async () => {
  const s = setup();
  const t = await establish(s);
  t.push("-ERR 'maximum subscriptions exceeded'\r\n");
  await settle();
  assert.equal(t.closed, false);
  t.close();
  await settle();
  await s.advance(RECONNECT_MS);
  assert.equal(s.dials.length, 2);
  await s.stop();
});

Deno.test("remote - the hub echoing our own $LDS subject is a loop: -ERR and 30 s", async () => {
  const s = setup();
  const t = await establish(s);
  t.written = [];
  t.push(`LS+ ${s.account.lds}\r\n`);
  await settle();
  assert.equal(t.text(), `-ERR '${LOOP_TEXT}'\r\n`);
  assert.equal(t.closed, true);
  await s.advance(30_000, 30_000);
  assert.equal(s.dials.length, 1);
  await s.advance(1000, 1000);
  assert.equal(s.dials.length, 2);
  await s.stop();
});

Deno.test("remote - an uplink to a cluster that is already our spoke is refused as a loop", async () => {
  const s = setup();
  // An accepted link from cluster HUB is registered in the account (we are its hub).
  const spoke: LeafTarget = { kind: "leaf", cid: 50, role: "hub", peerCluster: "HUB", tell() {} };
  s.account.tell({ kind: "registerLeaf", leaf: spoke, inboundCluster: "HUB" });
  s.actor.start();
  await settle();
  const t = s.hub();
  t.push(hubInfo({ cluster: "HUB" }));
  await settle();
  t.push(connectInfo({ cluster: "HUB" }));
  await settle();
  assert.match(t.text(), new RegExp(`\\r\\n-ERR '${LOOP_TEXT.replace(/[.$()]/g, "\\$&")}'\\r\\n$`));
  assert.equal(t.closed, true);
  assert.doesNotMatch(t.text(), /LS\+/, "no dump for a looping link");
  await s.advance(30_000, 30_000);
  assert.equal(s.dials.length, 1);
  await s.advance(1000, 1000);
  assert.equal(s.dials.length, 2);
  await s.stop();
});

Deno.test("remote - gossiped leafnode_urls are dialled next", async () => {
  const s = setup();
  s.actor.start();
  await settle();
  s.hub().push(hubInfo({ leafnode_urls: ["10.0.0.2:7422"] }));
  await settle();
  s.hub().close();
  await settle();
  await s.advance(RECONNECT_MS);
  assert.equal(s.dials.length, 2);
  assert.equal(s.dials[1].url.host, "10.0.0.2:7422");
  // Gossiped URLs carry no userinfo: the configured URL's credentials serve them.
  s.hub().push(hubInfo());
  await settle();
  assert.equal(connectOf(s.hub()).user, "myuser");
  await s.stop();
});

Deno.test("remote - the spoke pings about a second after the link is up", async () => {
  const s = setup();
  const t = await establish(s);
  t.written = [];
  await s.advance(900);
  assert.equal(t.text(), "");
  await s.advance(300);
  assert.equal(t.text(), "PING\r\n");
  await s.stop();
});

Deno.test("remote - stop closes the link and dials no more", async () => {
  const s = setup();
  const t = await establish(s);
  await s.stop();
  assert.equal(t.closed, true);
  assert.equal(s.actor.state, "stopped");
  await s.advance(5000, 5000);
  assert.equal(s.dials.length, 1);
});

Deno.test("remote - a failed dial is retried after the interval plus jitter below one interval", async () => {
  const s = setup({}, (attempt) => attempt === 1 ? "refused" : "ok");
  s.actor.start();
  await settle();
  assert.equal(s.actor.state, "backoff");
  assert.ok(s.lines.some((l) => l.includes("connection refused")));
  const wait = s.actor.nextAttemptAt!;
  assert.ok(wait >= RECONNECT_MS && wait < 2 * RECONNECT_MS, `next attempt at ${wait}`);
  await s.advance(2 * RECONNECT_MS);
  assert.equal(s.dials.length, 2);
  assert.equal(s.dials[1].at, Math.ceil(wait / 100) * 100, "dialled when the backoff ended");
  await s.stop();
});

Deno.test("remote - a dial that never completes times out after 1 s", async () => {
  const s = setup({}, (attempt) => attempt === 1 ? "hang" : "ok");
  s.actor.start();
  await settle();
  await s.advance(900);
  assert.equal(s.actor.state, "dialing");
  await s.advance(100);
  assert.equal(s.actor.state, "backoff");
  assert.equal(s.actor.lastError, "dial timeout");
  await s.advance(2 * RECONNECT_MS);
  assert.equal(s.dials.length, 2);
  await s.stop();
});

// ---- spoke-side permissions (spec 3.8) --------------------------------------

let nextClientCid = 100;

/** Subscribes a recording fake client to `subject` in the remote's account. */
function localSubscriber(s: ReturnType<typeof setup>, subject: string) {
  const received: string[] = [];
  const target = {
    kind: "client" as const,
    cid: nextClientCid++,
    echo: true,
    tell(message: { kind: string; subject?: string }) {
      if (message.kind === "deliver") received.push(message.subject!);
    },
  };
  s.account.tell({
    kind: "subscribe",
    sub: { subject, sid: subject, target, weight: 1, delivered: 0 },
  });
  return { target, received };
}

Deno.test("remote - hub import/export shape the spoke's dump (the spec 3.8 capture)", async () => {
  const s = setup({ denyImports: ["zzz.denied"] });
  for (const subject of ["foo.bar", "foo.x", "zzz", "foo.*", ">", "bar.x", "zzz.denied"]) {
    localSubscriber(s, subject);
  }
  s.actor.start();
  await settle();
  const t = s.hub();
  t.push(hubInfo());
  await settle();
  t.written = [];
  t.push(
    connectInfo({
      import: { allow: ["foo.>", "zzz.>"], deny: ["foo.bar"] },
      export: { allow: ["bar.>"] },
    }),
  );
  await settle();
  const dump = t.text().split("\r\n").filter((l) => l !== "").sort();
  assert.deepEqual(dump, [`LS+ ${s.account.lds}`, "LS+ >", "LS+ foo.*", "LS+ foo.x"].sort());
  await s.stop();
});

Deno.test("remote - the spoke sends only exportable messages and drops non-importable ones", async () => {
  const s = setup({ denyExports: ["bar.secret"] });
  const local = localSubscriber(s, ">");
  s.actor.start();
  await settle();
  const t = s.hub();
  t.push(hubInfo());
  await settle();
  t.push(
    connectInfo({ import: { allow: ["foo.>"], deny: ["foo.bar"] }, export: { allow: ["bar.>"] } }),
  );
  await settle();
  t.written = [];
  // The hub shows interest; a literal subject we may not send to is silently ignored.
  t.push("LS+ foo.>\r\nLS+ bar.>\r\nLS+ not.exportable\r\n");
  await settle();
  assert.equal(t.closed, false);
  const publisher = { kind: "client" as const, cid: 7, echo: true, tell() {} };
  for (const subject of ["foo.x", "bar.x", "bar.secret", "not.exportable"]) {
    s.account.tell({
      kind: "publish",
      from: publisher,
      subject,
      headerSize: 0,
      message: new TextEncoder().encode("m"),
    });
  }
  await settle();
  assert.equal(t.text(), "LMSG bar.x 1\r\nm\r\n");
  // Messages from the hub pass the import filter or are dropped, the link stays up.
  local.received.length = 0;
  t.push("LMSG foo.bar 1\r\nx\r\nLMSG foo.ok 1\r\ny\r\nLMSG elsewhere 1\r\nz\r\n");
  await settle();
  assert.deepEqual(local.received, ["foo.ok"]);
  assert.equal(t.closed, false);
  await s.stop();
});

Deno.test("remote - the spoke never advertises JetStream API interest", async () => {
  const s = setup();
  localSubscriber(s, "$JS.API.INFO");
  localSubscriber(s, "$KV.bucket.key");
  localSubscriber(s, "app.x");
  const t = await establish(s);
  assert.doesNotMatch(t.text(), /LS\+ \$JS\.API|LS\+ \$KV/);
  assert.match(t.text(), /LS\+ app\.x\r\n/);
  await s.stop();
});
