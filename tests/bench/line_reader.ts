/**
 * Splits a child process's output into lines as it arrives.
 *
 * @module
 */

/** Calls `onLine` for every complete line of `stream` (without the newline), then for the rest. */
export async function forEachLine(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let pending = "";
  try {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      pending += text;
      let newline;
      while ((newline = pending.indexOf("\n")) !== -1) {
        onLine(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
      }
    }
  } catch {
    // The process was killed mid-read; what arrived is all there is.
  }
  if (pending !== "") onLine(pending);
}
