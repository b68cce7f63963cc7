/**
 * Leafnode links over TLS (`[leafnodes.tls]` on the hub, `tls` in a remote):
 * - mutual TLS (`verify: true`) carries messages both ways. Hub and leaf come from
 *   `LEAF_TEST_HUB` / `LEAF_TEST_LEAF`, so across the `deno task test` passes this runs Canopy ↔
 *   Canopy, Canopy leaf → nats-server hub, nats-server leaf → Canopy hub, and the reference.
 * - Canopy only: a remote follows the hub's `tls_required` (with only `ca_file`, with
 *   `insecure`, or with no `tls` block at all), and refuses bad certificates (unknown CA,
 *   expired, wrong host) with a log line naming the reason, then keeps retrying; a hub with
 *   `verify` refuses a leaf certificate from another CA. The log texts are Canopy's, so these
 *   run once, in the Canopy ↔ Canopy pairing.
 */

import assert from "node:assert/strict";
import {
  awaitFlow,
  countOccurrences,
  eventually,
  hubImpl,
  leafImpl,
  leafTestOptions,
  leafUrl,
  remoteTo,
  withTopology,
} from "../helpers/leaf_topology.ts";
import type { Topology } from "../helpers/leaf_topology.ts";
import { type CertFiles, type TestCerts, testCerts } from "../helpers/certs.ts";
import type { ServerHandle } from "../helpers/server_process.ts";

/**
 * Canopy-only scenarios: run in the default pairing (both `canopy`) and are ignored in the
 * interop and reference passes, which would only repeat them unchanged.
 */
const CANOPY_ONLY = {
  ...leafTestOptions("canopy", "canopy"),
  ignore: hubImpl() !== "canopy" || leafImpl() !== "canopy",
};

/** Canopy takes fractions of a second; short waits keep the failing-link tests fast. */
const FAST_RECONNECT_SECONDS = 0.25;

/** How long a failing remote gets to show two attempts (several reconnect intervals). */
const RETRY_WINDOW_MS = 5_000;

/** A remote's failed prelude (dial, first INFO, TLS) as Canopy logs it, for counting attempts. */
const PRELUDE_FAILED = /\[ERR\] Leafnode connection to [^ ]+ failed: /;

/** A listener-side TLS failure, as both implementations log it. */
const HUB_TLS_ERROR = "TLS handshake error";

/** `[leafnodes.tls]` of a hub presenting `cert`; `verify` asks leaves for a certificate. */
function hubTls(
  certs: TestCerts,
  options: { cert?: CertFiles; verify?: boolean } = {},
): Record<string, unknown> {
  const cert = options.cert ?? certs.server;
  return {
    leafnodes: {
      tls: {
        cert_file: cert.certFile,
        key_file: cert.keyFile,
        ca_file: certs.ca.certFile,
        ...(options.verify ? { verify: true } : {}),
        timeout: 2,
      },
    },
  };
}

/** A Canopy leaf (fast reconnect) with one remote to `url` carrying `tls` (none when undefined). */
function canopyLeaf(
  topology: Topology,
  url: string,
  tls: Record<string, unknown> | undefined,
): Promise<ServerHandle> {
  return topology.leaf(
    [{ url, ...(tls === undefined ? {} : { tls }) }],
    { leafnodes: { reconnect: FAST_RECONNECT_SECONDS } },
    { impl: "canopy" },
  );
}

/** Messages published on each side reach a subscriber on the other. */
async function assertFlowsBothWays(
  topology: Topology,
  hub: ServerHandle,
  leaf: ServerHandle,
): Promise<void> {
  const onHub = await topology.client(hub);
  const onLeaf = await topology.client(leaf);

  const atLeaf = topology.inbox(onLeaf, "tls.down");
  await atLeaf.awaitInterestFrom(onHub);
  onHub.publish("tls.down", "from the hub");
  await atLeaf.waitForCount(1);
  assert.deepEqual(atLeaf.payloads, ["from the hub"]);

  const atHub = topology.inbox(onHub, "tls.up");
  await atHub.awaitInterestFrom(onLeaf);
  onLeaf.publish("tls.up", "from the leaf");
  await atHub.waitForCount(1);
  assert.deepEqual(atHub.payloads, ["from the leaf"]);
}

