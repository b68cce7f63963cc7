/**
 * The receiving half of producer backpressure: when a connection's unsent
 * output passes its threshold, it asks each publisher feeding it to pause
 * (see {@linkcode StallGate} for the publishing half), once per congestion.
 *
 * @module
 */
import type { Outbound } from "./outbound.ts";
import type { Target } from "./subscription.ts";

/** Upper bound for the stall threshold: a few flushes' worth of output. */
const STALL_THRESHOLD_CAP = 4 * 1024 * 1024;

/**
 * nats-server stalls producers once a receiver holds half its max_pending; the
 * cap keeps a default 64 MB limit from meaning 32 MB buffered per client.
 */
export function stallThreshold(maxPending: number): number {
  return Math.min(maxPending / 2, STALL_THRESHOLD_CAP);
}

export class Backpressure {
  #out: Outbound;
  #threshold: number;
  #self: Target;
  #relieved: () => void;
  /** Set while congested; settles once the output has drained to half the threshold. */
  #congested?: Promise<void>;
  #stalled = new Set<Target>();

  /** `relieved` runs when the congestion ends; the owner then calls {@linkcode reset}. */
  constructor(out: Outbound, threshold: number, self: Target, relieved: () => void) {
    this.#out = out;
    this.#threshold = threshold;
    this.#self = self;
    this.#relieved = relieved;
  }

  /** Call after appending output that `producer` caused. */
  check(producer: Target | undefined): void {
    if (this.#out.pending <= this.#threshold) return;
    if (!producer || producer === this.#self || this.#stalled.has(producer)) return;
    if (!this.#congested) {
      this.#congested = this.#out.below(this.#threshold / 2);
      this.#congested.then(this.#relieved);
    }
    this.#stalled.add(producer);
    producer.tell({ kind: "stall", until: this.#congested });
  }

  reset(): void {
    this.#congested = undefined;
    this.#stalled.clear();
  }
}
