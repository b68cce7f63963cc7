/**
 * Traffic across more than one leafnode link: two leaves of one hub reach each other through
 * it, and a chain hub ← middle ← edge carries messages, queue groups and requests end to end.
 * The hub uses `LEAF_TEST_HUB`; the leaves, the middle of the chain included (it is a leaf of
 * the hub and the hub of the edge), use `LEAF_TEST_LEAF`.
 */

import assert from "node:assert/strict";
import type { NatsConnection } from "@nats-io/nats-core";
import {
  awaitFlow,
  eventually,
  leafTestOptions,
  remoteTo,
  withTopology,
} from "../helpers/leaf_topology.ts";
import type { Topology } from "../helpers/leaf_topology.ts";

const COUNT = 50;

/** Publishes `COUNT` numbered messages from `from` and checks `to` got each once, in order. */
async function assertDeliveredOnce(
  topology: Topology,
  from: NatsConnection,
  to: NatsConnection,
  subject: string,
) {
  const inbox = topology.inbox(to, subject);
  await inbox.awaitInterestFrom(from);
  const sent = Array.from({ length: COUNT }, (_, i) => `${subject}-${i}`);
  for (const payload of sent) from.publish(subject, payload);
  await inbox.waitForCount(COUNT);
  await inbox.drainFrom(from);
  assert.deepEqual(inbox.payloads, sent, `${subject}: each once, in order`);
  inbox.unsubscribe();
}

Deno.test({
  name: "leaf daisy chain - two leaves of one hub exchange messages through it",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      const leaf1 = await topology.leaf([remoteTo(hub)]);
      const leaf2 = await topology.leaf([remoteTo(hub)]);
      const on1 = await topology.client(leaf1);
      const on2 = await topology.client(leaf2);

      await assertDeliveredOnce(topology, on1, on2, "one.to.two");
      await assertDeliveredOnce(topology, on2, on1, "two.to.one");
    }),
});

Deno.test({
  name: "leaf daisy chain - a queue group on one leaf serves another leaf's publisher once each",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      const leaf1 = await topology.leaf([remoteTo(hub)]);
      const leaf2 = await topology.leaf([remoteTo(hub)]);
      const publisher = await topology.client(leaf1);
      const memberA = await topology.client(leaf2);
      const memberB = await topology.client(leaf2);
      const members = [memberA, memberB].map((nc) => topology.inbox(nc, "chain.q", { queue: "g" }));
      await memberB.flush();
      const ready = topology.inbox(memberA, "chain.q.ready");
      await ready.awaitInterestFrom(publisher);

      for (let i = 0; i < COUNT; i++) publisher.publish("chain.q", `${i}`);
      const total = () => members.reduce((sum, member) => sum + member.messages.length, 0);
      assert.ok(await eventually(() => total() >= COUNT, 5_000), `got ${total()} of ${COUNT}`);
      // A duplicate would have travelled ahead of this probe.
      await ready.drainFrom(publisher);
      await Promise.all([memberA.flush(), memberB.flush()]);
      const all = members.flatMap((member) => member.payloads).sort();
      assert.deepEqual(all, Array.from({ length: COUNT }, (_, i) => `${i}`).sort());
    }),
});

Deno.test({
  name: "leaf daisy chain - hub <- middle <- edge carries messages end to end both ways",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      const middle = await topology.leaf([remoteTo(hub)], {}, { name: "MIDDLE" });
      const edge = await topology.leaf([remoteTo(middle)], {}, { name: "EDGE" });
      const onHub = await topology.client(hub);
      const onMiddle = await topology.client(middle);
      const onEdge = await topology.client(edge);

      await assertDeliveredOnce(topology, onHub, onEdge, "hub.to.edge");
      await assertDeliveredOnce(topology, onEdge, onHub, "edge.to.hub");
      await assertDeliveredOnce(topology, onMiddle, onEdge, "middle.to.edge");
      await assertDeliveredOnce(topology, onEdge, onMiddle, "edge.to.middle");
    }),
});

Deno.test({
  name: "leaf daisy chain - requests from the hub are answered at the edge and back",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      const middle = await topology.leaf([remoteTo(hub)], {}, { name: "MIDDLE" });
      const edge = await topology.leaf([remoteTo(middle)], {}, { name: "EDGE" });
      const onHub = await topology.client(hub);
      const onEdge = await topology.client(edge);
      onEdge.subscribe("edge.svc", {
        callback: (_error, msg) => void msg.respond(`edge:${msg.string()}`),
      });
      onHub.subscribe("hub.svc", {
        callback: (_error, msg) => void msg.respond(`hub:${msg.string()}`),
      });
      await awaitFlow(onHub, onEdge);
      await awaitFlow(onEdge, onHub);

      const fromEdge = await onHub.request("edge.svc", "1", { timeout: 2_000 });
      const fromHub = await onEdge.request("hub.svc", "2", { timeout: 2_000 });
      assert.equal(fromEdge.string(), "edge:1");
      assert.equal(fromHub.string(), "hub:2");
    }),
});

Deno.test({
  name: "leaf daisy chain - a subscriber on every server gets one copy of an edge message",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      const middle = await topology.leaf([remoteTo(hub)], {}, { name: "MIDDLE" });
      const edge = await topology.leaf([remoteTo(middle)], {}, { name: "EDGE" });
      const side = await topology.leaf([remoteTo(hub)], {}, { name: "SIDE" });
      const publisher = await topology.client(edge);
      const inboxes = await Promise.all([hub, middle, edge, side].map(async (server) => {
        const inbox = topology.inbox(await topology.client(server), "everywhere");
        await inbox.awaitInterestFrom(publisher);
        return inbox;
      }));

      for (let i = 0; i < COUNT; i++) publisher.publish("everywhere", `${i}`);
      const sent = Array.from({ length: COUNT }, (_, i) => `${i}`);
      for (const inbox of inboxes) {
        await inbox.waitForCount(COUNT);
        await inbox.drainFrom(publisher);
        assert.deepEqual(inbox.payloads, sent, "each once, in order, on every server");
      }
    }),
});
