/**
 * Messages through the hub on the wire: the exact LMSG / HMSG a leaf receives for its
 * interest (plain, with reply, with queue groups named), what the hub does with LMSG / HMSG
 * from a leaf (queue subscribers only when named), no echo, leaf-to-leaf routing, and
 * header-less leaves. Tests the hub implementation only.
 */

import assert from "node:assert/strict";
import { hubImpl, leafTestOptions, withTopology } from "../helpers/leaf_topology.ts";
import { dialFakeLeaf, HubHarness, lines } from "../helpers/raw_leaf.ts";
import type { LeafOp } from "../helpers/raw_leaf.ts";
import type { ServerHandle } from "../helpers/server_process.ts";

const HUB_ONLY = leafTestOptions(hubImpl());

async function withHarness(
  body: (harness: HubHarness, hub: ServerHandle) => Promise<void>,
  connect?: Record<string, unknown>,
) {
  await withTopology(async (topology) => {
    const hub = await topology.hub();
    const harness = await HubHarness.open(hub.port, hub.leafPort!, connect);
    try {
      await body(harness, hub);
    } finally {
      await harness.dispose();
    }
  });
}

/** Control line and payload of each op, e.g. `LMSG foo 5|hello`. */
function framed(ops: LeafOp[]): string[] {
  return ops.map((op) => (op.payload === undefined ? op.line : `${op.line}|${op.payload}`));
}

/** The sorted MSG / HMSG control lines in a client's raw text. */
function messageLines(text: string): string[] {
  return text.split("\r\n").filter((line) => /^H?MSG /.test(line)).sort();
}

Deno.test({
  name: "leaf hub messages - hub publications reach the leaf as LMSG, with reply when given",
  ...HUB_ONLY,
  fn: () =>
    withHarness(async (harness) => {
      await harness.leafStep("LS+ foo\r\nLS+ wild.*\r\n");
      const { leaf } = await harness.clientStep(
        "PUB foo 5\r\nhello\r\nPUB foo hub.reply 5\r\nhello\r\nPUB wild.card 0\r\n\r\n" +
          "PUB nobody.cares 1\r\nx\r\n",
      );
      assert.deepEqual(framed(leaf), [
        "LMSG foo 5|hello",
        "LMSG foo hub.reply 5|hello",
        "LMSG wild.card 0|",
      ]);
    }),
});

Deno.test({
  name: "leaf hub messages - headers travel as HMSG with header and total sizes",
  ...HUB_ONLY,
  fn: () =>
    withHarness(async (harness) => {
      await harness.leafStep("LS+ hdr\r\n");
      const headers = "NATS/1.0\r\nA: B\r\n\r\n";
      const { leaf } = await harness.clientStep(
        `HPUB hdr 18 23\r\n${headers}hello\r\nHPUB hdr r.1 18 18\r\n${headers}\r\n`,
      );
      assert.deepEqual(framed(leaf), [
        `HMSG hdr 18 23|${headers}hello`,
        `HMSG hdr r.1 18 18|${headers}`,
      ]);
    }),
});

Deno.test({
  name: "leaf hub messages - a leaf that did not ask for headers gets only the body in LMSG",
  ...HUB_ONLY,
  fn: () =>
    withHarness(async (harness) => {
      await harness.leafStep("LS+ hdr.x\r\nLS+ hdr.y\r\n");
      const headers = "NATS/1.0\r\nA: B\r\n\r\n";
      const { leaf } = await harness.clientStep(
        `HPUB hdr.x 18 23\r\n${headers}hello\r\nHPUB hdr.y rep 18 18\r\n${headers}\r\n`,
      );
      assert.deepEqual(framed(leaf), ["LMSG hdr.x 5|hello", "LMSG hdr.y rep 0|"]);
    }, { name: "NOHDR" }),
});

Deno.test({
  name:
    "leaf hub messages - queue interest from a leaf is named in the LMSG, plain and queue in one",
  ...HUB_ONLY,
  fn: () =>
    withHarness(async (harness) => {
      await harness.leafStep("LS+ work q1 1\r\nLS+ both\r\nLS+ both g 2\r\n");
      const { leaf } = await harness.clientStep(
        "PUB work 3\r\nabc\r\nPUB work rr 3\r\nabc\r\nPUB both 1\r\nx\r\n",
      );
      assert.deepEqual(framed(leaf), [
        "LMSG work | q1 3|abc",
        "LMSG work + rr q1 3|abc",
        "LMSG both | g 1|x",
      ]);
    }),
});

Deno.test({
  name: "leaf hub messages - a local queue member is preferred over the leaf's",
  ...HUB_ONLY,
  fn: () =>
    withHarness(async (harness) => {
      await harness.leafStep("LS+ work q1 1\r\n");
      const local = await harness.clientStep("SUB work q1 7\r\nPUB work 1\r\nx\r\n");
      assert.deepEqual(framed(local.leaf), ["LS+ work q1 1"], "only the interest, no message");
      assert.equal(local.client, "MSG work 7 1\r\nx\r\n");

      const remote = await harness.clientStep("UNSUB 7\r\nPUB work 1\r\ny\r\n");
      assert.deepEqual(framed(remote.leaf), ["LS- work q1", "LMSG work | q1 1|y"]);
    }),
});

