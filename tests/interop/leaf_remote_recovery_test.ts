/**
 * How a leaf's remote recovers, against a fake hub: it reconnects after a close and replays
 * its interest; it gives up on a hub that never finishes the handshake or that is not a
 * leafnode port; it backs off 30 s after a loop or a same-cluster-name refusal; and it dials
 * URLs the hub gossips in `leafnode_urls`, with the configured credentials. Tests the leaf only.
 */

import assert from "node:assert/strict";
import {
  LEAF_RECONNECT_SECONDS,
  leafImpl,
  leafTestOptions,
  withTopology,
} from "../helpers/leaf_topology.ts";
import type { Topology } from "../helpers/leaf_topology.ts";
import { hubInfo, LeafHarness, lines, listenFakeHub } from "../helpers/raw_leaf.ts";
import type { FakeHub } from "../helpers/raw_leaf.ts";
import type { ServerHandle } from "../helpers/server_process.ts";

const LEAF_ONLY = leafTestOptions(leafImpl());

/** Longer than one reconnect interval plus slack: a leaf that is not backing off is back. */
const RECONNECT_WINDOW_MS = LEAF_RECONNECT_SECONDS * 1_000 + 1_500;

/** Long enough to see that a leaf does NOT come back (it should wait 30 s). */
const PENALTY_WINDOW_MS = LEAF_RECONNECT_SECONDS * 1_000 + 1_500;

const LOOP_ERR = `-ERR 'Loop detected for leafnode account="$G". ` +
  `Delaying attempt to reconnect for 30s'\r\n`;

async function withFakeHub(
  body: (fakeHub: FakeHub, leaf: ServerHandle, topology: Topology) => Promise<void>,
  remote: Record<string, unknown> = {},
) {
  const fakeHub = listenFakeHub();
  try {
    await withTopology(async (topology) => {
      const leaf = await topology.leaf([{ url: fakeHub.url, ...remote }]);
      await body(fakeHub, leaf, topology);
    });
  } finally {
    await fakeHub.close();
  }
}

/** True when the leaf dials the fake hub again within `windowMs`. */
async function redials(fakeHub: FakeHub, windowMs: number): Promise<boolean> {
  try {
    const connection = await fakeHub.accept(windowMs);
    await connection.dispose();
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name:
    "leaf remote recovery - after the hub closes the link the leaf redials and replays interest",
  ...LEAF_ONLY,
  fn: () =>
    withFakeHub(async (fakeHub, leaf) => {
      const harness = await LeafHarness.open(fakeHub, leaf.port);
      try {
        await harness.clientStep("SUB kept 1\r\nSUB kept.q g 2\r\n");
        await harness.hub.dispose();

        const started = performance.now();
        const connection = await fakeHub.accept(RECONNECT_WINDOW_MS + 1_000);
        const elapsed = performance.now() - started;
        await connection.sendInfo(hubInfo(fakeHub.port));
        await connection.readConnect();
        const { nonce: _nonce, ...rest } = hubInfo(fakeHub.port);
        await connection.sendInfo({ ...rest, connect_info: true, remote_account: "$G" });
        const dump = lines(await connection.sync()).filter((line) => !line.includes("$"));
        assert.deepEqual(dump.sort(), ["LS+ barrier.req", "LS+ kept", "LS+ kept.q g 1"]);
        assert.ok(elapsed > 500, `redialed after ${elapsed} ms, the interval is 1 s`);
        await connection.dispose();
      } finally {
        await harness.dispose();
      }
    }),
});

Deno.test({
  name: "leaf remote recovery - the hub's own $LDS coming back is a loop: -ERR, close, 30 s pause",
  ...LEAF_ONLY,
  fn: () =>
    withFakeHub(async (fakeHub, leaf) => {
      const harness = await LeafHarness.open(fakeHub, leaf.port);
      try {
        const lds = lines(harness.dump).find((line) => line.startsWith("LS+ $LDS."));
        assert.ok(lds, `the leaf sent its $LDS subject: ${lines(harness.dump)}`);
        await harness.hub.send(`${lds}\r\n`);
        assert.equal(await harness.hub.expectClosed(), LOOP_ERR);
        assert.match(leaf.logs(), /Loop detected for leafnode account="\$G"/);
        assert.ok(!(await redials(fakeHub, PENALTY_WINDOW_MS)), "no redial within the penalty");
      } finally {
        await harness.dispose();
      }
    }),
});

