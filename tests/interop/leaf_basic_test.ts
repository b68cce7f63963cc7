/**
 * Leafnode basics over one hub–leaf link: messages cross in both directions, for literal and
 * wildcard interest, with headers, as requests with replies, and stop crossing once the
 * interest is gone. Hub and leaf come from `LEAF_TEST_HUB` / `LEAF_TEST_LEAF`.
 */

import assert from "node:assert/strict";
import { headers, RequestError } from "@nats-io/nats-core";
import { leafTestOptions, remoteTo, withTopology } from "../helpers/leaf_topology.ts";
import type { Topology } from "../helpers/leaf_topology.ts";
import type { ServerHandle } from "../helpers/server_process.ts";

/** A hub, one leaf on `$G`, and a client on each. */
async function hubAndLeaf(topology: Topology) {
  const hub = await topology.hub();
  const leaf = await topology.leaf([remoteTo(hub)]);
  const onHub = await topology.client(hub);
  const onLeaf = await topology.client(leaf);
  return { hub, leaf, onHub, onLeaf };
}

Deno.test({
  name: "leaf basic - a hub client's messages reach a subscriber on the leaf, in order",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const { onHub, onLeaf } = await hubAndLeaf(topology);
      const inbox = topology.inbox(onLeaf, "orders.created");
      await inbox.awaitInterestFrom(onHub);

      const sent = Array.from({ length: 50 }, (_, i) => `order-${i}`);
      for (const payload of sent) onHub.publish("orders.created", payload);
      await inbox.waitForCount(sent.length);
      await inbox.drainFrom(onHub);

      assert.deepEqual(inbox.payloads, sent, "every message once, in publish order");
      assert.ok(inbox.messages.every((msg) => msg.subject === "orders.created"));
    }),
});

Deno.test({
  name: "leaf basic - a leaf client's messages reach a subscriber on the hub, in order",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const { onHub, onLeaf } = await hubAndLeaf(topology);
      const inbox = topology.inbox(onHub, "telemetry.temp");
      await inbox.awaitInterestFrom(onLeaf);

      const sent = Array.from({ length: 50 }, (_, i) => `t-${i}`);
      for (const payload of sent) onLeaf.publish("telemetry.temp", payload);
      await inbox.waitForCount(sent.length);
      await inbox.drainFrom(onLeaf);

      assert.deepEqual(inbox.payloads, sent);
    }),
});

Deno.test({
  name: "leaf basic - wildcard subscriptions on either side match across the link",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const { onHub, onLeaf } = await hubAndLeaf(topology);
      const leafStar = topology.inbox(onLeaf, "sensor.*.temp");
      const leafTail = topology.inbox(onLeaf, "sensor.>");
      await leafTail.awaitInterestFrom(onHub);
      const hubStar = topology.inbox(onHub, "cmd.*");
      const hubTail = topology.inbox(onHub, "cmd.>");
      await hubTail.awaitInterestFrom(onLeaf);

      onHub.publish("sensor.a.temp", "1");
      onHub.publish("sensor.b.humidity", "2");
      onHub.publish("sensor.c.temp.raw", "3");
      onHub.publish("other.a.temp", "4");
      onLeaf.publish("cmd.reboot", "5");
      onLeaf.publish("cmd.fan.on", "6");
      onLeaf.publish("cmdx", "7");
      await leafTail.drainFrom(onHub);
      await hubTail.drainFrom(onLeaf);

      assert.deepEqual(leafStar.payloads, ["1"]);
      assert.deepEqual(leafTail.payloads, ["1", "2", "3"]);
      assert.deepEqual(hubStar.payloads, ["5"]);
      assert.deepEqual(hubTail.payloads, ["5", "6"]);
      assert.deepEqual(leafTail.messages.map((msg) => msg.subject), [
        "sensor.a.temp",
        "sensor.b.humidity",
        "sensor.c.temp.raw",
      ]);
    }),
});

Deno.test({
  name: "leaf basic - a subscriber on each side of the link gets exactly one copy",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const { onHub, onLeaf, leaf } = await hubAndLeaf(topology);
      const secondOnLeaf = await topology.client(leaf);
      const onLeafA = topology.inbox(onLeaf, "fanout");
      const onLeafB = topology.inbox(secondOnLeaf, "fanout");
      const onHubSide = topology.inbox(onHub, "fanout");
      await onLeafA.awaitInterestFrom(onHub);
      await onLeafB.awaitInterestFrom(onHub);
      await onHubSide.awaitInterestFrom(onLeaf);

      for (let i = 0; i < 20; i++) onHub.publish("fanout", `h${i}`);
      for (let i = 0; i < 20; i++) onLeaf.publish("fanout", `l${i}`);
      // Each drain probe travels behind that publisher's messages to every subscriber.
      for (const inbox of [onLeafA, onLeafB, onHubSide]) {
        await inbox.drainFrom(onHub);
        await inbox.drainFrom(onLeaf);
      }

      const expected = [
        ...Array.from({ length: 20 }, (_, i) => `h${i}`),
        ...Array.from({ length: 20 }, (_, i) => `l${i}`),
      ].sort();
      for (const inbox of [onLeafA, onLeafB, onHubSide]) {
        assert.deepEqual([...inbox.payloads].sort(), expected, "one copy of each, no echo");
      }
    }),
});

