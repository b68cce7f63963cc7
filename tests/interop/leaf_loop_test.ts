/**
 * Loops between leafnode links: two servers soliciting each other, and a cycle through a third
 * server, are detected with nats-server's "Loop detected" error; the link that closed waits
 * 30 s before trying again instead of looping every second, while the link that stayed up keeps
 * carrying traffic. A leaf with two remotes into the same hub account is refused as a duplicate.
 *
 * The server playing the hub role (accepting first) uses `LEAF_TEST_HUB`, the others
 * `LEAF_TEST_LEAF`.
 */

import assert from "node:assert/strict";
import { freePort } from "../helpers/free_port.ts";
import {
  awaitFlow,
  countOccurrences,
  eventually,
  leafTestOptions,
  leafUrl,
  quietPeriod,
  remoteTo,
  withTopology,
} from "../helpers/leaf_topology.ts";
import type { ServerHandle } from "../helpers/server_process.ts";

const LOOP_TEXT = 'Loop detected for leafnode account="$G"';

/** Time for a loop to be found: one failed first dial, one reconnect interval, slack. */
const DETECTION_TIMEOUT_MS = 6_000;

/** Longer than a reconnect interval: without the 30 s penalty the loop would recur in here. */
const PENALTY_WINDOW_MS = 2_500;

function allLogs(servers: ServerHandle[]): string {
  return servers.map((server) => server.logs()).join("\n");
}

async function expectLoopDetectedOnce(servers: ServerHandle[]): Promise<void> {
  const found = await eventually(
    () => allLogs(servers).includes(LOOP_TEXT),
    DETECTION_TIMEOUT_MS,
  );
  assert.ok(found, `"${LOOP_TEXT}" in the logs:\n${allLogs(servers)}`);
  // Let both ends log their side of the same event before counting.
  await quietPeriod(300);
  const afterDetection = countOccurrences(allLogs(servers), LOOP_TEXT);
  await quietPeriod(PENALTY_WINDOW_MS);
  assert.equal(
    countOccurrences(allLogs(servers), LOOP_TEXT),
    afterDetection,
    "no new loop: the closed link waits 30 s before redialing",
  );
}

Deno.test({
  name: "leaf loop - two servers soliciting each other: loop detected, one link keeps working",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const portA = freePort();
      const portB = freePort();
      const a = await topology.hub({
        leafnodes: {
          port: portA,
          reconnect: 1,
          remotes: [{ url: `nats-leaf://127.0.0.1:${portB}` }],
        },
      }, { name: "LOOPA" });
      const b = await topology.leaf([{ url: `nats-leaf://127.0.0.1:${portA}` }], {
        leafnodes: { port: portB },
      }, { name: "LOOPB" });

      await expectLoopDetectedOnce([a, b]);
      const onA = await topology.client(a);
      const onB = await topology.client(b);
      await awaitFlow(onA, onB);
      await awaitFlow(onB, onA);

      const inbox = topology.inbox(onB, "after.loop");
      await inbox.awaitInterestFrom(onA);
      for (let i = 0; i < 20; i++) onA.publish("after.loop", `${i}`);
      await inbox.waitForCount(20);
      await inbox.drainFrom(onA);
      assert.equal(inbox.messages.length, 20, "exactly once: only one link carries them");
    }),
});

Deno.test({
  name: "leaf loop - a cycle through a third server is found through $LDS forwarding",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const a = await topology.hub({}, { name: "DAGA" });
      const b = await topology.leaf([remoteTo(a)], {}, { name: "DAGB" });
      const onA = await topology.client(a);
      const onB = await topology.client(b);
      await awaitFlow(onA, onB);
      // C -> A and C -> B close the cycle A - B - C.
      const c = await topology.leaf([remoteTo(a), remoteTo(b)], {}, { name: "DAGC" });

      await expectLoopDetectedOnce([a, b, c]);
      // nats-server 2.9.10 finds the loop on both of C's links at once and parks both for
      // 30 s, so only the link that was there first is sure to stay up.
      await awaitFlow(onA, onB);
      await awaitFlow(onB, onA);
    }),
});

Deno.test({
  name: "leaf loop - two remotes of one leaf into the same hub account are refused as duplicates",
  ...leafTestOptions(),
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      const url = leafUrl(hub);
      // Two remotes must differ to be valid config: the second spells the URL list differently.
      const leaf = await topology.leaf([{ url }, {
        urls: [url, url.replace("127.0.0.1", "localhost")],
      }]);
      const found = await eventually(
        () => /Duplicate Remote LeafNode Connection|Loop detected/.test(allLogs([hub, leaf])),
        DETECTION_TIMEOUT_MS,
      );
      assert.ok(found, `a duplicate or loop error in the logs:\n${allLogs([hub, leaf])}`);
      // Whichever connection is current still links the two servers. The two links replace
      // each other about once a second, so under load a probe may need a few of those turns.
      await awaitFlow(await topology.client(hub), await topology.client(leaf), 15_000);
    }),
});
