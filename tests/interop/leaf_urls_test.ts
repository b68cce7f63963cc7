/**
 * The leafnode URLs a hub tells its leaves about (`leafnode_urls` in INFO), with and without
 * `advertise` / `no_advertise`, and a leaf that keeps its configured URL when the gossiped one
 * is useless. With a single hub, `no_advertise` does not hide the hub's own URL from its own
 * INFO (nats-server 2.9.10): it only stops gossip to cluster peers.
 */

import assert from "node:assert/strict";
import { freePort } from "../helpers/free_port.ts";
import { hubImpl, leafTestOptions, remoteTo, withTopology } from "../helpers/leaf_topology.ts";
import { dialFakeLeaf } from "../helpers/raw_leaf.ts";

const HUB_ONLY = leafTestOptions(hubImpl());

Deno.test({
  name: "leaf urls - advertise replaces host, port, ip and leafnode_urls in both INFOs",
  ...HUB_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub({ leafnodes: { advertise: "10.1.2.3:5555" } });
      const leaf = await dialFakeLeaf(hub.leafPort!);
      try {
        assert.equal(leaf.info.host, "10.1.2.3");
        assert.equal(leaf.info.port, 5555);
        assert.equal(leaf.info.ip, "10.1.2.3:5555");
        assert.deepEqual(leaf.info.leafnode_urls, ["10.1.2.3:5555"]);
        const { connectInfo } = await leaf.connect({ name: "ADV" });
        assert.deepEqual(connectInfo.leafnode_urls, ["10.1.2.3:5555"]);
      } finally {
        await leaf.dispose();
      }
    }),
});

Deno.test({
  name: "leaf urls - no_advertise on a lone hub still lists its own URL",
  ...HUB_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub({ leafnodes: { no_advertise: true } });
      const leaf = await dialFakeLeaf(hub.leafPort!);
      try {
        assert.deepEqual(leaf.info.leafnode_urls, [`127.0.0.1:${hub.leafPort}`]);
      } finally {
        await leaf.dispose();
      }
    }),
});

Deno.test({
  name: "leaf urls - a leaf told about a dead URL still relinks through its configured one",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      // The hub advertises a port nobody listens on; the leaf tries it first after a restart.
      const hub = await topology.hub({ leafnodes: { advertise: `127.0.0.1:${freePort()}` } });
      const leaf = await topology.leaf([remoteTo(hub)]);
      const onLeaf = await topology.client(leaf);
      const inbox = topology.inbox(onLeaf, "relinked");
      await inbox.awaitInterestFrom(await topology.client(hub));

      const restarted = await topology.restart(hub);
      await inbox.awaitInterestFrom(await topology.client(restarted), 15_000);
      assert.ok(inbox.probes >= 2);
    }),
});
