/**
 * Starts a NATS server process for integration tests: Canopy (`deno run -A mod.ts`) or the
 * reference `nats-server` binary, from the same config object, so one suite checks both.
 *
 * The config object uses nats-server's key names, which are also Canopy's TOML key names.
 * The target comes from `CANOPY_TEST_TARGET` (`canopy` when unset, `nats-server` to validate
 * the suite against the reference implementation).
 *
 * @example
 * ```ts
 * import { startServer } from "./server_process.ts";
 * const server = await startServer({ max_payload: 1024 });
 * try {
 *   console.log(server.url);
 * } finally {
 *   await server.stop();
 * }
 * ```
 *
 * @module
 */

import { stringify as stringifyToml } from "smol-toml";
import { freePort } from "./free_port.ts";

/** Which server implementation a test runs against. */
export type ServerImpl = "canopy" | "nats-server";

/**
 * Write this as `leafnodes.port` to have `startServer()` pick a free loopback port for the
 * leafnode listener (chosen again on every start attempt, like the client port). The chosen
 * port is `ServerHandle.leafPort`.
 */
export const AUTO_PORT = "auto";

/** The reference server: where Debian installs it, unless `NATS_SERVER_BIN` names another. */
export const NATS_SERVER_BINARY: string = Deno.env.get("NATS_SERVER_BIN") ??
  "/usr/sbin/nats-server";

/** The repository root, where Canopy's `mod.ts` lives. */
export const REPO_ROOT: string = new URL("../../", import.meta.url).pathname;

/** The line both implementations print on stderr once they accept clients. */
const READY_LINE = "Server is ready";

/** Canopy pays Deno's start-up and type-check cost, so it gets a generous ready timeout. */
const DEFAULT_READY_TIMEOUT_MS = 15_000;

/** A free port can be taken by another process before the server binds it; try again then. */
const PORT_ATTEMPTS = 3;
const ADDRESS_IN_USE = /address already in use/i;

/** How long `stop()` waits after SIGTERM before it sends SIGKILL. */
const KILL_GRACE_MS = 2_000;

/** Raised when a server does not reach "Server is ready"; the message carries its stderr. */
export class ServerStartError extends Error {
  override name = "ServerStartError";
  /** Everything the process wrote on stderr and stdout before it failed. */
  readonly logs: string;

  constructor(message: string, logs: string, options?: ErrorOptions) {
    super(`${message}\n--- server output ---\n${logs}--- end of server output ---`, options);
    this.logs = logs;
  }
}

/** Raised by `waitForLog()` when the expected text never shows up. */
export class LogTimeoutError extends Error {
  override name = "LogTimeoutError";
}

/** Options for `startServer()`. */
export interface StartServerOptions {
  /** Implementation to start; defaults to `targetImpl()`. */
  impl?: ServerImpl;
  /** Extra command-line arguments, appended after `-c <file>`. */
  args?: string[];
  /** How long to wait for "Server is ready". */
  readyTimeoutMs?: number;
}

/** A running server started by `startServer()`. */
export interface ServerHandle {
  readonly impl: ServerImpl;
  /** The client port on 127.0.0.1. */
  readonly port: number;
  /** `127.0.0.1:<port>`, ready for the NATS client's `servers` option. */
  readonly url: string;
  /** The leafnode listener port, when the config set `leafnodes.port` (or `AUTO_PORT`). */
  readonly leafPort: number | undefined;
  /**
   * The config as started, with `AUTO_PORT` replaced by the chosen ports: pass it to
   * `startServer()` again to restart the server on the same ports.
   */
  readonly config: Record<string, unknown>;
  readonly pid: number;
  /** Path of the generated config file (removed by `stop()`). */
  readonly configPath: string;
  /** Everything the server logged so far (stderr, then stdout lines, as they arrived). */
  logs(): string;
  /** Resolves with all logs once `text` appears in them; rejects after `timeoutMs`. */
  waitForLog(text: string, timeoutMs?: number): Promise<string>;
  /** SIGTERM, SIGKILL after 2 s, awaits exit and removes the config file. Safe to call twice. */
  stop(): Promise<void>;
}

/** The implementation selected by `CANOPY_TEST_TARGET` (default `canopy`). */
export function targetImpl(): ServerImpl {
  const value = Deno.env.get("CANOPY_TEST_TARGET") ?? "canopy";
  if (value !== "canopy" && value !== "nats-server") {
    throw new RangeError(
      `Cannot select test target: "CANOPY_TEST_TARGET" must be "canopy" or "nats-server", got "${value}"`,
    );
  }
  return value;
}

