/**
 * The servers the benchmark compares. A target knows only how to start itself, alone on a port
 * or as one node of a leafnode topology; workloads get endpoints and never care which
 * implementation is behind them.
 *
 * @module
 */

import { stringify as stringifyToml } from "smol-toml";
import { freePort } from "../helpers/free_port.ts";
import { type ServerProcess, ServerStartError, startServerProcess } from "./server_process.ts";

/** TLS files of a hub's leafnode listener (`leafnodes.tls`). */
export interface LeafListenerTlsSpec {
  readonly certFile: string;
  readonly keyFile: string;
  /** CA that client certificates must chain to; needed with `verify`. */
  readonly caFile?: string;
  /** Require and check a client certificate (mutual TLS). */
  readonly verify?: boolean;
}

/** TLS files of a leaf's remote (`leafnodes.remotes[].tls`). */
export interface RemoteTlsSpec {
  /** CA the hub's certificate must chain to. */
  readonly caFile: string;
  /** Client certificate, for a hub with `verify`. */
  readonly certFile?: string;
  readonly keyFile?: string;
}

/** One `leafnodes.remotes` entry, dialling 127.0.0.1. */
export interface RemoteSpec {
  /** The hub's leafnode port, or its websocket port for `ws`. */
  readonly port: number;
  /** `nats-leaf` (TCP, TLS when `tls` is set) or `ws` (plain WebSocket). Default `nats-leaf`. */
  readonly scheme?: "nats-leaf" | "ws";
  readonly tls?: RemoteTlsSpec;
}

/** One server of a topology, all of it on 127.0.0.1. */
export interface NodeSpec {
  /** `server_name`, e.g. `HUB` or `LEAF`; it shows up in the logs of the other side. */
  readonly name: string;
  /** Client port. */
  readonly port: number;
  /**
   * Leafnode listener port. nats-server opens none without it; Canopy always opens one (7422
   * by default), so it gets a free port when this is unset, never the default.
   */
  readonly leafPort?: number;
  /** TLS on the leafnode listener; needs `leafPort`. */
  readonly leafTls?: LeafListenerTlsSpec;
  /**
   * Plain-text websocket listener port (`no_tls`, no compression), which also accepts leaf
   * connections.
   */
  readonly websocketPort?: number;
  /** Hubs this node dials as a leaf: a bare number is a plain `nats-leaf` leafnode port. */
  readonly remotes?: readonly (number | RemoteSpec)[];
}

/** A server implementation under test. */
export interface Target {
  readonly name: string;
  /** Starts one server listening for clients on 127.0.0.1:`port`. */
  start(port: number): Promise<ServerProcess>;
  /** Starts one node of a topology from a generated config file (removed by `stop()`). */
  startNode(spec: NodeSpec): Promise<ServerProcess>;
}

/** Where Debian installs the reference server. */
export const NATS_SERVER_BINARY = "/usr/sbin/nats-server";

/** The repository root, where Canopy's `mod.ts` lives. */
export const REPO_ROOT: string = new URL("../../", import.meta.url).pathname;

function fileExists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * The config both implementations read, with nats-server's key names (which are Canopy's TOML
 * keys too).
 */
export function nodeConfig(spec: NodeSpec): Record<string, unknown> {
  const leafnodes: Record<string, unknown> = {};
  if (spec.leafPort !== undefined) {
    leafnodes.host = "127.0.0.1";
    leafnodes.port = spec.leafPort;
  }
  if (spec.leafTls !== undefined) leafnodes.tls = listenerTlsConfig(spec.leafTls);
  if (spec.remotes !== undefined && spec.remotes.length > 0) {
    leafnodes.remotes = spec.remotes.map(remoteConfig);
  }
  return {
    server_name: spec.name,
    host: "127.0.0.1",
    port: spec.port,
    ...(Object.keys(leafnodes).length === 0 ? {} : { leafnodes }),
    ...(spec.websocketPort === undefined ? {} : {
      websocket: { host: "127.0.0.1", port: spec.websocketPort, no_tls: true, compression: false },
    }),
  };
}

function listenerTlsConfig(tls: LeafListenerTlsSpec): Record<string, unknown> {
  return {
    cert_file: tls.certFile,
    key_file: tls.keyFile,
    ...(tls.caFile === undefined ? {} : { ca_file: tls.caFile }),
    ...(tls.verify === undefined ? {} : { verify: tls.verify }),
  };
}

