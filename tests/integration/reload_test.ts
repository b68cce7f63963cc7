/**
 * Live reload: the config file is rewritten and the process gets SIGHUP. Users, permissions
 * and leafnode remotes change under running connections; links whose remote did not change
 * stay up; a config that cannot be applied is refused whole and the old one keeps running.
 *
 * The user and refusal scenarios run against the selected target (`CANOPY_TEST_TARGET`), so
 * nats-server can vouch for the expectations. The remote scenarios need a Canopy leaf:
 * nats-server 2.9.10 refuses to reload `leafnodes.remotes` at all.
 */

import assert from "node:assert/strict";
import { stringify as stringifyToml } from "smol-toml";
import { freePort } from "../helpers/free_port.ts";
import {
  awaitFlow,
  countOccurrences,
  eventually,
  flowStaysDown,
  hubImpl,
  leafTestOptions,
  remoteTo,
  withTopology,
} from "../helpers/leaf_topology.ts";
import { connectRaw, type RawClient } from "../helpers/raw_client.ts";
import { serverTestOptions, withServer } from "../helpers/server_process.ts";
import type { ServerHandle } from "../helpers/server_process.ts";

/** Both implementations print this once a reload took effect. */
const RELOADED = "Reloaded server configuration";
/** The common start of Canopy's and nats-server's refusal lines. */
const REFUSED = "Failed to reload";
const RELOAD_TIMEOUT_MS = 5_000;
/** Longer than one remote reconnect interval (1 s), so a re-dial would have happened. */
const STAYS_DOWN_MS = 1_300;

const USERS = [
  { user: "alice", password: "pa" },
  { user: "bob", password: "pb" },
];

function usersConfig(users: Record<string, unknown>[]): Record<string, unknown> {
  return { authorization: { users } };
}

/**
 * The server's running config with `changes` on top, rendered as `startServer()` renders it
 * for the server's implementation (ports and loopback host kept).
 */
function render(server: ServerHandle, changes: Record<string, unknown>): string {
  const full = { ...server.config, ...changes, host: "127.0.0.1" };
  return server.impl === "canopy" ? stringifyToml(full) : JSON.stringify(full, null, 2);
}

/**
 * Writes `text` over the server's config file, sends SIGHUP and waits for the outcome line.
 * Returns what the server logged from the signal on.
 */
async function sighup(server: ServerHandle, text: string): Promise<string> {
  const outcomes = () =>
    countOccurrences(server.logs(), RELOADED) + countOccurrences(server.logs(), REFUSED);
  const before = outcomes();
  const offset = server.logs().length;
  await Deno.writeTextFile(server.configPath, text);
  Deno.kill(server.pid, "SIGHUP");
  const answered = await eventually(() => outcomes() > before, RELOAD_TIMEOUT_MS);
  assert.ok(answered, `the server never answered SIGHUP:\n${server.logs().slice(offset)}`);
  return server.logs().slice(offset);
}

/** Reloads the running config with `changes` and asserts that it was accepted. */
async function reload(server: ServerHandle, changes: Record<string, unknown>): Promise<void> {
  const logged = await sighup(server, render(server, changes));
  assert.ok(logged.includes(RELOADED), `reload refused:\n${logged}`);
}

async function login(server: ServerHandle, user: string, pass: string): Promise<RawClient> {
  const raw = await connectRaw(server.port);
  await raw.handshake({ user, pass });
  return raw;
}

/** True when `user` can log in now (the answer to CONNECT+PING is PONG, not an -ERR). */
async function canLogin(server: ServerHandle, user: string, pass: string): Promise<boolean> {
  const raw = await connectRaw(server.port);
  try {
    await raw.readUntil("\r\n");
    await raw.send(`CONNECT ${JSON.stringify({ verbose: false, user, pass })}\r\nPING\r\n`);
    const answer = await raw.readUntil((text) => /PONG\r\n|-ERR [^\r]*\r\n/.test(text));
    return answer.includes("PONG\r\n");
  } finally {
    await raw.dispose();
  }
}

/** A subscribe-publish round trip on one connection: proves it is up and routing. */
async function assertRoundTrip(raw: RawClient, subject: string): Promise<void> {
  await raw.send(`SUB ${subject} 77\r\nPUB ${subject} 2\r\nok\r\nPING\r\n`);
  const text = await raw.readUntil("PONG\r\n");
  assert.match(text, new RegExp(`MSG ${subject.replaceAll(".", "\\.")} 77 2\r\nok\r\n`));
  await raw.send("UNSUB 77\r\n");
}

