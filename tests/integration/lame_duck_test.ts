/**
 * Lame duck mode through the embedding API (`startServer()` from `mod.ts`, in process, with
 * short durations): the server stops accepting, tells its clients with an INFO carrying
 * `"ldm":true`, waits the grace period, closes them one by one over the rest of the lame duck
 * duration, and then shuts down. The SIGUSR2 process tests are in `shutdown_test.ts`.
 */

import assert from "node:assert/strict";
import { type CanopyServer, parseConfigText, startServer } from "../../mod.ts";
import { Logger } from "../../actors/logger.ts";
import { connectRaw, parseInfo, type RawClient } from "../helpers/raw_client.ts";

const LAME_DUCK_MS = 600;
const GRACE_MS = 100;
/** Allowance for timers and socket closes on top of the configured times. */
const SLACK_MS = 1_000;
/** Loopback listeners on ports the OS picks: nothing here may depend on 4222 or 7422. */
const LOOPBACK = parseConfigText(
  'host = "127.0.0.1"\nport = 0\n[leafnodes]\nhost = "127.0.0.1"\nport = 0\n',
  "lame_duck_test.toml",
);

const TEST_OPTIONS = { sanitizeOps: false, sanitizeResources: false } as const;

interface Started {
  server: CanopyServer;
  /** What the server logged, one line each. */
  logs: string[];
}