Deno.test({
  name: "leaf remote recovery - a loop -ERR from the hub makes the leaf wait 30 s to redial",
  ...LEAF_ONLY,
  fn: () =>
    withFakeHub(async (fakeHub, leaf) => {
      const harness = await LeafHarness.open(fakeHub, leaf.port);
      try {
        await harness.hub.send(LOOP_ERR);
        await harness.hub.dispose();
        assert.ok(!(await redials(fakeHub, PENALTY_WINDOW_MS)), "no redial within the penalty");
        assert.match(leaf.logs(), /Loop detected/);
      } finally {
        await harness.dispose();
      }
    }),
});

Deno.test({
  name: "leaf remote recovery - 'remote leafnode has same cluster name' makes the leaf wait 30 s",
  ...LEAF_ONLY,
  fn: () =>
    withFakeHub(async (fakeHub) => {
      const connection = await fakeHub.accept();
      await connection.sendInfo(hubInfo(fakeHub.port));
      await connection.readConnect();
      await connection.send("-ERR 'remote leafnode has same cluster name'\r\n");
      await connection.dispose();
      assert.ok(!(await redials(fakeHub, PENALTY_WINDOW_MS)), "no redial within the penalty");
    }),
});

Deno.test({
  name: "leaf remote recovery - no connect_info within 2 s: 'Stale Leaf Node Connection', redial",
  ...LEAF_ONLY,
  fn: () =>
    withFakeHub(async (fakeHub) => {
      const connection = await fakeHub.accept();
      await connection.sendInfo(hubInfo(fakeHub.port));
      await connection.readConnect();
      const started = performance.now();
      const text = await connection.expectClosed(4_000);
      const elapsed = performance.now() - started;
      assert.equal(text, "-ERR 'Stale Leaf Node Connection - Closing'\r\n");
      assert.ok(elapsed > 1_500 && elapsed < 3_500, `closed after ${elapsed} ms, expected ~2 s`);
      assert.ok(await redials(fakeHub, RECONNECT_WINDOW_MS), "the leaf tries again");
    }),
});

for (
  const [why, overrides] of [
    ["client_id 0", { client_id: 0 }],
    ["no leafnode_urls", { leafnode_urls: undefined }],
  ] as const
) {
  Deno.test({
    name: `leaf remote recovery - an INFO with ${why} is a wrong port: no CONNECT, redial`,
    ...LEAF_ONLY,
    fn: () =>
      withFakeHub(async (fakeHub, leaf) => {
        const connection = await fakeHub.accept();
        await connection.sendInfo(hubInfo(fakeHub.port, overrides));
        assert.equal(await connection.expectClosed(), "", "closed without a CONNECT");
        assert.match(leaf.logs(), /wrong port/);
        assert.ok(await redials(fakeHub, RECONNECT_WINDOW_MS), "the leaf tries again");
      }),
  });
}

Deno.test({
  name: "leaf remote recovery - an empty leafnode_urls array is fine",
  ...LEAF_ONLY,
  fn: () =>
    withFakeHub(async (fakeHub) => {
      const { connect } = await fakeHub.acceptAndHandshake({ info: { leafnode_urls: [] } });
      assert.equal(typeof connect.name, "string");
    }),
});

Deno.test({
  name: "leaf remote recovery - a hub that sends no INFO within 1 s is dropped and redialed",
  ...LEAF_ONLY,
  fn: () =>
    withFakeHub(async (fakeHub) => {
      const silent = await fakeHub.accept();
      const started = performance.now();
      assert.equal(await silent.expectClosed(3_000), "", "the leaf sent nothing");
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 2_500, `gave up after ${elapsed} ms, expected ~1 s`);
      assert.ok(await redials(fakeHub, RECONNECT_WINDOW_MS), "the leaf tries again");
    }),
});

Deno.test({
  name: "leaf remote recovery - gossiped leafnode_urls are dialed with the configured credentials",
  ...LEAF_ONLY,
  fn: async () => {
    const first = listenFakeHub();
    const gossiped = listenFakeHub();
    try {
      await withTopology(async (topology) => {
        await topology.leaf([{ url: `nats-leaf://u:p@127.0.0.1:${first.port}` }]);
        const { connection } = await first.acceptAndHandshake({
          info: { leafnode_urls: [`127.0.0.1:${first.port}`, `127.0.0.1:${gossiped.port}`] },
        });
        // With the first hub gone for good, only the gossiped URL can answer.
        await first.close();
        await connection.dispose();
        const { connect } = await gossiped.acceptAndHandshake();
        assert.equal(connect.user, "u");
        assert.equal(connect.pass, "p");
      });
    } finally {
      await Promise.all([first.close(), gossiped.close()]);
    }
  },
});
