/**
 * Queue groups: each message goes to exactly one member of a group, every group and every
 * plain subscriber gets its own copy.
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { deadline } from "@nats-io/nats-core";
import type { NatsConnection } from "@nats-io/nats-core";
import { serverTestOptions, withServer } from "../helpers/server_process.ts";
import type { ServerHandle } from "../helpers/server_process.ts";

const MESSAGE_COUNT = 300;

/** One subscription's received payloads, and a promise for when the shared total is reached. */
interface Tally {
  received: string[][];
  allArrived: Promise<void>;
}

/**
 * Subscribes each connection once (in `queue` when given) and resolves `allArrived` when
 * the members together have `expected` messages.
 */
function tallyMembers(
  connections: NatsConnection[],
  subject: string,
  queue: string | undefined,
  expected: number,
): Tally {
  const received: string[][] = connections.map(() => []);
  const { promise, resolve } = Promise.withResolvers<void>();
  let total = 0;
  connections.forEach((nc, index) => {
    nc.subscribe(subject, {
      queue,
      callback: (_error, msg) => {
        received[index].push(msg.string());
        if (++total === expected) resolve();
      },
    });
  });
  return { received, allArrived: promise };
}

async function connectMany(server: ServerHandle, count: number): Promise<NatsConnection[]> {
  return await Promise.all(
    Array.from({ length: count }, () => connect({ servers: server.url, reconnect: false })),
  );
}

function publishNumbered(nc: NatsConnection, subject: string): string[] {
  const payloads = Array.from({ length: MESSAGE_COUNT }, (_, i) => `m${i}`);
  for (const payload of payloads) nc.publish(subject, payload);
  return payloads;
}

Deno.test({
  name: "queue - three members share 300 messages, each delivered exactly once",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const [publisher, ...members] = await connectMany(server, 4);
      try {
        const tally = tallyMembers(members, "work", "workers", MESSAGE_COUNT);
        await Promise.all(members.map((nc) => nc.flush()));
        const sent = publishNumbered(publisher, "work");
        await publisher.flush();
        await deadline(tally.allArrived, 3_000);
        // A moment for any duplicate to show up before the totals are checked.
        await Promise.all(members.map((nc) => nc.flush()));

        const all = tally.received.flat();
        assert.equal(all.length, MESSAGE_COUNT, "no message delivered twice");
        assert.deepEqual([...all].sort(), [...sent].sort(), "every message delivered");
        for (const [index, payloads] of tally.received.entries()) {
          assert.ok(payloads.length > 0, `member ${index} got some messages`);
        }
      } finally {
        await Promise.all([publisher, ...members].map((nc) => nc.close()));
      }
    }),
});

Deno.test({
  name: "queue - a plain subscriber and a second group each get every message",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const [publisher, plain, a1, a2, b1, b2] = await connectMany(server, 6);
      try {
        const plainTally = tallyMembers([plain], "jobs", undefined, MESSAGE_COUNT);
        const groupA = tallyMembers([a1, a2], "jobs", "a", MESSAGE_COUNT);
        const groupB = tallyMembers([b1, b2], "jobs.*", "b", MESSAGE_COUNT);
        await Promise.all([plain, a1, a2, b1, b2].map((nc) => nc.flush()));
        publishNumbered(publisher, "jobs");
        publishNumbered(publisher, "jobs.x");
        await publisher.flush();
        await deadline(
          Promise.all([plainTally.allArrived, groupA.allArrived, groupB.allArrived]),
          3_000,
        );
        await Promise.all([plain, a1, a2, b1, b2].map((nc) => nc.flush()));
        assert.equal(plainTally.received[0].length, MESSAGE_COUNT);
        assert.equal(groupA.received.flat().length, MESSAGE_COUNT);
        assert.equal(groupB.received.flat().length, MESSAGE_COUNT, "group b matched jobs.x only");
      } finally {
        await Promise.all([publisher, plain, a1, a2, b1, b2].map((nc) => nc.close()));
      }
    }),
});

Deno.test({
  name: "queue - when a member unsubscribes, the rest of the group gets its share",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const [publisher, staying, leaving] = await connectMany(server, 3);
      try {
        const tally = tallyMembers([staying], "work", "workers", MESSAGE_COUNT);
        const leavingSub = leaving.subscribe("work", { queue: "workers" });
        await Promise.all([staying.flush(), leaving.flush()]);
        // The flush makes sure the server processed the UNSUB before anything is published.
        leavingSub.unsubscribe();
        await leaving.flush();
        publishNumbered(publisher, "work");
        await publisher.flush();
        await deadline(tally.allArrived, 3_000);
        assert.equal(tally.received[0].length, MESSAGE_COUNT);
      } finally {
        await Promise.all([publisher, staying, leaving].map((nc) => nc.close()));
      }
    }),
});
