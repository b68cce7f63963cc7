import assert from "node:assert/strict";
import type { TargetMeasurement } from "./measure_target.ts";
import {
  type BenchSummary,
  formatReport,
  formatSize,
  hasFailures,
  ratioToBaseline,
  type SizeSummary,
  summariseTarget,
} from "./report.ts";

function measurement(target: string, msgsPerSecond: number, lost = 0): TargetMeasurement {
  return {
    target,
    payloadBytes: 16,
    sent: 1000,
    received: 1000 - lost,
    lost,
    elapsedMs: 100,
    msgsPerSecond,
    payloadMBPerSecond: (msgsPerSecond * 16) / 1e6,
    publisher: { cpuSeconds: 0.01, busy: 0.1 },
    subscriber: { cpuSeconds: 0.01, busy: 0.1 },
    outcome: lost === 0 ? "complete" : "drained",
    serverCpuSeconds: 0.5,
    serverPeakRssBytes: 20e6,
  };
}

function summary(sizes: SizeSummary[], failedTargets: Record<string, string> = {}): BenchSummary {
  return {
    workload: "test",
    startedAt: "2026-01-01T00:00:00.000Z",
    environment: {},
    rounds: 2,
    sizes,
    failedTargets,
  };
}

Deno.test("report - keeps the best round but the worst loss", () => {
  const entry = summariseTarget("canopy", [
    measurement("canopy", 900, 3),
    measurement("canopy", 1200),
  ], []);
  assert.equal(entry.best?.msgsPerSecond, 1200);
  assert.equal(entry.lost, 3);
});

Deno.test("report - prefers a lossless round even when a lossy one was faster", () => {
  const entry = summariseTarget("canopy", [
    measurement("canopy", 5000, 400),
    measurement("canopy", 1200),
  ], []);
  assert.equal(entry.best?.msgsPerSecond, 1200);
  assert.equal(entry.lost, 400);
  const allLossy = summariseTarget("canopy", [measurement("canopy", 5000, 400)], []);
  assert.equal(allLossy.best?.msgsPerSecond, 5000);
});

Deno.test("report - ratio is canopy's best over nats-server's best, and n/a without both", () => {
  const size: SizeSummary = {
    payloadBytes: 16,
    messages: 1000,
    ceiling: undefined,
    targets: [
      summariseTarget("nats-server", [measurement("nats-server", 2000)], []),
      summariseTarget("canopy", [measurement("canopy", 500)], []),
    ],
  };
  assert.equal(ratioToBaseline(size, "canopy"), 0.25);
  const text = formatReport(summary([size]));
  assert.match(text, /16 B\s+canopy\/nats-server msgs\/s = 0\.25/);
  assert.match(text, /\| 16 B \| canopy\s+\|\s+500 \|/);
  assert.equal(hasFailures(summary([size])), false);

  const failed: SizeSummary = {
    ...size,
    targets: [size.targets[0], summariseTarget("canopy", [], [])],
  };
  assert.equal(ratioToBaseline(failed, "canopy"), undefined);
  const failedSummary = summary([failed], { canopy: "Cannot start canopy: mod.ts is missing" });
  assert.match(formatReport(failedSummary), /canopy\/nats-server msgs\/s = n\/a/);
  assert.match(formatReport(failedSummary), /FAILED TARGET canopy: Cannot start canopy/);
  assert.equal(hasFailures(failedSummary), true);
});

Deno.test("report - a lost message fails the run and is explained", () => {
  const size: SizeSummary = {
    payloadBytes: 1024,
    messages: 1000,
    ceiling: undefined,
    targets: [summariseTarget("nats-server", [measurement("nats-server", 2000, 7)], [])],
  };
  assert.equal(hasFailures(summary([size])), true);
  assert.match(formatReport(summary([size])), /7 of 1000 messages lost \(subscriber drained\)/);
});

Deno.test("report - sizes print in bytes or KiB", () => {
  assert.equal(formatSize(16), "16 B");
  assert.equal(formatSize(1024), "1 KiB");
  assert.equal(formatSize(16384), "16 KiB");
  assert.equal(formatSize(1500), "1500 B");
});
