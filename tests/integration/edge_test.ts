/**
 * Edge-isolate mode: a Canopy server that exists only behind `Deno.serve` (no TCP listener),
 * taking NATS clients and leafnodes over WebSocket while its own remote dials a hub over TCP.
 *
 * Canopy-only (the embedding API has no nats-server counterpart): ignored in the reference pass.
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { wsconnect } from "@nats-io/nats-core";
import type { NatsConnection } from "@nats-io/nats-core";
import { stringify } from "smol-toml";
import {
  type CanopyServer,
  type EdgeHandlerOptions,
  edgeServer,
  type LinkEvent,
  parseConfigText,
  type ServerOptions,
  startServer,
} from "../../mod.ts";
import { freePort } from "../helpers/free_port.ts";
import { Inbox } from "../helpers/leaf_topology.ts";
import { REPO_ROOT, targetImpl } from "../helpers/server_process.ts";

const EDGE_TEST = {
  ignore: targetImpl() !== "canopy",
  sanitizeOps: false,
  sanitizeResources: false,
};

const LINK_TIMEOUT_MS = 5_000;

/** Options as a TOML file would give them, listeners on free loopback ports. */
function options(document: Record<string, unknown> = {}): ServerOptions {
  const text = stringify({
    host: "127.0.0.1",
    port: 0,
    ...document,
    leafnodes: { host: "127.0.0.1", port: 0, ...(document.leafnodes as object) },
  });
  return parseConfigText(text, "edge_test.toml");
}

/** Resolves with the first `linkUp` of `server` (subscribe before the link can come up). */
function nextLinkUp(server: CanopyServer): Promise<LinkEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`Cannot see a leafnode link come up within ${LINK_TIMEOUT_MS} ms`)),
      LINK_TIMEOUT_MS,
    );
    const off = server.on("linkUp", (event) => {
      clearTimeout(timer);
      off();
      resolve(event);
    });
  });
}

/** An edge server behind `Deno.serve` on a free loopback port, plus everything to stop it. */
async function startEdge(
  document: Record<string, unknown>,
  handlerOptions: EdgeHandlerOptions = {},
) {
  const { server, handler } = await edgeServer(options(document), {
    fallback: () => new Response("edge home"),
    ...handlerOptions,
  });
  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  return {
    server,
    port: http.addr.port,
    async close() {
      await server.close();
      await http.shutdown();
    },
  };
}

Deno.test({
  name: "edge - a wsconnect client behind Deno.serve exchanges messages with a hub",
  ...EDGE_TEST,
  fn: async () => {
    const hub = await startServer(options());
    const hubSawLink = nextLinkUp(hub);
    const unusedPorts = { client: freePort(), leaf: freePort() };
    const edge = await startEdge({
      server_name: "edge-1",
      port: unusedPorts.client,
      leafnodes: {
        port: unusedPorts.leaf,
        remotes: [{ urls: [`nats-leaf://127.0.0.1:${hub.leafPort}`] }],
      },
    });
    const clients: NatsConnection[] = [];
    try {
      for (const port of Object.values(unusedPorts)) {
        await assert.rejects(
          Deno.connect({ hostname: "127.0.0.1", port }),
          Deno.errors.ConnectionRefused,
          `the edge server must not listen on its configured port ${port}`,
        );
      }
      const link = await hubSawLink;
      assert.equal(link.peer, "edge-1");
      const onEdge = await wsconnect({ servers: `ws://127.0.0.1:${edge.port}/nats` });
      clients.push(onEdge);
      const onHub = await connect({ servers: `127.0.0.1:${hub.port}` });
      clients.push(onHub);

      const atHub = new Inbox(onHub, "edge.up");
      await atHub.awaitInterestFrom(onEdge);
      onEdge.publish("edge.up", "from the isolate");
      await atHub.waitForCount(1);
      assert.deepEqual(atHub.payloads, ["from the isolate"]);

      const atEdge = new Inbox(onEdge, "edge.down");
      await atEdge.awaitInterestFrom(onHub);
      onHub.publish("edge.down", "from the hub");
      await atEdge.waitForCount(1);
      assert.deepEqual(atEdge.payloads, ["from the hub"]);
      assert.ok(edge.server.stats().inMsgs >= 1, "the edge counted what its client sent");
    } finally {
      await Promise.all(clients.map((nc) => nc.close()));
      await edge.close();
      await hub.close();
    }
  },
});

