/**
 * Starts a server as a child process and waits until it says it is ready.
 *
 * @module
 */

import { forEachLine } from "./line_reader.ts";
import { stopChild, trackChild } from "./process_registry.ts";

/** What nats-server prints on stderr once it accepts clients; Canopy prints the same. */
export const READY_TEXT = "Server is ready";

/** Lines of output kept for error reports: enough for a stack trace, bounded for long runs. */
const LOG_TAIL_LINES = 40;

/** Colour codes, e.g. in Deno's own error output; they only garble a report. */
// deno-lint-ignore no-control-regex
const ANSI_ESCAPE = /\x1b\[[0-9;]*m/g;

/** Raised when a server exits or stays silent before printing `READY_TEXT`. */
export class ServerStartError extends Error {
  override name = "ServerStartError";
}

/** How to start one server process. */
export interface ServerCommand {
  /** Used in messages, e.g. `nats-server`. */
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  /** Deno pays start-up (and maybe compile) time, so the default is generous. */
  readyTimeoutMs?: number;
}

/** A running server process. */
export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  /** True while the process has not exited. */
  readonly running: boolean;
  /** How it exited, e.g. `code 1` or `signal SIGKILL`; undefined while it runs. */
  readonly exitDescription: string | undefined;
  /** The last lines it printed (stderr and stdout), for error reports. */
  logTail(): string;
  /** SIGTERM, then SIGKILL after 2 s; resolves once it has exited. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Spawns `command`, keeps draining its stdout and stderr (a full pipe would stall the server
 * in the middle of a measurement), and resolves once either stream contains `READY_TEXT`.
 *
 * @throws {ServerStartError} with the server's last output when it exits or times out first
 */
export async function startServerProcess(spec: ServerCommand): Promise<ServerProcess> {
  const child = trackChild(
    new Deno.Command(spec.command, {
      args: spec.args,
      cwd: spec.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn(),
  );
  const tail: string[] = [];
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const onLine = (line: string) => {
    tail.push(line.replace(ANSI_ESCAPE, ""));
    if (tail.length > LOG_TAIL_LINES) tail.shift();
    if (line.includes(READY_TEXT)) markReady();
  };
  const drained = Promise.all([
    forEachLine(child.stderr, onLine),
    forEachLine(child.stdout, onLine),
  ]);
  let exitDescription: string | undefined;
  const exited = child.status.then((status) => {
    exitDescription = status.signal === null ? `code ${status.code}` : `signal ${status.signal}`;
    return status;
  });
  let stopping: Promise<void> | undefined;
  const server: ServerProcess = {
    name: spec.name,
    pid: child.pid,
    get running() {
      return exitDescription === undefined;
    },
    get exitDescription() {
      return exitDescription;
    },
    logTail: () => tail.join("\n"),
    stop() {
      stopping ??= stopChild(child).then(() => drained).then(() => {});
      return stopping;
    },
  };

  const readyTimeoutMs = spec.readyTimeoutMs ?? 30_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    ready.then(() => "ready" as const),
    exited.then(() => `exited with ${exitDescription}`),
    new Promise<string>((resolve) => {
      timer = setTimeout(
        () => resolve(`printed no "${READY_TEXT}" in ${readyTimeoutMs} ms`),
        readyTimeoutMs,
      );
    }),
  ]);
  clearTimeout(timer);
  if (outcome !== "ready") {
    await server.stop();
    throw new ServerStartError(
      `Cannot start ${spec.name}: it ${outcome}\n--- last output ---\n${server.logTail()}\n---`,
    );
  }
  return server;
}
