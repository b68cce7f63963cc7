import assert from "node:assert/strict";
import { freePort } from "../helpers/free_port.ts";
import { awaitInterest, InterestTimeoutError } from "./interest_probe.ts";
import { type LeafLink, startLeafTopology } from "./leaf_topology_process.ts";
import { measureLeafPubSub, measureLeafRequestReply } from "./leaf_workloads.ts";
import { Requester, RequestReplyError, Responder } from "./request_reply.ts";
import {
  canopyTarget,
  NATS_SERVER_BINARY,
  natsServerTarget,
  nodeConfig,
  type Target,
} from "./targets.ts";
import type { Endpoint } from "./wire_connection.ts";

function natsServerMissing(): boolean {
  try {
    Deno.statSync(NATS_SERVER_BINARY);
    return false;
  } catch {
    if (Deno.env.get("CI")) return false; // Under CI the start itself fails loudly.
    console.error(`!!! SKIPPING: ${NATS_SERVER_BINARY} is missing (apt-get install nats-server)`);
    return true;
  }
}

Deno.test("targets - node config has a leafnodes block only when it has a port or remotes", () => {
  assert.deepEqual(nodeConfig({ name: "A", port: 4000 }), {
    server_name: "A",
    host: "127.0.0.1",
    port: 4000,
  });
  assert.deepEqual(nodeConfig({ name: "LEAF", port: 4001, leafPort: 7001, remotes: [7000] }), {
    server_name: "LEAF",
    host: "127.0.0.1",
    port: 4001,
    leafnodes: {
      host: "127.0.0.1",
      port: 7001,
      remotes: [{ url: "nats-leaf://127.0.0.1:7000" }],
    },
  });
});

Deno.test("targets - node config carries leafnode TLS, a websocket listener and remote kinds", () => {
  const tls = { certFile: "s.pem", keyFile: "s.key", caFile: "ca.pem", verify: true };
  assert.deepEqual(nodeConfig({ name: "HUB", port: 4000, leafPort: 7000, leafTls: tls }), {
    server_name: "HUB",
    host: "127.0.0.1",
    port: 4000,
    leafnodes: {
      host: "127.0.0.1",
      port: 7000,
      tls: { cert_file: "s.pem", key_file: "s.key", ca_file: "ca.pem", verify: true },
    },
  });
  assert.deepEqual(nodeConfig({ name: "HUB", port: 4000, websocketPort: 8000 }).websocket, {
    host: "127.0.0.1",
    port: 8000,
    no_tls: true,
    compression: false,
  });
  const leaf = nodeConfig({
    name: "LEAF",
    port: 4001,
    remotes: [
      { port: 8000, scheme: "ws" },
      { port: 7000, tls: { caFile: "ca.pem", certFile: "c.pem", keyFile: "c.key" } },
    ],
  });
  assert.deepEqual((leaf.leafnodes as Record<string, unknown>).remotes, [
    { url: "ws://127.0.0.1:8000" },
    {
      url: "nats-leaf://127.0.0.1:7000",
      tls: { ca_file: "ca.pem", cert_file: "c.pem", key_file: "c.key" },
    },
  ]);
});

/** The first line `endpoint` answers `request` with (nothing sent when it is empty). */
async function firstLine(endpoint: Endpoint, request: string): Promise<string> {
  const connection = await Deno.connect(endpoint);
  try {
    if (request !== "") await connection.write(new TextEncoder().encode(request));
    const decoder = new TextDecoder();
    const buffer = new Uint8Array(4096);
    let text = "";
    while (!text.includes("\r\n")) {
      const read = await connection.read(buffer);
      if (read === null) break;
      text += decoder.decode(buffer.subarray(0, read), { stream: true });
    }
    return text.split("\r\n")[0];
  } finally {
    connection.close();
  }
}

/**
 * Starts `link` topologies of `target`, checks the hub's side of the link is what the link
 * claims (a TLS-only, verifying leafnode port; an HTTP websocket port), that interest crosses
 * both ways, and that a short leaf-to-hub run over it loses nothing.
 */
