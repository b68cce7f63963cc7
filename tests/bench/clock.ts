/**
 * A wall-clock timestamp that can be compared between processes.
 *
 * @module
 */

/**
 * Milliseconds since the Unix epoch with sub-millisecond resolution. The publisher and the
 * subscriber run in different processes, so `performance.now()` alone (which counts from each
 * process's start) cannot be compared between them; adding `timeOrigin` makes it comparable.
 */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}
