/**
 * Subject filters on a leafnode link: a remote's `deny_imports` keeps those subjects from
 * coming down to the leaf, its `deny_exports` keeps them from going up to the hub, neither
 * affects the other direction, and the JetStream API subjects (`$JS.API.>`, `$KV.>`, `$OBJ.>`)
 * never cross a link in either direction.
 *
 * "Not delivered" is checked with an ordered sentinel: the denied message is published first
 * and an allowed one after it from the same client, so once the allowed one has arrived the
 * denied one would have too.
 */

import assert from "node:assert/strict";
import { RequestError } from "@nats-io/nats-core";
import type { NatsConnection } from "@nats-io/nats-core";
import { leafTestOptions, remoteTo, withTopology } from "../helpers/leaf_topology.ts";
import type { Inbox, Topology } from "../helpers/leaf_topology.ts";

const DENY_REMOTE = {
  extra: { deny_imports: ["secret.>", "exact.in"], deny_exports: ["private.>"] },
};

async function deniedLink(topology: Topology) {
  const hub = await topology.hub();
  const leaf = await topology.leaf([remoteTo(hub, DENY_REMOTE)]);
  const onHub = await topology.client(hub);
  const onLeaf = await topology.client(leaf);
  return { onHub, onLeaf };
}

/**
 * Subscribes `subscriber` to `subjects` and to a sentinel, waits until the sentinel's interest
 * reached `publisher`, publishes one message on each subject and then the sentinel, and
 * returns each subject's inbox once the sentinel arrived.
 */
async function publishBeforeSentinel(
  topology: Topology,
  publisher: NatsConnection,
  subscriber: NatsConnection,
  subjects: string[],
): Promise<Map<string, Inbox>> {
  const inboxes = new Map(
    subjects.map((subject) => [subject, topology.inbox(subscriber, subject)]),
  );
  const sentinel = topology.inbox(subscriber, `sentinel.${crypto.randomUUID().slice(0, 8)}`);
  await sentinel.awaitInterestFrom(publisher);
  for (const subject of subjects) publisher.publish(subject, subject);
  publisher.publish(sentinel.subject, "last");
  await sentinel.waitForCount(1);
  return inboxes;
}

function receivedSubjects(inboxes: Map<string, Inbox>): string[] {
  return [...inboxes.entries()].filter(([, inbox]) => inbox.messages.length > 0).map(([s]) => s)
    .sort();
}

Deno.test({
  name: "leaf deny - deny_imports keeps hub messages from the leaf, other subjects pass",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const { onHub, onLeaf } = await deniedLink(topology);
      const inboxes = await publishBeforeSentinel(topology, onHub, onLeaf, [
        "secret.plans",
        "secret.a.b",
        "exact.in",
        "exact.in.not",
        "public.news",
        "private.notes",
      ]);
      assert.deepEqual(receivedSubjects(inboxes), [
        "exact.in.not",
        "private.notes",
        "public.news",
      ]);
    }),
});

Deno.test({
  name: "leaf deny - deny_imports also covers a leaf wildcard subscription",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const { onHub, onLeaf } = await deniedLink(topology);
      const everything = topology.inbox(onLeaf, ">");
      await everything.awaitInterestFrom(onHub);
      onHub.publish("secret.x", "denied");
      onHub.publish("fine.x", "allowed");
      await everything.waitForCount(1);
      await everything.drainFrom(onHub);
      assert.deepEqual(everything.messages.map((msg) => msg.subject), ["fine.x"]);
    }),
});

Deno.test({
  name: "leaf deny - deny_exports keeps leaf messages from the hub, other subjects pass",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const { onHub, onLeaf } = await deniedLink(topology);
      const inboxes = await publishBeforeSentinel(topology, onLeaf, onHub, [
        "private.notes",
        "private.a.b",
        "public.news",
        "secret.plans",
      ]);
      assert.deepEqual(receivedSubjects(inboxes), ["public.news", "secret.plans"]);
    }),
});

Deno.test({
  name: "leaf deny - requests into denied subjects get no responders, allowed ones an answer",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const { onHub, onLeaf } = await deniedLink(topology);
      onLeaf.subscribe("secret.svc", { callback: (_error, msg) => void msg.respond("leaked") });
      onLeaf.subscribe("open.svc", { callback: (_error, msg) => void msg.respond("ok") });
      await topology.inbox(onLeaf, "svc.ready").awaitInterestFrom(onHub);

      const answer = await onHub.request("open.svc", "", { timeout: 2_000 });
      assert.equal(answer.string(), "ok");
      // The leaf never advertised the denied subscription, so the hub knows nobody is there.
      await assert.rejects(
        onHub.request("secret.svc", "", { timeout: 1_000 }),
        (error: unknown) => error instanceof RequestError && error.isNoResponders(),
      );
    }),
});

const JETSTREAM_SUBJECTS = ["$JS.API.INFO", "$KV.bucket.key", "$OBJ.store.chunk"];

Deno.test({
  name: "leaf deny - JetStream API subjects do not go from the leaf to the hub",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      const leaf = await topology.leaf([remoteTo(hub)]);
      const onHub = await topology.client(hub);
      const onLeaf = await topology.client(leaf);
      const inboxes = await publishBeforeSentinel(topology, onLeaf, onHub, [
        ...JETSTREAM_SUBJECTS,
        "$JS.EVENT.x",
      ]);
      assert.deepEqual(receivedSubjects(inboxes), ["$JS.EVENT.x"]);
    }),
});

Deno.test({
  name: "leaf deny - JetStream API subjects do not go from the hub to the leaf",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      const leaf = await topology.leaf([remoteTo(hub)]);
      const onHub = await topology.client(hub);
      const onLeaf = await topology.client(leaf);
      const inboxes = await publishBeforeSentinel(topology, onHub, onLeaf, [
        ...JETSTREAM_SUBJECTS,
        "$JS.EVENT.x",
      ]);
      assert.deepEqual(receivedSubjects(inboxes), ["$JS.EVENT.x"]);
      // A literal $JS.API subscription on the leaf must not have cost the link.
      await topology.inbox(onLeaf, "after.js").awaitInterestFrom(onHub);
    }),
});
