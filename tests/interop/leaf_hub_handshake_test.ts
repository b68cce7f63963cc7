/**
 * The hub's side of the leafnode handshake, on the wire: a fake leaf reads the first INFO,
 * sends CONNECT, and checks the `connect_info` INFO and the initial LS+ dump. Tests the hub
 * implementation only.
 */

import assert from "node:assert/strict";
import { hubImpl, leafTestOptions, withTopology } from "../helpers/leaf_topology.ts";
import { dialFakeLeaf, lines } from "../helpers/raw_leaf.ts";
import type { LeafOp } from "../helpers/raw_leaf.ts";
import { connectRaw, parseInfo } from "../helpers/raw_client.ts";

const HUB_ONLY = leafTestOptions(hubImpl());

/** `$LDS.` + a 22-character NUID: the loop-detection subject of an account. */
const LDS_LINE = /^LS\+ \$LDS\.[A-Za-z0-9]{22}$/;

/**
 * The dump without the `$SYS.REQ…` service imports nats-server adds to every account; a hub
 * without a system account (Canopy) has none of them.
 */
function withoutSystemImports(dump: LeafOp[]): string[] {
  return lines(dump).filter((line) => !line.startsWith("LS+ $SYS."));
}

Deno.test({
  name: "leaf hub handshake - the first INFO has every field a leaf checks",
  ...HUB_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub({ max_payload: 65536 }, { name: "WIREHUB" });
      const raw = await connectRaw(hub.leafPort!);
      try {
        const line = await raw.readUntil("\r\n");
        assert.match(line, /^INFO \{.*\} ?\r\n$/, "one INFO line first");
        const info = parseInfo(line);
        assert.equal(info.server_name, "WIREHUB");
        assert.equal(typeof info.server_id, "string");
        assert.ok(
          typeof info.client_id === "number" && info.client_id > 0,
          "a non-zero client_id: leaves treat 0 as a wrong port",
        );
        assert.ok(Array.isArray(info.leafnode_urls), "leafnode_urls must be present");
        assert.deepEqual(info.leafnode_urls, [`127.0.0.1:${hub.leafPort}`]);
        assert.match(String(info.nonce), /^[A-Za-z0-9_-]{15}$/);
        assert.equal(info.headers, true);
        assert.equal(info.auth_required, true, "always true on the leafnode port");
        assert.equal(info.info_on_connect, true);
        assert.equal(info.max_payload, 65536);
        assert.equal(info.port, hub.leafPort);
        assert.equal(info.connect_info, undefined);
        assert.equal(info.tls_required, undefined);
        assert.equal(info.connect_urls, undefined, "client URLs are not for leaves");
      } finally {
        await raw.dispose();
      }
    }),
});

Deno.test({
  name: "leaf hub handshake - each connection gets its own client_id and a fresh nonce",
  ...HUB_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      const first = await dialFakeLeaf(hub.leafPort!);
      const second = await dialFakeLeaf(hub.leafPort!);
      try {
        assert.notEqual(first.info.client_id, second.info.client_id);
        assert.notEqual(first.info.nonce, second.info.nonce);
      } finally {
        await Promise.all([first.dispose(), second.dispose()]);
      }
    }),
});

Deno.test({
  name: "leaf hub handshake - CONNECT is answered with a connect_info INFO naming the account",
  ...HUB_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      const leaf = await dialFakeLeaf(hub.leafPort!);
      try {
        const { connectInfo, dump } = await leaf.connect({ name: "FAKE", headers: true });
        assert.equal(connectInfo.connect_info, true);
        assert.equal(connectInfo.remote_account, "$G");
        assert.equal(connectInfo.nonce, undefined, "the nonce is only in the first INFO");
        assert.deepEqual(connectInfo.leafnode_urls, [`127.0.0.1:${hub.leafPort}`]);
        assert.deepEqual(withoutSystemImports(dump).length, 1);
        assert.match(withoutSystemImports(dump)[0], LDS_LINE);
        assert.ok(!leaf.closed, "the link stays up");
      } finally {
        await leaf.dispose();
      }
    }),
});

Deno.test({
  name: "leaf hub handshake - an empty CONNECT {} is enough on a hub without auth",
  ...HUB_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      const leaf = await dialFakeLeaf(hub.leafPort!);
      try {
        const { connectInfo } = await leaf.connect({});
        assert.equal(connectInfo.remote_account, "$G");
        assert.deepEqual(await leaf.sync(), [], "nothing but the PONG afterwards");
      } finally {
        await leaf.dispose();
      }
    }),
});

Deno.test({
  name: "leaf hub handshake - the dump aggregates existing subscriptions, queue groups by weight",
  ...HUB_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      const client = await connectRaw(hub.port);
      const leaf = await dialFakeLeaf(hub.leafPort!);
      try {
        await client.handshake();
        await client.send(
          "SUB foo 1\r\nSUB foo 2\r\nSUB bar baz 3\r\nSUB bar baz 4\r\nSUB wild.* 5\r\n" +
            "SUB tail.> q 6\r\nPING\r\n",
        );
        await client.readUntil("PONG\r\n");

        const { dump } = await leaf.connect({ name: "FAKE" });
        const got = withoutSystemImports(dump);
        const lds = got.filter((line) => LDS_LINE.test(line));
        assert.equal(lds.length, 1, `one $LDS subject in ${JSON.stringify(got)}`);
        assert.deepEqual(
          got.filter((line) => !LDS_LINE.test(line)).sort(),
          ["LS+ bar baz 2", "LS+ foo", "LS+ tail.> q 1", "LS+ wild.*"],
        );
      } finally {
        await Promise.all([client.dispose(), leaf.dispose()]);
      }
    }),
});

Deno.test({
  name: "leaf hub handshake - each account has its own $LDS subject, stable across connections",
  ...HUB_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub({
        accounts: { A: { users: [{ user: "a", password: "pa" }] } },
        leafnodes: {
          authorization: {
            users: [
              { user: "la", password: "pla", account: "A" },
              { user: "lg", password: "plg", account: "$G" },
            ],
          },
        },
      });
      const ldsOf = async (user: string, password: string) => {
        const leaf = await dialFakeLeaf(hub.leafPort!);
        try {
          const { dump } = await leaf.connect({ name: `F-${user}`, user, pass: password });
          return lines(dump).filter((line) => LDS_LINE.test(line));
        } finally {
          await leaf.dispose();
        }
      };
      const inA = await ldsOf("la", "pla");
      const inG = await ldsOf("lg", "plg");
      const inAAgain = await ldsOf("la", "pla");
      assert.equal(inA.length, 1);
      assert.equal(inG.length, 1);
      assert.notEqual(inA[0], inG[0], "one subject per account");
      assert.deepEqual(inAAgain, inA, "the same subject for the server's lifetime");
    }),
});
