import assert from "node:assert/strict";
import { freePort } from "../helpers/free_port.ts";
import {
  parseCpuSeconds,
  parseStatusKilobytes,
  ProcessStatsError,
  readProcessStats,
} from "../helpers/process_stats.ts";

Deno.test("process stats - reads utime and stime after a command name with spaces and parens", () => {
  // Fields 14 and 15 are 250 and 50 ticks: 3 seconds at 100 ticks per second.
  const stat = "42 (odd) name (x)) S 1 42 42 0 -1 4194304 99 0 0 0 250 50 0 0 20 0 1 0 29675";
  assert.equal(parseCpuSeconds(stat), 3);
});

Deno.test("process stats - reads a kB line from /proc status text", () => {
  const status = "Name:\tdeno\nVmHWM:\t   2048 kB\nVmRSS:\t   1024 kB\n";
  assert.equal(parseStatusKilobytes(status, "VmHWM"), 2048 * 1024);
  assert.equal(parseStatusKilobytes(status, "VmRSS"), 1024 * 1024);
  assert.throws(() => parseStatusKilobytes(status, "VmSwap"), ProcessStatsError);
});

Deno.test("process stats - reads this process and fails for one that does not exist", async () => {
  const stats = await readProcessStats(Deno.pid);
  assert.ok(stats.rssBytes > 1024 * 1024, `rss ${stats.rssBytes}`);
  assert.ok(stats.peakRssBytes >= stats.rssBytes);
  assert.ok(stats.cpuSeconds >= 0);
  await assert.rejects(readProcessStats(2 ** 22 + 1), ProcessStatsError);
});

Deno.test("free port - returns a loopback port that can be bound", () => {
  const port = freePort();
  assert.ok(port > 0 && port < 65536);
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  listener.close();
});
