import assert from "node:assert/strict";
import { percentile, summariseLatencies } from "./latency_stats.ts";

Deno.test("latency stats - nearest-rank percentiles return observed values", () => {
  const sorted = Array.from({ length: 100 }, (_, index) => index + 1); // 1..100
  assert.equal(percentile(sorted, 50), 50);
  assert.equal(percentile(sorted, 99), 99);
  assert.equal(percentile(sorted, 100), 100);
  assert.equal(percentile(sorted, 0.5), 1);
  // Ten samples: p50 is the 5th, p99 and p90 the 10th and 9th.
  const ten = [10, 20, 30, 40, 50, 60, 70, 80, 90, 1000];
  assert.equal(percentile(ten, 50), 50);
  assert.equal(percentile(ten, 90), 90);
  assert.equal(percentile(ten, 99), 1000);
  assert.equal(percentile([7], 1), 7);
});

Deno.test("latency stats - percentile rejects an empty sample and a percent out of range", () => {
  assert.throws(() => percentile([], 50), RangeError);
  assert.throws(() => percentile([1], 0), RangeError);
  assert.throws(() => percentile([1], 101), RangeError);
  assert.throws(() => percentile([1], Number.NaN), RangeError);
});

Deno.test("latency stats - summary sorts a copy numerically and leaves the input alone", () => {
  // Lexicographic sorting would put 1000 before 95.
  const samples = Float64Array.of(120, 95, 1000, 101, 99);
  const summary = summariseLatencies(samples);
  assert.deepEqual(Array.from(samples), [120, 95, 1000, 101, 99]);
  assert.equal(summary.samples, 5);
  assert.equal(summary.minUs, 95);
  assert.equal(summary.p50Us, 101);
  assert.equal(summary.p90Us, 1000);
  assert.equal(summary.p99Us, 1000);
  assert.equal(summary.maxUs, 1000);
  assert.equal(summary.meanUs, (120 + 95 + 1000 + 101 + 99) / 5);
});

Deno.test("latency stats - an empty sample summarises to zeros", () => {
  const summary = summariseLatencies([]);
  assert.equal(summary.samples, 0);
  assert.equal(summary.p50Us, 0);
  assert.equal(summary.p99Us, 0);
});
