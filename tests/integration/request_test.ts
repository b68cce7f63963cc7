/**
 * Request/reply: replies reach the requester's inbox, and a request nobody listens to gets
 * nats-server's "no responders" status message when the client asked for it.
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { RequestError } from "@nats-io/nats-core";
import { serverTestOptions, withServer } from "../helpers/server_process.ts";
import { connectRaw } from "../helpers/raw_client.ts";

Deno.test({
  name: "request - a responder's reply reaches the requester",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const responder = await connect({ servers: server.url, reconnect: false });
      const requester = await connect({ servers: server.url, reconnect: false });
      try {
        responder.subscribe("math.double", {
          callback: (_error, msg) => {
            msg.respond(`${Number(msg.string()) * 2}`);
          },
        });
        await responder.flush();
        const answers = await Promise.all(
          [1, 2, 3].map((n) => requester.request("math.double", `${n}`, { timeout: 1_000 })),
        );
        assert.deepEqual(answers.map((msg) => msg.string()), ["2", "4", "6"]);
      } finally {
        await Promise.all([responder.close(), requester.close()]);
      }
    }),
});

Deno.test({
  name: "request - the client library reports no responders instead of timing out",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const requester = await connect({ servers: server.url, reconnect: false });
      try {
        const started = performance.now();
        const error = await requester.request("nobody.home", "x", { timeout: 5_000 }).then(
          () => undefined,
          (reason: unknown) => reason,
        );
        assert.ok(error instanceof RequestError, `got ${error}`);
        assert.ok(error.isNoResponders(), "the cause is NoResponders");
        assert.ok(performance.now() - started < 2_000, "answered well before the timeout");
      } finally {
        await requester.close();
      }
    }),
});

Deno.test({
  name: "request - raw: headers + no_responders gets an HMSG with status 503 on the reply subject",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const raw = await connectRaw(server.port);
      try {
        await raw.handshake({ headers: true, no_responders: true });
        await raw.send("SUB _INBOX.r1 1\r\nPUB nobody _INBOX.r1 2\r\nhi\r\nPING\r\n");
        const text = await raw.readUntil("PONG\r\n");
        assert.equal(text, "HMSG _INBOX.r1 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\nPONG\r\n");
      } finally {
        await raw.dispose();
      }
    }),
});

Deno.test({
  name: "request - raw: HPUB to nobody also gets the 503 status",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const raw = await connectRaw(server.port);
      try {
        await raw.handshake({ headers: true, no_responders: true });
        await raw.send(
          "SUB _INBOX.r2 1\r\nHPUB nobody _INBOX.r2 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n",
        );
        const text = await raw.readUntil("PONG\r\n");
        assert.equal(text, "HMSG _INBOX.r2 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\nPONG\r\n");
      } finally {
        await raw.dispose();
      }
    }),
});

Deno.test({
  name: "request - raw: without no_responders, or without a reply subject, nothing comes back",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const headersOnly = await connectRaw(server.port);
      const noReply = await connectRaw(server.port);
      try {
        await headersOnly.handshake({ headers: true });
        await headersOnly.send("SUB _INBOX.r3 1\r\nPUB nobody _INBOX.r3 2\r\nhi\r\nPING\r\n");
        assert.equal(await headersOnly.readUntil("PONG\r\n"), "PONG\r\n");

        await noReply.handshake({ headers: true, no_responders: true });
        await noReply.send("PUB nobody 2\r\nhi\r\nPING\r\n");
        assert.equal(await noReply.readUntil("PONG\r\n"), "PONG\r\n");
      } finally {
        await headersOnly.dispose();
        await noReply.dispose();
      }
    }),
});

Deno.test({
  name: "request - raw: no_responders without headers is refused and the connection closed",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const raw = await connectRaw(server.port);
      try {
        await raw.readUntil("\r\n");
        await raw.send('CONNECT {"verbose":false,"no_responders":true}\r\nPING\r\n');
        assert.equal(await raw.expectClosed(), "-ERR 'no responders requires headers support'\r\n");
      } finally {
        await raw.dispose();
      }
    }),
});

Deno.test({
  name: "request - raw: a responder's reply arrives as MSG on the requester's inbox",
  ...serverTestOptions(),
  fn: () =>
    withServer({}, async (server) => {
      const requester = await connectRaw(server.port);
      const responder = await connectRaw(server.port);
      try {
        await requester.handshake({ headers: true, no_responders: true });
        await responder.handshake();
        await responder.send("SUB svc 9\r\nPING\r\n");
        await responder.readUntil("PONG\r\n");
        await requester.send("SUB _INBOX.r4 1\r\nPUB svc _INBOX.r4 3\r\nask\r\n");
        assert.equal(await responder.readUntil("ask\r\n"), "MSG svc 9 _INBOX.r4 3\r\nask\r\n");
        await responder.send("PUB _INBOX.r4 6\r\nanswer\r\n");
        assert.equal(await requester.readUntil("answer\r\n"), "MSG _INBOX.r4 1 6\r\nanswer\r\n");
      } finally {
        await requester.dispose();
        await responder.dispose();
      }
    }),
});