function remoteConfig(remote: number | RemoteSpec): Record<string, unknown> {
  const { port, scheme = "nats-leaf", tls } = typeof remote === "number"
    ? { port: remote }
    : remote;
  const url = `${scheme}://127.0.0.1:${port}`;
  if (tls === undefined) return { url };
  return {
    url,
    tls: {
      ca_file: tls.caFile,
      ...(tls.certFile === undefined ? {} : { cert_file: tls.certFile }),
      ...(tls.keyFile === undefined ? {} : { key_file: tls.keyFile }),
    },
  };
}

/**
 * Writes `configText` to a temporary file, starts `command args... -c <file>` and removes the
 * file again when the server stops or fails to start.
 */
async function startWithConfigFile(
  name: string,
  configText: string,
  command: { command: string; args: string[]; cwd?: string; readyTimeoutMs?: number },
): Promise<ServerProcess> {
  const configPath = await Deno.makeTempFile({ prefix: "canopy-bench-", suffix: ".conf" });
  const removeConfig = () => Deno.remove(configPath).catch(() => {});
  try {
    await Deno.writeTextFile(configPath, configText);
    const server = await startServerProcess({
      name,
      command: command.command,
      args: [...command.args, "-c", configPath],
      cwd: command.cwd,
      readyTimeoutMs: command.readyTimeoutMs,
    });
    return {
      name: server.name,
      pid: server.pid,
      get running() {
        return server.running;
      },
      get exitDescription() {
        return server.exitDescription;
      },
      logTail: () => server.logTail(),
      stop: () => server.stop().finally(removeConfig),
    };
  } catch (error) {
    await removeConfig();
    throw error;
  }
}

function missingNatsServer(): Promise<never> {
  return Promise.reject(
    new ServerStartError(`Cannot start nats-server: ${NATS_SERVER_BINARY} is missing`),
  );
}

/** The reference nats-server, with default settings apart from addresses, ports and links. */
export const natsServerTarget: Target = {
  name: "nats-server",
  start(port) {
    if (!fileExists(NATS_SERVER_BINARY)) return missingNatsServer();
    return startServerProcess({
      name: "nats-server",
      command: NATS_SERVER_BINARY,
      args: ["-a", "127.0.0.1", "-p", String(port)],
      readyTimeoutMs: 10_000,
    });
  },
  startNode(spec) {
    if (!fileExists(NATS_SERVER_BINARY)) return missingNatsServer();
    // nats-server's config format is a superset of JSON.
    return startWithConfigFile(
      `nats-server ${spec.name}`,
      JSON.stringify(nodeConfig(spec), null, 2),
      { command: NATS_SERVER_BINARY, args: [], readyTimeoutMs: 10_000 },
    );
  },
};

/**
 * Canopy run the way a user runs it, `deno run -A <entry> -c <file>`, from the repository root.
 * `entry` defaults to this working tree's `mod.ts`; another checkout's can be compared by
 * passing its path.
 */
export function canopyTarget(entry = `${REPO_ROOT}mod.ts`): Target {
  const launch = (processName: string, spec: NodeSpec): Promise<ServerProcess> => {
    if (!fileExists(entry)) {
      return Promise.reject(new ServerStartError(`Cannot start canopy: ${entry} does not exist`));
    }
    const config = withoutCompression(
      nodeConfig({ ...spec, leafPort: spec.leafPort ?? freePort() }),
    );
    return startWithConfigFile(
      processName,
      stringifyToml(config),
      { command: Deno.execPath(), args: ["run", "-A", entry], cwd: REPO_ROOT },
    );
  };
  return {
    name: "canopy",
    // A config file rather than `-p`: it is the only way to move the leafnode listener off
    // 7422, which another Canopy on this machine (a test run) may hold.
    start: (port) => launch("canopy", { name: "BENCH", port }),
    startNode: (spec) => launch(`canopy ${spec.name}`, spec),
  };
}

/**
 * Leaf links between two Canopys negotiate S2 by default (as nats-server 2.10+ does); the
 * reference here is 2.9.10, which has no compression. Compression off compares the same wire
 * protocol; `tests/bench/compression_bench.ts` measures S2 on its own.
 */
function withoutCompression(config: Record<string, unknown>): Record<string, unknown> {
  const leafnodes = config.leafnodes as Record<string, unknown> | undefined;
  if (!leafnodes) return config;
  const remotes = leafnodes.remotes as Record<string, unknown>[] | undefined;
  return {
    ...config,
    leafnodes: {
      ...leafnodes,
      compression: "off",
      ...(remotes ? { remotes: remotes.map((r) => ({ ...r, compression: "off" })) } : {}),
    },
  };
}

/** Names of the targets `run.ts` knows, in the order each size runs them. */
export const TARGET_NAMES = ["nats-server", "canopy"] as const;
