/**
 * Server limits: max_payload, max_connections, max_control_line and the ping-based stale
 * connection check, each with nats-server's exact `-ERR` text.
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { InvalidArgumentError } from "@nats-io/nats-core";
import { serverTestOptions, withServer } from "../helpers/server_process.ts";
import { connectRaw, parseInfo } from "../helpers/raw_client.ts";
import type { RawClient } from "../helpers/raw_client.ts";

Deno.test({
  name: "limits - raw: a PUB over max_payload gets 'Maximum Payload Violation' and a close",
  ...serverTestOptions(),
  fn: () =>
    withServer({ max_payload: 100 }, async (server) => {
      const raw = await connectRaw(server.port);
      try {
        const info = await raw.handshake();
        assert.equal(info.max_payload, 100);
        // Exactly max_payload is fine.
        await raw.send(`SUB big 1\r\nPUB big 100\r\n${"x".repeat(100)}\r\nPING\r\n`);
        assert.match(await raw.readUntil("PONG\r\n"), /^MSG big 1 100\r\n/);
        // One byte more is refused as soon as the control line is read, before any payload.
        await raw.send("PUB big 101\r\n");
        assert.equal(await raw.expectClosed(), "-ERR 'Maximum Payload Violation'\r\n");
      } finally {
        await raw.dispose();
      }
    }),
});

Deno.test({
  name: "limits - raw: an HPUB whose total size is over max_payload is refused the same way",
  ...serverTestOptions(),
  fn: () =>
    withServer({ max_payload: 100 }, async (server) => {
      const raw = await connectRaw(server.port);
      try {
        await raw.handshake({ headers: true });
        await raw.send("HPUB big 12 101\r\n");
        assert.equal(await raw.expectClosed(), "-ERR 'Maximum Payload Violation'\r\n");
      } finally {
        await raw.dispose();
      }
    }),
});

Deno.test({
  name: "limits - client: the library refuses a payload over the advertised max_payload",
  ...serverTestOptions(),
  fn: () =>
    withServer({ max_payload: 100 }, async (server) => {
      const nc = await connect({ servers: server.url, reconnect: false });
      try {
        assert.equal(nc.info?.max_payload, 100);
        assert.throws(() => nc.publish("big", new Uint8Array(101)), (error: unknown) => {
          assert.ok(error instanceof InvalidArgumentError, `got ${error}`);
          assert.match(error.message, /max_payload size exceeded/);
          return true;
        });
        // The client caught it locally, so the connection is still fine.
        const sub = nc.subscribe("small", { max: 1 });
        nc.publish("small", new Uint8Array(100));
        for await (const msg of sub) assert.equal(msg.data.length, 100);
      } finally {
        await nc.close();
      }
    }),
});

Deno.test({
  name: "limits - max_connections: the extra connection gets INFO, then the error and a close",
  ...serverTestOptions(),
  fn: () =>
    withServer({ max_connections: 2 }, async (server) => {
      const first = await connectRaw(server.port);
      const second = await connectRaw(server.port);
      let third: RawClient | undefined;
      try {
        await first.handshake();
        await second.handshake();
        third = await connectRaw(server.port);
        const text = await third.expectClosed();
        assert.match(text, /^INFO \{.*\}[ ]?\r\n-ERR 'maximum connections exceeded'\r\n$/);
        parseInfo(text);
        // The first two keep working.
        await first.send("PING\r\n");
        assert.equal(await first.readUntil("PONG\r\n"), "PONG\r\n");
        // A freed slot can be taken again.
        await second.dispose();
        await new Promise((resolve) => setTimeout(resolve, 100));
        const fourth = await connectRaw(server.port);
        try {
          await fourth.handshake();
          assert.equal(fourth.closed, false);
        } finally {
          await fourth.dispose();
        }
      } finally {
        await first.dispose();
        await second.dispose();
        await third?.dispose();
      }
    }),
});

Deno.test({
  name: "limits - max_control_line: a longer op line gets the error and a close",
  ...serverTestOptions(),
  fn: () =>
    withServer({ max_control_line: 64 }, async (server) => {
      const complete = await connectRaw(server.port);
      const partial = await connectRaw(server.port);
      try {
        await complete.handshake();
        await complete.send(`SUB ${"a".repeat(100)} 1\r\n`);
        assert.equal(await complete.expectClosed(), "-ERR 'maximum control line exceeded'\r\n");
        // The limit applies before the CRLF arrives, so an endless line cannot eat memory.
        await partial.handshake();
        await partial.send(`SUB ${"a".repeat(100)}`);
        assert.equal(await partial.expectClosed(), "-ERR 'maximum control line exceeded'\r\n");
      } finally {
        await complete.dispose();
        await partial.dispose();
      }
    }),
});

Deno.test({
  name: "limits - a client that never answers PING gets 'Stale Connection' and a close",
  ...serverTestOptions(),
  fn: () =>
    withServer({ ping_interval: "100ms", ping_max: 2 }, async (server) => {
      const raw = await connectRaw(server.port);
      try {
        await raw.handshake();
        const started = performance.now();
        // ping_max PINGs go unanswered, then the next tick declares the connection stale.
        assert.equal(
          await raw.expectClosed(2_000),
          "PING\r\nPING\r\n-ERR 'Stale Connection'\r\n",
        );
        const elapsed = performance.now() - started;
        assert.ok(elapsed >= 250, `stale after ${elapsed} ms, expected about 300 ms`);
      } finally {
        await raw.dispose();
      }
    }),
});

Deno.test({
  name: "limits - a client that answers PING with PONG stays connected",
  ...serverTestOptions(),
  fn: () =>
    withServer({ ping_interval: "100ms", ping_max: 1 }, async (server) => {
      const raw = await connectRaw(server.port);
      try {
        await raw.handshake();
        for (let round = 0; round < 5; round++) {
          assert.equal(await raw.readUntil("PING\r\n", 1_000), "PING\r\n");
          await raw.send("PONG\r\n");
        }
        assert.equal(raw.closed, false);
      } finally {
        await raw.dispose();
      }
    }),
});
