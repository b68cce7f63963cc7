/**
 * HTTP monitoring on real processes: a Canopy hub and a Canopy leaf, each with `http_port`,
 * joined by a leafnode link. The endpoints must show the link from both ends, with the
 * per-link detail nats-server lacks (effective policies, queue interest, remote state).
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { freePort } from "../helpers/free_port.ts";
import { AUTO_PORT, serverTestOptions, startServer } from "../helpers/server_process.ts";
import type { ServerHandle } from "../helpers/server_process.ts";
import { JETSTREAM_DENIES } from "../../protocol/leaf_info.ts";
import { Logger } from "../../actors/logger.ts";
import { startMonitor } from "../../actors/monitor.ts";
import { monitorViewOf } from "../../actors/monitor_view.ts";
import { ServerActor } from "../../actors/server.ts";
import { defaultOptions } from "../../config/mod.ts";
import { MemoryTransport } from "../helpers/memory_transport.ts";

type Json = Record<string, unknown>;

/** How long a link or a subscription may take to show up in the monitor. */
const SHOW_UP_TIMEOUT_MS = 10_000;

async function getJson(port: number, path: string): Promise<Json> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  assert.equal(response.status, 200, `GET ${path}`);
  return await response.json();
}

/** Polls `path` until `ready` accepts the answer; fails with the last answer after a while. */
async function pollJson(port: number, path: string, ready: (body: Json) => boolean): Promise<Json> {
  const deadline = Date.now() + SHOW_UP_TIMEOUT_MS;
  for (;;) {
    const body = await getJson(port, path);
    if (ready(body)) return body;
    if (Date.now() > deadline) {
      assert.fail(`GET ${path} never became ready; last answer:\n${JSON.stringify(body, null, 2)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function httpPortOf(server: ServerHandle): number {
  return server.config.http_port as number;
}

Deno.test({
  name: "monitor - hub and leaf show their link, policies, queue interest and remotes over HTTP",
  ...serverTestOptions("canopy"),
  // (startMonitor(monitorViewOf(actor), ...)); until then nothing listens on http_port.
  fn: async () => {
    const deadPort = freePort();
    const hub = await startServer({
      server_name: "HUB",
      http_port: freePort(),
      leafnodes: { port: AUTO_PORT },
    }, { impl: "canopy" });
    let leaf: ServerHandle | undefined;
    try {
      leaf = await startServer({
        server_name: "LEAF",
        http_port: freePort(),
        leafnodes: {
          reconnect: 1,
          remotes: [
            { url: `nats-leaf://127.0.0.1:${hub.leafPort}`, deny_imports: ["secret.>"] },
            // Nothing listens here: this remote must show up backing off, with its error.
            { url: `nats-leaf://127.0.0.1:${deadPort}` },
          ],
        },
      }, { impl: "canopy" });
      const hubHttp = httpPortOf(hub);
      const leafHttp = httpPortOf(leaf);

      assert.equal(
        await fetch(`http://127.0.0.1:${hubHttp}/healthz`).then((r) => r.text()),
        '{"status":"ok"}',
      );

      // A queue subscriber on the leaf: its interest must reach the hub with group and weight.
      const nc = await connect({ servers: leaf.url, reconnect: false });
      try {
        nc.subscribe("orders.*", { queue: "workers" });
        await nc.flush();
        const hubLeafz = await pollJson(
          hubHttp,
          "/leafz?subs=1",
          (body) =>
            (body.leafs as Json[]).some((l) =>
              (l.subs_list as Json[] | undefined)?.some((s) =>
                s.subject === "orders.*" && s.queue === "workers"
              ) ?? false
            ),
        );
        assert.equal(hubLeafz.leafnodes, 1);
        const seenByHub = (hubLeafz.leafs as Json[])[0];
        assert.equal(seenByHub.name, "LEAF");
        assert.equal(seenByHub.is_spoke, false);
        assert.equal(seenByHub.solicited, false);
        assert.equal(seenByHub.account, "$G");
        assert.equal(seenByHub.state, "open");
        assert.deepEqual(
          (seenByHub.subs_list as Json[]).find((s) => s.subject === "orders.*"),
          { subject: "orders.*", queue: "workers", weight: 1 },
        );
        // The leaf's deny_imports reached the hub (CONNECT deny_pub) and is enforced there too.
        const hubExport = seenByHub.export_policy as { deny: string[] };
        assert.ok(hubExport.deny.includes("secret.>"), JSON.stringify(hubExport));
        for (const deny of JETSTREAM_DENIES) assert.ok(hubExport.deny.includes(deny));

        const leafLeafz = await pollJson(
          leafHttp,
          "/leafz",
          (body) =>
            (body.remotes as Json[]).length === 2 &&
            (body.remotes as Json[])[1].last_error !== "",
        );
        const seenByLeaf = (leafLeafz.leafs as Json[])[0];
        assert.equal(seenByLeaf.name, "HUB");
        assert.equal(seenByLeaf.is_spoke, true);
        assert.equal(seenByLeaf.solicited, true);
        assert.equal(seenByLeaf.remote_index, 0);
        assert.equal(seenByLeaf.port, hub.leafPort);
        assert.ok((seenByLeaf.import_policy as { deny: string[] }).deny.includes("secret.>"));
        const [up, down] = leafLeafz.remotes as Json[];
        assert.equal(up.state, "connected");
        assert.equal(up.link_id, seenByLeaf.id);
        // The rotation: the configured URL plus whatever the hub gossiped.
        assert.ok((up.urls as string[]).includes(`127.0.0.1:${hub.leafPort}`), String(up.urls));
        assert.notEqual(down.state, "connected");
        assert.ok((down.attempts as number) >= 1);
        assert.equal(typeof down.next_attempt_in_ms, "number");

        // A message across the link is counted on both ends.
        const hubClient = await connect({ servers: hub.url, reconnect: false });
        try {
          hubClient.publish("orders.1", "x");
          await hubClient.flush();
          await pollJson(
            leafHttp,
            "/leafz",
            (body) => (body.leafs as Json[]).some((l) => (l.in_msgs as number) >= 1),
          );
          const hubVarz = await pollJson(
            hubHttp,
            "/varz",
            (body) => (body.out_msgs as number) >= 1,
          );
          assert.equal(hubVarz.leafnodes, 1);
          assert.equal(hubVarz.connections, 1);
          assert.equal(hubVarz.http_port, hubHttp);
        } finally {
          await hubClient.close();
        }
      } finally {
        await nc.close();
      }

      const leafVarz = await getJson(leafHttp, "/varz");
      const remotes = (leafVarz.leaf as Json).remotes as Json[];
      assert.deepEqual(remotes[0], {
        local_account: "$G",
        urls: [`127.0.0.1:${hub.leafPort}`],
        deny: { imports: ["secret.>"] },
      });

      const metrics = await fetch(`http://127.0.0.1:${hubHttp}/metrics`).then((r) => r.text());
      assert.match(metrics, /^canopy_leafnodes 1$/m);
      assert.match(
        metrics,
        /^canopy_leaf_out_msgs_total\{peer="LEAF",account="\$G",direction="in",id="\d+"\} [1-9]/m,
      );

      const page = await fetch(`http://127.0.0.1:${hubHttp}/`).then((r) => r.text());
      assert.match(page, /<svg id="topology"/);
    } finally {
      await leaf?.stop();
      await hub.stop();
    }
  },
});

