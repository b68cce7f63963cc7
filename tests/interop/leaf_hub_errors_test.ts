/**
 * Protocol errors a hub reports to a leaf after CONNECT, each with nats-server's exact `-ERR`
 * text and a close: the leaf echoing the hub's own `$LDS` subject (a loop), literal interest in
 * the JetStream API subjects every leaf link denies, unknown operations, bad payload framing,
 * a second connection from the same leaf, and a leaf with the hub's own cluster name. Tests the
 * hub implementation only.
 */

import assert from "node:assert/strict";
import { hubImpl, leafTestOptions, withTopology } from "../helpers/leaf_topology.ts";
import { dialFakeLeaf, HubHarness, lines, listenFakeHub } from "../helpers/raw_leaf.ts";
import type { FakeLeaf } from "../helpers/raw_leaf.ts";
import type { ServerHandle } from "../helpers/server_process.ts";

const HUB_ONLY = leafTestOptions(hubImpl());

/** Connects a fake leaf, runs `body`, and always disposes of it. */
async function withFakeLeaf(
  hub: ServerHandle,
  connect: Record<string, unknown>,
  body: (leaf: FakeLeaf, dump: string[]) => Promise<void>,
) {
  const leaf = await dialFakeLeaf(hub.leafPort!);
  try {
    const { dump } = await leaf.connect(connect);
    await body(leaf, lines(dump));
  } finally {
    await leaf.dispose();
  }
}

Deno.test({
  name: "leaf hub errors - the leaf echoing the hub's own $LDS subject is a loop",
  ...HUB_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      await withFakeLeaf(hub, { name: "LOOPY" }, async (leaf, dump) => {
        const lds = dump.find((line) => line.startsWith("LS+ $LDS."));
        assert.ok(lds, `the dump has an $LDS subject: ${dump}`);
        await leaf.send(`${lds}\r\n`);
        assert.equal(
          await leaf.expectClosed(),
          `-ERR 'Loop detected for leafnode account="$G". Delaying attempt to reconnect for 30s'\r\n`,
        );
      });
      assert.match(hub.logs(), /Loop detected for leafnode account="\$G"/);
    }),
});

Deno.test({
  name: "leaf hub errors - another server's $LDS subject is ordinary interest",
  ...HUB_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      await withFakeLeaf(hub, { name: "FOREIGN" }, async (leaf) => {
        await leaf.send("LS+ $LDS.aaaaaaaaaaaaaaaaaaaaaa\r\n");
        assert.deepEqual(await leaf.sync(), []);
        assert.ok(!leaf.closed);
      });
    }),
});

for (const subject of ["$JS.API.INFO", "$KV.bucket.key", "$OBJ.store.chunk"]) {
  Deno.test({
    name: `leaf hub errors - literal interest in ${subject} is a permissions violation`,
    ...HUB_ONLY,
    fn: () =>
      withTopology(async (topology) => {
        const hub = await topology.hub();
        await withFakeLeaf(hub, { name: "JS" }, async (leaf) => {
          await leaf.send(`LS+ ${subject}\r\n`);
          assert.equal(
            await leaf.expectClosed(),
            `-ERR 'Permissions Violation for Subscription to "${subject}"'\r\n`,
          );
        });
      }),
  });
}

Deno.test({
  name: "leaf hub errors - an unknown operation gets 'Unknown Protocol Operation' and a close",
  ...HUB_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      await withFakeLeaf(hub, { name: "XYZ" }, async (leaf) => {
        await leaf.send("XYZ foo\r\n");
        assert.equal(await leaf.expectClosed(), "-ERR 'Unknown Protocol Operation'\r\n");
      });
    }),
});

Deno.test({
  name: "leaf hub errors - a payload longer than its LMSG size gets 'Unknown Protocol Operation'",
  ...HUB_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      await withFakeLeaf(hub, { name: "SIZE" }, async (leaf) => {
        await leaf.send("LMSG foo 2\r\nhiXX\r\n");
        assert.equal(await leaf.expectClosed(), "-ERR 'Unknown Protocol Operation'\r\n");
      });
    }),
});

Deno.test({
  name: "leaf hub errors - a second connection from the same leaf replaces the first",
  ...HUB_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      // remote_account makes this a duplicate for 2.10+ hubs too, which ignore leaves without it.
      const identity = { name: "TWIN", cluster: "TWIN", remote_account: "$G" };
      await withFakeLeaf(hub, identity, async (first) => {
        await withFakeLeaf(hub, identity, async (second) => {
          assert.equal(
            await first.expectClosed(),
            "-ERR 'Duplicate Remote LeafNode Connection'\r\n",
          );
          assert.deepEqual(await second.sync(), [], "the newer connection stays up");
          assert.ok(!second.closed);
        });
      });
    }),
});

Deno.test({
  name: "leaf hub errors - a leaf with the hub's own cluster name is refused",
  ...HUB_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      // A server with remotes and no cluster block takes its server name as cluster name.
      const upstream = listenFakeHub();
      try {
        const hub = await topology.hub({
          leafnodes: { reconnect: 1, remotes: [{ url: upstream.url }] },
        }, { name: "SAMECLUSTER" });
        const leaf = await dialFakeLeaf(hub.leafPort!);
        try {
          await leaf.send('CONNECT {"name":"OTHER","cluster":"SAMECLUSTER"}\r\n');
          assert.equal(
            await leaf.expectClosed(),
            "-ERR 'remote leafnode has same cluster name'\r\n",
          );
        } finally {
          await leaf.dispose();
        }
      } finally {
        await upstream.close();
      }
    }),
});

Deno.test({
  name: "leaf hub errors - a leaf that dies mid-handshake leaves the hub serving others",
  ...HUB_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      const quitter = await dialFakeLeaf(hub.leafPort!);
      await quitter.send('CONNECT {"name":"QUIT"}\r\nLS+ half');
      await quitter.dispose();
      const harness = await HubHarness.open(hub.port, hub.leafPort!);
      try {
        await harness.leafStep("LS+ still.works\r\n");
        const { leaf } = await harness.clientStep("PUB still.works 2\r\nok\r\n");
        assert.deepEqual(lines(leaf), ["LMSG still.works 2"]);
      } finally {
        await harness.dispose();
      }
    }),
});