async function checkWrappedLinks(target: Target): Promise<void> {
  for (const link of ["tls", "ws"] as const satisfies readonly LeafLink[]) {
    const topology = await startLeafTopology(target, { link });
    try {
      assert.equal(topology.link, link);
      const { hubEndpoint: hub, leafEndpoint: leaf, hubLinkEndpoint } = topology;
      if (link === "tls") {
        const info = await firstLine(hubLinkEndpoint, "");
        assert.match(info, /^INFO /, info);
        const fields = JSON.parse(info.slice("INFO ".length));
        assert.equal(fields.tls_required, true, `${target.name}: ${info}`);
        assert.equal(fields.tls_verify, true, `${target.name}: ${info}`);
      } else {
        const status = await firstLine(hubLinkEndpoint, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert.match(status, /^HTTP\/1\.1 400 /, `${target.name}: ${status}`);
      }
      await awaitInterest({ publisher: leaf, subscriber: hub }, { timeoutMs: 10_000 });
      await awaitInterest({ publisher: hub, subscriber: leaf }, { timeoutMs: 10_000 });
      topology.assertRunning();
    } finally {
      await topology.stop();
    }
    const workload = link === "tls" ? "leaf-to-hub-tls" : "leaf-to-hub-ws";
    const result = await measureLeafPubSub(target, {
      workload,
      payloadBytes: 1500,
      messages: 10_001,
      timeoutMs: 20_000,
    });
    assert.equal(result.workload, workload);
    assert.equal(result.received, 10_001, `${target.name} ${workload}`);
    assert.equal(result.lost, 0);
  }
}

Deno.test({
  name: "leaf workloads - nats-server links over mutual TLS and over ws and loses nothing",
  ignore: natsServerMissing(),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => checkWrappedLinks(natsServerTarget),
});

Deno.test({
  name: "leaf workloads - canopy links over mutual TLS and over ws and loses nothing",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => checkWrappedLinks(canopyTarget()),
});

Deno.test({
  name: "leaf workloads - nats-server hub and leaf lose nothing in either direction",
  ignore: natsServerMissing(),
  async fn() {
    for (const workload of ["leaf-to-hub", "hub-to-leaf"] as const) {
      const result = await measureLeafPubSub(natsServerTarget, {
        workload,
        payloadBytes: 333,
        messages: 20_001,
        timeoutMs: 20_000,
      });
      assert.equal(result.workload, workload);
      assert.equal(result.received, 20_001, workload);
      assert.equal(result.lost, 0, workload);
      assert.ok(result.msgsPerSecond > 0);
      assert.ok(result.hub.peakRssBytes > 1e6 && result.leaf.peakRssBytes > 1e6);
      assert.ok(result.hub.cpuSeconds >= 0 && result.leaf.cpuSeconds >= 0);
    }
  },
});

Deno.test({
  name: "leaf workloads - request/reply across nats-server answers every request",
  ignore: natsServerMissing(),
  async fn() {
    const result = await measureLeafRequestReply(natsServerTarget, {
      payloadBytes: 100,
      requests: 300,
      warmupRequests: 10,
      timeoutMs: 20_000,
    });
    assert.equal(result.answered, 300);
    assert.equal(result.lost, 0);
    assert.equal(result.latency.samples, 300);
    assert.ok(result.latency.p50Us > 0);
    assert.ok(result.latency.p50Us <= result.latency.p99Us);
    assert.ok(result.latency.p99Us <= result.latency.maxUs);
    assert.ok(result.requestsPerSecond > 0);
  },
});

Deno.test({
  name: "interest probe - passes on one server and gives up between two unlinked ones",
  ignore: natsServerMissing(),
  async fn() {
    const first = { hostname: "127.0.0.1", port: freePort() };
    const second = { hostname: "127.0.0.1", port: freePort() };
    const servers = [
      await natsServerTarget.startNode({ name: "A", port: first.port }),
      await natsServerTarget.startNode({ name: "B", port: second.port }),
    ];
    try {
      const waited = await awaitInterest({ publisher: first, subscriber: first }, {
        timeoutMs: 5_000,
      });
      assert.ok(waited < 5_000);
      await assert.rejects(
        awaitInterest({ publisher: first, subscriber: second }, { timeoutMs: 300 }),
        InterestTimeoutError,
      );
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
    }
  },
});

Deno.test({
  name: "request/reply - the requester fails its probe when nobody answers, not before",
  ignore: natsServerMissing(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const port = freePort();
    const server = await natsServerTarget.start(port);
    const endpoint = { hostname: "127.0.0.1", port };
    try {
      const options = {
        subject: "t.rr",
        payloadBytes: 8,
        requests: 20,
        warmupRequests: 2,
        timeoutMs: 5_000,
        probeTimeoutMs: 300,
      };
      const lonely = await Requester.connect(endpoint, options);
      await assert.rejects(lonely.run(), RequestReplyError);
      lonely.close();
      const responder = await Responder.connect(endpoint, "t.rr");
      const requester = await Requester.connect(endpoint, options);
      const report = await requester.run();
      requester.close();
      // Two warm-up requests, at least one probe, then the measured ones.
      assert.ok(responder.responded >= 23, `responded ${responder.responded}`);
      responder.close();
      assert.equal(report.answered, 20);
      assert.equal(report.lost, 0);
      assert.equal(report.latency.samples, 20);
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "leaf topology - a canopy hub and leaf link up in both directions",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const topology = await startLeafTopology(canopyTarget());
    try {
      const { hubEndpoint: hub, leafEndpoint: leaf } = topology;
      assert.notEqual(hub.port, leaf.port);
      await awaitInterest({ publisher: leaf, subscriber: hub }, { timeoutMs: 10_000 });
      await awaitInterest({ publisher: hub, subscriber: leaf }, { timeoutMs: 10_000 });
      const stats = await topology.readStats();
      assert.ok(stats.hub.peakRssBytes > 1e6 && stats.leaf.peakRssBytes > 1e6);
      topology.assertRunning();
    } finally {
      await topology.stop();
    }
    assert.equal(topology.hub.running, false);
    assert.equal(topology.leaf.running, false);
  },
});