const CHROMIUM = Deno.env.get("CHROMIUM_BIN") ?? "/usr/bin/chromium";

function chromiumMissing(): boolean {
  try {
    if (Deno.statSync(CHROMIUM).isFile) return false;
  } catch {
    // Reported below.
  }
  console.error(
    `\n!!! SKIPPING the monitor page test: ${CHROMIUM} is missing (apt-get install chromium) !!!\n`,
  );
  return true;
}

/** The page's DOM after its script ran for a few (virtual) seconds in headless Chromium. */
async function renderedDom(url: string): Promise<string> {
  const output = await new Deno.Command(CHROMIUM, {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--virtual-time-budget=3000",
      "--window-size=1200,800",
      "--dump-dom",
      url,
    ],
    stdout: "piped",
    stderr: "null",
    signal: AbortSignal.timeout(60_000),
  }).output();
  return new TextDecoder().decode(output.stdout);
}

Deno.test({
  name: "monitor page - headless Chromium draws this server and a leaf link from /leafz",
  ignore: chromiumMissing(),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const logger = new Logger({ sink: () => {} });
    const server = new ServerActor({ ...defaultOptions(), serverName: "HUB", port: 0 }, { logger });
    // A leaf that dialled us, played in memory: the page only needs what /leafz reports.
    const transport = new MemoryTransport();
    server.tell({ kind: "leafAccepted", transport });
    transport.push(`CONNECT ${JSON.stringify({ name: "EDGE-7", cluster: "EDGE-7" })}\r\n`);
    const monitor = await startMonitor(monitorViewOf(server), {
      host: "127.0.0.1",
      port: 0,
      logger,
    });
    try {
      await pollJson(monitor.port, "/leafz", (body) => body.leafnodes === 1);
      const dom = await renderedDom(`http://127.0.0.1:${monitor.port}/`);
      assert.match(dom, /<g class="node self"[^>]*>.*?class="title">HUB<\/text>/s);
      assert.match(dom, /<path class="link open"/, "the open link is drawn");
      assert.match(dom, /class="title">EDGE-7<\/text>/, "the peer is drawn by name");
      assert.match(dom, /<tbody id="links"><tr>.*?<td>in<\/td><td>EDGE-7<\/td><td>\$G<\/td>/s);
      assert.match(dom, /id="status" class="">updated /, "the poll succeeded");
    } finally {
      await monitor.close();
      transport.close();
      await new Promise<void>((done) => server.tell({ kind: "shutdown", done }));
    }
  },
});

