/**
 * Messages through the leaf on the wire, against a fake hub: the exact LMSG / HMSG the leaf
 * sends for the hub's interest (queue groups named, local queue members preferred), what it
 * does with the hub's LMSG / HMSG, no echo, and header-less hubs. Tests the leaf only.
 */

import assert from "node:assert/strict";
import { leafImpl, leafTestOptions, withTopology } from "../helpers/leaf_topology.ts";
import { LeafHarness, lines, listenFakeHub } from "../helpers/raw_leaf.ts";
import type { LeafOp } from "../helpers/raw_leaf.ts";

const LEAF_ONLY = leafTestOptions(leafImpl());

/** Runs `body` with a leaf linked to a fake hub through a `LeafHarness`. */
async function withHarness(
  body: (harness: LeafHarness) => Promise<void>,
  info?: Record<string, unknown>,
) {
  const fakeHub = listenFakeHub();
  try {
    await withTopology(async (topology) => {
      const leaf = await topology.leaf([{ url: fakeHub.url }]);
      const harness = await LeafHarness.open(fakeHub, leaf.port, { info });
      try {
        await body(harness);
      } finally {
        await harness.dispose();
      }
    });
  } finally {
    await fakeHub.close();
  }
}

function framed(ops: LeafOp[]): string[] {
  return ops.map((op) => (op.payload === undefined ? op.line : `${op.line}|${op.payload}`));
}

function messageLines(text: string): string[] {
  return text.split("\r\n").filter((line) => /^H?MSG /.test(line)).sort();
}

const HEADERS = "NATS/1.0\r\nA: B\r\n\r\n";

Deno.test({
  name: "leaf remote messages - client publications reach the hub's interest as LMSG / HMSG",
  ...LEAF_ONLY,
  fn: () =>
    withHarness(async (harness) => {
      await harness.hubStep("LS+ foo\r\nLS+ baz.*\r\n");
      const { hub } = await harness.clientStep(
        "PUB foo 5\r\nhello\r\nPUB foo leaf.reply 5\r\nhello\r\nPUB baz.x 0\r\n\r\n" +
          `HPUB foo 18 23\r\n${HEADERS}hello\r\nPUB nobody 1\r\nx\r\n`,
      );
      assert.deepEqual(framed(hub), [
        "LMSG foo 5|hello",
        "LMSG foo leaf.reply 5|hello",
        "LMSG baz.x 0|",
        `HMSG foo 18 23|${HEADERS}hello`,
      ]);
    }),
});

Deno.test({
  name: "leaf remote messages - the hub's queue group is named; a local member is preferred",
  ...LEAF_ONLY,
  fn: () =>
    withHarness(async (harness) => {
      await harness.hubStep("LS+ bar q1 1\r\n");
      const remote = await harness.clientStep("PUB bar 3\r\nabc\r\nPUB bar rr 3\r\nabc\r\n");
      assert.deepEqual(framed(remote.hub), ["LMSG bar | q1 3|abc", "LMSG bar + rr q1 3|abc"]);

      const local = await harness.clientStep("SUB bar q1 9\r\nPUB bar 1\r\nx\r\n");
      assert.deepEqual(framed(local.hub), ["LS+ bar q1 1"], "interest only, no message");
      assert.equal(local.client, "MSG bar 9 1\r\nx\r\n");
    }),
});

Deno.test({
  name: "leaf remote messages - the hub's LMSG reaches plain subscribers, with reply",
  ...LEAF_ONLY,
  fn: () =>
    withHarness(async (harness) => {
      await harness.clientStep("SUB down 1\r\nSUB down.* 2\r\n");
      const { client, hub } = await harness.hubStep(
        "LMSG down 2\r\nhi\r\nLMSG down hub.reply 2\r\nhi\r\nLMSG down.x 0\r\n\r\n",
      );
      assert.deepEqual(messageLines(client), [
        "MSG down 1 2",
        "MSG down 1 hub.reply 2",
        "MSG down.x 2 0",
      ]);
      assert.deepEqual(framed(hub), [], "nothing is echoed back to the hub");
    }),
});

Deno.test({
  name: "leaf remote messages - the hub's LMSG reaches a queue member only when it names the group",
  ...LEAF_ONLY,
  fn: () =>
    withHarness(async (harness) => {
      await harness.clientStep("SUB dq lq 3\r\n");
      const { client } = await harness.hubStep(
        "LMSG dq 2\r\nno\r\nLMSG dq | other 2\r\nno\r\nLMSG dq | lq 3\r\nyes\r\n" +
          "LMSG dq + rep lq 3\r\nrep\r\n",
      );
      assert.equal(client, "MSG dq 3 3\r\nyes\r\nMSG dq 3 rep 3\r\nrep\r\n");
    }),
});

Deno.test({
  name: "leaf remote messages - the hub's HMSG reaches clients as HMSG",
  ...LEAF_ONLY,
  fn: () =>
    withHarness(async (harness) => {
      await harness.clientStep("SUB dh 4\r\n");
      const { client } = await harness.hubStep(
        `HMSG dh 18 20\r\n${HEADERS}hi\r\nHMSG dh r 18 18\r\n${HEADERS}\r\n`,
      );
      assert.equal(
        client,
        `HMSG dh 4 18 20\r\n${HEADERS}hi\r\nHMSG dh 4 r 18 18\r\n${HEADERS}\r\n`,
      );
    }),
});

Deno.test({
  name: "leaf remote messages - a hub message is not sent back although the hub has interest",
  ...LEAF_ONLY,
  fn: () =>
    withHarness(async (harness) => {
      await harness.clientStep("SUB both.sides 1\r\n");
      const { hub, client } = await harness.hubStep(
        "LS+ both.sides\r\nLMSG both.sides 4\r\nonce\r\n",
      );
      assert.deepEqual(messageLines(client), ["MSG both.sides 1 4"]);
      assert.deepEqual(framed(hub), []);
    }),
});

Deno.test({
  name: "leaf remote messages - a hub without header support gets the body only",
  ...LEAF_ONLY,
  fn: () =>
    withHarness(async (harness) => {
      assert.ok(!harness.connect.headers, "the leaf does not claim headers");
      await harness.hubStep("LS+ hdr.x\r\n");
      const { hub } = await harness.clientStep(`HPUB hdr.x 18 23\r\n${HEADERS}hello\r\n`);
      assert.deepEqual(framed(hub), ["LMSG hdr.x 5|hello"]);
    }, { headers: false }),
});

Deno.test({
  name: "leaf remote messages - interest and messages of the hub's dump work at once",
  ...LEAF_ONLY,
  fn: async () => {
    const fakeHub = listenFakeHub();
    try {
      await withTopology(async (topology) => {
        const leaf = await topology.leaf([{ url: fakeHub.url }]);
        const harness = await LeafHarness.open(fakeHub, leaf.port, { hubDump: ["LS+ early"] });
        try {
          const { hub } = await harness.clientStep("PUB early 2\r\nok\r\n");
          assert.deepEqual(lines(hub), ["LMSG early 2"]);
        } finally {
          await harness.dispose();
        }
      });
    } finally {
      await fakeHub.close();
    }
  },
});
