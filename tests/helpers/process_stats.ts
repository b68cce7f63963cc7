/**
 * CPU time and memory of another process, read from Linux `/proc`.
 *
 * @example
 * ```ts
 * import { readProcessStats } from "./process_stats.ts";
 * const stats = await readProcessStats(Deno.pid);
 * console.log(stats.cpuSeconds, stats.peakRssBytes);
 * ```
 *
 * @module
 */

/**
 * Kernel clock ticks per second, the unit of `utime`/`stime` in `/proc/<pid>/stat`. Deno cannot
 * call `sysconf(_SC_CLK_TCK)`; every Linux architecture Deno ships for reports 100 to user space
 * (`getconf CLK_TCK`), whatever the kernel's internal HZ is.
 */
export const CLOCK_TICKS_PER_SECOND = 100;

/** A snapshot of one process's resource use. */
export interface ProcessStats {
  /** User plus system CPU time of all the process's threads so far, in seconds. */
  readonly cpuSeconds: number;
  /** Resident set size right now (`VmRSS`), in bytes. */
  readonly rssBytes: number;
  /** Highest resident set size since the process started (`VmHWM`), in bytes. */
  readonly peakRssBytes: number;
}

/** Raised when `/proc` has no usable entry for a process, e.g. because it has exited. */
export class ProcessStatsError extends Error {
  override name = "ProcessStatsError";
}

/**
 * Parses the text of `/proc/<pid>/stat` and returns user plus system CPU seconds.
 *
 * The second field is the command name in parentheses and may itself contain spaces and
 * parentheses, so fields are counted from the last `)`.
 */
export function parseCpuSeconds(statText: string): number {
  const nameEnd = statText.lastIndexOf(")");
  if (nameEnd === -1) {
    throw new ProcessStatsError(`Cannot parse /proc stat: no ")" in "${statText.slice(0, 80)}"`);
  }
  // After the name: field 3 (state) is index 0, so utime (field 14) is 11 and stime (15) is 12.
  const fields = statText.slice(nameEnd + 2).split(" ");
  const userTicks = Number(fields[11]);
  const systemTicks = Number(fields[12]);
  if (!Number.isFinite(userTicks) || !Number.isFinite(systemTicks)) {
    throw new ProcessStatsError(`Cannot parse /proc stat: bad utime/stime in "${statText}"`);
  }
  return (userTicks + systemTicks) / CLOCK_TICKS_PER_SECOND;
}

/** Returns the value of a `kB` line such as `VmHWM:	  1234 kB` from `/proc/<pid>/status`, in bytes. */
export function parseStatusKilobytes(statusText: string, key: string): number {
  const match = new RegExp(`^${key}:\\s+(\\d+) kB$`, "m").exec(statusText);
  if (match === null) {
    throw new ProcessStatsError(`Cannot parse /proc status: no "${key}" line`);
  }
  return Number(match[1]) * 1024;
}

async function readProcFile(pid: number, name: string): Promise<string> {
  try {
    return await Deno.readTextFile(`/proc/${pid}/${name}`);
  } catch (error) {
    throw new ProcessStatsError(`Cannot read /proc/${pid}/${name}: process gone?`, {
      cause: error,
    });
  }
}

/** CPU seconds (user + system) used so far by process `pid`. */
export async function readCpuSeconds(pid: number): Promise<number> {
  return parseCpuSeconds(await readProcFile(pid, "stat"));
}

/** Peak resident set size (`VmHWM`) of process `pid`, in bytes. */
export async function readPeakRssBytes(pid: number): Promise<number> {
  return parseStatusKilobytes(await readProcFile(pid, "status"), "VmHWM");
}

/**
 * Reads CPU time, current and peak RSS of process `pid`. Read it before stopping a process:
 * once it has exited, its `/proc` entry is gone.
 *
 * @throws {ProcessStatsError} when the process does not exist or `/proc` is unreadable.
 */
export async function readProcessStats(pid: number): Promise<ProcessStats> {
  const [statText, statusText] = await Promise.all([
    readProcFile(pid, "stat"),
    readProcFile(pid, "status"),
  ]);
  return {
    cpuSeconds: parseCpuSeconds(statText),
    rssBytes: parseStatusKilobytes(statusText, "VmRSS"),
    peakRssBytes: parseStatusKilobytes(statusText, "VmHWM"),
  };
}