async function start(durationMs = LAME_DUCK_MS, graceMs = GRACE_MS): Promise<Started> {
  const logs: string[] = [];
  const server = await startServer(
    { ...LOOPBACK, lameDuckDurationMs: durationMs, lameDuckGracePeriodMs: graceMs },
    { logger: new Logger({ sink: (line) => logs.push(line) }) },
  );
  return { server, logs };
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

/**
 * What a new client gets: "refused" (nothing listens), "dropped" (the kernel took the
 * connection but the server closed it without an INFO), "served" (an INFO) or "hung".
 */
async function admission(port: number): Promise<"refused" | "dropped" | "served" | "hung"> {
  let raw: RawClient;
  try {
    raw = await connectRaw(port);
  } catch (error) {
    // A connect racing the listener's close is reset by the kernel: refused all the same.
    if (
      error instanceof Deno.errors.ConnectionRefused || error instanceof Deno.errors.ConnectionReset
    ) return "refused";
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

/**
 * Canopy's timers are unref'd, so an embedding program with nothing else going on would exit
 * in the middle of lame duck mode (see the last test). The tests that look at other things
 * keep the event loop alive with this; call the result to stop.
 */
function keepEventLoopAlive(): () => void {
  const id = setInterval(() => {}, 50);
  return () => clearInterval(id);
}

async function eventuallyRefused(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await admission(port) === "refused") return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

Deno.test({
  name: "lame duck - clients get INFO ldm, the listener closes, clients close one by one",
  ...TEST_OPTIONS,
  fn: async () => {
    const release = keepEventLoopAlive();
    const { server, logs } = await start();
    const clients = await Promise.all([1, 2, 3].map(() => client(server.port)));
    try {
      const startedAt = performance.now();
      const finished = server.lameDuck().then(() => performance.now() - startedAt);
      const closedAfter = clients.map((raw) =>
        raw.expectClosed(LAME_DUCK_MS + SLACK_MS).then(() => performance.now() - startedAt)
      );

      for (const raw of clients) {
        const info = parseInfo(await raw.readUntil((text) => text.includes('"ldm":true')));
        assert.equal(info.ldm, true);
        assert.equal(info.port, server.port, "the notice is the server's regular INFO");
      }
      assert.notEqual(await admission(server.port), "served", "a new client was served");
      assert.ok(await eventuallyRefused(server.port, 500), "the client port stayed open");
      assert.ok(logs.some((line) => line.includes("Entering lame duck mode")), logs.join("\n"));

      // Until the grace period is over, clients are served as usual.
      await clients[0].send("PING\r\n");
      assert.equal(await clients[0].readUntil("PONG\r\n"), "PONG\r\n");

      const closes = (await Promise.all(closedAfter)).sort((a, b) => a - b);
      assert.ok(closes[0] >= GRACE_MS, `first close after ${closes[0]} ms, within the grace`);
      // (duration - grace) / 3 clients ≈ 167 ms apart (nats-server picks at random between
      // half that and that); 50 ms tells "one by one" from "all at once" despite jitter.
      for (let i = 1; i < closes.length; i++) {
        assert.ok(
          closes[i] - closes[i - 1] >= 50,
          `closes ${i} and ${i + 1} only ${closes[i] - closes[i - 1]} ms apart: ${closes}`,
        );
      }
      const took = await finished;
      // The server closes the socket before lameDuck() resolves; the client may notice a few
      // milliseconds later, on its own read.
      assert.ok(
        took + 50 >= closes[closes.length - 1],
        `lameDuck() resolved ${closes[closes.length - 1] - took} ms before the last close`,
      );
      assert.ok(took < LAME_DUCK_MS + SLACK_MS, `lameDuck() took ${took} ms`);
      assert.ok(logs.some((line) => line.includes("Server Exiting")), logs.join("\n"));
    } finally {
      await Promise.all(clients.map((raw) => raw.dispose()));
      await server.close();
      release();
    }
  },
});

Deno.test({
  name: "lame duck - lameDuck() twice is one lame duck, and close() after it resolves",
  ...TEST_OPTIONS,
  fn: async () => {
    const release = keepEventLoopAlive();
    const { server, logs } = await start();
    const raw = await client(server.port);
    try {
      const first = server.lameDuck();
      const second = server.lameDuck();
      await Promise.all([first, second]);
      await raw.expectClosed(SLACK_MS);
      await server.close();
      const entered = logs.filter((line) => line.includes("Entering lame duck mode"));
      assert.equal(entered.length, 1, logs.join("\n"));
    } finally {
      await raw.dispose();
      release();
    }
  },
});

Deno.test({
  name: "lame duck - with no clients the server shuts down without waiting out the grace",
  ...TEST_OPTIONS,
  fn: async () => {
    // A long grace period: nats-server skips it when nobody is connected, since there is
    // nobody to give time to reconnect elsewhere.
    const release = keepEventLoopAlive();
    const { server, logs } = await start(6_000, 3_000);
    const startedAt = performance.now();
    let took: number | undefined;
    const finished = server.lameDuck().then(() => (took = performance.now() - startedAt));
    try {
      await Promise.race([finished, new Promise((resolve) => setTimeout(resolve, SLACK_MS))]);
      assert.ok(took !== undefined, `lameDuck() still pending after ${SLACK_MS} ms`);
      assert.equal(await admission(server.port), "refused");
      assert.ok(logs.some((line) => line.includes("Server Exiting")), logs.join("\n"));
    } finally {
      await finished;
      release();
    }
  },
});

/** Starts lame duck with `count` clients and returns when each closed and when it ended. */
async function lameDuckTimes(
  count: number,
  durationMs: number,
): Promise<{ closes: number[]; took: number }> {
  const release = keepEventLoopAlive();
  const { server } = await start(durationMs, GRACE_MS);
  const clients = await Promise.all(Array.from({ length: count }, () => client(server.port)));
  try {
    const startedAt = performance.now();
    const finished = server.lameDuck().then(() => performance.now() - startedAt);
    const closes = (await Promise.all(
      clients.map((raw) =>
        raw.expectClosed(durationMs + SLACK_MS).then(() => performance.now() - startedAt)
      ),
    )).sort((a, b) => a - b);
    return { closes, took: await finished };
  } finally {
    await Promise.all(clients.map((raw) => raw.dispose()));
    await server.close();
    release();
  }
}

Deno.test({
  name: "lame duck - the shutdown follows the last close, not the end of the duration",
  ...TEST_OPTIONS,
  fn: async () => {
    // nats-server shuts down as soon as its last client is closed: a long duration with few
    // clients does not keep a server that has nobody left.
    const { closes, took } = await lameDuckTimes(1, 3_000);
    assert.ok(took - closes[0] < 300, `shut down ${took - closes[0]} ms after the last close`);
  },
});

Deno.test({
  name: "lame duck - closes are spread over the duration but at most 1 s apart",
  ...TEST_OPTIONS,
  fn: async () => {
    // nats-server waits (duration - grace) / clients between closes, capped at 1 s, so that
    // ten clients and the default 2 minutes do not take 2 minutes.
    const { closes } = await lameDuckTimes(2, 4_000);
    assert.ok(closes[1] - closes[0] <= 1_000 + 300, `closes ${closes[1] - closes[0]} ms apart`);
  },
});

Deno.test({
  name: "lame duck - await lameDuck() completes in a program with nothing else to do",
  ...TEST_OPTIONS,
  fn: async () => {
    // No keepEventLoopAlive() here: an embedding program awaiting lameDuck() must not be left
    // with nothing but an unref'd timer between it and the shutdown (after the last close,
    // say), or Deno ends it with "Top-level await promise never resolved".
    const { server, logs } = await start();
    const raw = await client(server.port);
    try {
      await server.lameDuck();
      // The server closed the socket before resolving; the client sees it on its next read.
      await raw.expectClosed(500);
      assert.ok(logs.some((line) => line.includes("Server Exiting")), logs.join("\n"));
    } finally {
      await raw.dispose();
    }
  },
});
