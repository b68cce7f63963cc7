import assert from "node:assert/strict";
import {
  formatLeafReport,
  latencyScore,
  leafHasFailures,
  leafToJson,
  type LeafWorkloadSummary,
  ratioOf,
  summariseRounds,
  throughputScore,
} from "./leaf_report.ts";
import type { LeafPubSubMeasurement, RequestReplyMeasurement } from "./leaf_workloads.ts";
import { type BenchSummary, formatReport, hasFailures, toJson } from "./report.ts";

const usage = (cpuSeconds: number, megabytes: number) => ({
  cpuSeconds,
  peakRssBytes: megabytes * 1e6,
});

function throughput(target: string, msgsPerSecond: number, lost = 0): LeafPubSubMeasurement {
  return {
    target,
    workload: "leaf-to-hub",
    payloadBytes: 128,
    sent: 1000,
    received: 1000 - lost,
    lost,
    elapsedMs: 100,
    msgsPerSecond,
    payloadMBPerSecond: (msgsPerSecond * 128) / 1e6,
    publisher: { cpuSeconds: 0.01, busy: 0.1 },
    subscriber: { cpuSeconds: 0.01, busy: 0.1 },
    outcome: lost === 0 ? "complete" : "drained",
    hub: usage(0.5, 20),
    leaf: usage(0.25, 30),
    probeMs: 12,
  };
}

function latency(target: string, p50Us: number, p99Us: number, lost = 0): RequestReplyMeasurement {
  return {
    target,
    payloadBytes: 16,
    requests: 5000,
    answered: 5000 - lost,
    lost,
    latency: {
      samples: 5000 - lost,
      minUs: p50Us / 2,
      p50Us,
      p90Us: p99Us / 2,
      p99Us,
      maxUs: p99Us * 2,
      meanUs: p50Us,
    },
    requestsPerSecond: 1e6 / p50Us,
    elapsedMs: 1000,
    probeMs: 3,
    requester: { cpuSeconds: 0.2, busy: lost > 0 ? 0.9 : 0.2 },
    hub: usage(0.3, 15),
    leaf: usage(0.35, 16),
  };
}

function workloads(canopyLost = 0): LeafWorkloadSummary[] {
  return [
    {
      kind: "pubsub",
      workload: "leaf-to-hub",
      sizes: [{
        payloadBytes: 128,
        count: 1000,
        targets: [
          summariseRounds("nats-server", [throughput("nats-server", 2000)], [], throughputScore),
          summariseRounds("canopy", [throughput("canopy", 1000, canopyLost)], [], throughputScore),
        ],
      }],
    },
    {
      kind: "request-reply",
      workload: "leaf-rr",
      sizes: [{
        payloadBytes: 16,
        count: 5000,
        targets: [
          summariseRounds("nats-server", [latency("nats-server", 200, 400)], [], latencyScore),
          summariseRounds(
            "canopy",
            [latency("canopy", 300, 1000), latency("canopy", 250, 1200)],
            ["Cannot see interest cross: no probe arrived in 10000 ms\nmore"],
            latencyScore,
          ),
        ],
      }],
    },
  ];
}

Deno.test("leaf report - request/reply keeps the round with the lowest p50, lossless first", () => {
  const entry = summariseRounds(
    "canopy",
    [
      latency("canopy", 300, 900),
      latency("canopy", 250, 1200),
      latency("canopy", 100, 150, 4),
    ],
    [],
    latencyScore,
  );
  assert.equal(entry.best?.latency.p50Us, 250);
  assert.equal(entry.lost, 4);
});

Deno.test("leaf report - ratios divide canopy's best by nats-server's best", () => {
  const [pubsub, rr] = workloads();
  assert.equal(pubsub.kind, "pubsub");
  assert.equal(rr.kind, "request-reply");
  if (pubsub.kind !== "pubsub" || rr.kind !== "request-reply") return;
  assert.equal(ratioOf(pubsub.sizes[0], "canopy", throughputScore), 0.5);
  assert.equal(ratioOf(rr.sizes[0], "canopy", (round) => round.latency.p50Us), 1.25);
  assert.equal(ratioOf(rr.sizes[0], "canopy", (round) => round.latency.p99Us), 3);
  assert.equal(ratioOf(rr.sizes[0], "missing", (round) => round.latency.p99Us), undefined);
});

