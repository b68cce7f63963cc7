/**
 * Per-user publish and subscribe permissions: a violation is an async `-ERR` that leaves the
 * connection up, allow lists admit only what they name, deny wins over allow.
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { deadline, PermissionViolationError } from "@nats-io/nats-core";
import type { NatsConnection } from "@nats-io/nats-core";
import { serverTestOptions, withServer } from "../helpers/server_process.ts";
import type { ServerHandle } from "../helpers/server_process.ts";
import { connectRaw } from "../helpers/raw_client.ts";

const CONFIG = {
  authorization: {
    users: [
      {
        user: "denied",
        password: "p",
        permissions: { publish: { deny: ["secret.>", "x"] }, subscribe: { deny: ["private.*"] } },
      },
      {
        user: "allowed",
        password: "p",
        permissions: {
          publish: { allow: ["orders.*", "_INBOX.>"] },
          subscribe: { allow: ["orders.>", "_INBOX.>"] },
        },
      },
      {
        user: "mixed",
        password: "p",
        permissions: { publish: { allow: ["app.>"], deny: ["app.admin.>"] } },
      },
      { user: "free", password: "p" },
    ],
  },
};

const pubViolation = (subject: string) =>
  `-ERR 'Permissions Violation for Publish to "${subject}"'\r\n`;
const subViolation = (subject: string) =>
  `-ERR 'Permissions Violation for Subscription to "${subject}"'\r\n`;

function login(server: ServerHandle, user: string): Promise<NatsConnection> {
  return connect({ servers: server.url, reconnect: false, user, pass: "p" });
}

/** Sends `ops` then a PING on a raw connection and returns everything up to the PONG. */
async function rawExchange(server: ServerHandle, user: string, ops: string): Promise<string> {
  const raw = await connectRaw(server.port);
  try {
    await raw.handshake({ user, pass: "p" });
    await raw.send(`${ops}PING\r\n`);
    const text = await raw.readUntil("PONG\r\n");
    assert.equal(raw.closed, false, "a permissions violation must not close the connection");
    return text;
  } finally {
    await raw.dispose();
  }
}

Deno.test({
  name: "permissions - raw: publish deny gets the exact -ERR and later publishes still flow",
  ...serverTestOptions(),
  fn: () =>
    withServer(CONFIG, async (server) => {
      const text = await rawExchange(
        server,
        "denied",
        "SUB ok 1\r\nPUB x 1\r\na\r\nPUB secret.plans 1\r\nb\r\nPUB ok 1\r\nc\r\n",
      );
      assert.equal(
        text,
        pubViolation("x") + pubViolation("secret.plans") + "MSG ok 1 1\r\nc\r\nPONG\r\n",
      );
    }),
});

Deno.test({
  name: "permissions - raw: subscribe deny gets the exact -ERR and the sid receives nothing",
  ...serverTestOptions(),
  fn: () =>
    withServer(CONFIG, async (server) => {
      const text = await rawExchange(
        server,
        "denied",
        "SUB private.notes 1\r\nSUB public.notes 2\r\n" +
          "PUB private.notes 1\r\na\r\nPUB public.notes 1\r\nb\r\n",
      );
      assert.equal(text, subViolation("private.notes") + "MSG public.notes 2 1\r\nb\r\nPONG\r\n");
    }),
});

Deno.test({
  name: "permissions - client: a denied publish is an async PermissionViolationError, not a close",
  ...serverTestOptions(),
  fn: () =>
    withServer(CONFIG, async (server) => {
      const nc = await login(server, "denied");
      try {
        const errors: Error[] = [];
        const errorSeen = Promise.withResolvers<void>();
        (async () => {
          for await (const status of nc.status()) {
            if (status.type === "error") {
              errors.push(status.error);
              errorSeen.resolve();
            }
          }
        })();
        const sub = nc.subscribe("fine", { max: 1 });
        nc.publish("secret.x", "nope");
        nc.publish("fine", "yes");
        await deadline(errorSeen.promise, 2_000);
        for await (const msg of sub) assert.equal(msg.string(), "yes");

        assert.equal(errors.length, 1);
        const [error] = errors;
        assert.ok(error instanceof PermissionViolationError, `got ${error}`);
        assert.equal(error.message, 'Permissions Violation for Publish to "secret.x"');
        assert.equal(error.operation, "publish");
        assert.equal(error.subject, "secret.x");
        assert.equal(nc.isClosed(), false);
      } finally {
        await nc.close();
      }
    }),
});