function natsServerInstalled(): boolean {
  try {
    return Deno.statSync(NATS_SERVER_BINARY).isFile;
  } catch {
    return false;
  }
}

let warnedMissingBinary = false;

/**
 * True when `impl` (default: the selected target) cannot run here, so tests should be
 * ignored: only when it is nats-server, its binary is missing and `CI` is unset. Under CI a
 * missing binary is a failure instead (`startServer()` throws), never a silent skip.
 */
export function targetUnavailable(impl: ServerImpl = targetImpl()): boolean {
  if (impl !== "nats-server" || natsServerInstalled()) return false;
  if (Deno.env.get("CI")) return false;
  if (!warnedMissingBinary) {
    warnedMissingBinary = true;
    console.error(
      `\n!!! SKIPPING server tests: ${NATS_SERVER_BINARY} is missing ` +
        `(apt-get install nats-server). Under CI this is a failure. !!!\n`,
    );
  }
  return true;
}

/**
 * `Deno.test` options shared by every server test: ignored when `impl` (default: the selected
 * target) is unavailable, and with the op/resource sanitizers off because the NATS client keeps
 * timers and sockets that outlive a test by a tick.
 *
 * @example
 * ```ts
 * import { serverTestOptions, withServer } from "./server_process.ts";
 * Deno.test({
 *   name: "server - starts",
 *   ...serverTestOptions(),
 *   fn: () => withServer({}, async (server) => console.log(server.url)),
 * });
 * ```
 */
export function serverTestOptions(impl?: ServerImpl): {
  ignore: boolean;
  sanitizeOps: false;
  sanitizeResources: false;
} {
  return { ignore: targetUnavailable(impl), sanitizeOps: false, sanitizeResources: false };
}

/**
 * nats-server 2.9.10's config parser accepts JSON as written by `JSON.stringify` (its format is
 * a superset of JSON), so no hand-written conf emitter is needed.
 */
function renderConfig(impl: ServerImpl, config: Record<string, unknown>): string {
  return impl === "canopy" ? stringifyToml(config) : JSON.stringify(config, null, 2);
}

function commandFor(impl: ServerImpl, configPath: string, args: string[]): Deno.Command {
  const common = {
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  } as const;
  if (impl === "canopy") {
    return new Deno.Command(Deno.execPath(), {
      ...common,
      args: ["run", "-A", `${REPO_ROOT}mod.ts`, "-c", configPath, ...args],
      cwd: REPO_ROOT,
    });
  }
  if (!natsServerInstalled()) {
    throw new ServerStartError(
      `Cannot start nats-server: ${NATS_SERVER_BINARY} is missing (apt-get install nats-server)`,
      "",
    );
  }
  return new Deno.Command(NATS_SERVER_BINARY, { ...common, args: ["-c", configPath, ...args] });
}

/** Collects a process's output and wakes whoever waits for a piece of text in it. */
class LogCollector {
  #text = "";
  #stderrText = "";
  #waiters = new Set<() => void>();

  get text(): string {
    return this.#text;
  }

  get stderrText(): string {
    return this.#stderrText;
  }

  async drain(stream: ReadableStream<Uint8Array>, isStderr: boolean): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of stream) {
        const text = decoder.decode(chunk, { stream: true });
        this.#text += text;
        if (isStderr) this.#stderrText += text;
        for (const wake of this.#waiters) wake();
      }
    } catch {
      // The process was killed mid-read; what we have is all there is.
    }
    for (const wake of this.#waiters) wake();
  }

  /** Calls `check` now and after every new chunk until it returns true or time runs out. */
  waitFor(check: () => boolean, timeoutMs: number, exited: Promise<unknown>): Promise<boolean> {
    if (check()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (result: boolean) => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve(result);
      };
      const wake = () => {
        if (check()) finish(true);
      };
      const timer = setTimeout(() => finish(check()), timeoutMs);
      this.#waiters.add(wake);
      exited.then(() => setTimeout(() => finish(check()), 50));
    });
  }
}

/**
 * Starts a server on a free loopback port (or `config.port`) with `host = "127.0.0.1"`, and
 * resolves once it printed "Server is ready".
 *
 * @throws {ServerStartError} when the process exits or stays silent past the ready timeout.
 */
