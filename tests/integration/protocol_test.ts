/**
 * Wire-level behaviour of the client protocol seen through a raw socket: INFO contents,
 * verbose `+OK`, pedantic subject checks and PING/PONG.
 */

import assert from "node:assert/strict";
import { createUser } from "@nats-io/nkeys";
import { serverTestOptions, withServer } from "../helpers/server_process.ts";
import { connectRaw, parseInfo } from "../helpers/raw_client.ts";

Deno.test({
  name: "protocol - INFO on connect carries identity, limits and a client id",
  ...serverTestOptions(),
  fn: () =>
    withServer({ max_payload: 4096 }, async (server) => {
      const first = await connectRaw(server.port);
      const second = await connectRaw(server.port);
      try {
        const text = await first.readUntil("\r\n");
        assert.match(text, /^INFO \{.*\}[ ]?\r\n$/);
        const info = parseInfo(text);
        assert.equal(typeof info.server_id, "string");
        assert.ok((info.server_id as string).length > 0);
        assert.match(info.version as string, /^\d+\.\d+\.\d+/);
        assert.equal(info.proto, 1);
        assert.equal(info.headers, true);
        assert.equal(info.max_payload, 4096);
        assert.equal(info.host, "127.0.0.1");
        assert.equal(info.port, server.port);
        assert.equal(typeof info.client_id, "number");
        // No auth configured: no auth_required, no nonce.
        assert.equal(info.auth_required, undefined);
        assert.equal(info.nonce, undefined);

        const secondInfo = parseInfo(await second.readUntil("\r\n"));
        assert.equal(secondInfo.server_id, info.server_id);
        assert.notEqual(secondInfo.client_id, info.client_id);
      } finally {
        await first.dispose();
        await second.dispose();
      }
    }),
});

Deno.test({
  name: "protocol - INFO says auth_required with users and adds a nonce only for nkey users",
  ...serverTestOptions(),
  fn: async () => {
    await withServer(
      { authorization: { users: [{ user: "u", password: "p" }] } },
      async (server) => {
        const raw = await connectRaw(server.port);
        try {
          const info = parseInfo(await raw.readUntil("\r\n"));
          assert.equal(info.auth_required, true);
          assert.equal(info.nonce, undefined);
        } finally {
          await raw.dispose();
        }
      },
    );
    const nkeyUser = createUser();
    await withServer(
      { authorization: { users: [{ nkey: nkeyUser.getPublicKey() }] } },
      async (server) => {
        const first = await connectRaw(server.port);
        const second = await connectRaw(server.port);
        try {
          const info = parseInfo(await first.readUntil("\r\n"));
          assert.equal(info.auth_required, true);
          assert.equal(typeof info.nonce, "string");
          assert.ok((info.nonce as string).length >= 8);
          const secondInfo = parseInfo(await second.readUntil("\r\n"));
          assert.notEqual(secondInfo.nonce, info.nonce, "each connection gets a fresh nonce");
        } finally {
          await first.dispose();
          await second.dispose();
        }
      },
    );
  },
});

Deno.test({
  name: "protocol - verbose answers +OK and pedantic flags a wildcard publish subject",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const raw = await connectRaw(server.port);
      try {
        await raw.readUntil("\r\n");
        await raw.send('CONNECT {"verbose":true,"pedantic":true}\r\n');
        assert.equal(await raw.readUntil("\r\n"), "+OK\r\n");
        await raw.send("SUB foo.* 1\r\nPUB foo.* 2\r\nhi\r\nPING\r\n");
        const text = await raw.readUntil("PONG\r\n");
        // nats-server reports the bad subject, then still acks the PUB and routes the message.
        assert.equal(
          text,
          "+OK\r\n-ERR 'Invalid Publish Subject'\r\n+OK\r\nMSG foo.* 1 2\r\nhi\r\nPONG\r\n",
        );
        assert.equal(raw.closed, false);
      } finally {
        await raw.dispose();
      }
    }),
});

Deno.test({
  name: "protocol - pedantic rejects an invalid SUB subject and keeps the connection",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const raw = await connectRaw(server.port);
      try {
        await raw.handshake({ verbose: true, pedantic: true });
        await raw.send("SUB foo..bar 1\r\nSUB ok 2\r\nPUB ok 1\r\nx\r\nPING\r\n");
        const text = await raw.readUntil("PONG\r\n");
        // The bad SUB gets -ERR instead of +OK; the PUB is acked before its message comes back.
        assert.equal(text, "-ERR 'Invalid Subject'\r\n+OK\r\n+OK\r\nMSG ok 2 1\r\nx\r\nPONG\r\n");
      } finally {
        await raw.dispose();
      }
    }),
});

Deno.test({
  name: "protocol - CONNECT without a verbose field means verbose",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const raw = await connectRaw(server.port);
      try {
        await raw.readUntil("\r\n");
        await raw.send("CONNECT {}\r\nSUB a 1\r\nPING\r\n");
        assert.equal(await raw.readUntil("PONG\r\n"), "+OK\r\n+OK\r\nPONG\r\n");
      } finally {
        await raw.dispose();
      }
    }),
});

Deno.test({
  name: "protocol - without auth, PING and PUB before CONNECT are served",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const raw = await connectRaw(server.port);
      try {
        await raw.readUntil("\r\n");
        await raw.send("PING\r\n");
        assert.equal(await raw.readUntil("PONG\r\n"), "PONG\r\n");
        // Before CONNECT the default options apply, and those are verbose.
        await raw.send("SUB a 1\r\nPUB a 1\r\nx\r\nPING\r\n");
        assert.equal(await raw.readUntil("PONG\r\n"), "+OK\r\n+OK\r\nMSG a 1 1\r\nx\r\nPONG\r\n");
      } finally {
        await raw.dispose();
      }
    }),
});

Deno.test({
  name: "protocol - the server answers PONG to PING and accepts lowercase ops",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const raw = await connectRaw(server.port);
      try {
        await raw.handshake();
        await raw.send("ping\r\nsub low 1\r\npub low 2\r\nok\r\nPING\r\n");
        assert.equal(await raw.readUntil("PONG\r\nMSG"), "PONG\r\nMSG");
        assert.equal(await raw.readUntil("PONG\r\n"), " low 1 2\r\nok\r\nPONG\r\n");
      } finally {
        await raw.dispose();
      }
    }),
});
