/**
 * Live connection counts per account against the account JWT's `limits.conn` and
 * `limits.leaf`, counted as nats-server counts them: a client is refused when clients plus
 * leaves reach `conn`; a leaf is refused only when leaves reach `leaf` (it still adds to the
 * total). Each admitted connection holds a lease and gives it back when it closes.
 *
 * @module
 */

import type { AccountConnectionLimits } from "./jwt_account.ts";

/** The wire text (and log line) nats-server uses when an account limit refuses a connection. */
export const ACCOUNT_CONNECTIONS_EXCEEDED = "maximum account active connections exceeded";

/** One admitted connection's place in its account's counts. */
export interface ConnectionLease {
  readonly account: string;
  /** True for a leafnode connection. */
  readonly leaf: boolean;
  /** Frees the place; calling it again does nothing. */
  release(): void;
}

interface Counts {
  total: number;
  leaves: number;
}

/**
 * Per-account connection counters. Accounts without limits registered are not limited.
 *
 * @example
 * ```ts
 * import { AccountLimits } from "./jwt_account_limits.ts";
 * const limits = new AccountLimits();
 * limits.setLimits("ACC", { conn: 1, leaf: -1 });
 * const first = limits.acquire("ACC", false);   // a ConnectionLease
 * const second = limits.acquire("ACC", false);  // undefined: over the limit
 * if (typeof first === "object") first.release();
 * ```
 */
export class AccountLimits {
  readonly #limits = new Map<string, AccountConnectionLimits>();
  readonly #counts = new Map<string, Counts>();

  /**
   * Forgets every account's limits but keeps the live counts, so a configuration reload can
   * set the new limits without losing track of the connections already admitted.
   */
  clearLimits(): void {
    this.#limits.clear();
  }

  /** Sets (or replaces) the limits of `account`. */
  setLimits(account: string, limits: AccountConnectionLimits): void {
    this.#limits.set(account, limits);
  }

  /**
   * Admits one connection to `account`, or returns `undefined` when a limit is reached.
   * `leaf` is true for leafnode connections (plain and WebSocket).
   */
  acquire(account: string, leaf: boolean): ConnectionLease | undefined {
    const counts = this.#counts.get(account) ?? { total: 0, leaves: 0 };
    const limits = this.#limits.get(account);
    if (limits !== undefined) {
      const full = leaf
        ? limits.leaf >= 0 && counts.leaves >= limits.leaf
        : limits.conn >= 0 && counts.total >= limits.conn;
      if (full) return undefined;
    }
    counts.total++;
    if (leaf) counts.leaves++;
    this.#counts.set(account, counts);
    let held = true;
    return {
      account,
      leaf,
      release: () => {
        if (!held) return;
        held = false;
        counts.total--;
        if (leaf) counts.leaves--;
        if (counts.total === 0) this.#counts.delete(account);
      },
    };
  }

  /** Connections (clients and leaves) currently admitted to `account`. */
  connections(account: string): number {
    return this.#counts.get(account)?.total ?? 0;
  }

  /** Leafnode connections currently admitted to `account`. */
  leafConnections(account: string): number {
    return this.#counts.get(account)?.leaves ?? 0;
  }
}
