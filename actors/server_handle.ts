/**
 * The embedding API's view of a running server.
 *
 * @module
 */
import type { ServerOptions } from "../config/options.ts";
import { defaultOptions } from "../config/defaults.ts";
import { ServerActor, type ServerDependencies } from "./server.ts";
import { loadNativeCrc32c } from "../protocol/crc32c_native.ts";
import { startMonitor } from "./monitor.ts";
import { monitorViewOf } from "./monitor_view.ts";
import type { ServerEventMap, ServerEventName } from "./server_events.ts";
import type { Transport } from "./transport.ts";

/** Live figures about a running server. */
export interface ServerStats {
  connections: number;
  totalConnections: number;
  subscriptions: number;
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
}

/** A running Canopy server. */
export interface CanopyServer {
  readonly options: ServerOptions;
  /** The port the client listener is bound to. */
  readonly port: number;
  /** The port the leafnode listener is bound to. */
  readonly leafPort: number;
  readonly serverId: string;
  /**
   * Resolves once the server is listening (and its remotes have started dialing). Already
   * resolved when `startServer()` resolves, which binds every listener first; it is here so
   * that code handed a server can wait on it without knowing how it was started.
   */
  readonly ready: Promise<void>;
  stats(): ServerStats;
  /**
   * Applies new options without a restart: users, permissions, accounts,
   * remotes and deny lists. Listener addresses cannot change; a refused
   * reload rejects and leaves the running configuration in place.
   */
  reload(options: Partial<ServerOptions>): Promise<void>;
  /**
   * Lame duck mode: stop accepting, tell clients to move (INFO `ldm`), close
   * them gradually over `lameDuckDurationMs`, then shut down.
   */
  lameDuck(): Promise<void>;
  /** Stops accepting, closes every connection after flushing it, and resolves when done. */
  close(): Promise<void>;
  /** Watches links coming up and down and authentication failures; returns an unsubscribe. */
  on<K extends ServerEventName>(name: K, listener: (event: ServerEventMap[K]) => void): () => void;
  /**
   * Serves a connection the embedding program accepted itself (for example a
   * WebSocket from `Deno.serve`): `kind` says whether it is a NATS client or
   * a leafnode.
   */
  accept(transport: Transport, kind: "client" | "leafnode"): void;
}

/**
 * Starts a server from options. Missing options take nats-server's defaults;
 * `port: 0` picks a free port.
 *
 * @example
 * ```ts
 * const server = await startServer({ port: 0, host: "127.0.0.1" });
 * console.log(`listening on ${server.port}`);
 * await server.close();
 * ```
 */
export async function startServer(
  options: Partial<ServerOptions> = {},
  deps: ServerDependencies = {},
): Promise<CanopyServer> {
  const full: ServerOptions = { ...defaultOptions(), ...options };
  // Before any link can negotiate S2: every compressed byte is checksummed on both ends.
  const crc = await loadNativeCrc32c();
  const actor = new ServerActor(full, deps);
  actor.logger.debug(`S2 checksums: CRC-32C ${crc.detail}`);
  // As in nats-server, monitoring is up before "Server is ready" is logged.
  const monitor = full.httpPort === undefined ? undefined : await startMonitor(
    monitorViewOf(actor),
    { host: full.host, port: full.httpPort, logger: actor.logger },
  );
  try {
    actor.listen();
  } catch (error) {
    await monitor?.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  const handle: CanopyServer = {
    get options() {
      return actor.options;
    },
    port: actor.clientPort,
    leafPort: actor.leafPort,
    serverId: actor.serverId,
    ready: Promise.resolve(),
    stats(): ServerStats {
      const stats: ServerStats = {
        connections: actor.connections.size,
        totalConnections: actor.totalConnections,
        subscriptions: 0,
        inMsgs: 0,
        outMsgs: 0,
        inBytes: 0,
        outBytes: 0,
      };
      for (const account of actor.accounts.values()) {
        stats.subscriptions += account.subscriptionCount;
      }
      for (const c of actor.connections.values()) {
        stats.inMsgs += c.inMsgs;
        stats.outMsgs += c.outMsgs;
        stats.inBytes += c.inBytes;
        stats.outBytes += c.outBytes;
      }
      return stats;
    },
    on: (name, listener) => actor.events.on(name, listener),
    accept: (transport, kind) => actor.accept(transport, kind),
    reload(options: Partial<ServerOptions>): Promise<void> {
      const next: ServerOptions = { ...defaultOptions(), ...options };
      return new Promise((resolve, reject) => {
        const outcome = actor.tell({
          kind: "reload",
          options: next,
          done: (error) => error ? reject(error) : resolve(),
        });
        if (outcome === "stopped") reject(new Error("Cannot reload: the server has stopped"));
      });
    },
    lameDuck(): Promise<void> {
      // Ends like close(): every caller waits for the same exit.
      return new Promise<void>((done) => {
        // A server that already exited has nothing left to do.
        if (actor.tell({ kind: "lameDuck", done }) === "stopped") done();
      }).then(() => monitor?.close());
    },
    close(): Promise<void> {
      // Also cuts a lame duck short: the actor finishes both callers at once.
      closing ??= Promise.all([
        monitor?.close(),
        new Promise<void>((done) => {
          if (actor.tell({ kind: "shutdown", done }) === "stopped") done();
        }),
      ]).then(() => {});
      return closing;
    },
  };
  return handle;
}
