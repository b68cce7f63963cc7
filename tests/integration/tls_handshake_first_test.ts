/**
 * `handshake_first` on leafnode links, Canopy ↔ Canopy (nats-server 2.9.10 does not know the
 * key, so these are ignored when `CANOPY_TEST_TARGET=nats-server`):
 * - set on both sides, TLS runs before any INFO and the link carries messages;
 * - set on the hub only, the hub waits for a ClientHello that never comes and times out while
 *   the remote waits for an INFO that never comes; the remote keeps retrying;
 * - set on the remote only, the remote's ClientHello is answered by a plaintext INFO, which it
 *   reports clearly, and it keeps retrying.
 * Either way the servers keep serving their ordinary clients.
 */

import assert from "node:assert/strict";
import {
  awaitFlow,
  countOccurrences,
  eventually,
  leafTestOptions,
  leafUrl,
  withTopology,
} from "../helpers/leaf_topology.ts";
import type { Topology } from "../helpers/leaf_topology.ts";
import { type TestCerts, testCerts } from "../helpers/certs.ts";
import { connectRaw } from "../helpers/raw_client.ts";
import { type ServerHandle, targetImpl } from "../helpers/server_process.ts";

const CANOPY_ONLY = {
  ...leafTestOptions("canopy", "canopy"),
  ignore: targetImpl() !== "canopy",
};

/** Canopy takes fractions of a second; short waits keep the failing-link tests fast. */
const FAST_RECONNECT_SECONDS = 0.25;

/** The hub's TLS handshake timeout in the mismatch tests. */
const HUB_TLS_TIMEOUT_SECONDS = 0.5;

/** How long a failing remote gets to show two attempts. */
const RETRY_WINDOW_MS = 6_000;

/** A remote's failed prelude (dial, first INFO, TLS) as Canopy logs it. */
const PRELUDE_FAILED = /\[ERR\] Leafnode connection to [^ ]+ failed: [^\n]*/g;

const LINK_CREATED = "Leafnode connection created";

/** A hub on Canopy whose leafnode port requires TLS with a client certificate. */
function startHub(
  topology: Topology,
  certs: TestCerts,
  handshakeFirst: boolean,
): Promise<ServerHandle> {
  return topology.hub({
    leafnodes: {
      tls: {
        cert_file: certs.server.certFile,
        key_file: certs.server.keyFile,
        ca_file: certs.ca.certFile,
        verify: true,
        timeout: HUB_TLS_TIMEOUT_SECONDS,
        ...(handshakeFirst ? { handshake_first: true } : {}),
      },
    },
  }, { impl: "canopy" });
}

/** A Canopy leaf with a client certificate for `hub`, and a quick reconnect. */
function startLeaf(
  topology: Topology,
  certs: TestCerts,
  hub: ServerHandle,
  handshakeFirst: boolean,
): Promise<ServerHandle> {
  return topology.leaf(
    [{
      url: leafUrl(hub),
      // Longer than the hub's TLS timeout, so that in the hub-only mismatch the hub gives up first.
      first_info_timeout: 2,
      tls: {
        cert_file: certs.client.certFile,
        key_file: certs.client.keyFile,
        ca_file: certs.ca.certFile,
        timeout: 1,
        ...(handshakeFirst ? { handshake_first: true } : {}),
      },
    }],
    { leafnodes: { reconnect: FAST_RECONNECT_SECONDS } },
    { impl: "canopy" },
  );
}

/** Waits until the leaf logged `count` failed preludes; returns their lines. */
async function failedPreludes(leaf: ServerHandle, count: number): Promise<string[]> {
  await eventually(
    () => countOccurrences(leaf.logs(), PRELUDE_FAILED) >= count,
    RETRY_WINDOW_MS,
  );
  const lines = leaf.logs().match(PRELUDE_FAILED) ?? [];
  assert.ok(
    lines.length >= count,
    `the remote keeps retrying: ${count} failed attempts expected, got ${lines.length}:\n` +
      leaf.logs(),
  );
  return lines;
}

/** Two clients of `server` reach each other: it still serves ordinary clients. */
async function assertServesClients(topology: Topology, server: ServerHandle): Promise<void> {
  const a = await topology.client(server);
  const b = await topology.client(server);
  await awaitFlow(a, b, 2_000);
}

Deno.test({
  name: "tls handshake_first - set on hub and remote, the link carries messages both ways",
  ...CANOPY_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const certs = await testCerts();
      const hub = await startHub(topology, certs, true);

      // The hub speaks no NATS before TLS: a plaintext peer gets no INFO.
      const raw = await connectRaw(hub.leafPort!);
      try {
        await assert.rejects(raw.readUntil("\r\n", 300), /within 300 ms/);
        assert.equal(raw.bytesRead, 0, "nothing in plaintext before the handshake");
      } finally {
        await raw.dispose();
      }

      const leaf = await startLeaf(topology, certs, hub, true);
      const onHub = await topology.client(hub);
      const onLeaf = await topology.client(leaf);
      const down = topology.inbox(onLeaf, "hf.down");
      await down.awaitInterestFrom(onHub);
      onHub.publish("hf.down", "to the leaf");
      await down.waitForCount(1);
      const up = topology.inbox(onHub, "hf.up");
      await up.awaitInterestFrom(onLeaf);
      onLeaf.publish("hf.up", "to the hub");
      await up.waitForCount(1);
      assert.deepEqual([down.payloads, up.payloads], [["to the leaf"], ["to the hub"]]);
      assert.equal(countOccurrences(leaf.logs(), PRELUDE_FAILED), 0, "linked on the first try");
    }),
});

Deno.test({
  name: "tls handshake_first - set on the hub only, the hub times out waiting for a ClientHello " +
    "and the remote keeps retrying",
  ...CANOPY_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const certs = await testCerts();
      const hub = await startHub(topology, certs, true);
      const leaf = await startLeaf(topology, certs, hub, false);

      const failures = await failedPreludes(leaf, 2);
      for (const line of failures) assert.match(line, /INFO/, "the remote got no INFO");
      assert.match(hub.logs(), /TLS handshake error: .*no TLS handshake within 500 ms/);
      assert.ok(!hub.logs().includes(LINK_CREATED), "the link never comes up on the hub");
      assert.ok(!leaf.logs().includes(LINK_CREATED), "the link never comes up on the leaf");

      await assertServesClients(topology, hub);
      await assertServesClients(topology, leaf);
    }),
});

Deno.test({
  name: "tls handshake_first - set on the remote only, the remote reports the plaintext INFO " +
    "it got and keeps retrying",
  ...CANOPY_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const certs = await testCerts();
      const hub = await startHub(topology, certs, false);
      const leaf = await startLeaf(topology, certs, hub, true);

      const failures = await failedPreludes(leaf, 2);
      for (const line of failures) {
        assert.match(line, /TLS/);
        // Whatever the TLS layer calls it, the line must say what arrived: a plaintext INFO,
        // not a handshake record.
        assert.match(line, /INFO|plaintext|not (look like )?a TLS/i);
      }
      assert.ok(!hub.logs().includes(LINK_CREATED), "the link never comes up on the hub");
      assert.ok(!leaf.logs().includes(LINK_CREATED), "the link never comes up on the leaf");

      await assertServesClients(topology, hub);
      await assertServesClients(topology, leaf);
    }),
});
