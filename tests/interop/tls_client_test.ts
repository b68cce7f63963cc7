/**
 * TLS on Canopy's client port (top-level `[tls]`), with the real NATS client
 * (`@nats-io/transport-node`) and raw sockets:
 * - a client trusting the test CA connects and does pub/sub; with `verify` it also needs a
 *   certificate;
 * - clients that get TLS wrong (plaintext on a TLS port, TLS on a plaintext port, silence where
 *   the handshake should be) are closed cleanly and the server goes on serving;
 * - `cipher_suites` and `curve_preferences`, which the runtime cannot enforce, stop Canopy from
 *   starting, in every `tls` block, before it opens any port.
 *
 * Canopy only: run in the default pairing and ignored in the interop and reference passes,
 * which would only repeat them unchanged.
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import type { ConnectionOptions, NatsConnection } from "@nats-io/nats-core";
import { stringify as stringifyToml } from "smol-toml";
import { hubImpl, leafImpl, leafTestOptions } from "../helpers/leaf_topology.ts";
import { type TestCerts, testCerts } from "../helpers/certs.ts";
import { freePort } from "../helpers/free_port.ts";
import { connectRaw, parseInfo } from "../helpers/raw_client.ts";
import { REPO_ROOT, type ServerHandle, withServer } from "../helpers/server_process.ts";

const CANOPY_ONLY = {
  ...leafTestOptions("canopy"),
  ignore: hubImpl() !== "canopy" || leafImpl() !== "canopy",
};

/** The TLS handshake timeout of the client port in these tests (`timeout = 0.5`). */
const TLS_TIMEOUT_MS = 500;

/**
 * With TLS on, the auth timeout becomes the TLS timeout plus one second: a silent client closed
 * well before that was closed by the TLS timeout.
 */
const AUTH_TIMEOUT_MS = TLS_TIMEOUT_MS + 1_000;

/** `[tls]` for the client port, presenting the `localhost`/`127.0.0.1` certificate. */
function clientPortTls(certs: TestCerts, options: { verify?: boolean } = {}) {
  return {
    tls: {
      cert_file: certs.server.certFile,
      key_file: certs.server.keyFile,
      ca_file: certs.ca.certFile,
      timeout: TLS_TIMEOUT_MS / 1_000,
      ...(options.verify ? { verify: true } : {}),
    },
  };
}

function startCanopy(
  config: Record<string, unknown>,
  body: (server: ServerHandle) => Promise<void>,
): Promise<void> {
  return withServer(config, body, { impl: "canopy" });
}

/** Connects the real client; `tls` options as `@nats-io/transport-node` takes them. */
function connectTls(
  server: ServerHandle,
  tls: ConnectionOptions["tls"],
): Promise<NatsConnection> {
  return connect({ servers: server.url, tls, reconnect: false, timeout: 3_000 });
}

