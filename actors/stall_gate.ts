/**
 * Producer backpressure. When a receiver's unsent output grows past its stall
 * threshold it asks the publishers feeding it to pause; each publisher's read
 * loop waits at this gate before reading more from its socket. The wait is
 * bounded, as in nats-server, so one stuck receiver can slow a publisher but
 * never freeze it: the receiver's max_pending limit deals with it instead.
 *
 * @module
 */
import type { Clock } from "./clock.ts";

/** Longest a publisher waits for one congested receiver (nats-server waits at most 1s too). */
export const MAX_STALL_MS = 1000;

export class StallGate {
  #clock: Clock;
  #holds = new Set<Promise<void>>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  get holding(): boolean {
    return this.#holds.size > 0;
  }

  /** Holds the gate until `until` settles or {@linkcode MAX_STALL_MS} pass. */
  hold(until: Promise<void>): void {
    if (this.#holds.has(until)) return;
    this.#holds.add(until);
    let timer: number | undefined;
    const bounded = new Promise<void>((resolve) => {
      timer = this.#clock.setTimeout(resolve, MAX_STALL_MS) as number;
    });
    Promise.race([until, bounded]).finally(() => {
      this.#clock.clearTimeout(timer!);
      this.#holds.delete(until);
    });
  }

  /** Resolves at once when open, otherwise when every current hold has ended. */
  async pass(): Promise<void> {
    while (this.#holds.size > 0) {
      await Promise.race([...this.#holds].map((p) => p.catch(() => {})));
      // A settled hold removes itself in a finally callback that runs after us.
      await Promise.resolve();
    }
  }
}