export async function startServer(
  config: Record<string, unknown>,
  options: StartServerOptions = {},
): Promise<ServerHandle> {
  const impl = options.impl ?? targetImpl();
  const fixedPort = typeof config.port === "number" ? config.port : undefined;
  // Canopy always listens for leafnodes (7422 by default); tests must never depend on, or
  // collide over, that fixed port.
  if (impl === "canopy" && leafnodesOf(config)?.port === undefined) {
    config = { ...config, leafnodes: { ...leafnodesOf(config), port: AUTO_PORT } };
  }
  const autoLeafPort = leafnodesOf(config)?.port === AUTO_PORT;
  for (let attempt = 1;; attempt++) {
    try {
      return await startOnce(
        impl,
        withAutoLeafPort({ ...config, port: fixedPort ?? freePort() }),
        options,
      );
    } catch (error) {
      const raced = error instanceof ServerStartError && ADDRESS_IN_USE.test(error.logs);
      const portsChosenHere = fixedPort === undefined || autoLeafPort;
      if (!raced || !portsChosenHere || attempt === PORT_ATTEMPTS) throw error;
    }
  }
}

function leafnodesOf(config: Record<string, unknown>): Record<string, unknown> | undefined {
  const leafnodes = config.leafnodes;
  return typeof leafnodes === "object" && leafnodes !== null && !Array.isArray(leafnodes)
    ? leafnodes as Record<string, unknown>
    : undefined;
}

/** Replaces `leafnodes.port = AUTO_PORT` with a free port; other configs pass unchanged. */
function withAutoLeafPort<T extends Record<string, unknown>>(config: T): T {
  const leafnodes = leafnodesOf(config);
  if (leafnodes?.port !== AUTO_PORT) return config;
  // Tests listen on loopback only.
  return { ...config, leafnodes: { host: "127.0.0.1", ...leafnodes, port: freePort() } };
}

async function startOnce(
  impl: ServerImpl,
  config: Record<string, unknown> & { port: number },
  options: StartServerOptions,
): Promise<ServerHandle> {
  const port = config.port;
  const fullConfig = { ...config, host: "127.0.0.1" };
  const extension = impl === "canopy" ? ".toml" : ".conf";
  const configPath = await Deno.makeTempFile({ prefix: "canopy_test_", suffix: extension });
  await Deno.writeTextFile(configPath, renderConfig(impl, fullConfig));

  let child: Deno.ChildProcess;
  try {
    child = commandFor(impl, configPath, options.args ?? []).spawn();
  } catch (error) {
    await Deno.remove(configPath).catch(() => {});
    throw error;
  }

  const collector = new LogCollector();
  const drained = Promise.all([
    collector.drain(child.stderr, true),
    collector.drain(child.stdout, false),
  ]);
  let exitStatus: Deno.CommandStatus | undefined;
  const exited = child.status.then((status) => {
    exitStatus = status;
    return status;
  });

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (exitStatus === undefined) {
        try {
          child.kill("SIGTERM");
        } catch {
          // Already gone.
        }
        let killTimer: ReturnType<typeof setTimeout> | undefined;
        const forceKill = new Promise<void>((resolve) => {
          killTimer = setTimeout(() => {
            try {
              child.kill("SIGKILL");
            } catch {
              // Exited between the check and the kill.
            }
            resolve();
          }, KILL_GRACE_MS);
        });
        await Promise.race([exited, forceKill]);
        clearTimeout(killTimer);
      }
      await exited;
      await drained;
      await Deno.remove(configPath).catch(() => {});
    })();
    return stopped;
  };

  const ready = await collector.waitFor(
    () => collector.stderrText.includes(READY_LINE),
    options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    exited,
  );
  if (!ready) {
    const why = exitStatus
      ? `exited with code ${exitStatus.code}`
      : `printed no "${READY_LINE}" within ${
        options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS
      } ms`;
    await stop();
    throw new ServerStartError(`Cannot start ${impl}: it ${why}`, collector.text);
  }

  const leafPort = leafnodesOf(config)?.port;
  return {
    impl,
    port,
    url: `127.0.0.1:${port}`,
    leafPort: typeof leafPort === "number" ? leafPort : undefined,
    config,
    pid: child.pid,
    configPath,
    logs: () => collector.text,
    async waitForLog(text: string, timeoutMs = 2_000): Promise<string> {
      const found = await collector.waitFor(() => collector.text.includes(text), timeoutMs, exited);
      if (!found) {
        throw new LogTimeoutError(
          `Cannot find "${text}" in server logs after ${timeoutMs} ms:\n${collector.text}`,
        );
      }
      return collector.text;
    },
    stop,
  };
}

/** Starts a server, runs `body` with it and always stops it afterwards. */
export async function withServer<T>(
  config: Record<string, unknown>,
  body: (server: ServerHandle) => Promise<T>,
  options?: StartServerOptions,
): Promise<T> {
  const server = await startServer(config, options);
  try {
    return await body(server);
  } finally {
    await server.stop();
  }
}
