/**
 * What one leafnode connection has told its peer about interest (nats-server's
 * "smap"): a count per key, where a key is `subject` or `subject queue`.
 * Plain interest is announced when its count leaves or reaches zero; queue
 * interest is announced on every change, with the group's absolute weight.
 *
 * @module
 */
import { encodeLsMinus, encodeLsPlus } from "./encoder.ts";

export class InterestMap {
  #counts = new Map<string, number>();

  /** Number of keys currently advertised. */
  get size(): number {
    return this.#counts.size;
  }

  has(subject: string, queue?: string): boolean {
    return this.#counts.has(queue ? `${subject} ${queue}` : subject);
  }

  /** Advertised keys with their counts, for monitoring. */
  entries(): IterableIterator<[string, number]> {
    return this.#counts.entries();
  }

  /**
   * Applies `delta` to a key and returns the LS+/LS- line to send, if any.
   * A removal for a key never advertised is ignored.
   */
  update(subject: string, queue: string | undefined, delta: number): Uint8Array | undefined {
    const key = queue ? `${subject} ${queue}` : subject;
    const before = this.#counts.get(key);
    if (before === undefined && delta <= 0) return undefined;
    const after = (before ?? 0) + delta;
    if (after > 0) this.#counts.set(key, after);
    else this.#counts.delete(key);
    if (queue) {
      return after > 0
        ? encodeLsPlus({ subject, queue, weight: after })
        : encodeLsMinus({ subject, queue });
    }
    if ((before ?? 0) <= 0 && after > 0) return encodeLsPlus({ subject });
    if ((before ?? 0) > 0 && after <= 0) return encodeLsMinus({ subject });
    return undefined;
  }

  /** LS+ lines for every key currently held, with aggregated queue weights. */
  *announceAll(): Generator<Uint8Array> {
    for (const [key, count] of this.#counts) {
      const space = key.indexOf(" ");
      if (space < 0) yield encodeLsPlus({ subject: key });
      else {yield encodeLsPlus({
          subject: key.slice(0, space),
          queue: key.slice(space + 1),
          weight: count,
        });}
    }
  }

  clear(): void {
    this.#counts.clear();
  }
}
