/**
 * The leaf's side of the handshake, on the wire: a fake hub accepts the leaf's remote
 * connection and checks its CONNECT, that it waits for the `connect_info` INFO before sending
 * interest, and its initial and ongoing LS+ / LS-. Tests the leaf implementation only.
 */

import assert from "node:assert/strict";
import { leafImpl, leafTestOptions, withTopology } from "../helpers/leaf_topology.ts";
import type { Topology } from "../helpers/leaf_topology.ts";
import { hubInfo, LeafHarness, lines, listenFakeHub } from "../helpers/raw_leaf.ts";
import type { FakeHub, LeafOp } from "../helpers/raw_leaf.ts";
import { connectRaw } from "../helpers/raw_client.ts";
import type { ServerHandle } from "../helpers/server_process.ts";

const LEAF_ONLY = leafTestOptions(leafImpl());

const LDS_LINE = /^LS\+ \$LDS\.[A-Za-z0-9]{22}$/;

/** Interest lines without the `$SYS.REQ…` imports nats-server adds to every account. */
function withoutSystemImports(ops: LeafOp[]): string[] {
  return lines(ops).filter((line) => !line.startsWith("LS+ $SYS."));
}

/** Runs `body` with a fake hub and a leaf whose single remote dials it. */
async function withFakeHub(
  remote: Record<string, unknown>,
  body: (fakeHub: FakeHub, leaf: ServerHandle, topology: Topology) => Promise<void>,
  config: Record<string, unknown> = {},
  name?: string,
) {
  const fakeHub = listenFakeHub();
  try {
    await withTopology(async (topology) => {
      const leaf = await topology.leaf([{ url: fakeHub.url, ...remote }], config, { name });
      await body(fakeHub, leaf, topology);
    });
  } finally {
    await fakeHub.close();
  }
}

Deno.test({
  name: "leaf remote handshake - CONNECT carries the leaf's name, cluster and header support",
  ...LEAF_ONLY,
  fn: () =>
    withFakeHub(
      {},
      async (fakeHub) => {
        const { connect } = await fakeHub.acceptAndHandshake();
        assert.equal(connect.name, "WIRELEAF");
        assert.equal(connect.cluster, "WIRELEAF", "no cluster block: the server name stands in");
        assert.equal(connect.headers, true);
        assert.equal(connect.lang, undefined, "a leaf is not a client");
        assert.equal(connect.is_hub, undefined);
        assert.equal(connect.user, undefined);
        assert.equal(connect.deny_pub, undefined);
      },
      {},
      "WIRELEAF",
    ),
});

Deno.test({
  name: "leaf remote handshake - URL userinfo becomes CONNECT user and pass",
  ...LEAF_ONLY,
  fn: async () => {
    const fakeHub = listenFakeHub();
    try {
      await withTopology(async (topology) => {
        await topology.leaf([{ url: `nats-leaf://myuser:mypass@127.0.0.1:${fakeHub.port}` }]);
        const { connect } = await fakeHub.acceptAndHandshake();
        assert.equal(connect.user, "myuser");
        assert.equal(connect.pass, "mypass");
      });
    } finally {
      await fakeHub.close();
    }
  },
});

Deno.test({
  name: "leaf remote handshake - deny_imports is sent as deny_pub, deny_exports is not sent",
  ...LEAF_ONLY,
  fn: () =>
    withFakeHub(
      { deny_imports: ["di.>", "di2"], deny_exports: ["de.>"] },
      async (fakeHub) => {
        const { connect } = await fakeHub.acceptAndHandshake();
        assert.deepEqual(connect.deny_pub, ["di.>", "di2"]);
        assert.ok(!JSON.stringify(connect).includes("de.>"));
      },
    ),
});

Deno.test({
  name: "leaf remote handshake - hub: true is sent as is_hub",
  ...LEAF_ONLY,
  fn: () =>
    withFakeHub({ hub: true }, async (fakeHub) => {
      const { connect } = await fakeHub.acceptAndHandshake();
      assert.equal(connect.is_hub, true);
    }),
});

