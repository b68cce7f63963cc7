/**
 * Reconnecting: when the hub restarts on the same ports the leaf's remote links up again by
 * itself and replays its interest, so subscriptions made before the outage get every message
 * published after it exactly once; interest dropped during the outage is not replayed; and
 * hub-side subscriptions survive a leaf restart the same way.
 */

import assert from "node:assert/strict";
import { RequestError } from "@nats-io/nats-core";
import type { NatsConnection } from "@nats-io/nats-core";
import { leafTestOptions, remoteTo, withTopology } from "../helpers/leaf_topology.ts";
import type { Inbox } from "../helpers/leaf_topology.ts";

const COUNT = 100;

/** Covers a restart (Canopy pays Deno's start-up) plus a few reconnect intervals. */
const RELINK_TIMEOUT_MS = 15_000;

/** NATS client options that ride out a server restart on the same port. */
const RECONNECTING = { reconnect: true, reconnectTimeWait: 100, maxReconnectAttempts: -1 };

/** Publishes `COUNT` numbered messages and checks the inbox got each exactly once, in order. */
async function assertEachOnce(publisher: NatsConnection, inbox: Inbox, prefix: string) {
  const sent = Array.from({ length: COUNT }, (_, i) => `${prefix}${i}`);
  for (const payload of sent) publisher.publish(inbox.subject, payload);
  await inbox.waitForCount(COUNT);
  await inbox.drainFrom(publisher);
  assert.deepEqual(inbox.payloads, sent, "each once, in order: interest was replayed once");
}

Deno.test({
  name: "leaf reconnect - after a hub restart a leaf subscription gets every message exactly once",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      const leaf = await topology.leaf([remoteTo(hub)]);
      const onLeaf = await topology.client(leaf);
      const kept = topology.inbox(onLeaf, "kept");
      const keptQueue = topology.inbox(onLeaf, "kept.q", { queue: "g" });
      const dropped = onLeaf.subscribe("dropped.svc", {
        callback: (_error, msg) => void msg.respond("stale"),
      });
      const before = await topology.client(hub);
      await kept.awaitInterestFrom(before);
      await before.close();

      const restarted = await topology.restart(hub);
      // Interest removed while the link is down must not come back with the replay.
      dropped.unsubscribe();
      await onLeaf.flush();
      const after = await topology.client(restarted);
      await kept.awaitInterestFrom(after, RELINK_TIMEOUT_MS);

      await assertEachOnce(after, kept, "k");
      for (let i = 0; i < 10; i++) after.publish("kept.q", `q${i}`);
      await keptQueue.waitForCount(10);
      await kept.drainFrom(after);
      assert.equal(keptQueue.messages.length, 10, "the queue group was replayed too");
      await assert.rejects(
        after.request("dropped.svc", "", { timeout: 1_000 }),
        (error: unknown) => error instanceof RequestError && error.isNoResponders(),
      );
    }),
});

Deno.test({
  name:
    "leaf reconnect - a hub subscriber that reconnects after a hub restart hears the leaf again",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      const leaf = await topology.leaf([remoteTo(hub)]);
      const onHub = await topology.client(hub, RECONNECTING);
      const onLeaf = await topology.client(leaf);
      const up = topology.inbox(onHub, "up");
      await up.awaitInterestFrom(onLeaf);

      await topology.restart(hub);
      await up.awaitInterestFrom(onLeaf, RELINK_TIMEOUT_MS);
      await assertEachOnce(onLeaf, up, "u");
    }),
});

Deno.test({
  name: "leaf reconnect - during an outage the leaf serves locally and nothing is replayed later",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      const leaf = await topology.leaf([remoteTo(hub)]);
      const onLeaf = await topology.client(leaf);
      const other = await topology.client(leaf);
      const onHub = await topology.client(hub, RECONNECTING);
      const outage = topology.inbox(onHub, "outage");
      await outage.awaitInterestFrom(onLeaf);

      await topology.stop(hub);
      const local = topology.inbox(other, "outage");
      await local.awaitInterestFrom(onLeaf);
      for (let i = 0; i < 10; i++) onLeaf.publish("outage", `lost-${i}`);
      await local.waitForCount(10);

      await topology.restart(hub);
      await outage.awaitInterestFrom(onLeaf, RELINK_TIMEOUT_MS);
      onLeaf.publish("outage", "after");
      await outage.waitForCount(1);
      await outage.drainFrom(onLeaf);
      assert.deepEqual(outage.payloads, ["after"], "at most once: no store and forward");
      assert.equal(local.payloads.length, 11, "the local subscriber got everything");
    }),
});

Deno.test({
  name: "leaf reconnect - after a leaf restart the hub's subscription gets every message once",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      const leaf = await topology.leaf([remoteTo(hub)]);
      const onHub = await topology.client(hub);
      const down = topology.inbox(onHub, "down");
      await down.awaitInterestFrom(await topology.client(leaf));

      const restarted = await topology.restart(leaf);
      const onLeaf = await topology.client(restarted);
      await down.awaitInterestFrom(onLeaf, RELINK_TIMEOUT_MS);
      await assertEachOnce(onLeaf, down, "d");
    }),
});
