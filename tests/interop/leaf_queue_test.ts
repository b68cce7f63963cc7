/**
 * Queue groups across a leafnode link: one member per group gets each message, exactly once,
 * whichever side it is on; members on the publisher's own server are preferred; and a group
 * whose members all live across the link is served over it.
 */

import assert from "node:assert/strict";
import { eventually, leafTestOptions, remoteTo, withTopology } from "../helpers/leaf_topology.ts";
import type { Inbox, Topology } from "../helpers/leaf_topology.ts";
import type { NatsConnection } from "@nats-io/nats-core";

const MESSAGE_COUNT = 200;

async function hubAndLeaf(topology: Topology) {
  const hub = await topology.hub();
  const leaf = await topology.leaf([remoteTo(hub)]);
  return { hub, leaf };
}

function publishNumbered(nc: NatsConnection, subject: string, prefix: string): string[] {
  const payloads = Array.from({ length: MESSAGE_COUNT }, (_, i) => `${prefix}${i}`);
  for (const payload of payloads) nc.publish(subject, payload);
  return payloads;
}

/** All payloads the members received, sorted; duplicates stay visible. */
function allReceived(members: Inbox[]): string[] {
  return members.flatMap((member) => member.payloads).sort();
}

/** Waits until the members together hold `count` messages, then lets stragglers arrive. */
async function settle(members: Inbox[], count: number, publisher: NatsConnection, drain: Inbox) {
  const total = () => members.reduce((sum, member) => sum + member.messages.length, 0);
  assert.ok(
    await eventually(() => total() >= count, 5_000),
    `Cannot receive ${count} messages across the group: got ${total()}`,
  );
  // A duplicate would travel ahead of this probe from the same publisher.
  await drain.drainFrom(publisher);
}

Deno.test({
  name: "leaf queue - a group living only on the leaf serves hub publishers, each message once",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const { hub, leaf } = await hubAndLeaf(topology);
      const publisher = await topology.client(hub);
      const memberConns = [await topology.client(leaf), await topology.client(leaf)];
      const members = memberConns.map((nc) => topology.inbox(nc, "jobs", { queue: "workers" }));
      await Promise.all(memberConns.map((nc) => nc.flush()));
      // A plain subscriber next to them marks when the group's interest has crossed too.
      const watcher = topology.inbox(memberConns[0], "jobs.ready");
      await watcher.awaitInterestFrom(publisher);

      const sent = publishNumbered(publisher, "jobs", "j");
      await settle(members, MESSAGE_COUNT, publisher, watcher);

      assert.deepEqual(allReceived(members), [...sent].sort(), "each message exactly once");
      assert.equal(members[0].probes + members[1].probes, 0, "probes on other subjects");
    }),
});

Deno.test({
  name: "leaf queue - a group living only on the hub serves leaf publishers, each message once",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const { hub, leaf } = await hubAndLeaf(topology);
      const publisher = await topology.client(leaf);
      const memberConns = [await topology.client(hub), await topology.client(hub)];
      const members = memberConns.map((nc) => topology.inbox(nc, "jobs", { queue: "workers" }));
      await Promise.all(memberConns.map((nc) => nc.flush()));
      const watcher = topology.inbox(memberConns[1], "jobs.ready");
      await watcher.awaitInterestFrom(publisher);

      const sent = publishNumbered(publisher, "jobs", "j");
      await settle(members, MESSAGE_COUNT, publisher, watcher);

      assert.deepEqual(allReceived(members), [...sent].sort(), "each message exactly once");
      for (const member of members) assert.ok(member.messages.length > 0, "both members used");
    }),
});

Deno.test({
  name: "leaf queue - with members on both sides, each side's publishers use their local member",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const { hub, leaf } = await hubAndLeaf(topology);
      const onHub = await topology.client(hub);
      const onLeaf = await topology.client(leaf);
      const hubMember = topology.inbox(onHub, "work", { queue: "q" });
      const leafMember = topology.inbox(onLeaf, "work", { queue: "q" });
      const hubReady = topology.inbox(onHub, "work.ready");
      const leafReady = topology.inbox(onLeaf, "work.ready");
      await hubReady.awaitInterestFrom(onLeaf);
      await leafReady.awaitInterestFrom(onHub);

      const fromHub = publishNumbered(onHub, "work", "h");
      const fromLeaf = publishNumbered(onLeaf, "work", "l");
      const members = [hubMember, leafMember];
      await settle(members, 2 * MESSAGE_COUNT, onHub, leafReady);
      await hubReady.drainFrom(onLeaf);

      assert.deepEqual(allReceived(members), [...fromHub, ...fromLeaf].sort(), "exactly once");
      assert.deepEqual(hubMember.payloads, fromHub, "the hub member got every hub message");
      assert.deepEqual(leafMember.payloads, fromLeaf, "the leaf member got every leaf message");
    }),
});

Deno.test({
  name: "leaf queue - when the local member leaves, the group is served across the link",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const { hub, leaf } = await hubAndLeaf(topology);
      const onHub = await topology.client(hub);
      const onLeaf = await topology.client(leaf);
      const hubMember = topology.inbox(onHub, "work", { queue: "q" });
      const leafMember = topology.inbox(onLeaf, "work", { queue: "q" });
      const leafReady = topology.inbox(onLeaf, "work.ready");
      await leafReady.awaitInterestFrom(onHub);

      onHub.publish("work", "before");
      await onHub.flush();
      hubMember.unsubscribe();
      const after = publishNumbered(onHub, "work", "a");
      await settle([hubMember, leafMember], MESSAGE_COUNT + 1, onHub, leafReady);

      assert.deepEqual(hubMember.payloads, ["before"]);
      assert.deepEqual(leafMember.payloads, after, "the remote member took over, once each");
    }),
});

Deno.test({
  name: "leaf queue - two groups and a plain subscriber on the leaf each get every message once",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const { hub, leaf } = await hubAndLeaf(topology);
      const publisher = await topology.client(hub);
      const a = await topology.client(leaf);
      const b = await topology.client(leaf);
      const groupOne = [
        topology.inbox(a, "evt", { queue: "one" }),
        topology.inbox(b, "evt", {
          queue: "one",
        }),
      ];
      const groupTwo = [topology.inbox(a, "evt", { queue: "two" })];
      await a.flush();
      const plain = topology.inbox(b, "evt");
      await plain.awaitInterestFrom(publisher);

      const sent = publishNumbered(publisher, "evt", "e");
      await settle(groupOne, MESSAGE_COUNT, publisher, plain);
      await groupTwo[0].waitForCount(MESSAGE_COUNT);
      await plain.waitForCount(MESSAGE_COUNT);
      await plain.drainFrom(publisher);

      assert.deepEqual(allReceived(groupOne), [...sent].sort());
      assert.deepEqual(groupTwo[0].payloads, sent);
      assert.deepEqual(plain.payloads, sent);
    }),
});
