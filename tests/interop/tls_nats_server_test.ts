/**
 * TLS interop in both directions:
 * - our client side (`upgradeClientTls` after reading INFO) against the real nats-server with
 *   `tls { verify: true }` on its client port;
 * - the real NATS client (`@nats-io/transport-node`, TLS with a client certificate) against a
 *   tiny server built on `upgradeServerTls`.
 *
 * The nats-server tests skip loudly when the binary is missing, and fail under `CI`.
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import {
  type NodeTlsTransport,
  TlsHandshakeError,
  upgradeClientTls,
  upgradeServerTls,
} from "../../actors/tls_transport.ts";
import { TcpTransport, type Transport } from "../../actors/transport.ts";
import { CLIENT_SUBJECT, type TestCerts, testCerts } from "../helpers/certs.ts";
import { serverTestOptions, withServer } from "../helpers/server_process.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads until the text so far contains `wanted` (or the stream ends). */
async function readUntil(transport: Transport, wanted: string): Promise<string> {
  const buffer = new Uint8Array(4096);
  let text = "";
  while (!text.includes(wanted)) {
    const n = await transport.read(buffer);
    if (n === null) break;
    text += decoder.decode(buffer.subarray(0, n));
  }
  return text;
}

async function writeText(transport: Transport, text: string): Promise<void> {
  const bytes = encoder.encode(text);
  let offset = 0;
  while (offset < bytes.length) offset += await transport.write(bytes.subarray(offset));
}

function natsServerTls(certs: TestCerts): Record<string, unknown> {
  return {
    tls: {
      cert_file: certs.server.certFile,
      key_file: certs.server.keyFile,
      ca_file: certs.ca.certFile,
      verify: true,
      timeout: 2,
    },
  };
}

/** Dials nats-server and reads its plaintext INFO line, leaving nothing else read. */
async function dialAndReadInfo(port: number): Promise<{ raw: TcpTransport; info: string }> {
  const raw = new TcpTransport(await Deno.connect({ hostname: "127.0.0.1", port }));
  // One byte at a time: nats-server waits for our ClientHello after INFO, so nothing follows
  // the line, but reading past it would eat the first TLS bytes if it ever did.
  const byte = new Uint8Array(1);
  let info = "";
  while (!info.endsWith("\r\n")) {
    if (await raw.read(byte) === null) throw new Error(`Cannot read INFO, got ${info}`);
    info += String.fromCharCode(byte[0]);
  }
  return { raw, info };
}

Deno.test({
  name: "tls interop - our client side with a client certificate gets PONG from nats-server",
  ...serverTestOptions("nats-server"),
  fn: async () => {
    const certs = await testCerts();
    await withServer(natsServerTls(certs), async (server) => {
      const { raw, info } = await dialAndReadInfo(server.port);
      assert.match(info, /^INFO \{.*"tls_required":true.*"tls_verify":true.*\} ?\r\n$/);
      const secure = await upgradeClientTls(
        raw,
        {
          caFile: certs.ca.certFile,
          certFile: certs.client.certFile,
          keyFile: certs.client.keyFile,
        },
        { servername: "localhost", timeoutMs: 2_000 },
      );
      try {
        assert.equal(secure.peerCertificate()?.subject, "CN=localhost");
        await writeText(
          secure,
          'CONNECT {"verbose":false,"pedantic":false,"tls_required":true,"protocol":1}\r\nPING\r\n',
        );
        assert.equal(await readUntil(secure, "PONG\r\n"), "PONG\r\n");
      } finally {
        secure.close();
      }
    }, { impl: "nats-server" });
  },
});