Deno.test({
  name: "monitor - a nats-server leaf and a nats-server hub appear in Canopy's endpoints",
  ...serverTestOptions("nats-server"),
  fn: async () => {
    // Canopy hub with a nats-server 2.9.10 leaf, and a Canopy leaf of a nats-server hub.
    const hub = await startServer({
      server_name: "CHUB",
      http_port: freePort(),
      leafnodes: { port: AUTO_PORT },
    }, { impl: "canopy" });
    const natsHub = await startServer({
      server_name: "NHUB",
      leafnodes: { port: AUTO_PORT },
    }, { impl: "nats-server" });
    const servers = [hub, natsHub];
    try {
      servers.push(
        await startServer({
          server_name: "NLEAF",
          leafnodes: { remotes: [{ url: `nats-leaf://127.0.0.1:${hub.leafPort}` }] },
        }, { impl: "nats-server" }),
      );
      const leaf = await startServer({
        server_name: "CLEAF",
        http_port: freePort(),
        leafnodes: { remotes: [{ url: `nats-leaf://127.0.0.1:${natsHub.leafPort}` }] },
      }, { impl: "canopy" });
      servers.push(leaf);

      const hubLeafz = await pollJson(
        httpPortOf(hub),
        "/leafz",
        (body) => (body.leafs as Json[]).some((l) => l.name === "NLEAF"),
      );
      const inbound = (hubLeafz.leafs as Json[]).find((l) => l.name === "NLEAF")!;
      assert.equal(typeof inbound.rtt, "string");
      assert.equal(inbound.compression, "not supported", "2.9.10 has no leaf compression");
      assert.equal(inbound.account, "$G");
      const varz = await getJson(httpPortOf(hub), "/varz");
      assert.equal(varz.leafnodes, 1);
      assert.equal(typeof varz.server_id, "string");

      const leafLeafz = await pollJson(
        httpPortOf(leaf),
        "/leafz",
        (body) => (body.leafs as Json[]).some((l) => l.name === "NHUB"),
      );
      const outbound = (leafLeafz.leafs as Json[]).find((l) => l.name === "NHUB")!;
      assert.equal(outbound.solicited, true);
      assert.equal(outbound.is_spoke, true);
      assert.equal((leafLeafz.remotes as Json[])[0].state, "connected");
      const metrics = await fetch(`http://127.0.0.1:${httpPortOf(leaf)}/metrics`).then((r) =>
        r.text()
      );
      assert.match(metrics, /canopy_leafnodes 1/);
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  },
});
