/**
 * Client authentication: every method accepted with good credentials and refused with bad
 * ones, the exact refusal on the wire, no_auth_user and the authentication timeout.
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { AuthorizationError, nkeyAuthenticator } from "@nats-io/nats-core";
import type { ConnectionOptions } from "@nats-io/nats-core";
import { createUser } from "@nats-io/nkeys";
import bcrypt from "bcryptjs";
import { serverTestOptions, withServer } from "../helpers/server_process.ts";
import type { ServerHandle } from "../helpers/server_process.ts";
import { connectRaw } from "../helpers/raw_client.ts";

const AUTH_VIOLATION = "-ERR 'Authorization Violation'\r\n";

/**
 * When the server refuses a client and closes, the client library (on Deno's node:net) now and
 * then gets an ECONNRESET on a socket whose listeners it already removed, and that surfaces as
 * an uncaught error. Refusing and closing is exactly what these tests expect, so such resets
 * are swallowed; any other uncaught error still fails the run.
 */
globalThis.addEventListener("error", (event) => {
  const error = event.error as { code?: unknown } | undefined;
  if (error?.code === "ECONNRESET") event.preventDefault();
});

/** Connects, proves the connection works with a round trip, and closes it. */
async function assertAccepted(server: ServerHandle, options: Partial<ConnectionOptions>) {
  const nc = await connect({ servers: server.url, reconnect: false, ...options });
  try {
    const sub = nc.subscribe("auth.check", { max: 1 });
    nc.publish("auth.check", "ok");
    for await (const msg of sub) assert.equal(msg.string(), "ok");
  } finally {
    await nc.close();
  }
}

async function assertRejected(server: ServerHandle, options: Partial<ConnectionOptions>) {
  await assert.rejects(
    connect({ servers: server.url, reconnect: false, ...options }),
    (error: unknown) => {
      assert.ok(error instanceof AuthorizationError, `got ${error}`);
      assert.equal(error.message, "Authorization Violation");
      return true;
    },
  );
}

/** Sends one CONNECT over a raw socket and returns everything up to the close. */
async function rawConnectUntilClosed(server: ServerHandle, connectJson: string): Promise<string> {
  const raw = await connectRaw(server.port);
  try {
    await raw.readUntil("\r\n");
    await raw.send(`CONNECT ${connectJson}\r\nPING\r\n`);
    return await raw.expectClosed();
  } finally {
    await raw.dispose();
  }
}

Deno.test({
  name: "auth - user and password: good ones connect, bad ones get Authorization Violation",
  ...serverTestOptions(),
  fn: () =>
    withServer({ authorization: { user: "alice", password: "s3cret" } }, async (server) => {
      await assertAccepted(server, { user: "alice", pass: "s3cret" });
      await assertRejected(server, { user: "alice", pass: "wrong" });
      await assertRejected(server, { user: "mallory", pass: "s3cret" });
      await assertRejected(server, {});
    }),
});

Deno.test({
  name: "auth - raw: bad credentials get -ERR 'Authorization Violation' and a close",
  ...serverTestOptions(),
  fn: () =>
    withServer({ authorization: { user: "alice", password: "s3cret" } }, async (server) => {
      const badPassword = await rawConnectUntilClosed(
        server,
        '{"verbose":false,"user":"alice","pass":"nope"}',
      );
      assert.equal(badPassword, AUTH_VIOLATION);
      const noCredentials = await rawConnectUntilClosed(server, '{"verbose":false}');
      assert.equal(noCredentials, AUTH_VIOLATION);

      const good = await connectRaw(server.port);
      try {
        await good.handshake({ user: "alice", pass: "s3cret" });
        assert.equal(good.closed, false);
      } finally {
        await good.dispose();
      }
    }),
});

Deno.test({
  name: "auth - raw: a PING before CONNECT is an Authorization Violation when auth is on",
  ...serverTestOptions(),
  fn: () =>
    withServer({ authorization: { token: "t0ken" } }, async (server) => {
      const raw = await connectRaw(server.port);
      try {
        await raw.readUntil("\r\n");
        await raw.send("PING\r\n");
        assert.equal(await raw.expectClosed(), AUTH_VIOLATION);
      } finally {
        await raw.dispose();
      }
    }),
});

Deno.test({
  name: "auth - bcrypt password hashes verify the plain password",
  ...serverTestOptions(),
  fn: () => {
    // Cost 4 keeps the server's hash check fast; the format is what matters here.
    const hash = bcrypt.hashSync("hunter2", 4);
    return withServer(
      { authorization: { users: [{ user: "bob", password: hash }] } },
      async (server) => {
        await assertAccepted(server, { user: "bob", pass: "hunter2" });
        await assertRejected(server, { user: "bob", pass: "hunter3" });
        // The hash itself is not a password.
        await assertRejected(server, { user: "bob", pass: hash });
      },
    );
  },
});

