/**
 * How the server process stops on signals. SIGTERM and SIGINT shut down gracefully: every
 * message the server acknowledged (a PONG after it) reaches its subscriber before the
 * connection closes, and the process exits 0 within a bounded time. SIGUSR2 is lame duck mode:
 * stop accepting, tell clients (INFO `ldm`), and exit once they are gone.
 *
 * These tests need the exit status, which `server_process.ts` does not expose, so they spawn
 * the server themselves. They run against the selected target (`CANOPY_TEST_TARGET`).
 */

import assert from "node:assert/strict";
import { stringify as stringifyToml } from "smol-toml";
import { freePort } from "../helpers/free_port.ts";
import { connectRaw, parseInfo, type RawClient } from "../helpers/raw_client.ts";
import {
  NATS_SERVER_BINARY,
  REPO_ROOT,
  type ServerImpl,
  serverTestOptions,
  targetImpl,
} from "../helpers/server_process.ts";

/** The bound the issue sets on a graceful shutdown. */
const EXIT_WITHIN_MS = 5_000;
/** Canopy pays Deno's start-up cost. */
const READY_TIMEOUT_MS = 15_000;
/**
 * Messages published before the PING that marks the acknowledged prefix: 8 MB, more than the
 * loopback socket buffers hold, so much of it is still queued in the server at the signal.
 */
const BEFORE_PING = 8_000;
const PAYLOAD_SIZE = 1024;
const BATCH = 100;

/** A server process whose exit status the test can read. */
interface SignalledServer {
  readonly impl: ServerImpl;
  readonly port: number;
  readonly pid: number;
  logs(): string;
  /** Resolves with the exit code, or undefined if the process outlives `timeoutMs`. */
  exitWithin(timeoutMs: number): Promise<number | undefined>;
  /** SIGKILL if still running, then removes the config file. */
  dispose(): Promise<void>;
}

