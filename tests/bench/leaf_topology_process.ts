/**
 * A hub and one leaf of the same implementation, each its own process on free loopback ports,
 * the leaf dialling the hub's leafnode port (plain TCP or mutual TLS) or its websocket port:
 * the topology of the leaf workloads.
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

import { testCerts } from "../helpers/certs.ts";
import { freePort } from "../helpers/free_port.ts";
import { type ProcessStats, readProcessStats } from "../helpers/process_stats.ts";
import { ServerExitedError } from "./measure_target.ts";
import { type ServerProcess, ServerStartError } from "./server_process.ts";
import type { NodeSpec, RemoteSpec, Target } from "./targets.ts";
import type { Endpoint } from "./wire_connection.ts";

/** A fresh port can be taken by someone else before the server binds it: try a few. */
const START_ATTEMPTS = 2;

/**
 * How the leaf reaches the hub: `tcp` is a plain leafnode connection, `tls` the same with
 * mutual TLS (the hub verifies the leaf's client certificate), `ws` a plain-text WebSocket
 * (no TLS, no compression) to the hub's websocket listener.
 */
export type LeafLink = "tcp" | "tls" | "ws";

/** Options for `startLeafTopology()`. */
export interface LeafTopologyOptions {
  /** Default `tcp`. */
  link?: LeafLink;
}

/** Resource snapshots of both servers. */
export interface TopologyStats {
  readonly hub: ProcessStats;
  readonly leaf: ProcessStats;
}

/** A running hub and leaf. */
export interface LeafTopology {
  readonly target: string;
  readonly link: LeafLink;
  readonly hub: ServerProcess;
  readonly leaf: ServerProcess;
  /** Where clients of the hub connect. */
  readonly hubEndpoint: Endpoint;
  /** Where clients of the leaf connect. */
  readonly leafEndpoint: Endpoint;
  /** Where the leaf dials the hub: its leafnode port, or its websocket port for `ws`. */
  readonly hubLinkEndpoint: Endpoint;
  /** CPU seconds so far and peak RSS of both processes. */
  readStats(): Promise<TopologyStats>;
  /**
   * @throws {ServerExitedError} naming the first of the two that has exited, with its output
   */
  assertRunning(cause?: unknown): void;
  /** Stops the leaf, then the hub. Safe to call twice. */
  stop(): Promise<void>;
}

/** Free ports for one node; the spec decides which of them it uses. */
interface NodePorts {
  port: number;
  leafPort: number;
  websocketPort: number;
}

async function startNode(
  target: Target,
  spec: (ports: NodePorts) => NodeSpec,
): Promise<{ server: ServerProcess } & NodePorts> {
  let lastError: unknown;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const ports = { port: freePort(), leafPort: freePort(), websocketPort: freePort() };
    try {
      return { server: await target.startNode(spec(ports)), ...ports };
    } catch (error) {
      lastError = error;
      if (!(error instanceof ServerStartError)) break;
    }
  }
  throw lastError;
}

/** What one kind of link adds to the hub's spec, and the remote the leaf dials for it. */
interface LinkSpecs {
  hub(ports: NodePorts): Partial<NodeSpec>;
  remote(hub: NodePorts): RemoteSpec;
}

async function linkSpecs(link: LeafLink): Promise<LinkSpecs> {
  switch (link) {
    case "tcp":
      return { hub: () => ({}), remote: (hub) => ({ port: hub.leafPort }) };
    case "ws":
      return {
        hub: (ports) => ({ websocketPort: ports.websocketPort }),
        remote: (hub) => ({ port: hub.websocketPort, scheme: "ws" }),
      };
    case "tls": {
      const certs = await testCerts();
      return {
        hub: () => ({
          leafTls: {
            certFile: certs.server.certFile,
            keyFile: certs.server.keyFile,
            caFile: certs.ca.certFile,
            verify: true,
          },
        }),
        remote: (hub) => ({
          port: hub.leafPort,
          tls: {
            caFile: certs.ca.certFile,
            certFile: certs.client.certFile,
            keyFile: certs.client.keyFile,
          },
        }),
      };
    }
  }
}

/**
 * Starts the hub, then a leaf with one remote to the hub over `options.link`. Both get a
 * leafnode listener of their own on a free port (Canopy always opens one; nats-server needs it
 * on the hub only, but the same config for both keeps the comparison even).
 *
 * @throws {ServerStartError} when either does not start; nothing is left running then
 * @throws {CertGenerationError} when the TLS link's test certificates cannot be made
 */
export async function startLeafTopology(
  target: Target,
  options: LeafTopologyOptions = {},
): Promise<LeafTopology> {
  const link = options.link ?? "tcp";
  const specs = await linkSpecs(link);
  const hub = await startNode(target, (ports) => ({
    name: "HUB",
    port: ports.port,
    leafPort: ports.leafPort,
    ...specs.hub(ports),
  }));
  const remote = specs.remote(hub);
  let leaf: Awaited<ReturnType<typeof startNode>>;
  try {
    leaf = await startNode(target, (ports) => ({
      name: "LEAF",
      port: ports.port,
      leafPort: ports.leafPort,
      remotes: [remote],
    }));
  } catch (error) {
    await hub.server.stop();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    target: target.name,
    link,
    hub: hub.server,
    leaf: leaf.server,
    hubEndpoint: { hostname: "127.0.0.1", port: hub.port },
    leafEndpoint: { hostname: "127.0.0.1", port: leaf.port },
    hubLinkEndpoint: { hostname: "127.0.0.1", port: remote.port },
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