Deno.test({
  name: "permissions - client: a denied subscription is closed with the violation as its error",
  ...serverTestOptions(),
  fn: () =>
    withServer(CONFIG, async (server) => {
      const nc = await login(server, "denied");
      try {
        const { promise, resolve } = Promise.withResolvers<Error | null>();
        const sub = nc.subscribe("private.diary", { callback: (error) => resolve(error) });
        const error = await deadline(promise, 2_000);
        assert.ok(error instanceof PermissionViolationError, `got ${error}`);
        assert.equal(error.message, 'Permissions Violation for Subscription to "private.diary"');
        assert.equal(sub.isClosed(), true);
        assert.equal(nc.isClosed(), false);
        // The connection still works for everything else.
        const other = nc.subscribe("public.diary", { max: 1 });
        nc.publish("public.diary", "open");
        for await (const msg of other) assert.equal(msg.string(), "open");
      } finally {
        await nc.close();
      }
    }),
});

Deno.test({
  name: "permissions - raw: allow lists admit only the subjects they name",
  ...serverTestOptions(),
  fn: () =>
    withServer(CONFIG, async (server) => {
      const text = await rawExchange(
        server,
        "allowed",
        // orders.> may be subscribed, a wider or unrelated subject may not.
        "SUB orders.> 1\r\nSUB > 2\r\nSUB billing.x 3\r\n" +
          // orders.* may be published; orders.a.b has one token too many.
          "PUB orders.new 1\r\na\r\nPUB orders.a.b 1\r\nb\r\nPUB billing.x 1\r\nc\r\n",
      );
      assert.equal(
        text,
        subViolation(">") + subViolation("billing.x") + "MSG orders.new 1 1\r\na\r\n" +
          pubViolation("orders.a.b") + pubViolation("billing.x") + "PONG\r\n",
      );
    }),
});

Deno.test({
  name: "permissions - raw: deny wins over a wider allow",
  ...serverTestOptions(),
  fn: () =>
    withServer(CONFIG, async (server) => {
      const text = await rawExchange(
        server,
        "mixed",
        "SUB app.> 1\r\nPUB app.user.1 1\r\na\r\nPUB app.admin.reset 1\r\nb\r\nPUB other 1\r\nc\r\n",
      );
      assert.equal(
        text,
        "MSG app.user.1 1 1\r\na\r\n" + pubViolation("app.admin.reset") + pubViolation("other") +
          "PONG\r\n",
      );
    }),
});

Deno.test({
  name: "permissions - a user without permissions is not limited by other users' rules",
  ...serverTestOptions(),
  fn: () =>
    withServer(CONFIG, async (server) => {
      const text = await rawExchange(
        server,
        "free",
        "SUB > 1\r\nPUB x 1\r\na\r\nPUB secret.plans 1\r\nb\r\n",
      );
      assert.equal(text, "MSG x 1 1\r\na\r\nMSG secret.plans 1 1\r\nb\r\nPONG\r\n");
    }),
});

Deno.test({
  name: "permissions - allowed users can do request/reply through _INBOX",
  ...serverTestOptions(),
  fn: () =>
    withServer(CONFIG, async (server) => {
      const requester = await login(server, "allowed");
      const responder = await login(server, "free");
      try {
        responder.subscribe("orders.price", { callback: (_error, msg) => void msg.respond("42") });
        await responder.flush();
        const reply = await requester.request("orders.price", "?", { timeout: 1_000 });
        assert.equal(reply.string(), "42");
      } finally {
        await Promise.all([requester.close(), responder.close()]);
      }
    }),
});
