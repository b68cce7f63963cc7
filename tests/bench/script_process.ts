/**
 * Runs a benchmark helper script (e.g. `request_reply.ts responder`) as a child process and
 * talks to it over its stdin/stdout line protocol (`script_io.ts`): the same shape as
 * `GeneratorProcess`, for scripts other than the load generator.
 *
 * @example
 * ```ts
 * import { ScriptProcess } from "./script_process.ts";
 * const script = new URL("./request_reply.ts", import.meta.url).pathname;
 * const responder = ScriptProcess.spawn(script, ["responder", "--port", "4222"]);
 * await responder.nextEvent(30_000); // {"event":"ready"}
 * await responder.stop();
 * ```
 *
 * @module
 */

import { forEachLine } from "./line_reader.ts";
import { stopChild, trackChild } from "./process_registry.ts";

/** Raised when a script reports an error, exits early or stays silent. */
export class ScriptProcessError extends Error {
  override name = "ScriptProcessError";
}

/** What every script event has; scripts add their own fields. */
export interface ScriptEvent {
  readonly event: string;
  readonly message?: string;
}

/** A running helper script. */
export class ScriptProcess {
  #child: Deno.ChildProcess;
  #label: string;
  #events: ScriptEvent[] = [];
  #wake: (() => void) | undefined;
  #ended = false;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;

  private constructor(label: string, child: Deno.ChildProcess) {
    this.#label = label;
    this.#child = child;
    this.#stdin = child.stdin.getWriter();
    forEachLine(child.stdout, (line) => this.#receive(line)).finally(() => {
      this.#ended = true;
      this.#wake?.();
    });
  }

  /** Starts `deno run -A <script> ...args`; its stderr goes to ours. */
  static spawn(script: string, args: string[]): ScriptProcess {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    return new ScriptProcess(args[0] ?? script, trackChild(child));
  }

  get pid(): number {
    return this.#child.pid;
  }

  /**
   * Resolves with the next event the child prints.
   *
   * @throws {ScriptProcessError} on an `error` event, on exit, or after `timeoutMs`
   */
  async nextEvent(timeoutMs: number): Promise<ScriptEvent> {
    const deadline = Date.now() + timeoutMs;
    while (this.#events.length === 0) {
      if (this.#ended) {
        throw new ScriptProcessError(`Cannot read from ${this.#label}: the process exited`);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new ScriptProcessError(`Cannot read from ${this.#label}: silent for ${timeoutMs} ms`);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      this.#wake = undefined;
    }
    const event = this.#events.shift()!;
    if (event.event === "error") {
      throw new ScriptProcessError(`${this.#label} failed: ${event.message}`);
    }
    return event;
  }

  /** Sends one command line; a child that already exited is not an error here. */
  async send(command: string): Promise<void> {
    try {
      await this.#stdin.write(new TextEncoder().encode(`${command}\n`));
    } catch (error) {
      if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
    }
  }

  /** Stops the child if it still runs and waits for it to exit. */
  async stop(): Promise<void> {
    await this.#stdin.close().catch(() => {});
    await stopChild(this.#child);
  }

  #receive(line: string): void {
    if (line.trim() === "") return;
    try {
      this.#events.push(JSON.parse(line) as ScriptEvent);
    } catch {
      this.#events.push({ event: "error", message: `unexpected output: ${line}` });
    }
    this.#wake?.();
  }
}