Deno.test({
  name: "leaf basic - headers, reply subjects and empty payloads survive the link both ways",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const { onHub, onLeaf } = await hubAndLeaf(topology);
      const toLeaf = topology.inbox(onLeaf, "hdr.down");
      const toHub = topology.inbox(onHub, "hdr.up");
      await toLeaf.awaitInterestFrom(onHub);
      await toHub.awaitInterestFrom(onLeaf);

      const h = headers();
      h.set("Trace-Id", "abc-123");
      h.append("Multi", "one");
      h.append("Multi", "two");
      onHub.publish("hdr.down", "body-down", { headers: h, reply: "answer.here" });
      onLeaf.publish("hdr.up", "body-up", { headers: h });
      onHub.publish("hdr.down", "");
      await toLeaf.waitForCount(2);
      await toHub.waitForCount(1);

      const [down, empty] = toLeaf.messages;
      assert.equal(down.string(), "body-down");
      assert.equal(down.reply, "answer.here");
      assert.equal(down.headers?.get("Trace-Id"), "abc-123");
      assert.deepEqual(down.headers?.values("Multi"), ["one", "two"]);
      assert.equal(empty.data.length, 0);
      assert.equal(empty.headers, undefined, "no headers appear out of nowhere");
      const [up] = toHub.messages;
      assert.equal(up.string(), "body-up");
      assert.equal(up.headers?.get("Trace-Id"), "abc-123");
    }),
});

Deno.test({
  name: "leaf basic - requests cross the link and replies come back, in both directions",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const { onHub, onLeaf } = await hubAndLeaf(topology);
      onLeaf.subscribe("leaf.double", {
        callback: (_error, msg) => void msg.respond(`${Number(msg.string()) * 2}`),
      });
      onHub.subscribe("hub.negate", {
        callback: (_error, msg) => void msg.respond(`${-Number(msg.string())}`),
      });
      const leafReady = topology.inbox(onLeaf, "leaf.ready");
      await leafReady.awaitInterestFrom(onHub);
      const hubReady = topology.inbox(onHub, "hub.ready");
      await hubReady.awaitInterestFrom(onLeaf);

      const doubled = await Promise.all(
        [1, 2, 3].map((n) => onHub.request("leaf.double", `${n}`, { timeout: 2_000 })),
      );
      const negated = await Promise.all(
        [4, 5].map((n) => onLeaf.request("hub.negate", `${n}`, { timeout: 2_000 })),
      );
      assert.deepEqual(doubled.map((msg) => msg.string()), ["2", "4", "6"]);
      assert.deepEqual(negated.map((msg) => msg.string()), ["-4", "-5"]);
    }),
});

/** Requests `subject` and says whether it was answered, got "no responders", or timed out. */
async function requestOutcome(
  topology: Topology,
  server: ServerHandle,
  subject: string,
): Promise<"answered" | "no responders" | "timeout"> {
  const requester = await topology.client(server);
  try {
    await requester.request(subject, "ping", { timeout: 1_500 });
    return "answered";
  } catch (error) {
    if (error instanceof RequestError && error.isNoResponders()) return "no responders";
    return "timeout";
  }
}

Deno.test({
  name: "leaf basic - unsubscribing on the leaf removes the interest from the hub",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const { hub, onHub, onLeaf } = await hubAndLeaf(topology);
      const responder = onLeaf.subscribe("svc.echo", {
        callback: (_error, msg) => void msg.respond(msg.data),
      });
      const ready = topology.inbox(onLeaf, "svc.ready");
      await ready.awaitInterestFrom(onHub);
      assert.equal(await requestOutcome(topology, hub, "svc.echo"), "answered");

      // The hub answers "no responders" only when no subscription anywhere matches: once the
      // leaf's LS- arrived it no longer forwards the request over the link.
      responder.unsubscribe();
      const after = topology.inbox(onLeaf, "svc.after");
      await after.awaitInterestFrom(onHub);
      assert.equal(await requestOutcome(topology, hub, "svc.echo"), "no responders");
    }),
});

Deno.test({
  name: "leaf basic - a leaf client disconnecting removes its interest from the hub",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const { hub, onHub, leaf } = await hubAndLeaf(topology);
      const leaving = await topology.client(leaf);
      const staying = await topology.client(leaf);
      leaving.subscribe("svc.gone", { callback: (_error, msg) => void msg.respond("here") });
      await topology.inbox(leaving, "svc.ready").awaitInterestFrom(onHub);
      assert.equal(await requestOutcome(topology, hub, "svc.gone"), "answered");

      await leaving.close();
      await topology.inbox(staying, "svc.after").awaitInterestFrom(onHub);
      assert.equal(await requestOutcome(topology, hub, "svc.gone"), "no responders");
    }),
});

Deno.test({
  name: "leaf basic - unsubscribing on the hub removes the interest from the leaf",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const { leaf, onHub, onLeaf } = await hubAndLeaf(topology);
      const responder = onHub.subscribe("hubsvc.echo", {
        callback: (_error, msg) => void msg.respond(msg.data),
      });
      await topology.inbox(onHub, "hubsvc.ready").awaitInterestFrom(onLeaf);
      assert.equal(await requestOutcome(topology, leaf, "hubsvc.echo"), "answered");

      responder.unsubscribe();
      await topology.inbox(onHub, "hubsvc.after").awaitInterestFrom(onLeaf);
      assert.equal(await requestOutcome(topology, leaf, "hubsvc.echo"), "no responders");
    }),
});
