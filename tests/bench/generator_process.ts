/**
 * Runs one load generator role (`load_generator.ts pub|sub`) as a child process and talks to it
 * over its stdin/stdout line protocol.
 *
 * @module
 */

import type { GeneratorEvent } from "./load_generator.ts";
import { forEachLine } from "./line_reader.ts";
import { stopChild, trackChild } from "./process_registry.ts";

const GENERATOR_SCRIPT = new URL("./load_generator.ts", import.meta.url).pathname;

/** Raised when a generator process reports an error, exits early or stays silent. */
export class GeneratorProcessError extends Error {
  override name = "GeneratorProcessError";
}

/** A running `load_generator.ts` child. */
export class GeneratorProcess {
  #child: Deno.ChildProcess;
  #role: string;
  #events: GeneratorEvent[] = [];
  #wake: (() => void) | undefined;
  #ended = false;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;

  private constructor(role: string, child: Deno.ChildProcess) {
    this.#role = role;
    this.#child = child;
    this.#stdin = child.stdin.getWriter();
    forEachLine(child.stdout, (line) => this.#receive(line)).finally(() => {
      this.#ended = true;
      this.#wake?.();
    });
  }

  /** Starts `deno run -A load_generator.ts <role> ...args`; its stderr goes to ours. */
  static spawn(role: "pub" | "sub", args: string[]): GeneratorProcess {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", GENERATOR_SCRIPT, role, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    return new GeneratorProcess(role, trackChild(child));
  }

  get pid(): number {
    return this.#child.pid;
  }

  /**
   * Resolves with the next event the child prints.
   *
   * @throws {GeneratorProcessError} on an `error` event, on exit, or after `timeoutMs`
   */
  async nextEvent(timeoutMs: number): Promise<GeneratorEvent> {
    const deadline = Date.now() + timeoutMs;
    while (this.#events.length === 0) {
      if (this.#ended) {
        throw new GeneratorProcessError(`Cannot read from ${this.#role}: the process exited`);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new GeneratorProcessError(
          `Cannot read from ${this.#role}: silent for ${timeoutMs} ms`,
        );
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
      throw new GeneratorProcessError(`${this.#role} failed: ${event.message}`);
    }
    return event;
  }

  /**
   * Sends one command line (`go`, `drain`) to the child. A child that already finished (a
   * subscriber that has every message does not wait for `drain`) has closed its stdin; that
   * is not an error here, and a child that died is reported by `nextEvent()`.
   */
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
      this.#events.push(JSON.parse(line) as GeneratorEvent);
    } catch {
      this.#events.push({ event: "error", message: `unexpected output: ${line}` });
    }
    this.#wake?.();
  }
}
