/**
 * The socket reader every connection actor runs beside itself: it reads,
 * hands each chunk to the actor as a message, and waits at the stall gate
 * while receivers it feeds are congested.
 *
 * @module
 */
import type { StallGate } from "./stall_gate.ts";
import type { Transport } from "./transport.ts";

/** Read buffers start small so idle connections pin little memory (runtime facts §1). */
const MIN_READ_BUFFER = 4 * 1024;
const MAX_READ_BUFFER = 64 * 1024;

export interface ReadLoopOptions {
  transport: Transport;
  gate: StallGate;
  received(data: Uint8Array): void;
  ended(error?: unknown): void;
  stopped(): boolean;
}

export async function readLoop(options: ReadLoopOptions): Promise<void> {
  const { transport, gate } = options;
  // Transports that make their own arrays (S2) hand them over; the others read into ours.
  const readOwned = transport.readOwned?.bind(transport);
  let size = MIN_READ_BUFFER;
  try {
    for (;;) {
      if (gate.holding) await gate.pass();
      let data: Uint8Array | null;
      if (readOwned !== undefined) {
        data = await readOwned();
      } else {
        // A fresh buffer per read: parsed payloads are zero-copy views into it
        // and may still sit in other actors' mailboxes. Awaited here, not in a
        // helper: an extra await would reorder reads against writes.
        const buffer = new Uint8Array(size);
        const n = await transport.read(buffer);
        data = n === null ? null : buffer.subarray(0, n);
        if (n === size && size < MAX_READ_BUFFER) size *= 2;
        else if (n !== null && n < size / 4 && size > MIN_READ_BUFFER) size /= 2;
      }
      if (data === null) break;
      if (options.stopped()) return;
      options.received(data);
    }
    options.ended();
  } catch (error) {
    options.ended(error);
  }
}
