/**
 * Runs one load generator role (`load_generator.ts pub|sub`) as a child process: a
 * {@linkcode ScriptProcess} whose events are the load generator's.
 *
 * @module
 */

import type { GeneratorEvent } from "./load_generator.ts";
import { ScriptProcess } from "./script_process.ts";

const GENERATOR_SCRIPT = new URL("./load_generator.ts", import.meta.url).pathname;

/** A running `load_generator.ts` child. */
export class GeneratorProcess {
  #script: ScriptProcess;

  private constructor(script: ScriptProcess) {
    this.#script = script;
  }

  /** Starts `deno run -A load_generator.ts <role> ...args`; its stderr goes to ours. */
  static spawn(role: "pub" | "sub", args: string[]): GeneratorProcess {
    return new GeneratorProcess(ScriptProcess.spawn(GENERATOR_SCRIPT, [role, ...args]));
  }

  get pid(): number {
    return this.#script.pid;
  }

  /**
   * Resolves with the next event the child prints.
   *
   * @throws {import("./script_process.ts").ScriptProcessError} on an `error` event, on exit, or after `timeoutMs`
   */
  async nextEvent(timeoutMs: number): Promise<GeneratorEvent> {
    return await this.#script.nextEvent(timeoutMs) as unknown as GeneratorEvent;
  }

  /** Sends one command line (`go`, `drain`); a child that already finished is not an error. */
  send(command: string): Promise<void> {
    return this.#script.send(command);
  }

  /** Stops the child if it still runs and waits for it to exit. */
  stop(): Promise<void> {
    return this.#script.stop();
  }
}
