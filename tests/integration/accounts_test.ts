/**
 * Accounts are separate subject spaces: the same subject in two accounts never crosses over,
 * and users without an account share the global account `$G`.
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { serverTestOptions, withServer } from "../helpers/server_process.ts";
import type { ServerHandle } from "../helpers/server_process.ts";

const ACCOUNTS_CONFIG = {
  accounts: {
    A: { users: [{ user: "a1", password: "pa" }, { user: "a2", password: "pa" }] },
    B: { users: [{ user: "b1", password: "pb" }] },
  },
  authorization: { users: [{ user: "g1", password: "pg" }, { user: "g2", password: "pg" }] },
};

function login(server: ServerHandle, user: string, pass: string): Promise<NatsConnection> {
  return connect({ servers: server.url, reconnect: false, user, pass });
}

/**
 * Collects every payload that reaches `sub` until a PING round trip on each publisher and on
 * the subscriber itself, so anything routed to it has arrived.
 */
async function payloadsAfterSettling(
  subscriber: NatsConnection,
  sub: Subscription,
  publishers: NatsConnection[],
): Promise<string[]> {
  await Promise.all(publishers.map((nc) => nc.flush()));
  await subscriber.flush();
  const payloads: string[] = [];
  sub.unsubscribe();
  for await (const msg of sub) payloads.push(msg.string());
  return payloads.sort();
}

Deno.test({
  name: "accounts - the same subject in two accounts never crosses over",
  ...serverTestOptions(),
  fn: () =>
    withServer(ACCOUNTS_CONFIG, async (server) => {
      const a1 = await login(server, "a1", "pa");
      const a2 = await login(server, "a2", "pa");
      const b1 = await login(server, "b1", "pb");
      const g1 = await login(server, "g1", "pg");
      const everyone = [a1, a2, b1, g1];
      try {
        const subA = a2.subscribe("shared");
        const subB = b1.subscribe("shared");
        const subG = g1.subscribe(">");
        await Promise.all(everyone.map((nc) => nc.flush()));
        a1.publish("shared", "from-A");
        b1.publish("shared", "from-B");
        g1.publish("shared", "from-G");

        assert.deepEqual(await payloadsAfterSettling(a2, subA, everyone), ["from-A"]);
        assert.deepEqual(await payloadsAfterSettling(b1, subB, everyone), ["from-B"]);
        // Even a full wildcard in $G sees only $G traffic.
        assert.deepEqual(await payloadsAfterSettling(g1, subG, everyone), ["from-G"]);
      } finally {
        await Promise.all(everyone.map((nc) => nc.close()));
      }
    }),
});

Deno.test({
  name: "accounts - users in authorization share the global account $G",
  ...serverTestOptions(),
  fn: () =>
    withServer(ACCOUNTS_CONFIG, async (server) => {
      const g1 = await login(server, "g1", "pg");
      const g2 = await login(server, "g2", "pg");
      try {
        const sub = g2.subscribe("global.news");
        await g2.flush();
        g1.publish("global.news", "hello $G");
        assert.deepEqual(await payloadsAfterSettling(g2, sub, [g1]), ["hello $G"]);
      } finally {
        await Promise.all([g1.close(), g2.close()]);
      }
    }),
});

Deno.test({
  name: "accounts - without any auth every client is in $G together",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const first = await connect({ servers: server.url, reconnect: false });
      const second = await connect({ servers: server.url, reconnect: false });
      try {
        const sub = second.subscribe("open");
        await second.flush();
        first.publish("open", "anyone");
        assert.deepEqual(await payloadsAfterSettling(second, sub, [first]), ["anyone"]);
      } finally {
        await Promise.all([first.close(), second.close()]);
      }
    }),
});

Deno.test({
  name: "accounts - no_auth_user binds anonymous clients to that user's account",
  ...serverTestOptions(),
  fn: () =>
    withServer({ ...ACCOUNTS_CONFIG, no_auth_user: "b1" }, async (server) => {
      const anonymous = await connect({ servers: server.url, reconnect: false });
      const b1 = await login(server, "b1", "pb");
      const a1 = await login(server, "a1", "pa");
      try {
        const subB = b1.subscribe("who");
        const subA = a1.subscribe("who");
        await Promise.all([b1.flush(), a1.flush()]);
        anonymous.publish("who", "anonymous");
        const publishers = [anonymous, b1, a1];
        assert.deepEqual(await payloadsAfterSettling(b1, subB, publishers), ["anonymous"]);
        assert.deepEqual(await payloadsAfterSettling(a1, subA, publishers), []);
      } finally {
        await Promise.all([anonymous.close(), b1.close(), a1.close()]);
      }
    }),
});

Deno.test({
  name: "accounts - request/reply stays inside the requester's account",
  ...serverTestOptions(),
  fn: () =>
    withServer(ACCOUNTS_CONFIG, async (server) => {
      const requesterA = await login(server, "a1", "pa");
      const responderB = await login(server, "b1", "pb");
      try {
        responderB.subscribe("svc", { callback: (_error, msg) => void msg.respond("from B") });
        await responderB.flush();
        // The only responder is in B, so A sees nobody listening.
        await assert.rejects(requesterA.request("svc", "x", { timeout: 1_000 }), /no responders/);
      } finally {
        await Promise.all([requesterA.close(), responderB.close()]);
      }
    }),
});
