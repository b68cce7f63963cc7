/**
 * Message headers: HPUB arrives as HMSG byte for byte, headers survive a round trip through the
 * client library, and subscribers that did not opt into headers get the payload only.
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { deadline, headers } from "@nats-io/nats-core";
import type { Msg } from "@nats-io/nats-core";
import { serverTestOptions, withServer } from "../helpers/server_process.ts";
import { connectRaw } from "../helpers/raw_client.ts";

/** `NATS/1.0\r\nA: b\r\n\r\n` is 18 bytes; with the payload `hi` the total is 20. */
const HEADER_BLOCK = "NATS/1.0\r\nA: b\r\n\r\n";

Deno.test({
  name: "headers - client headers round trip, including repeated keys",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const nc = await connect({ servers: server.url, reconnect: false });
      try {
        const { promise, resolve } = Promise.withResolvers<Msg>();
        nc.subscribe("with.headers", { callback: (_error, msg) => resolve(msg) });
        await nc.flush();
        const sent = headers();
        sent.set("Trace-Id", "abc-123");
        sent.append("Multi", "one");
        sent.append("Multi", "two");
        nc.publish("with.headers", "body", { headers: sent });
        const msg = await deadline(promise, 2_000);
        assert.equal(msg.string(), "body");
        assert.equal(msg.headers?.get("Trace-Id"), "abc-123");
        assert.deepEqual(msg.headers?.values("Multi"), ["one", "two"]);
      } finally {
        await nc.close();
      }
    }),
});

Deno.test({
  name: "headers - raw HPUB is delivered as HMSG with identical header bytes",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const raw = await connectRaw(server.port);
      try {
        await raw.handshake({ headers: true });
        await raw.send(`SUB h 2\r\nHPUB h reply 18 20\r\n${HEADER_BLOCK}hi\r\nPING\r\n`);
        assert.equal(
          await raw.readUntil("PONG\r\n"),
          `HMSG h 2 reply 18 20\r\n${HEADER_BLOCK}hi\r\nPONG\r\n`,
        );
        // An empty payload after headers is fine too.
        await raw.send(`HPUB h 18 18\r\n${HEADER_BLOCK}\r\nPING\r\n`);
        assert.equal(
          await raw.readUntil("PONG\r\n"),
          `HMSG h 2 18 18\r\n${HEADER_BLOCK}\r\nPONG\r\n`,
        );
      } finally {
        await raw.dispose();
      }
    }),
});

Deno.test({
  name: "headers - a subscriber without headers support gets MSG with the payload only",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const publisher = await connectRaw(server.port);
      const legacy = await connectRaw(server.port);
      try {
        await publisher.handshake({ headers: true });
        await legacy.handshake({ headers: false });
        await legacy.send("SUB h 5\r\nPING\r\n");
        await legacy.readUntil("PONG\r\n");
        await publisher.send(`HPUB h 18 20\r\n${HEADER_BLOCK}hi\r\nPING\r\n`);
        await publisher.readUntil("PONG\r\n");
        assert.equal(await legacy.readUntil("hi\r\n"), "MSG h 5 2\r\nhi\r\n");
      } finally {
        await publisher.dispose();
        await legacy.dispose();
      }
    }),
});

Deno.test({
  name: "headers - HPUB from a client that did not declare headers closes it",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const raw = await connectRaw(server.port);
      const bystander = await connectRaw(server.port);
      try {
        await raw.handshake({ headers: false });
        await bystander.handshake();
        await raw.send(`HPUB h 18 20\r\n${HEADER_BLOCK}hi\r\nPING\r\n`);
        // nats-server closes without an -ERR here; only the close is asserted.
        const rest = await raw.expectClosed();
        assert.doesNotMatch(rest, /PONG/);
        await bystander.send("PING\r\n");
        assert.equal(await bystander.readUntil("PONG\r\n"), "PONG\r\n");
      } finally {
        await raw.dispose();
        await bystander.dispose();
      }
    }),
});
