/**
 * One measurement: start a target on a free port, run the pub/sub workload against it, read the
 * server's CPU time and peak memory from `/proc`, stop it.
 *
 * @module
 */

import { freePort } from "../helpers/free_port.ts";
import { readProcessStats } from "../helpers/process_stats.ts";
import { type PubSubOptions, type PubSubResult, runPubSub } from "./pub_sub_workload.ts";
import { ServerStartError } from "./server_process.ts";
import type { ServerProcess } from "./server_process.ts";
import type { Target } from "./targets.ts";

/** A pub/sub result plus what the server process spent on it. */
export interface TargetMeasurement extends PubSubResult {
  readonly target: string;
  /** Server user + system CPU seconds during the workload. */
  readonly serverCpuSeconds: number;
  /** Server peak RSS (`VmHWM`) since it started, in bytes; each measurement starts a fresh server. */
  readonly serverPeakRssBytes: number;
}

/** Raised when the server process dies during a measurement; carries its last output. */
export class ServerExitedError extends Error {
  override name = "ServerExitedError";

  constructor(server: ServerProcess, cause?: unknown) {
    const during = cause instanceof Error ? ` (${cause.message.split("\n")[0]})` : "";
    super(
      `${server.name} exited with ${server.exitDescription} during the run${during}\n` +
        `--- last output ---\n${server.logTail()}\n---`,
      { cause },
    );
  }
}

/** A fresh port can be taken by someone else before the server binds it: try a few. */
const START_ATTEMPTS = 2;

async function startOnFreePort(target: Target): Promise<{ server: ServerProcess; port: number }> {
  let lastError: unknown;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const port = freePort();
    try {
      return { server: await target.start(port), port };
    } catch (error) {
      lastError = error;
      if (!(error instanceof ServerStartError)) break;
    }
  }
  throw lastError;
}

/**
 * Runs the pub/sub workload against a fresh server of `target`, publisher and subscriber both on
 * it, and always stops the server afterwards.
 *
 * @throws {ServerStartError} when the target cannot start; other errors when the run fails
 */
export async function measurePubSub(
  target: Target,
  options: PubSubOptions,
): Promise<TargetMeasurement> {
  const { server, port } = await startOnFreePort(target);
  try {
    const endpoint = { hostname: "127.0.0.1", port };
    const before = await readProcessStats(server.pid);
    const result = await runPubSub({ publisher: endpoint, subscriber: endpoint }, options);
    if (!server.running) throw new ServerExitedError(server);
    const after = await readProcessStats(server.pid);
    return {
      ...result,
      target: target.name,
      serverCpuSeconds: after.cpuSeconds - before.cpuSeconds,
      serverPeakRssBytes: after.peakRssBytes,
    };
  } catch (error) {
    if (!server.running && !(error instanceof ServerExitedError)) {
      throw new ServerExitedError(server, error);
    }
    throw error;
  } finally {
    await server.stop();
  }
}
