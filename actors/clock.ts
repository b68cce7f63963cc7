/**
 * Time is injected: every timer in Canopy (auth timeout, ping, write deadline,
 * reconnect, penalties) goes through a {@linkcode Clock} so tests can drive
 * time without sleeping.
 *
 * @module
 */

/** An opaque timer handle returned by {@linkcode Clock.setTimeout}. */
export type TimerId = number | ReturnType<typeof setTimeout>;

/** The time source actors use instead of the globals. */
export interface Clock {
  /** Milliseconds since the epoch (or since the fake clock started). */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId): void;
}

/** The real clock, backed by the runtime's timers. */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
  setTimeout(callback: () => void, ms: number): TimerId {
    const id = setTimeout(callback, ms) as unknown as number;
    // A pending timer must never keep the process alive on its own: shutdown
    // is decided by listeners and connections, not by a ping timer.
    Deno.unrefTimer(id);
    return id;
  }
  clearTimeout(id: TimerId): void {
    clearTimeout(id as number);
  }
}

interface PendingTimer {
  id: TimerId;
  due: number;
  callback: () => void;
}

/**
 * A clock that only moves when told to. Timers fire in due order, and a timer
 * scheduled by a firing callback fires within the same `advance` if it is due.
 *
 * @example
 * ```ts
 * const clock = new FakeClock();
 * let fired = false;
 * clock.setTimeout(() => fired = true, 1000);
 * clock.advance(999); // fired === false
 * clock.advance(1); // fired === true
 * ```
 */
export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers: PendingTimer[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): TimerId {
    const id = this.#nextId++;
    this.#timers.push({ id, due: this.#now + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(id: TimerId): void {
    this.#timers = this.#timers.filter((t) => t.id !== id);
  }

  /** Number of timers still pending. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Moves time forward by `ms`, firing every timer that comes due on the way. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let next: PendingTimer | undefined;
      for (const t of this.#timers) {
        if (
          t.due <= target && (!next || t.due < next.due || (t.due === next.due && t.id < next.id))
        ) {
          next = t;
        }
      }
      if (!next) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = next.due;
      next.callback();
    }
    this.#now = target;
  }
}