Deno.test({
  name: "auth - token: the right token connects, a wrong one is refused",
  ...serverTestOptions(),
  fn: () =>
    withServer({ authorization: { token: "t0ken" } }, async (server) => {
      await assertAccepted(server, { token: "t0ken" });
      await assertRejected(server, { token: "t0ke" });
      await assertRejected(server, {});
      const raw = await rawConnectUntilClosed(server, '{"verbose":false,"auth_token":"bad"}');
      assert.equal(raw, AUTH_VIOLATION);
    }),
});

Deno.test({
  name: "auth - nkey: a signed nonce from the right seed connects, another seed is refused",
  ...serverTestOptions(),
  fn: () => {
    const allowed = createUser();
    const stranger = createUser();
    return withServer(
      { authorization: { users: [{ nkey: allowed.getPublicKey() }] } },
      async (server) => {
        await assertAccepted(server, { authenticator: nkeyAuthenticator(allowed.getSeed()) });
        await assertRejected(server, { authenticator: nkeyAuthenticator(stranger.getSeed()) });
        await assertRejected(server, {});
        // Claiming the right public key without a valid signature is not enough.
        const forged = await rawConnectUntilClosed(
          server,
          JSON.stringify({ verbose: false, nkey: allowed.getPublicKey(), sig: "AAAA" }),
        );
        assert.equal(forged, AUTH_VIOLATION);
      },
    );
  },
});

Deno.test({
  name: "auth - a users list mixes password and nkey users, each with its own credentials",
  ...serverTestOptions(),
  fn: () => {
    const nkeyUser = createUser();
    const config = {
      authorization: {
        users: [
          { user: "one", password: "pw1" },
          { user: "two", password: "pw2" },
          { nkey: nkeyUser.getPublicKey() },
        ],
      },
    };
    return withServer(config, async (server) => {
      await assertAccepted(server, { user: "one", pass: "pw1" });
      await assertAccepted(server, { user: "two", pass: "pw2" });
      await assertAccepted(server, { authenticator: nkeyAuthenticator(nkeyUser.getSeed()) });
      await assertRejected(server, { user: "one", pass: "pw2" });
    });
  },
});

Deno.test({
  name: "auth - no_auth_user lets a client without credentials in, bad credentials still fail",
  ...serverTestOptions(),
  fn: () =>
    withServer(
      {
        authorization: {
          users: [{ user: "guest", password: "g" }, { user: "admin", password: "a" }],
        },
        no_auth_user: "guest",
      },
      async (server) => {
        await assertAccepted(server, {});
        await assertAccepted(server, { user: "admin", pass: "a" });
        await assertRejected(server, { user: "admin", pass: "wrong" });
        // Without CONNECT, the first op is accepted as the no_auth_user.
        const raw = await connectRaw(server.port);
        try {
          await raw.readUntil("\r\n");
          await raw.send("PING\r\n");
          assert.equal(await raw.readUntil("PONG\r\n"), "PONG\r\n");
        } finally {
          await raw.dispose();
        }
      },
    ),
});

Deno.test({
  name: "auth - raw: a client that never sends CONNECT gets 'Authentication Timeout' and a close",
  ...serverTestOptions(),
  fn: () =>
    withServer(
      { authorization: { user: "alice", password: "s3cret", timeout: 0.5 } },
      async (server) => {
        const raw = await connectRaw(server.port);
        try {
          await raw.readUntil("\r\n");
          const started = performance.now();
          assert.equal(await raw.expectClosed(2_000), "-ERR 'Authentication Timeout'\r\n");
          const elapsed = performance.now() - started;
          assert.ok(elapsed >= 400, `closed after ${elapsed} ms, before the 0.5 s timeout`);
        } finally {
          await raw.dispose();
        }
      },
    ),
});

Deno.test({
  name: "auth - a client that authenticated in time is not hit by the auth timeout",
  ...serverTestOptions(),
  fn: () =>
    withServer(
      { authorization: { user: "alice", password: "s3cret", timeout: 0.3 } },
      async (server) => {
        const raw = await connectRaw(server.port);
        try {
          await raw.handshake({ user: "alice", pass: "s3cret" });
          await new Promise((resolve) => setTimeout(resolve, 500));
          await raw.send("PING\r\n");
          assert.equal(await raw.readUntil("PONG\r\n"), "PONG\r\n");
          assert.equal(raw.closed, false);
        } finally {
          await raw.dispose();
        }
      },
    ),
});
