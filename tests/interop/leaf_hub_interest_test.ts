/**
 * The hub's interest propagation on the wire: which LS+ / LS- a leaf receives as hub clients
 * subscribe and unsubscribe (plain interest on 0↔1 changes only, queue groups on every weight
 * change), and which interest the hub accepts from a leaf. Tests the hub implementation only.
 */

import assert from "node:assert/strict";
import { hubImpl, leafTestOptions, withTopology } from "../helpers/leaf_topology.ts";
import { dialFakeLeaf, HubHarness, lines } from "../helpers/raw_leaf.ts";
import type { ServerHandle } from "../helpers/server_process.ts";

const HUB_ONLY = leafTestOptions(hubImpl());

async function withHarness(body: (harness: HubHarness, hub: ServerHandle) => Promise<void>) {
  await withTopology(async (topology) => {
    const hub = await topology.hub();
    const harness = await HubHarness.open(hub.port, hub.leafPort!);
    try {
      await body(harness, hub);
    } finally {
      await harness.dispose();
    }
  });
}

Deno.test({
  name: "leaf hub interest - plain subscriptions send LS+ on the first and LS- on the last",
  ...HUB_ONLY,
  fn: () =>
    withHarness(async (harness) => {
      const step = async (text: string) => lines((await harness.clientStep(text)).leaf);
      assert.deepEqual(await step("SUB foo 1\r\n"), ["LS+ foo"]);
      assert.deepEqual(await step("SUB foo 2\r\n"), [], "a second subscriber changes nothing");
      assert.deepEqual(await step("UNSUB 1\r\n"), [], "one subscriber is left");
      assert.deepEqual(await step("UNSUB 2\r\n"), ["LS- foo"]);
      assert.deepEqual(await step("SUB a.* 3\r\nSUB a.> 4\r\n"), ["LS+ a.*", "LS+ a.>"]);
      assert.deepEqual(await step("UNSUB 4\r\nUNSUB 3\r\n"), ["LS- a.>", "LS- a.*"]);
    }),
});

Deno.test({
  name: "leaf hub interest - queue groups send LS+ with the new weight on every change",
  ...HUB_ONLY,
  fn: () =>
    withHarness(async (harness) => {
      const step = async (text: string) => lines((await harness.clientStep(text)).leaf);
      assert.deepEqual(await step("SUB bar q1 1\r\n"), ["LS+ bar q1 1"]);
      assert.deepEqual(await step("SUB bar q1 2\r\n"), ["LS+ bar q1 2"]);
      assert.deepEqual(await step("SUB bar q2 3\r\n"), ["LS+ bar q2 1"], "groups are separate");
      assert.deepEqual(await step("SUB bar 4\r\n"), ["LS+ bar"], "plain is separate too");
      assert.deepEqual(await step("UNSUB 2\r\n"), ["LS+ bar q1 1"], "weight goes down");
      assert.deepEqual(await step("UNSUB 1\r\n"), ["LS- bar q1"]);
      assert.deepEqual(await step("UNSUB 3\r\nUNSUB 4\r\n"), ["LS- bar q2", "LS- bar"]);
    }),
});

Deno.test({
  name: "leaf hub interest - a client closing withdraws all its interest",
  ...HUB_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      const harness = await HubHarness.open(hub.port, hub.leafPort!);
      const leaving = await topology.client(hub);
      try {
        leaving.subscribe("gone.plain");
        leaving.subscribe("gone.q", { queue: "g" });
        leaving.subscribe("gone.q", { queue: "g" });
        await leaving.flush();
        const added = lines((await harness.clientStep("")).leaf);
        assert.deepEqual(added.sort(), ["LS+ gone.plain", "LS+ gone.q g 1", "LS+ gone.q g 2"]);

        await leaving.close();
        // The server tears a closed client down on its own schedule (nats-server under load
        // may take a moment): collect until both withdrawals arrived, for at most 2 s.
        const removed: string[] = [];
        const deadline = Date.now() + 2_000;
        while (removed.filter((l) => l.startsWith("LS-")).length < 2 && Date.now() < deadline) {
          removed.push(...lines((await harness.clientStep("")).leaf));
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        // Canopy withdraws a group in one LS-; nats-server 2.9.10 usually does too, but under
        // load it may first lower the weight (LS+ gone.q g 1). Both end withdrawn.
        const withoutSteps = removed.filter((line) => line !== "LS+ gone.q g 1");
        assert.deepEqual(withoutSteps.sort(), ["LS- gone.plain", "LS- gone.q g"]);
        assert.equal(removed.at(-1) === "LS+ gone.q g 1", false, "the group ends withdrawn");
      } finally {
        await harness.dispose();
      }
    }),
});

Deno.test({
  name: "leaf hub interest - a leaf's LS+ reaches other leaves, and its LS- withdraws it",
  ...HUB_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      const watcher = await HubHarness.open(hub.port, hub.leafPort!);
      const other = await dialFakeLeaf(hub.leafPort!);
      try {
        await other.connect({ name: "OTHER", cluster: "OTHER" });
        // Weight 1: 2.9.10 forwards a leaf's queue interest to other leaves as weight 1 whatever its
        // weight (HEAD forwards the weight), so only 1 means the same on every version.
        await other.send("LS+ east.west\r\nLS+ east.q grp 1\r\n");
        await other.sync();
        const added = lines((await watcher.clientStep("")).leaf);
        assert.deepEqual(added.sort(), ["LS+ east.q grp 1", "LS+ east.west"]);

        await other.send("LS- east.west\r\nLS- east.q grp\r\n");
        await other.sync();
        const removed = lines((await watcher.clientStep("")).leaf);
        assert.deepEqual(removed.sort(), ["LS- east.q grp", "LS- east.west"]);
      } finally {
        await Promise.all([watcher.dispose(), other.dispose()]);
      }
    }),
});

Deno.test({
  name: "leaf hub interest - a leaf's interest is never echoed back to it",
  ...HUB_ONLY,
  fn: () =>
    withHarness(async (harness) => {
      const { leaf } = await harness.leafStep("LS+ mine\r\nLS+ mine.q g 1\r\n");
      assert.deepEqual(lines(leaf), []);
    }),
});

Deno.test({
  name: "leaf hub interest - LS- for unknown interest is ignored and the link stays up",
  ...HUB_ONLY,
  fn: () =>
    withHarness(async (harness) => {
      const { leaf } = await harness.leafStep("LS- never.seen\r\nLS- never.q grp\r\n");
      assert.deepEqual(lines(leaf), []);
      assert.ok(!harness.leaf.closed);
    }),
});
