/**
 * The child side of a benchmark helper script's line protocol: JSON events out on stdout, one
 * per line, and plain-text commands (`go`, `stop`) in on stdin. `script_process.ts` is the
 * parent side.
 *
 * @example
 * ```ts
 * import { emitEvent, stdinLines, waitForCommand } from "./script_io.ts";
 * const commands = stdinLines();
 * emitEvent({ event: "ready" });
 * await waitForCommand(commands, "go");
 * ```
 *
 * @module
 */

/** Prints one event as a JSON line on stdout. */
export function emitEvent<Event extends { event: string }>(event: Event): void {
  console.log(JSON.stringify(event));
}

/** Yields each line of stdin, trimmed, as it arrives (the parent's commands). */
export async function* stdinLines(): AsyncGenerator<string> {
  let pending = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    let newline;
    while ((newline = pending.indexOf("\n")) !== -1) {
      yield pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
    }
  }
}

/**
 * Resolves once `command` arrives on `lines`.
 *
 * @throws {Error} when stdin closes first
 */
export async function waitForCommand(
  lines: AsyncGenerator<string>,
  command: string,
): Promise<void> {
  for await (const line of lines) {
    if (line === command) return;
  }
  throw new Error(`Cannot wait for "${command}": stdin closed`);
}