async function spawnServer(impl: ServerImpl = targetImpl()): Promise<SignalledServer> {
  const port = freePort();
  const config: Record<string, unknown> = { host: "127.0.0.1", port };
  // Canopy always listens for leafnodes: keep it off the fixed 7422.
  if (impl === "canopy") config.leafnodes = { host: "127.0.0.1", port: freePort() };
  const configPath = await Deno.makeTempFile({ prefix: "canopy_shutdown_" });
  await Deno.writeTextFile(
    configPath,
    impl === "canopy" ? stringifyToml(config) : JSON.stringify(config),
  );
  const command = impl === "canopy"
    ? new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${REPO_ROOT}mod.ts`, "-c", configPath],
      cwd: REPO_ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    })
    : new Deno.Command(NATS_SERVER_BINARY, {
      args: ["-c", configPath],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    });
  const child = command.spawn();
  let logs = "";
  const drained = (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) logs += text;
  })();
  let code: number | undefined;
  const exited = child.status.then((status) => (code = status.code));
  const server: SignalledServer = {
    impl,
    port,
    pid: child.pid,
    logs: () => logs,
    async exitWithin(timeoutMs) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([exited, late]);
      clearTimeout(timer);
      return code;
    },
    async dispose() {
      if (code === undefined) {
        try {
          child.kill("SIGKILL");
        } catch {
          // Exited in between.
        }
      }
      await exited;
      await drained;
      await Deno.remove(configPath).catch(() => {});
    },
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!logs.includes("Server is ready")) {
    if (code !== undefined || Date.now() > deadline) {
      await server.dispose();
      throw new Error(`Cannot start ${impl}:\n${logs}`);
    }
    await delay(20);
  }
  return server;
}

async function withSpawnedServer(body: (server: SignalledServer) => Promise<void>) {
  const server = await spawnServer();
  try {
    await body(server);
  } finally {
    await server.dispose();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A raw client past CONNECT. It declares protocol 1 ("info" capable): nats-server sends
 * asynchronous INFO, such as the lame duck notice, only to such clients.
 */
async function client(port: number): Promise<RawClient> {
  const raw = await connectRaw(port);
  await raw.handshake({ protocol: 1 });
  return raw;
}

async function refusesConnections(port: number): Promise<boolean> {
  return await admission(port) === "refused";
}

/**
 * What a new client gets: "refused" (nothing listens), "dropped" (the kernel took the
 * connection but the server closed it without an INFO), "served" (an INFO) or "hung".
 */
async function admission(port: number): Promise<"refused" | "dropped" | "served" | "hung"> {
  let raw: RawClient;
  try {
    raw = await connectRaw(port);
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionRefused) return "refused";
    throw error;
  }
  try {
    await raw.readUntil("\r\n", 1_000);
    return "served";
  } catch {
    return raw.closed ? "dropped" : "hung";
  } finally {
    await raw.dispose();
  }
}

/** Polls until nothing listens on `port` any more; false after `timeoutMs`. */
async function eventuallyRefused(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await refusesConnections(port)) return true;
    await delay(20);
  }
  return false;
}

/** Publishes on `subject` until `subscriber` sees one: its interest is in place. */
async function awaitInterest(publisher: RawClient, subscriber: RawClient, subject: string) {
  for (let attempt = 0; attempt < 200; attempt++) {
    await publisher.send(`PUB ${subject} 5\r\nready\r\n`);
    try {
      await subscriber.readUntil("ready\r\n", 25);
      return;
    } catch {
      // Not yet: try again.
    }
  }
  assert.fail(`the subscription on "${subject}" never received anything`);
}

/** `seq` as 8 digits padded to `PAYLOAD_SIZE` bytes. */
function payloadOf(seq: number): string {
  return String(seq).padStart(8, "0").padEnd(PAYLOAD_SIZE, ".");
}

/** Sequence numbers of the `payloadOf()` messages in `text`, in arrival order. */
function sequences(text: string): number[] {
  const pattern = new RegExp(`MSG flow 1 ${PAYLOAD_SIZE}\r\n(\\d{8})\\.*\r\n`, "g");
  return [...text.matchAll(pattern)].map((m) => Number(m[1]));
}

/**
 * A publisher sends numbered messages without pause to a subscriber that has stopped reading,
 * so that megabytes wait in the server for it. After `BEFORE_PING` messages the publisher
 * sends a PING; once its PONG is back the server gets `signal` and the subscriber reads again.
 * Every message before the PING must reach it, in order, before its connection closes.
 */
async function shutdownUnderTraffic(signal: "SIGTERM" | "SIGINT"): Promise<void> {
  await withSpawnedServer(async (server) => {
    const subscriber = await client(server.port);
    const publisher = await client(server.port);
    try {
      await subscriber.send("SUB flow 1\r\n");
      await awaitInterest(publisher, subscriber, "flow");
      subscriber.pause();

      let published = 0;
      let acknowledged: number | undefined;
      const pump = (async () => {
        try {
          while (published < 3 * BEFORE_PING) {
            let batch = "";
            for (let i = 0; i < BATCH; i++) {
              batch += `PUB flow ${PAYLOAD_SIZE}\r\n${payloadOf(++published)}\r\n`;
            }
            await publisher.send(batch);
            if (acknowledged === undefined && published >= BEFORE_PING) {
              acknowledged = published;
              await publisher.send("PING\r\n");
            }
            await delay(0);
          }
        } catch {
          // The server closed the publisher: the traffic ends here.
        }
      })();

      await publisher.readUntil("PONG\r\n", EXIT_WITHIN_MS);
      assert.ok(acknowledged !== undefined);
      const signalledAt = performance.now();
      Deno.kill(server.pid, signal);
      const received = sequences(await subscriber.expectClosed(EXIT_WITHIN_MS));
      const code = await server.exitWithin(EXIT_WITHIN_MS);
      const took = performance.now() - signalledAt;
      await pump;

      assert.ok(
        received.length >= acknowledged,
        `only ${received.length} of the ${acknowledged} acknowledged messages arrived`,
      );
      for (let i = 0; i < acknowledged; i++) {
        if (received[i] !== i + 1) {
          assert.fail(`message ${i + 1} is missing or out of order (got ${received[i]})`);
        }
      }
      assert.notEqual(code, undefined, `still running ${EXIT_WITHIN_MS} ms after ${signal}`);
      // nats-server 2.9.10 exits 1 on SIGTERM (0 on SIGINT); later releases exit 0 for both.
      const expected = server.impl === "nats-server" && signal === "SIGTERM" ? 1 : 0;
      assert.equal(code, expected, `exit code after ${signal}:\n${server.logs()}`);
      assert.ok(took < EXIT_WITHIN_MS, `exit took ${took} ms`);
      assert.match(server.logs(), /Server Exiting/);
    } finally {
      await subscriber.dispose();
      await publisher.dispose();
    }
  });
}

Deno.test({
  name: "shutdown - SIGTERM delivers every acknowledged message, then exits 0",
  ...serverTestOptions(),
  fn: () => shutdownUnderTraffic("SIGTERM"),
});

Deno.test({
  name: "shutdown - SIGINT delivers every acknowledged message, then exits 0",
  ...serverTestOptions(),
  fn: () => shutdownUnderTraffic("SIGINT"),
});

Deno.test({
  name: "shutdown - SIGTERM with no connections exits 0 at once",
  ...serverTestOptions(),
  fn: () =>
    withSpawnedServer(async (server) => {
      Deno.kill(server.pid, "SIGTERM");
      const code = await server.exitWithin(EXIT_WITHIN_MS);
      assert.notEqual(code, undefined, "still running after SIGTERM");
      assert.equal(code, server.impl === "nats-server" ? 1 : 0);
      assert.equal(await refusesConnections(server.port), true);
    }),
});

Deno.test({
  name: "shutdown - SIGUSR2 with no clients enters lame duck and exits 0 at once",
  ...serverTestOptions(),
  fn: () =>
    withSpawnedServer(async (server) => {
      Deno.kill(server.pid, "SIGUSR2");
      // With nobody to move there is nothing to wait for: nats-server shuts down right away
      // instead of sitting out the grace period (10 s by default).
      const code = await server.exitWithin(EXIT_WITHIN_MS);
      assert.match(server.logs(), /Entering lame duck mode, stop accepting new clients/);
      assert.notEqual(code, undefined, `still running ${EXIT_WITHIN_MS} ms after SIGUSR2`);
      assert.equal(code, 0);
    }),
});

Deno.test({
  name: "shutdown - SIGUSR2 stops accepting and sends INFO ldm; SIGINT then exits 0",
  ...serverTestOptions(),
  fn: () =>
    withSpawnedServer(async (server) => {
      const raw = await client(server.port);
      try {
        Deno.kill(server.pid, "SIGUSR2");
        const info = parseInfo(await raw.readUntil((text) => text.includes('"ldm":true')));
        assert.equal(info.ldm, true);
        // Right after the INFO the kernel may still complete a handshake on the closing
        // listener (Canopy closes it asynchronously); such a client must not be served.
        assert.notEqual(await admission(server.port), "served", "a new client was served");
        assert.ok(await eventuallyRefused(server.port, 1_000), "the client port stayed open");
        await raw.send("PING\r\n");
        assert.equal(await raw.readUntil("PONG\r\n"), "PONG\r\n", "clients are served meanwhile");

        // An operator who does not want to wait out lame duck presses Ctrl-C: a normal
        // shutdown, not a kill.
        Deno.kill(server.pid, "SIGINT");
        const code = await server.exitWithin(EXIT_WITHIN_MS);
        assert.notEqual(code, undefined, "still running after SIGINT in lame duck mode");
        assert.equal(code, 0, `exit code after SIGINT in lame duck mode:\n${server.logs()}`);
        await raw.expectClosed(EXIT_WITHIN_MS);
      } finally {
        await raw.dispose();
      }
    }),
});
