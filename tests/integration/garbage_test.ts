/**
 * Protocol garbage: random bytes, unknown ops, wrong payload sizes and broken CONNECT JSON get
 * an `-ERR` (where nats-server sends one) and a close, and never disturb other clients.
 */

import assert from "node:assert/strict";
import { serverTestOptions, withServer } from "../helpers/server_process.ts";
import type { ServerHandle } from "../helpers/server_process.ts";
import { connectRaw } from "../helpers/raw_client.ts";
import type { RawClient } from "../helpers/raw_client.ts";

const UNKNOWN_OP = "-ERR 'Unknown Protocol Operation'\r\n";

/** mulberry32: a tiny seeded generator, so every run sends the same "random" bytes. */
function seededBytes(seed: number, length: number): Uint8Array {
  let state = seed >>> 0;
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    bytes[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return bytes;
}

/** A connected client that must keep working while others misbehave. */
async function bystanderOf(server: ServerHandle): Promise<RawClient> {
  const bystander = await connectRaw(server.port);
  await bystander.handshake();
  await bystander.send("SUB still.alive 1\r\nPING\r\n");
  await bystander.readUntil("PONG\r\n");
  return bystander;
}

async function assertStillServing(bystander: RawClient): Promise<void> {
  await bystander.send("PUB still.alive 2\r\nok\r\nPING\r\n");
  assert.equal(await bystander.readUntil("PONG\r\n"), "MSG still.alive 1 2\r\nok\r\nPONG\r\n");
}

/** Sends `bytes` on a fresh connection (after CONNECT when `connectFirst`) until it closes. */
async function sendUntilClosed(
  server: ServerHandle,
  bytes: string | Uint8Array,
  connectFirst: boolean,
): Promise<string> {
  const raw = await connectRaw(server.port);
  try {
    if (connectFirst) await raw.handshake();
    else await raw.readUntil("\r\n");
    await raw.send(bytes);
    return await raw.expectClosed();
  } finally {
    await raw.dispose();
  }
}

Deno.test({
  name: "garbage - random bytes get 'Unknown Protocol Operation' and a close",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const bystander = await bystanderOf(server);
      try {
        for (const seed of [1, 2, 3, 42, 1234]) {
          const garbage = seededBytes(seed, 256);
          assert.equal(await sendUntilClosed(server, garbage, false), UNKNOWN_OP, `seed ${seed}`);
          assert.equal(await sendUntilClosed(server, garbage, true), UNKNOWN_OP, `seed ${seed}`);
        }
        await assertStillServing(bystander);
      } finally {
        await bystander.dispose();
      }
    }),
});

Deno.test({
  name: "garbage - an unknown op, even in a valid-looking line, is refused",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const bystander = await bystanderOf(server);
      try {
        assert.equal(await sendUntilClosed(server, "FOO bar\r\n", true), UNKNOWN_OP);
        // MSG is a server-to-client op only.
        assert.equal(await sendUntilClosed(server, "MSG a 1 1\r\nx\r\n", true), UNKNOWN_OP);
        assert.equal(await sendUntilClosed(server, "PUBX a 1\r\nx\r\n", true), UNKNOWN_OP);
        await assertStillServing(bystander);
      } finally {
        await bystander.dispose();
      }
    }),
});

Deno.test({
  name: "garbage - a payload longer than its declared size is a protocol error",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const bystander = await bystanderOf(server);
      try {
        // The server reads 2 payload bytes, then expects CRLF and finds "llo".
        assert.equal(await sendUntilClosed(server, "PUB a 2\r\nhello\r\n", true), UNKNOWN_OP);
        await assertStillServing(bystander);
      } finally {
        await bystander.dispose();
      }
    }),
});

Deno.test({
  name: "garbage - before CONNECT on a server with auth it is an Authorization Violation",
  ...serverTestOptions(),
  fn: () =>
    withServer({ authorization: { token: "t" } }, async (server) => {
      const garbage = seededBytes(7, 64);
      garbage[0] = 0x00; // anything but 'C' is refused before authentication
      assert.equal(
        await sendUntilClosed(server, garbage, false),
        "-ERR 'Authorization Violation'\r\n",
      );
    }),
});

Deno.test({
  name: "garbage - a CONNECT with broken JSON closes the connection",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const bystander = await bystanderOf(server);
      try {
        const raw = await connectRaw(server.port);
        try {
          await raw.readUntil("\r\n");
          await raw.send("CONNECT {bad json\r\nPING\r\n");
          // nats-server sends no -ERR here; what matters is the close and no PONG.
          const rest = await raw.expectClosed();
          assert.doesNotMatch(rest, /PONG|\+OK/);
        } finally {
          await raw.dispose();
        }
        await assertStillServing(bystander);
      } finally {
        await bystander.dispose();
      }
    }),
});

Deno.test({
  name: "garbage - many misbehaving clients at once leave the server serving",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const bystander = await bystanderOf(server);
      try {
        const closes = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            sendUntilClosed(server, seededBytes(100 + i, 512), i % 2 === 0)),
        );
        for (const text of closes) {
          assert.equal(text, UNKNOWN_OP);
        }
        await assertStillServing(bystander);
      } finally {
        await bystander.dispose();
      }
    }),
});
