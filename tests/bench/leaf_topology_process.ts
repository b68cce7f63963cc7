/**
 * A hub and one leaf of the same implementation, each its own process on free loopback ports,
 * the leaf dialling the hub's leafnode port: the topology of the leaf workloads.
 *
 * `startLeafTopology()` returns once both printed "Server is ready"; the link itself may come
 * up a moment later, which the workloads' probes wait for (`interest_probe.ts`).
 *
 * @example
 * ```ts
 * import { startLeafTopology } from "./leaf_topology_process.ts";
 * import { natsServerTarget } from "./targets.ts";
 * const topology = await startLeafTopology(natsServerTarget);
 * try {
 *   console.log(topology.hubEndpoint.port, topology.leafEndpoint.port);
 * } finally {
 *   await topology.stop();
 * }
 * ```
 *
 * @module
 */

import { freePort } from "../helpers/free_port.ts";
import { type ProcessStats, readProcessStats } from "../helpers/process_stats.ts";
import { ServerExitedError } from "./measure_target.ts";
import { type ServerProcess, ServerStartError } from "./server_process.ts";
import type { NodeSpec, Target } from "./targets.ts";
import type { Endpoint } from "./wire_connection.ts";

/** A fresh port can be taken by someone else before the server binds it: try a few. */
const START_ATTEMPTS = 2;

/** Resource snapshots of both servers. */
export interface TopologyStats {
  readonly hub: ProcessStats;
  readonly leaf: ProcessStats;
}

/** A running hub and leaf. */
export interface LeafTopology {
  readonly target: string;
  readonly hub: ServerProcess;
  readonly leaf: ServerProcess;
  /** Where clients of the hub connect. */
  readonly hubEndpoint: Endpoint;
  /** Where clients of the leaf connect. */
  readonly leafEndpoint: Endpoint;
  /** CPU seconds so far and peak RSS of both processes. */
  readStats(): Promise<TopologyStats>;
  /**
   * @throws {ServerExitedError} naming the first of the two that has exited, with its output
   */
  assertRunning(cause?: unknown): void;
  /** Stops the leaf, then the hub. Safe to call twice. */
  stop(): Promise<void>;
}

async function startNode(
  target: Target,
  spec: (ports: { port: number; leafPort: number }) => NodeSpec,
): Promise<{ server: ServerProcess; port: number; leafPort: number }> {
  let lastError: unknown;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const ports = { port: freePort(), leafPort: freePort() };
    try {
      return { server: await target.startNode(spec(ports)), ...ports };
    } catch (error) {
      lastError = error;
      if (!(error instanceof ServerStartError)) break;
    }
  }
  throw lastError;
}

/**
 * Starts the hub, then a leaf with one remote to the hub's leafnode port. Both get a leafnode
 * listener of their own on a free port (Canopy always opens one; nats-server needs it on the
 * hub only, but the same config for both keeps the comparison even).
 *
 * @throws {ServerStartError} when either does not start; nothing is left running then
 */
export async function startLeafTopology(target: Target): Promise<LeafTopology> {
  const hub = await startNode(target, (ports) => ({ name: "HUB", ...ports }));
  let leaf: Awaited<ReturnType<typeof startNode>>;
  try {
    leaf = await startNode(target, (ports) => ({
      name: "LEAF",
      ...ports,
      remotes: [hub.leafPort],
    }));
  } catch (error) {
    await hub.server.stop();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    target: target.name,
    hub: hub.server,
    leaf: leaf.server,
    hubEndpoint: { hostname: "127.0.0.1", port: hub.port },
    leafEndpoint: { hostname: "127.0.0.1", port: leaf.port },
    async readStats() {
      const [hubStats, leafStats] = await Promise.all([
        readProcessStats(hub.server.pid),
        readProcessStats(leaf.server.pid),
      ]);
      return { hub: hubStats, leaf: leafStats };
    },
    assertRunning(cause) {
      for (const server of [hub.server, leaf.server]) {
        if (!server.running) throw new ServerExitedError(server, cause);
      }
    },
    stop() {
      stopping ??= leaf.server.stop().finally(() => hub.server.stop());
      return stopping;
    },
  };
}