Deno.test({
  name: "leaf remote handshake - no interest is sent before the connect_info INFO, the dump after",
  ...LEAF_ONLY,
  fn: () =>
    withFakeHub({}, async (fakeHub, leaf) => {
      const client = await connectRaw(leaf.port);
      try {
        await client.handshake();
        await client.send(
          "SUB leaf.sub 1\r\nSUB leaf.sub 2\r\nSUB leaf.q lq 3\r\nSUB leaf.q lq 4\r\n" +
            "SUB leaf.q lq2 5\r\nSUB leaf.* 6\r\nPING\r\n",
        );
        await client.readUntil("PONG\r\n");

        const connection = await fakeHub.accept();
        const info = hubInfo(fakeHub.port);
        await connection.sendInfo(info);
        await connection.readConnect();
        const beforeConnectInfo = await connection.sync();
        assert.deepEqual(lines(beforeConnectInfo), [], "nothing before connect_info");

        const { nonce: _nonce, ...rest } = info;
        await connection.sendInfo({ ...rest, connect_info: true, remote_account: "$G" });
        const dump = withoutSystemImports(await connection.sync());
        assert.equal(dump.filter((line) => LDS_LINE.test(line)).length, 1, `${dump}`);
        assert.deepEqual(dump.filter((line) => !LDS_LINE.test(line)).sort(), [
          "LS+ leaf.*",
          "LS+ leaf.q lq 2",
          "LS+ leaf.q lq2 1",
          "LS+ leaf.sub",
        ]);
      } finally {
        await client.dispose();
      }
    }),
});

Deno.test({
  name: "leaf remote handshake - client subscriptions send LS+ / LS- with refcounts and weights",
  ...LEAF_ONLY,
  fn: () =>
    withFakeHub({}, async (fakeHub, leaf) => {
      const harness = await LeafHarness.open(fakeHub, leaf.port);
      try {
        const step = async (text: string) => lines((await harness.clientStep(text)).hub);
        assert.deepEqual(await step("SUB foo 1\r\n"), ["LS+ foo"]);
        assert.deepEqual(await step("SUB foo 2\r\n"), []);
        assert.deepEqual(await step("SUB bar q 3\r\n"), ["LS+ bar q 1"]);
        assert.deepEqual(await step("SUB bar q 4\r\n"), ["LS+ bar q 2"]);
        assert.deepEqual(await step("UNSUB 1\r\n"), []);
        assert.deepEqual(await step("UNSUB 3\r\n"), ["LS+ bar q 1"]);
        assert.deepEqual(await step("UNSUB 2\r\nUNSUB 4\r\n"), ["LS- foo", "LS- bar q"]);
      } finally {
        await harness.dispose();
      }
    }),
});

Deno.test({
  name: "leaf remote handshake - the hub's interest is not echoed back to it",
  ...LEAF_ONLY,
  fn: () =>
    withFakeHub({}, async (fakeHub, leaf) => {
      const harness = await LeafHarness.open(fakeHub, leaf.port, {
        hubDump: ["LS+ from.hub", "LS+ from.hub.q g 1"],
      });
      try {
        assert.deepEqual(
          withoutSystemImports(harness.dump).filter((line) => !LDS_LINE.test(line)),
          [],
          "the dump holds only the leaf's own interest",
        );
        const { hub } = await harness.hubStep("LS+ later.from.hub\r\n");
        assert.deepEqual(lines(hub), []);
      } finally {
        await harness.dispose();
      }
    }),
});

Deno.test({
  name: "leaf remote handshake - JetStream API subjects are never advertised to the hub",
  ...LEAF_ONLY,
  fn: () =>
    withFakeHub({}, async (fakeHub, leaf) => {
      const harness = await LeafHarness.open(fakeHub, leaf.port);
      try {
        const { hub } = await harness.clientStep(
          "SUB $JS.API.INFO 1\r\nSUB $KV.b.k 2\r\nSUB $OBJ.s.c 3\r\nSUB allowed 4\r\n",
        );
        assert.deepEqual(lines(hub), ["LS+ allowed"]);
        assert.ok(!harness.hub.closed, "the link stays up");
      } finally {
        await harness.dispose();
      }
    }),
});
