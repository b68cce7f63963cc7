/**
 * Authentication on the leafnode port: a leaf with the right credentials links up; one with
 * the wrong credentials is refused on every attempt and keeps retrying; raw peers that skip
 * CONNECT, take too long, or are really NATS clients get nats-server's exact `-ERR` and a close.
 * The raw cases test the hub only.
 */

import assert from "node:assert/strict";
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
import type { Topology } from "../helpers/leaf_topology.ts";
import { dialFakeLeaf } from "../helpers/raw_leaf.ts";
import type { ServerHandle } from "../helpers/server_process.ts";

const LEAF_AUTH = { authorization: { user: "leaf", password: "good", timeout: 0.5 } };

/**
 * nats-server 2.9.10 logs `authentication error` on the hub for each refused leaf; the
 * `-ERR` text itself is an equally good record of the refusal.
 */
const HUB_REFUSAL = /authentication error|authorization violation/gi;

async function securedHub(topology: Topology): Promise<ServerHandle> {
  return await topology.hub({ leafnodes: LEAF_AUTH });
}

/** Sends `text` right after the hub's INFO and returns what the hub sent before closing. */
async function replyBeforeClose(hub: ServerHandle, text: string): Promise<string> {
  const peer = await dialFakeLeaf(hub.leafPort!);
  try {
    await peer.send(text);
    return await peer.expectClosed();
  } finally {
    await peer.dispose();
  }
}

Deno.test({
  name: "leaf auth - a remote with the hub's leafnode user and password links up",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const hub = await securedHub(topology);
      const leaf = await topology.leaf([remoteTo(hub, { user: "leaf", password: "good" })]);
      await awaitFlow(await topology.client(hub), await topology.client(leaf));
      assert.equal(countOccurrences(hub.logs(), HUB_REFUSAL), 0, "no refusal logged");
    }),
});

Deno.test({
  name: "leaf auth - a remote with a wrong password never links, and keeps retrying",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const hub = await securedHub(topology);
      const leaf = await topology.leaf([remoteTo(hub, { user: "leaf", password: "bad" })]);
      const onHub = await topology.client(hub);
      const onLeaf = await topology.client(leaf);

      assert.ok(await flowStaysDown(onHub, onLeaf, 1_500), "no message crosses");
      // One attempt at start-up, then one per reconnect interval (1 s).
      const retried = await eventually(() => countOccurrences(hub.logs(), HUB_REFUSAL) >= 3, 4_000);
      assert.ok(retried, `the hub refused at least 3 attempts; hub logs:\n${hub.logs()}`);
      assert.match(leaf.logs(), /Authorization Violation/, "the leaf logs the hub's -ERR");
    }),
});

Deno.test({
  name: "leaf auth - raw: wrong credentials get -ERR 'Authorization Violation' and a close",
  ...leafTestOptions(hubImpl()),
  fn: () =>
    withTopology(async (topology) => {
      const hub = await securedHub(topology);
      const reply = await replyBeforeClose(
        hub,
        'CONNECT {"user":"leaf","pass":"bad","name":"FAKE"}\r\nPING\r\n',
      );
      assert.equal(reply, "-ERR 'Authorization Violation'\r\n");
    }),
});

Deno.test({
  name:
    "leaf auth - raw: a NATS client on the leafnode port gets 'attempted to connect to leaf node port'",
  ...leafTestOptions(hubImpl()),
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      const reply = await replyBeforeClose(
        hub,
        'CONNECT {"verbose":false,"pedantic":false,"lang":"nats.js","version":"3.4.0"}\r\nPING\r\n',
      );
      assert.equal(reply, "-ERR 'attempted to connect to leaf node port'\r\n");
    }),
});

Deno.test({
  name: "leaf auth - raw: a NATS client with wrong credentials is refused as a bad login first",
  ...leafTestOptions(hubImpl()),
  fn: () =>
    withTopology(async (topology) => {
      const hub = await securedHub(topology);
      const reply = await replyBeforeClose(hub, 'CONNECT {"lang":"go","user":"x"}\r\n');
      assert.equal(reply, "-ERR 'Authorization Violation'\r\n");
    }),
});

for (const first of ["PING\r\n", "LS+ foo\r\n", "LMSG foo 2\r\nhi\r\n"]) {
  Deno.test({
    name: `leaf auth - raw: ${JSON.stringify(first.split("\r\n")[0])} before CONNECT gets ` +
      `-ERR 'Authorization Violation' and a close`,
    ...leafTestOptions(hubImpl()),
    fn: () =>
      withTopology(async (topology) => {
        const hub = await topology.hub();
        assert.equal(await replyBeforeClose(hub, first), "-ERR 'Authorization Violation'\r\n");
      }),
  });
}

Deno.test({
  name:
    "leaf auth - raw: no CONNECT within the authorization timeout gets 'Authentication Timeout'",
  ...leafTestOptions(hubImpl()),
  fn: () =>
    withTopology(async (topology) => {
      const hub = await securedHub(topology);
      const started = performance.now();
      const reply = await replyBeforeClose(hub, "");
      const elapsed = performance.now() - started;
      assert.equal(reply, "-ERR 'Authentication Timeout'\r\n");
      assert.ok(elapsed > 300 && elapsed < 1_800, `closed after ${elapsed} ms, timeout is 500 ms`);
    }),
});
