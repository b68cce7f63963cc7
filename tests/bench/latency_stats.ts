/**
 * Percentiles of a latency sample, for the request/reply workload.
 *
 * @example
 * ```ts
 * import { summariseLatencies } from "./latency_stats.ts";
 * const summary = summariseLatencies(Float64Array.of(120, 95, 101, 3000));
 * console.log(summary.p50Us, summary.p99Us); // 101 3000
 * ```
 *
 * @module
 */

/** Latency figures of one run, in microseconds; all 0 for an empty sample. */
export interface LatencySummary {
  readonly samples: number;
  readonly minUs: number;
  readonly p50Us: number;
  readonly p90Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
  readonly meanUs: number;
}

/**
 * The nearest-rank percentile of ascending `sorted` values: the smallest value with at least
 * `percent` % of the sample at or below it. Unlike interpolation, it always returns a latency
 * that was actually observed, and p99 of 100 samples is the 99th, not a blend of the two worst.
 *
 * @throws {RangeError} when `percent` is outside (0, 100] or the sample is empty
 */
export function percentile(sorted: ArrayLike<number>, percent: number): number {
  if (!(percent > 0 && percent <= 100)) {
    throw new RangeError(`Cannot take percentile: "percent" must be in (0, 100], got ${percent}`);
  }
  if (sorted.length === 0) throw new RangeError("Cannot take percentile: the sample is empty");
  const rank = Math.ceil((percent / 100) * sorted.length);
  return sorted[Math.max(1, rank) - 1];
}

/** Sorts a copy of `samplesUs` and summarises it; the input is left as it was. */
export function summariseLatencies(samplesUs: ArrayLike<number>): LatencySummary {
  const count = samplesUs.length;
  if (count === 0) {
    return { samples: 0, minUs: 0, p50Us: 0, p90Us: 0, p99Us: 0, maxUs: 0, meanUs: 0 };
  }
  const sorted = Float64Array.from(samplesUs).sort();
  let total = 0;
  for (let index = 0; index < count; index++) total += sorted[index];
  return {
    samples: count,
    minUs: sorted[0],
    p50Us: percentile(sorted, 50),
    p90Us: percentile(sorted, 90),
    p99Us: percentile(sorted, 99),
    maxUs: sorted[count - 1],
    meanUs: total / count,
  };
}