Deno.test({
  name: "leaf hub messages - LS- stops delivery, and a repeated LS+ needs only one LS-",
  ...HUB_ONLY,
  fn: () =>
    withHarness(async (harness) => {
      await harness.leafStep("LS+ dup\r\nLS+ dup\r\n");
      assert.deepEqual(framed((await harness.clientStep("PUB dup 1\r\na\r\n")).leaf), [
        "LMSG dup 1|a",
      ], "one copy although LS+ came twice");
      await harness.leafStep("LS- dup\r\n");
      assert.deepEqual(framed((await harness.clientStep("PUB dup 1\r\nb\r\n")).leaf), []);
    }),
});

Deno.test({
  name: "leaf hub messages - LMSG from the leaf reaches plain subscribers, with reply",
  ...HUB_ONLY,
  fn: () =>
    withHarness(async (harness) => {
      await harness.clientStep("SUB in.plain 1\r\nSUB in.* 2\r\n");
      const { client, leaf } = await harness.leafStep(
        "LMSG in.plain 2\r\nhi\r\nLMSG in.plain my.reply 2\r\nhi\r\nLMSG in.other 0\r\n\r\n",
      );
      // Two subscriptions match: the order of the two copies is the server's choice.
      assert.deepEqual(messageLines(client), [
        "MSG in.other 2 0",
        "MSG in.plain 1 2",
        "MSG in.plain 1 my.reply 2",
        "MSG in.plain 2 2",
        "MSG in.plain 2 my.reply 2",
      ]);
      assert.deepEqual(framed(leaf), [], "nothing comes back");
    }),
});

Deno.test({
  name: "leaf hub messages - LMSG reaches a queue subscriber only when it names the group",
  ...HUB_ONLY,
  fn: () =>
    withHarness(async (harness) => {
      await harness.clientStep("SUB in.q grp 3\r\n");
      const { client } = await harness.leafStep(
        "LMSG in.q 2\r\nno\r\nLMSG in.q | other 2\r\nno\r\nLMSG in.q | grp 3\r\nyes\r\n" +
          "LMSG in.q + rep grp 3\r\nrep\r\nLMSG in.q | other grp 4\r\nboth\r\n",
      );
      assert.equal(
        client,
        "MSG in.q 3 3\r\nyes\r\nMSG in.q 3 rep 3\r\nrep\r\nMSG in.q 3 4\r\nboth\r\n",
      );
    }),
});

Deno.test({
  name: "leaf hub messages - HMSG from the leaf reaches clients as HMSG",
  ...HUB_ONLY,
  fn: () =>
    withHarness(async (harness) => {
      await harness.clientStep("SUB in.h 4\r\n");
      const headers = "NATS/1.0\r\nX: 1\r\n\r\n";
      const { client } = await harness.leafStep(
        `HMSG in.h 18 20\r\n${headers}hi\r\nHMSG in.h r 18 18\r\n${headers}\r\n`,
      );
      assert.equal(
        client,
        `HMSG in.h 4 18 20\r\n${headers}hi\r\nHMSG in.h 4 r 18 18\r\n${headers}\r\n`,
      );
    }),
});

Deno.test({
  name: "leaf hub messages - a leaf's message is never echoed back over its own link",
  ...HUB_ONLY,
  fn: () =>
    withHarness(async (harness) => {
      await harness.leafStep("LS+ echo.test\r\n");
      const { leaf, client } = await harness.leafStep("LMSG echo.test 4\r\nself\r\n");
      assert.deepEqual(framed(leaf), []);
      assert.equal(client, "");
    }),
});

Deno.test({
  name: "leaf hub messages - the hub routes one leaf's messages to another leaf's interest",
  ...HUB_ONLY,
  fn: () =>
    withTopology(async (topology) => {
      const hub = await topology.hub();
      const receiver = await HubHarness.open(hub.port, hub.leafPort!);
      const sender = await dialFakeLeaf(hub.leafPort!);
      try {
        await sender.connect({ name: "SENDER", cluster: "SENDER", headers: true });
        await receiver.leafStep("LS+ ew.>\r\n");
        const seen = lines(await sender.sync());
        assert.ok(seen.includes("LS+ ew.>"), `the sender learned the interest: ${seen}`);

        await sender.send("LMSG ew.one 3\r\none\r\nLMSG ew.two rep 3\r\ntwo\r\n");
        const ops = await receiver.leaf.readUntilOp(/^LMSG ew\.two/);
        assert.deepEqual(framed(ops), ["LMSG ew.one 3|one", "LMSG ew.two rep 3|two"]);
      } finally {
        await Promise.all([receiver.dispose(), sender.dispose()]);
      }
    }),
});