/** One client publishes, another receives, over `tls` (null: plaintext). */
async function assertPubSub(server: ServerHandle, tls: ConnectionOptions["tls"]): Promise<void> {
  const subscriber = await connectTls(server, tls);
  const publisher = await connectTls(server, tls);
  try {
    const subscription = subscriber.subscribe("tls.pubsub", { max: 1 });
    await subscriber.flush();
    publisher.publish("tls.pubsub", "secret");
    await publisher.flush();
    const received: string[] = [];
    const reading = (async () => {
      for await (const msg of subscription) received.push(msg.string());
    })();
    await Promise.race([reading, delay(2_000)]);
    assert.deepEqual(received, ["secret"]);
  } finally {
    await Promise.allSettled([subscriber.close(), publisher.close()]);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test({
  name: "tls client - a client trusting the CA connects and does pub/sub",
  ...CANOPY_ONLY,
  fn: async () => {
    const certs = await testCerts();
    await startCanopy(clientPortTls(certs), async (server) => {
      await assertPubSub(server, { caFile: certs.ca.certFile });
    });
  },
});

Deno.test({
  name: "tls client - with verify a client needs a certificate from the CA",
  ...CANOPY_ONLY,
  fn: async () => {
    const certs = await testCerts();
    await startCanopy(clientPortTls(certs, { verify: true }), async (server) => {
      await assert.rejects(connectTls(server, { caFile: certs.ca.certFile }));
      await server.waitForLog("TLS handshake error");
      assert.match(server.logs(), /TLS handshake error: .*no certificate/);

      await assert.rejects(connectTls(server, {
        caFile: certs.ca.certFile,
        certFile: certs.badClient.certFile,
        keyFile: certs.badClient.keyFile,
      }));
      await server.waitForLog("client certificate was rejected");

      await assertPubSub(server, {
        caFile: certs.ca.certFile,
        certFile: certs.client.certFile,
        keyFile: certs.client.keyFile,
      });
    });
  },
});

Deno.test({
  name: "tls client - a plaintext client on the TLS port is closed and the server goes on",
  ...CANOPY_ONLY,
  fn: async () => {
    const certs = await testCerts();
    await startCanopy(clientPortTls(certs), async (server) => {
      const raw = await connectRaw(server.port);
      try {
        const info = parseInfo(await raw.readUntil("\r\n"));
        assert.equal(info.tls_required, true);
        await raw.send("CONNECT {}\r\nPING\r\n");
        const rest = await raw.expectClosed();
        assert.doesNotMatch(rest, /PONG/, "no plaintext protocol on a TLS port");
      } finally {
        await raw.dispose();
      }
      await server.waitForLog("TLS handshake error");
      assert.match(server.logs(), /the client sent "CONNECT \{\}.*" where a TLS ClientHello/);
      await assertPubSub(server, { caFile: certs.ca.certFile });
    });
  },
});

Deno.test({
  name: "tls client - a TLS client on a plaintext port fails and the server goes on",
  ...CANOPY_ONLY,
  fn: async () => {
    const certs = await testCerts();
    await startCanopy({}, async (server) => {
      // INFO first: the client reads that the server offers no TLS and gives up.
      await assert.rejects(
        connectTls(server, { caFile: certs.ca.certFile }),
        /tls/i,
      );
      // TLS first: the ClientHello meets a plaintext server, which drops the connection.
      await assert.rejects(connectTls(server, { caFile: certs.ca.certFile, handshakeFirst: true }));
      await assertPubSub(server, undefined);
    });
  },
});

Deno.test({
  name: "tls client - a client that never starts the handshake is closed after the TLS timeout",
  ...CANOPY_ONLY,
  fn: async () => {
    const certs = await testCerts();
    await startCanopy(clientPortTls(certs), async (server) => {
      const raw = await connectRaw(server.port);
      try {
        await raw.readUntil("\r\n");
        const started = performance.now();
        await raw.expectClosed(AUTH_TIMEOUT_MS + 1_000);
        const elapsed = performance.now() - started;
        assert.ok(
          elapsed >= TLS_TIMEOUT_MS - 100 && elapsed < AUTH_TIMEOUT_MS - 200,
          `closed by the ${TLS_TIMEOUT_MS} ms TLS timeout, after ${Math.round(elapsed)} ms`,
        );
      } finally {
        await raw.dispose();
      }
      await server.waitForLog("TLS handshake error");
      assert.match(server.logs(), /TLS handshake error: .*no TLS handshake within 500 ms/);
      await assertPubSub(server, { caFile: certs.ca.certFile });
    });
  },
});

/** What a Canopy process did with a config it must refuse. */
interface Refusal {
  code: number;
  output: string;
  /** True when a connection to one of the configured ports succeeded while it ran. */
  portOpened: boolean;
}

/** Runs Canopy on `config` until it exits, dialling its ports the whole time. */
async function runRefusedConfig(
  config: Record<string, unknown>,
  ports: number[],
): Promise<Refusal> {
  const configPath = await Deno.makeTempFile({ prefix: "canopy_tls_refusal_", suffix: ".toml" });
  try {
    await Deno.writeTextFile(configPath, stringifyToml(config));
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${REPO_ROOT}mod.ts`, "-c", configPath],
      cwd: REPO_ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let exited = false;
    const output = child.output().finally(() => (exited = true));
    const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    let portOpened = false;
    while (!exited) {
      for (const port of ports) {
        try {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port });
          conn.close();
          portOpened = true;
        } catch {
          // Refused: nothing listens, as it should be.
        }
      }
      await delay(10);
    }
    clearTimeout(killer);
    const result = await output;
    const decoder = new TextDecoder();
    return {
      code: result.code,
      output: decoder.decode(result.stderr) + decoder.decode(result.stdout),
      portOpened,
    };
  } finally {
    await Deno.remove(configPath).catch(() => {});
  }
}

const UNHONOURED_KEYS = {
  cipher_suites: ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"],
  curve_preferences: ["CurveP256"],
} as const;

const TLS_BLOCKS = ["tls", "leafnodes.tls", "leafnodes.remotes[0].tls"] as const;

for (const block of TLS_BLOCKS) {
  for (const [key, value] of Object.entries(UNHONOURED_KEYS)) {
    Deno.test({
      name: `tls config - '${key}' in ${block} stops Canopy before it opens a port`,
      ...CANOPY_ONLY,
      fn: async () => {
        const certs = await testCerts();
        const tls = {
          cert_file: certs.server.certFile,
          key_file: certs.server.keyFile,
          [key]: value,
        };
        const port = freePort();
        const leafPort = freePort();
        const leafnodes: Record<string, unknown> = { host: "127.0.0.1", port: leafPort };
        if (block === "leafnodes.tls") leafnodes.tls = tls;
        if (block === "leafnodes.remotes[0].tls") {
          leafnodes.remotes = [{ url: `nats-leaf://127.0.0.1:${freePort()}`, tls }];
        }
        const config = {
          host: "127.0.0.1",
          port,
          leafnodes,
          ...(block === "tls" ? { tls } : {}),
        };

        const refusal = await runRefusedConfig(config, [port, leafPort]);

        assert.equal(refusal.code, 1, `exit code 1, output:\n${refusal.output}`);
        assert.ok(refusal.output.includes(`${block}: '${key}' cannot be honoured`), refusal.output);
        assert.match(refusal.output, /runtime/, "says it is the runtime that cannot honour it");
        assert.doesNotMatch(refusal.output, /Listening for|Server is ready/);
        assert.equal(refusal.portOpened, false, "no port was ever open");
      },
    });
  }
}