Deno.test({
  name: "tls interop - nats-server with verify refuses our client without a certificate",
  ...serverTestOptions("nats-server"),
  fn: async () => {
    const certs = await testCerts();
    await withServer(natsServerTls(certs), async (server) => {
      const { raw } = await dialAndReadInfo(server.port);
      let secure: NodeTlsTransport | undefined;
      let refusal: unknown;
      try {
        // TLS 1.3: our side finishes before the server judges us, so the refusal arrives as an
        // alert on the first read rather than from the handshake itself.
        secure = await upgradeClientTls(raw, { caFile: certs.ca.certFile }, {
          servername: "localhost",
          timeoutMs: 2_000,
        });
        await writeText(secure, "CONNECT {}\r\nPING\r\n").catch(() => {});
        const text = await readUntil(secure, "PONG\r\n");
        assert.fail(`no PONG without a certificate, got ${JSON.stringify(text)}`);
      } catch (error) {
        refusal = error;
      } finally {
        secure?.close();
      }
      assert.ok(refusal instanceof TlsHandshakeError, `got ${refusal}`);
      assert.equal(refusal.reason, "bad_certificate");
      assert.match(refusal.message, /BadCertificate/);
      await server.waitForLog("TLS handshake error");
      assert.match(server.logs(), /client didn't provide a certificate/);
    }, { impl: "nats-server" });
  },
});

/**
 * Just enough of a NATS server for a client to connect: INFO with `tls_required`, the TLS
 * upgrade, then PONG for every PING. Records the outcome of each upgrade.
 */
async function withTinyTlsServer(
  certs: TestCerts,
  body: (port: number, upgrades: Promise<NodeTlsTransport>[]) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  const upgrades: Promise<NodeTlsTransport>[] = [];
  const sessions: Promise<void>[] = [];
  const tls = {
    certFile: certs.server.certFile,
    keyFile: certs.server.keyFile,
    caFile: certs.ca.certFile,
    verify: true,
  };
  const accepting = (async () => {
    for await (const conn of listener) {
      const raw = new TcpTransport(conn);
      const info = {
        server_id: "NCANOPYTLSINTEROP",
        server_name: "tiny-tls",
        version: "2.9.10",
        proto: 1,
        host: "127.0.0.1",
        port,
        headers: true,
        max_payload: 1048576,
        tls_required: true,
        tls_verify: true,
        client_id: upgrades.length + 1,
      };
      await writeText(raw, `INFO ${JSON.stringify(info)}\r\n`);
      const upgrade = upgradeServerTls(raw, tls, { timeoutMs: 2_000 });
      upgrades.push(upgrade);
      sessions.push(upgrade.then(answerPings, () => {}));
    }
  })();
  try {
    await body(port, upgrades);
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const upgrade of upgrades) upgrade.then((t) => t.close(), () => {});
    await Promise.all(sessions);
  }
}

/** Answers each PING with PONG until the client goes away. */
async function answerPings(transport: NodeTlsTransport): Promise<void> {
  const buffer = new Uint8Array(4096);
  let pending = "";
  try {
    for (;;) {
      const n = await transport.read(buffer);
      if (n === null) return;
      pending += decoder.decode(buffer.subarray(0, n));
      let end: number;
      while ((end = pending.indexOf("\r\n")) >= 0) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 2);
        if (line === "PING") await writeText(transport, "PONG\r\n");
      }
    }
  } catch {
    // The client hung up; nothing to answer.
  } finally {
    transport.close();
  }
}

Deno.test({
  name: "tls interop - the NATS client connects with a client certificate to upgradeServerTls",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const certs = await testCerts();
    await withTinyTlsServer(certs, async (port, upgrades) => {
      const nc = await connect({
        servers: `127.0.0.1:${port}`,
        tls: {
          caFile: certs.ca.certFile,
          certFile: certs.client.certFile,
          keyFile: certs.client.keyFile,
        },
        reconnect: false,
        timeout: 3_000,
      });
      try {
        await nc.flush();
        assert.equal(nc.info?.server_name, "tiny-tls");
        const secure = await upgrades[0];
        assert.equal(secure.peerCertificate()?.subject, CLIENT_SUBJECT);
      } finally {
        await nc.close();
      }
    });
  },
});

Deno.test({
  name: "tls interop - the NATS client without a certificate is refused by upgradeServerTls",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const certs = await testCerts();
    await withTinyTlsServer(certs, async (port, upgrades) => {
      await assert.rejects(
        connect({
          servers: `127.0.0.1:${port}`,
          tls: { caFile: certs.ca.certFile },
          reconnect: false,
          timeout: 3_000,
        }),
      );
      const [outcome] = await Promise.allSettled([upgrades[0]]);
      assert.equal(outcome.status, "rejected");
      const error = (outcome as PromiseRejectedResult).reason;
      assert.ok(error instanceof TlsHandshakeError);
      assert.equal(error.reason, "no_certificate");
    });
  },
});