/** Sends `ops` + PING until the answer contains `expected` (or 40 tries); returns the last answer. */
async function publishUntil(raw: RawClient, ops: string, expected: string): Promise<string> {
  let answer = "";
  for (let attempt = 0; attempt < 40 && !answer.includes(expected); attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 25));
    await raw.send(`${ops}PING\r\n`);
    answer = await raw.readUntil("PONG\r\n");
  }
  return answer;
}

async function refusesConnections(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return false;
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionRefused) return true;
    throw error;
  }
}

// ---------------------------------------------------------------- users and permissions

Deno.test({
  name: "reload - a changed permission applies to an already connected client",
  ...serverTestOptions(),
  fn: () =>
    withServer(usersConfig(USERS), async (server) => {
      const alice = await login(server, "alice", "pa");
      try {
        await alice.send("PUB secret.plans 1\r\na\r\nPING\r\n");
        assert.equal(await alice.readUntil("PONG\r\n"), "PONG\r\n", "allowed before the reload");

        await reload(
          server,
          usersConfig([
            { ...USERS[0], permissions: { publish: { deny: ["secret.>"] } } },
            USERS[1],
          ]),
        );

        // The new permissions reach the connection asynchronously after the reload line;
        // retry briefly rather than race it.
        const violation = `-ERR 'Permissions Violation for Publish to "secret.plans"'\r\n`;
        const answer = await publishUntil(alice, "PUB secret.plans 1\r\nb\r\n", violation);
        const denied = answer.includes(violation);
        assert.ok(denied, `no permissions violation after the reload, last answer: ${answer}`);
        assert.equal(alice.closed, false, "a violation must not close the connection");
        await assertRoundTrip(alice, "public.news");
      } finally {
        await alice.dispose();
      }
    }),
});

Deno.test({
  name: "reload - a removed user is disconnected with Authorization Violation, others stay",
  ...serverTestOptions(),
  fn: () =>
    withServer(usersConfig(USERS), async (server) => {
      const alice = await login(server, "alice", "pa");
      const bob = await login(server, "bob", "pb");
      try {
        await reload(server, usersConfig([USERS[0]]));

        const last = await bob.expectClosed(RELOAD_TIMEOUT_MS);
        // nats-server 2.9.10 treats a vanished user as one that moved account and closes it
        // without a word; Canopy says why, as nats-server does for a changed password.
        if (server.impl === "canopy") assert.match(last, /-ERR 'Authorization Violation'\r\n/);
        await assertRoundTrip(alice, "still.here");
        assert.equal(alice.closed, false);
        assert.equal(await canLogin(server, "bob", "pb"), false, "bob must be refused now");
        assert.equal(await canLogin(server, "alice", "pa"), true);
      } finally {
        await alice.dispose();
        await bob.dispose();
      }
    }),
});

Deno.test({
  name: "reload - a changed password disconnects the client with Authorization Violation",
  ...serverTestOptions(),
  fn: () =>
    withServer(usersConfig(USERS), async (server) => {
      const alice = await login(server, "alice", "pa");
      const bob = await login(server, "bob", "pb");
      try {
        await reload(server, usersConfig([USERS[0], { user: "bob", password: "new" }]));

        assert.equal(
          await bob.expectClosed(RELOAD_TIMEOUT_MS),
          "-ERR 'Authorization Violation'\r\n",
        );
        await assertRoundTrip(alice, "still.here");
        assert.equal(await canLogin(server, "bob", "pb"), false);
        assert.equal(await canLogin(server, "bob", "new"), true);
      } finally {
        await alice.dispose();
        await bob.dispose();
      }
    }),
});

// ---------------------------------------------------------------- refused reloads

/**
 * Rewrites the config as `text`, checks the refusal names the file and `line`, and that the
 * old config keeps running: `bob` (dropped by every broken config below) stays connected and
 * can still log in.
 */