/** Waits until the leaf logged at least `count` failed preludes; returns the matching lines. */
async function failedPreludes(leaf: ServerHandle, count: number): Promise<string[]> {
  const seen = await eventually(
    () => countOccurrences(leaf.logs(), PRELUDE_FAILED) >= count,
    RETRY_WINDOW_MS,
  );
  const lines = leaf.logs().split("\n").filter((line) => PRELUDE_FAILED.test(line));
  assert.ok(
    seen,
    `the remote retries: ${count} failed attempts expected, got ${lines.length}:\n${leaf.logs()}`,
  );
  return lines;
}

Deno.test({
  name: "tls leaf - a mutual TLS link (verify) carries messages both ways",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const certs = await testCerts();
      const hub = await topology.hub(hubTls(certs, { verify: true }));
      const leaf = await topology.leaf([
        remoteTo(hub, {
          extra: {
            tls: {
              cert_file: certs.client.certFile,
              key_file: certs.client.keyFile,
              ca_file: certs.ca.certFile,
              timeout: 2,
            },
          },
        }),
      ]);
      await assertFlowsBothWays(topology, hub, leaf);
      assert.doesNotMatch(hub.logs(), new RegExp(HUB_TLS_ERROR), "no failed handshake first");
    }),
});

Deno.test({
  name: "tls leaf - a remote whose tls block has only 'ca_file' links to a TLS hub",
  ...CANOPY_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const certs = await testCerts();
      const hub = await topology.hub(hubTls(certs), { impl: "canopy" });
      const leaf = await canopyLeaf(topology, leafUrl(hub), { ca_file: certs.ca.certFile });
      await assertFlowsBothWays(topology, hub, leaf);
    }),
});

Deno.test({
  name: "tls leaf - a remote with 'insecure' accepts a hub certificate it cannot verify",
  ...CANOPY_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const certs = await testCerts();
      // Neither its CA (no 'ca_file', so the system roots) nor its name would pass a check.
      const hub = await topology.hub(hubTls(certs, { cert: certs.wrongHostServer }), {
        impl: "canopy",
      });
      const leaf = await canopyLeaf(topology, leafUrl(hub), { insecure: true });
      await assertFlowsBothWays(topology, hub, leaf);
    }),
});

Deno.test({
  name: "tls leaf - a remote without a tls block starts TLS when the hub's INFO requires it",
  ...CANOPY_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const certs = await testCerts();
      const hub = await topology.hub(hubTls(certs), { impl: "canopy" });
      const leaf = await canopyLeaf(topology, leafUrl(hub), undefined);
      // The handshake runs and then fails: with no 'ca_file' only the system roots are trusted,
      // and they do not know the test CA. A remote sending plaintext CONNECT would instead get
      // a "not TLS" complaint from the hub.
      const [first] = await failedPreludes(leaf, 2);
      assert.match(first, /unknown authority/);
      assert.match(first, /system roots/);
      assert.doesNotMatch(hub.logs(), /where a TLS ClientHello was required/);
    }),
});

Deno.test({
  name: "tls leaf - a remote that does not trust the hub's CA fails, says why, and retries",
  ...CANOPY_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const certs = await testCerts();
      const hub = await topology.hub(hubTls(certs), { impl: "canopy" });
      const leaf = await canopyLeaf(topology, leafUrl(hub), { ca_file: certs.badCa.certFile });
      const [first] = await failedPreludes(leaf, 2);
      assert.match(first, /signed by an unknown authority/);
      assert.match(first, /Canopy Test CA/, "names the issuer it did not trust");
      assert.match(first, /'ca_file'/);
      await assertHubStillServes(topology, hub);
    }),
});