Deno.test("leaf report - prints both servers' usage, latencies, ratios and first error lines", () => {
  const text = formatLeafReport(workloads(), 2);
  assert.match(
    text,
    /\| leaf-to-hub \| 128 B \| canopy\s+\|\s+1,000 \|\s+0\.1 \|\s+0\.50 \|\s+0\.25 \|\s+20\.0 \|\s+30\.0 \|\s+0 \|/,
  );
  assert.match(text, /\| leaf-rr\s+\| 16 B\s+\| canopy\s+\|\s+250 \|\s+1,200 \|/);
  assert.match(text, /leaf-to-hub 128 B\s+canopy\/nats-server msgs\/s = 0\.50/);
  assert.match(text, /leaf-rr 16 B\s+canopy\/nats-server latency p50 = 1\.25, p99 = 3\.00/);
  assert.match(text, /ERROR canopy: Cannot see interest cross: no probe arrived in 10000 ms$/m);
  assert.doesNotMatch(text, /more/);
  assert.equal(formatLeafReport([], 2), "");
});

Deno.test("leaf report - a lost message or an error fails the run and is explained", () => {
  assert.equal(leafHasFailures(workloads()), true); // The request/reply error.
  const clean = workloads().slice(0, 1);
  assert.equal(leafHasFailures(clean), false);
  const lossy = workloads(7).slice(0, 1);
  assert.equal(leafHasFailures(lossy), true);
  assert.match(formatLeafReport(lossy, 1), /7 of 1000 messages lost \(subscriber drained\)/);
});

Deno.test("leaf report - the bench summary carries the leaf workloads in text and JSON", () => {
  const summary: BenchSummary = {
    workload: "pub/sub",
    startedAt: "2026-01-01T00:00:00.000Z",
    environment: {},
    rounds: 2,
    workloads: ["leaf-to-hub", "leaf-rr"],
    sizes: [],
    leafWorkloads: workloads().slice(0, 1),
    failedTargets: {},
  };
  const text = formatReport(summary);
  assert.doesNotMatch(text, /Canopy benchmark: pub\/sub/); // No single-server sizes ran.
  assert.match(text, /Leaf workloads: a hub and a leaf of the same implementation/);
  assert.equal(hasFailures(summary), false);
  const json = toJson(summary) as Record<string, unknown>;
  assert.deepEqual(json.workloads, ["leaf-to-hub", "leaf-rr"]);
  const leaf = json.leafWorkloads as Record<string, { sizes: Record<string, unknown>[] }>;
  const size = leaf["leaf-to-hub"].sizes[0];
  assert.deepEqual(size.ratios, { "canopy/nats-server": 0.5 });
  const canopy = (size.targets as Record<string, Record<string, unknown>>).canopy;
  assert.deepEqual(canopy.hub, { cpuSeconds: 0.5, peakRssMB: 20 });
  assert.deepEqual(canopy.leaf, { cpuSeconds: 0.25, peakRssMB: 30 });
  const rr = leafToJson(workloads())["leaf-rr"] as { sizes: Record<string, unknown>[] };
  assert.deepEqual(rr.sizes[0].ratios, {
    "canopy/nats-server p50": 1.25,
    "canopy/nats-server p99": 3,
  });
});

Deno.test("leaf report - the tls and ws workloads get their own rows, headings and ratio lines", () => {
  const overLink = (workload: "leaf-to-hub-tls" | "leaf-to-hub-ws", canopy: number) => ({
    kind: "pubsub" as const,
    workload,
    sizes: [{
      payloadBytes: 1024,
      count: 1000,
      targets: [
        summariseRounds("nats-server", [throughput("nats-server", 4000)], [], throughputScore),
        summariseRounds("canopy", [throughput("canopy", canopy)], [], throughputScore),
      ],
    }],
  });
  const summaries = [overLink("leaf-to-hub-tls", 1000), overLink("leaf-to-hub-ws", 3000)];
  const text = formatLeafReport(summaries, 1);
  assert.match(text, /leaf-to-hub-tls: leaf-to-hub over mutual TLS/);
  assert.match(text, /leaf-to-hub-ws: leaf-to-hub over plain WebSocket/);
  assert.match(text, /\| leaf-to-hub-tls \| 1 KiB \| canopy\s+\|\s+1,000 \|/);
  assert.match(text, /leaf-to-hub-tls 1 KiB\s+canopy\/nats-server msgs\/s = 0\.25/);
  assert.match(text, /leaf-to-hub-ws 1 KiB\s+canopy\/nats-server msgs\/s = 0\.75/);
  const json = leafToJson(summaries) as Record<string, { sizes: Record<string, unknown>[] }>;
  assert.deepEqual(json["leaf-to-hub-tls"].sizes[0].ratios, { "canopy/nats-server": 0.25 });
  assert.deepEqual(json["leaf-to-hub-ws"].sizes[0].ratios, { "canopy/nats-server": 0.75 });
});
