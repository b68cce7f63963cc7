/**
 * The servers the benchmark compares. A target knows only how to start itself on a port;
 * workloads get endpoints and never care which implementation is behind them.
 *
 * @module
 */

import { type ServerProcess, ServerStartError, startServerProcess } from "./server_process.ts";

/** A server implementation under test. */
export interface Target {
  readonly name: string;
  /** Starts one server listening for clients on 127.0.0.1:`port`. */
  start(port: number): Promise<ServerProcess>;
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

/** The reference nats-server, with default settings apart from address and port. */
export const natsServerTarget: Target = {
  name: "nats-server",
  start(port) {
    if (!fileExists(NATS_SERVER_BINARY)) {
      return Promise.reject(
        new ServerStartError(`Cannot start nats-server: ${NATS_SERVER_BINARY} is missing`),
      );
    }
    return startServerProcess({
      name: "nats-server",
      command: NATS_SERVER_BINARY,
      args: ["-a", "127.0.0.1", "-p", String(port)],
      readyTimeoutMs: 10_000,
    });
  },
};

/**
 * Canopy run the way a user runs it, `deno run -A <entry> -p <port> -a 127.0.0.1`, from the
 * repository root. `entry` defaults to this working tree's `mod.ts`; another checkout's can be
 * compared by passing its path.
 */
export function canopyTarget(entry = `${REPO_ROOT}mod.ts`): Target {
  return {
    name: "canopy",
    start(port) {
      if (!fileExists(entry)) {
        return Promise.reject(new ServerStartError(`Cannot start canopy: ${entry} does not exist`));
      }
      return startServerProcess({
        name: "canopy",
        command: Deno.execPath(),
        args: ["run", "-A", entry, "-p", String(port), "-a", "127.0.0.1"],
        cwd: REPO_ROOT,
      });
    },
  };
}

/** Names of the targets `run.ts` knows, in the order each size runs them. */
export const TARGET_NAMES = ["nats-server", "canopy"] as const;
