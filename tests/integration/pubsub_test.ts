/**
 * Core publish/subscribe through the real NATS client and the raw wire: delivery, wildcards,
 * no_echo, auto-unsubscribe and UNSUB.
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { deadline } from "@nats-io/nats-core";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { serverTestOptions, withServer } from "../helpers/server_process.ts";
import type { ServerHandle } from "../helpers/server_process.ts";
import { connectRaw, countMessages } from "../helpers/raw_client.ts";

function connectTo(server: ServerHandle, options: { noEcho?: boolean } = {}) {
  return connect({ servers: server.url, reconnect: false, ...options });
}

/** Reads `subject:payload` pairs until `count` arrived or the subscription ended. */
async function take(sub: Subscription, count: number, timeoutMs = 2_000): Promise<string[]> {
  const received: string[] = [];
  const reading = (async () => {
    for await (const msg of sub) {
      received.push(`${msg.subject}:${msg.string()}`);
      if (received.length === count) break;
    }
  })();
  await deadline(reading, timeoutMs);
  return received;
}

async function closeAll(...connections: NatsConnection[]): Promise<void> {
  await Promise.all(connections.map((nc) => nc.close()));
}

Deno.test({
  name: "pubsub - a subscriber receives what another client publishes",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const subscriber = await connectTo(server);
      const publisher = await connectTo(server);
      try {
        const sub = subscriber.subscribe("greet");
        await subscriber.flush();
        publisher.publish("greet", "hello");
        publisher.publish("other", "ignored");
        publisher.publish("greet", "again");
        assert.deepEqual(await take(sub, 2), ["greet:hello", "greet:again"]);
      } finally {
        await closeAll(subscriber, publisher);
      }
    }),
});

Deno.test({
  name: "pubsub - `*` matches exactly one token",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const nc = await connectTo(server);
      try {
        const sub = nc.subscribe("foo.*");
        await nc.flush();
        for (const subject of ["foo", "foo.bar", "foo.bar.baz", "bar.foo", "foo.baz", "foo.end"]) {
          nc.publish(subject, "x");
        }
        // Publishing order is kept, so foo.end arriving third proves nothing else matched.
        assert.deepEqual(await take(sub, 3), ["foo.bar:x", "foo.baz:x", "foo.end:x"]);
      } finally {
        await nc.close();
      }
    }),
});

Deno.test({
  name: "pubsub - `>` matches one or more trailing tokens",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const nc = await connectTo(server);
      try {
        const tail = nc.subscribe("foo.>");
        const middle = nc.subscribe("a.*.c");
        await nc.flush();
        for (const subject of ["foo", "foo.bar", "foo.bar.baz", "foob.bar", "a.b.c", "a.b.c.d"]) {
          nc.publish(subject, "x");
        }
        nc.publish("foo.end", "x");
        nc.publish("a.end.c", "x");
        assert.deepEqual(await take(tail, 3), ["foo.bar:x", "foo.bar.baz:x", "foo.end:x"]);
        assert.deepEqual(await take(middle, 2), ["a.b.c:x", "a.end.c:x"]);
      } finally {
        await nc.close();
      }
    }),
});

Deno.test({
  name: "pubsub - noEcho keeps a connection's own messages from its subscriptions",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const quiet = await connectTo(server, { noEcho: true });
      const other = await connectTo(server);
      try {
        const quietSub = quiet.subscribe("chat");
        const otherSub = other.subscribe("chat");
        await Promise.all([quiet.flush(), other.flush()]);
        quiet.publish("chat", "mine");
        await quiet.flush();
        other.publish("chat", "theirs");
        assert.deepEqual(await take(quietSub, 1), ["chat:theirs"]);
        // Without no_echo a publisher does hear itself.
        assert.deepEqual(await take(otherSub, 2), ["chat:mine", "chat:theirs"]);
      } finally {
        await closeAll(quiet, other);
      }
    }),
});

Deno.test({
  name: "pubsub - unsubscribe(3) and { max } end a subscription after that many messages",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const nc = await connectTo(server);
      try {
        const later = nc.subscribe("tick");
        later.unsubscribe(3);
        const withMax = nc.subscribe("tick", { max: 2 });
        await nc.flush();
        for (let i = 1; i <= 5; i++) nc.publish("tick", `${i}`);
        // The iterators end on their own once the limit is reached.
        assert.deepEqual(await take(later, 99), ["tick:1", "tick:2", "tick:3"]);
        assert.deepEqual(await take(withMax, 99), ["tick:1", "tick:2"]);
        assert.equal(later.isClosed(), true);
      } finally {
        await nc.close();
      }
    }),
});

Deno.test({
  name: "pubsub - UNSUB <sid> <max> stops server-side delivery after max messages",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const raw = await connectRaw(server.port);
      try {
        await raw.handshake();
        await raw.send("SUB tick 1\r\nUNSUB 1 2\r\n");
        await raw.send("PUB tick 1\r\na\r\nPUB tick 1\r\nb\r\nPUB tick 1\r\nc\r\nPING\r\n");
        const text = await raw.readUntil("PONG\r\n");
        assert.equal(text, "MSG tick 1 1\r\na\r\nMSG tick 1 1\r\nb\r\nPONG\r\n");
      } finally {
        await raw.dispose();
      }
    }),
});

Deno.test({
  name: "pubsub - UNSUB stops delivery and an unknown sid is not an error",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const raw = await connectRaw(server.port);
      try {
        await raw.handshake();
        await raw.send("SUB news 7\r\nPUB news 5\r\nfirst\r\nUNSUB 7\r\n");
        await raw.send("PUB news 6\r\nsecond\r\nUNSUB 99\r\nPING\r\n");
        const text = await raw.readUntil("PONG\r\n");
        assert.equal(text, "MSG news 7 5\r\nfirst\r\nPONG\r\n");
        assert.equal(raw.closed, false);
      } finally {
        await raw.dispose();
      }
    }),
});

Deno.test({
  name: "pubsub - a raw subscriber gets MSG with subject, sid, reply and size",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const subscriber = await connectRaw(server.port);
      const publisher = await connectRaw(server.port);
      try {
        await subscriber.handshake();
        await publisher.handshake();
        await subscriber.send("SUB orders.* 3\r\nSUB orders.new 4\r\nPING\r\n");
        await subscriber.readUntil("PONG\r\n");
        await publisher.send(
          "PUB orders.new reply.to 5\r\nhello\r\nPUB orders.old 0\r\n\r\nPING\r\n",
        );
        await publisher.readUntil("PONG\r\n");
        const text = await subscriber.readUntil((received) => countMessages(received) === 3);
        // Delivery order across two sids of one message is not part of the protocol.
        const lines = text.split("\r\n").filter((line) => line.startsWith("MSG "));
        assert.deepEqual(lines.sort(), [
          "MSG orders.new 3 reply.to 5",
          "MSG orders.new 4 reply.to 5",
          "MSG orders.old 3 0",
        ]);
      } finally {
        await subscriber.dispose();
        await publisher.dispose();
      }
    }),
});
