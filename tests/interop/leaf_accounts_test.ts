/**
 * Accounts on a leafnode link: a remote's `account` chooses the local account it carries,
 * the hub's leafnode authorization chooses the hub account it lands in, and traffic never
 * leaks into another account on either side.
 */

import assert from "node:assert/strict";
import {
  awaitFlow,
  hubImpl,
  leafTestOptions,
  quietPeriod,
  remoteTo,
  withTopology,
} from "../helpers/leaf_topology.ts";
import { dialFakeLeaf } from "../helpers/raw_leaf.ts";

/** Two accounts with one user each, as nats-server and Canopy both write them. */
const TWO_ACCOUNTS = {
  A: { users: [{ user: "a", password: "pa" }] },
  B: { users: [{ user: "b", password: "pb" }] },
};

/** Time for a wrongly routed message to show up once the correctly routed one did. */
const LEAK_WINDOW_MS = 200;

Deno.test({
  name: "leaf accounts - remote account A carries only the leaf's account A",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      const leaf = await topology.leaf([remoteTo(hub, { account: "A" })], {
        accounts: TWO_ACCOUNTS,
      });
      const onHub = await topology.client(hub);
      const leafA = await topology.client(leaf, { user: "a", pass: "pa" });
      const leafB = await topology.client(leaf, { user: "b", pass: "pb" });

      const downA = topology.inbox(leafA, "acct.down");
      const downB = topology.inbox(leafB, "acct.down");
      await downA.awaitInterestFrom(onHub);
      const up = topology.inbox(onHub, "acct.up");
      await up.awaitInterestFrom(leafA);

      onHub.publish("acct.down", "to-leaf");
      leafB.publish("acct.up", "from-B");
      leafA.publish("acct.up", "from-A");
      await downA.waitForCount(1);
      await up.waitForCount(1);
      await up.drainFrom(leafA);
      await quietPeriod(LEAK_WINDOW_MS);

      assert.deepEqual(downA.payloads, ["to-leaf"]);
      assert.deepEqual(downB.payloads, [], "account B is not linked");
      assert.deepEqual(up.payloads, ["from-A"], "account B's messages stay on the leaf");
    }),
});

Deno.test({
  name: "leaf accounts - hub leafnode users bind each remote to its own hub account",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub({
        accounts: {
          HA: { users: [{ user: "ha", password: "pha" }] },
          HB: { users: [{ user: "hb", password: "phb" }] },
        },
        leafnodes: {
          authorization: {
            users: [
              { user: "la", password: "pla", account: "HA" },
              { user: "lb", password: "plb", account: "HB" },
            ],
          },
        },
      });
      const leaf = await topology.leaf([
        remoteTo(hub, { user: "la", password: "pla", account: "A" }),
        remoteTo(hub, { user: "lb", password: "plb", account: "B" }),
      ], { accounts: TWO_ACCOUNTS });
      const hubA = await topology.client(hub, { user: "ha", pass: "pha" });
      const hubB = await topology.client(hub, { user: "hb", pass: "phb" });
      const leafA = await topology.client(leaf, { user: "a", pass: "pa" });
      const leafB = await topology.client(leaf, { user: "b", pass: "pb" });

      await awaitFlow(hubA, leafA);
      await awaitFlow(hubB, leafB);
      await awaitFlow(leafA, hubA);
      await awaitFlow(leafB, hubB);

      const onLeafA = topology.inbox(leafA, "shared.subject");
      const onLeafB = topology.inbox(leafB, "shared.subject");
      const onHubA = topology.inbox(hubA, "shared.up");
      const onHubB = topology.inbox(hubB, "shared.up");
      await onLeafA.awaitInterestFrom(hubA);
      await onLeafB.awaitInterestFrom(hubB);
      await onHubA.awaitInterestFrom(leafA);
      await onHubB.awaitInterestFrom(leafB);

      hubA.publish("shared.subject", "HA->A");
      hubB.publish("shared.subject", "HB->B");
      leafA.publish("shared.up", "A->HA");
      leafB.publish("shared.up", "B->HB");
      for (const inbox of [onLeafA, onLeafB, onHubA, onHubB]) await inbox.waitForCount(1);
      await quietPeriod(LEAK_WINDOW_MS);

      assert.deepEqual(onLeafA.payloads, ["HA->A"]);
      assert.deepEqual(onLeafB.payloads, ["HB->B"]);
      assert.deepEqual(onHubA.payloads, ["A->HA"]);
      assert.deepEqual(onHubB.payloads, ["B->HB"]);
    }),
});

Deno.test({
  name: "leaf accounts - a hub's single leafnode user binds the leaf to its configured account",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub({
        accounts: {
          HA: { users: [{ user: "ha", password: "pha" }] },
          HB: { users: [{ user: "hb", password: "phb" }] },
        },
        leafnodes: { authorization: { user: "leaf", password: "secret", account: "HB" } },
      });
      const leaf = await topology.leaf([remoteTo(hub, { user: "leaf", password: "secret" })]);
      const hubA = await topology.client(hub, { user: "ha", pass: "pha" });
      const hubB = await topology.client(hub, { user: "hb", pass: "phb" });
      const onLeaf = await topology.client(leaf);

      await awaitFlow(hubB, onLeaf);
      const inA = topology.inbox(hubA, "bound.up");
      const inB = topology.inbox(hubB, "bound.up");
      await inB.awaitInterestFrom(onLeaf);
      onLeaf.publish("bound.up", "x");
      await inB.waitForCount(1);
      await quietPeriod(LEAK_WINDOW_MS);

      assert.deepEqual(inB.payloads, ["x"]);
      assert.deepEqual(inA.payloads, [], "the leaf is not in account HA");
    }),
});

Deno.test({
  name: "leaf accounts - wire: the hub's connect_info INFO names the account the leaf is bound to",
  ...leafTestOptions(hubImpl()),
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub({
        accounts: { HA: { users: [{ user: "ha", password: "pha" }] } },
        leafnodes: { authorization: { users: [{ user: "la", password: "pla", account: "HA" }] } },
      });
      const bound = await dialFakeLeaf(hub.leafPort!);
      try {
        const { connectInfo } = await bound.connect({ user: "la", pass: "pla", name: "FAKE" });
        assert.equal(connectInfo.connect_info, true);
        assert.equal(connectInfo.remote_account, "HA");
      } finally {
        await bound.dispose();
      }
    }),
});
