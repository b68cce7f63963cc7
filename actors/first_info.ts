/**
 * Reads a hub's first INFO line on a freshly dialled link, before any actor
 * owns the socket: whether the link must turn to TLS depends on that INFO,
 * and TLS must start right after it with no other reader in between.
 *
 * @module
 */
import type { Clock } from "./clock.ts";
import type { Transport } from "./transport.ts";

/** The longest first line we accept from a hub (INFO is about 1 KB). */
const MAX_INFO_LINE = 64 * 1024;

export class FirstInfoError extends Error {
  override name = "FirstInfoError";
}

export interface FirstLine {
  /** The line without its CRLF. */
  line: string;
  /** Bytes that arrived after the line (normally none: the hub waits for us). */
  rest: Uint8Array;
}

/** Reads one CRLF-terminated line, failing after `timeoutMs`. */
export async function readFirstLine(
  transport: Transport,
  clock: Clock,
  timeoutMs: number,
): Promise<FirstLine> {
  let timer: ReturnType<Clock["setTimeout"]> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => {
      transport.close();
      reject(new FirstInfoError(`no INFO from the hub within ${timeoutMs}ms`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([readLine(transport), timeout]);
  } finally {
    clock.clearTimeout(timer!);
  }
}

async function readLine(transport: Transport): Promise<FirstLine> {
  let data = new Uint8Array(0);
  const chunk = new Uint8Array(4096);
  for (;;) {
    const n = await transport.read(chunk);
    if (n === null) throw new FirstInfoError("the hub closed the connection before its INFO");
    const next = new Uint8Array(data.length + n);
    next.set(data);
    next.set(chunk.subarray(0, n), data.length);
    data = next;
    const end = data.indexOf(10);
    if (end >= 0) {
      const lineEnd = end > 0 && data[end - 1] === 13 ? end - 1 : end;
      return {
        line: new TextDecoder().decode(data.subarray(0, lineEnd)),
        rest: data.slice(end + 1),
      };
    }
    if (data.length > MAX_INFO_LINE) throw new FirstInfoError("the hub's first line is too long");
  }
}