Deno.test({
  name: "edge - a leafnode dials the isolate over WebSocket on the leaf path",
  ...EDGE_TEST,
  fn: async () => {
    const edge = await startEdge({ server_name: "edge-hub" });
    const edgeSawLink = nextLinkUp(edge.server);
    const leaf = await startServer(options({
      server_name: "ws-leaf",
      leafnodes: { remotes: [{ urls: [`ws://127.0.0.1:${edge.port}`] }] },
    }));
    const clients: NatsConnection[] = [];
    try {
      const link = await edgeSawLink;
      assert.equal(link.peer, "ws-leaf");
      assert.equal(link.side, "accept");
      const onEdge = await wsconnect({ servers: `ws://127.0.0.1:${edge.port}/nats` });
      clients.push(onEdge);
      const onLeaf = await connect({ servers: `127.0.0.1:${leaf.port}` });
      clients.push(onLeaf);
      const atEdge = new Inbox(onEdge, "leaf.up");
      await atEdge.awaitInterestFrom(onLeaf);
      onLeaf.publish("leaf.up", "through the isolate's leaf path");
      await atEdge.waitForCount(1);
      assert.deepEqual(atEdge.payloads, ["through the isolate's leaf path"]);
    } finally {
      await Promise.all(clients.map((nc) => nc.close()));
      await leaf.close();
      await edge.close();
    }
  },
});

Deno.test({
  name: "edge - other paths go to the fallback, plain GETs on a NATS path get 426",
  ...EDGE_TEST,
  fn: async () => {
    const edge = await startEdge({});
    try {
      const home = await fetch(`http://127.0.0.1:${edge.port}/`);
      assert.equal(await home.text(), "edge home");
      const plain = await fetch(`http://127.0.0.1:${edge.port}/nats`);
      await plain.body?.cancel();
      assert.equal(plain.status, 426);
      assert.equal(plain.headers.get("upgrade"), "websocket");
    } finally {
      await edge.close();
    }
  },
});

/** Sends a raw WebSocket upgrade for `/nats` with `origin`; returns the status line. */
async function upgradeStatus(port: number, origin: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(
      `GET /nats HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n` +
        `Sec-WebSocket-Version: 13\r\nOrigin: ${origin}\r\n\r\n`,
    ));
    const buffer = new Uint8Array(1024);
    const n = await conn.read(buffer);
    const text = new TextDecoder().decode(buffer.subarray(0, n ?? 0));
    return text.slice(0, text.indexOf("\r\n"));
  } finally {
    conn.close();
  }
}

Deno.test({
  name: "edge - allowed_origins refuses other browser origins with 403",
  ...EDGE_TEST,
  fn: async () => {
    const edge = await startEdge({}, { allowedOrigins: ["https://app.example.com"] });
    try {
      assert.equal(
        await upgradeStatus(edge.port, "https://evil.example.com"),
        "HTTP/1.1 403 Forbidden",
      );
      assert.equal(
        await upgradeStatus(edge.port, "https://app.example.com"),
        "HTTP/1.1 101 Switching Protocols",
      );
    } finally {
      await edge.close();
    }
  },
});

/** Collects a child's stderr; resolves `seen` once `line` appears in it. */
function watchStderr(stream: ReadableStream<Uint8Array>, line: string) {
  const sink = { text: "" };
  let found!: () => void;
  const seen = new Promise<void>((resolve) => found = resolve);
  const done = (async () => {
    const td = new TextDecoder();
    for await (const chunk of stream) {
      sink.text += td.decode(chunk, { stream: true });
      if (sink.text.includes(line)) found();
    }
  })();
  return { sink, seen, done };
}

Deno.test({
  name: "edge - the example entry actors/edge_main.ts serves a ws client and links to the hub",
  ...EDGE_TEST,
  fn: async () => {
    const hub = await startServer(options());
    const hubSawLink = nextLinkUp(hub);
    const port = freePort();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${REPO_ROOT}actors/edge_main.ts`],
      env: {
        PORT: String(port),
        CANOPY_HUB_URL: `nats-leaf://127.0.0.1:${hub.leafPort}`,
        CANOPY_SERVER_NAME: "edge-main",
      },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const logs = watchStderr(child.stderr, "Canopy edge listening");
    const clients: NatsConnection[] = [];
    try {
      await Promise.race([
        logs.seen,
        child.status.then(() => {
          throw new Error(`edge_main.ts exited early:\n${logs.sink.text}`);
        }),
      ]);
      assert.equal((await hubSawLink).peer, "edge-main");
      assert.doesNotMatch(logs.sink.text, /Listening for client connections/);
      const onEdge = await wsconnect({ servers: `ws://127.0.0.1:${port}/nats` });
      clients.push(onEdge);
      const onHub = await connect({ servers: `127.0.0.1:${hub.port}` });
      clients.push(onHub);
      const atHub = new Inbox(onHub, "edge.main");
      await atHub.awaitInterestFrom(onEdge);
      onEdge.publish("edge.main", "from the example entry");
      await atHub.waitForCount(1);
      assert.deepEqual(atHub.payloads, ["from the example entry"]);
    } finally {
      await Promise.all(clients.map((nc) => nc.close()));
      try {
        child.kill("SIGTERM");
      } catch {
        // It exited on its own; the status below says how.
      }
      const status = await child.status;
      await logs.done;
      await hub.close();
      assert.equal(
        status.code,
        0,
        `edge_main.ts should exit cleanly on SIGTERM:\n${logs.sink.text}`,
      );
    }
  },
});