async function assertRefused(
  server: ServerHandle,
  bob: RawClient,
  text: string,
  expected: string | RegExp,
): Promise<string> {
  const logged = await sighup(server, text);
  assert.ok(!logged.includes(RELOADED), `a broken config was applied:\n${logged}`);
  if (typeof expected === "string") assert.ok(logged.includes(expected), logged);
  else assert.match(logged, expected);
  await assertRoundTrip(bob, "after.refusal");
  assert.equal(await canLogin(server, "bob", "pb"), true, "old users must still authenticate");
  return logged;
}

/** 1-based line of the first line of `text` containing `needle`. */
function lineOf(text: string, needle: string): number {
  const index = text.split("\n").findIndex((line) => line.includes(needle));
  assert.ok(index >= 0, `"${needle}" is not in ${text}`);
  return index + 1;
}

Deno.test({
  name: "reload - a syntax error is refused with file and line, the old config keeps running",
  ...serverTestOptions(),
  fn: () =>
    withServer(usersConfig(USERS), async (server) => {
      const bob = await login(server, "bob", "pb");
      try {
        const valid = render(server, usersConfig([USERS[0]]));
        // An unterminated string on the first line: broken in TOML and in nats-server's format.
        const text = `server_name = "unterminated\n${valid}`;
        // nats-server 2.9.10 names only the line of a parse error ("Parse error on line 3").
        const where = server.impl === "canopy" ? `${server.configPath}:1:` : /Parse error on line/;
        await assertRefused(server, bob, text, where);
      } finally {
        await bob.dispose();
      }
    }),
});

Deno.test({
  name: "reload - an unknown key is refused with file and line, nothing of the file applies",
  ...serverTestOptions(),
  fn: () =>
    withServer(usersConfig(USERS), async (server) => {
      const bob = await login(server, "bob", "pb");
      try {
        const text = render(server, { bogus_key: 1, ...usersConfig([USERS[0]]) });
        const line = lineOf(text, "bogus_key");
        const logged = await assertRefused(server, bob, text, `${server.configPath}:${line}:`);
        assert.match(logged, /bogus_key/);
      } finally {
        await bob.dispose();
      }
    }),
});

Deno.test({
  name: "reload - changing port is refused and the server keeps its listener",
  ...serverTestOptions(),
  fn: () =>
    withServer(usersConfig(USERS), async (server) => {
      const bob = await login(server, "bob", "pb");
      try {
        const otherPort = freePort();
        const text = render(server, { port: otherPort, ...usersConfig([USERS[0]]) });
        // nats-server 2.9.10: "config reload not supported for Port: old=4222, new=4223".
        await assertRefused(server, bob, text, /config reload not supported for port/i);
        assert.equal(
          await refusesConnections(otherPort),
          true,
          "nothing may listen on the new port",
        );
      } finally {
        await bob.dispose();
      }
    }),
});

// ---------------------------------------------------------------- leafnode remotes