Deno.test({
  name: "tls leaf - a hub with verify rejects a leaf certificate from another CA",
  ...CANOPY_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const certs = await testCerts();
      const hub = await topology.hub(hubTls(certs, { verify: true }), { impl: "canopy" });
      const leaf = await canopyLeaf(topology, leafUrl(hub), {
        cert_file: certs.badClient.certFile,
        key_file: certs.badClient.keyFile,
        ca_file: certs.ca.certFile,
      });
      assert.ok(
        await eventually(
          () => countOccurrences(hub.logs(), /TLS handshake error: .*client certificate/) >= 2,
          RETRY_WINDOW_MS,
        ),
        `the hub refuses the certificate on every attempt:\n${hub.logs()}`,
      );
      assert.match(hub.logs(), /the client certificate was rejected/);
      assert.doesNotMatch(hub.logs(), /Leafnode connection created/i);
      await assertNoLink(topology, hub, leaf);
    }),
});

Deno.test({
  name: "tls leaf - a hub with verify rejects a leaf that presents no certificate",
  ...CANOPY_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const certs = await testCerts();
      const hub = await topology.hub(hubTls(certs, { verify: true }), { impl: "canopy" });
      const leaf = await canopyLeaf(topology, leafUrl(hub), { ca_file: certs.ca.certFile });
      assert.ok(
        await eventually(
          () => countOccurrences(hub.logs(), /TLS handshake error: .*no certificate/) >= 2,
          RETRY_WINDOW_MS,
        ),
        `the hub refuses the leaf on every attempt:\n${hub.logs()}`,
      );
      await assertNoLink(topology, hub, leaf);
    }),
});

Deno.test({
  name: "tls leaf - an expired hub certificate is rejected as expired",
  ...CANOPY_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const certs = await testCerts();
      const hub = await topology.hub(hubTls(certs, { cert: certs.expiredServer }), {
        impl: "canopy",
      });
      const leaf = await canopyLeaf(topology, leafUrl(hub), { ca_file: certs.ca.certFile });
      const [first] = await failedPreludes(leaf, 2);
      assert.match(first, /expired/);
      assert.match(first, /2020/, "says when it expired");
    }),
});

Deno.test({
  name: "tls leaf - a hub certificate for another host is rejected for its host name",
  ...CANOPY_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const certs = await testCerts();
      const hub = await topology.hub(hubTls(certs, { cert: certs.wrongHostServer }), {
        impl: "canopy",
      });
      // Dialled by name, so the certificate is checked for "localhost".
      const url = `nats-leaf://localhost:${hub.leafPort}`;
      const leaf = await canopyLeaf(topology, url, { ca_file: certs.ca.certFile });
      const [first] = await failedPreludes(leaf, 2);
      assert.match(first, /wrong-host\.example/, "names the host the certificate is for");
      assert.match(first, /"localhost"/, "names the host it dialled");
      assert.doesNotMatch(first, /unknown authority|expired/);
    }),
});

/** Clients of the hub still get served while leaves fail to link. */
async function assertHubStillServes(topology: Topology, hub: ServerHandle): Promise<void> {
  const a = await topology.client(hub);
  const b = await topology.client(hub);
  await awaitFlow(a, b, 2_000);
}

/** No message crosses between the hub and the leaf, and the hub still serves its clients. */
async function assertNoLink(
  topology: Topology,
  hub: ServerHandle,
  leaf: ServerHandle,
): Promise<void> {
  await assertHubStillServes(topology, hub);
  const onHub = await topology.client(hub);
  const onLeaf = await topology.client(leaf);
  await assert.rejects(
    awaitFlow(onHub, onLeaf, 1_000),
    /Cannot receive a probe/,
    "nothing crosses a link that never came up",
  );
}