/** `lid → peer` for every "Leafnode connection created" line in a Canopy log. */
function linksCreated(logs: string): { lid: number; peer: string }[] {
  const pattern =
    /lid:(\d+) - Leafnode connection created for account: \S+ \(\w+ role, peer (\S+),/g;
  return [...logs.matchAll(pattern)].map((m) => ({ lid: Number(m[1]), peer: m[2] }));
}

function lidOf(logs: string, peer: string): number {
  const link = linksCreated(logs).find((l) => l.peer === peer);
  assert.ok(link, `no link to ${peer} in:\n${logs}`);
  return link.lid;
}

function closedLine(lid: number): string {
  return `lid:${lid} - Leafnode connection closed`;
}

/** The change that replaces the leaf's remotes, keeping the rest of `leafnodes`. */
function withRemotes(
  leaf: ServerHandle,
  remotes: Record<string, unknown>[],
): Record<string, unknown> {
  const leafnodes = leaf.config.leafnodes as Record<string, unknown>;
  return { leafnodes: { ...leafnodes, remotes } };
}

const CANOPY_LEAF = leafTestOptions(hubImpl(), "canopy");

Deno.test({
  name: "reload - an added remote links a second hub while the first link stays up",
  ...CANOPY_LEAF,
  fn: () =>
    withTopology(async (topology) => {
      const hub1 = await topology.hub();
      const hub2 = await topology.hub();
      const leaf = await topology.leaf([remoteTo(hub1)], {}, { impl: "canopy" });
      const onLeaf = await topology.client(leaf);
      const onHub1 = await topology.client(hub1);
      const onHub2 = await topology.client(hub2);
      await awaitFlow(onHub1, onLeaf);
      const firstLid = lidOf(leaf.logs(), hub1.config.server_name as string);
      const hub1Created = countOccurrences(hub1.logs(), "Leafnode connection created");

      await reload(leaf, withRemotes(leaf, [remoteTo(hub1), remoteTo(hub2)]));

      await awaitFlow(onHub2, onLeaf);
      await awaitFlow(onLeaf, onHub2);
      await awaitFlow(onHub1, onLeaf);
      const logs = leaf.logs();
      assert.equal(linksCreated(logs).length, 2, `one new link only:\n${logs}`);
      assert.equal(lidOf(logs, hub1.config.server_name as string), firstLid);
      assert.ok(!logs.includes(closedLine(firstLid)), `the kept link was closed:\n${logs}`);
      assert.equal(countOccurrences(logs, "Leafnode connection closed"), 0, logs);
      assert.equal(
        countOccurrences(hub1.logs(), "Leafnode connection created"),
        hub1Created,
        "the first hub saw a new link",
      );
    }),
});

Deno.test({
  name: "reload - a removed remote closes its link and leaves the others up",
  ...CANOPY_LEAF,
  fn: () =>
    withTopology(async (topology) => {
      const hub1 = await topology.hub();
      const hub2 = await topology.hub();
      const leaf = await topology.leaf([remoteTo(hub1), remoteTo(hub2)], {}, { impl: "canopy" });
      const onLeaf = await topology.client(leaf);
      const onHub1 = await topology.client(hub1);
      const onHub2 = await topology.client(hub2);
      await awaitFlow(onHub1, onLeaf);
      await awaitFlow(onHub2, onLeaf);
      const lid1 = lidOf(leaf.logs(), hub1.config.server_name as string);
      const lid2 = lidOf(leaf.logs(), hub2.config.server_name as string);

      await reload(leaf, withRemotes(leaf, [remoteTo(hub2)]));

      assert.ok(
        await eventually(() => leaf.logs().includes(closedLine(lid1)), RELOAD_TIMEOUT_MS),
        `the removed remote's link stayed up:\n${leaf.logs()}`,
      );
      assert.equal(await flowStaysDown(onHub1, onLeaf, STAYS_DOWN_MS), true);
      await awaitFlow(onHub2, onLeaf);
      await awaitFlow(onLeaf, onHub2);
      const logs = leaf.logs();
      assert.ok(!logs.includes(closedLine(lid2)), `the kept link was closed:\n${logs}`);
      assert.equal(linksCreated(logs).length, 2, `the removed remote dialled again:\n${logs}`);
    }),
});

Deno.test({
  name: "reload - a changed deny_exports changes which subjects reach the hub",
  ...CANOPY_LEAF,
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      const remote = (deny: string[]) => remoteTo(hub, { extra: { deny_exports: deny } });
      const leaf = await topology.leaf([remote(["blocked.>"])], {}, { impl: "canopy" });
      const onLeaf = await topology.client(leaf);
      const onHub = await topology.client(hub);
      const open = topology.inbox(onHub, "open.x");
      const blocked = topology.inbox(onHub, "blocked.x");

      await open.awaitInterestFrom(onLeaf);
      onLeaf.publish("open.x", "before");
      onLeaf.publish("blocked.x", "before");
      await open.waitForCount(1);
      await open.drainFrom(onLeaf);
      assert.deepEqual(blocked.payloads, [], "blocked.x crossed before the reload");

      await reload(leaf, withRemotes(leaf, [remote(["open.>"])]));
      // The remote changed, so its link is replaced; wait for the new one.
      assert.ok(
        await eventually(() => linksCreated(leaf.logs()).length === 2, RELOAD_TIMEOUT_MS),
        `no new link after the reload:\n${leaf.logs()}`,
      );

      await blocked.awaitInterestFrom(onLeaf);
      onLeaf.publish("blocked.x", "after");
      onLeaf.publish("open.x", "after");
      await blocked.waitForCount(1);
      await blocked.drainFrom(onLeaf);
      assert.deepEqual(blocked.payloads, ["after"]);
      assert.deepEqual(open.payloads, ["before"], "open.x still crossed after the reload");
    }),
});
