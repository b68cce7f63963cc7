/**
 * How long a leafnode remote waits before its next connect attempt (spec 4.4), as a pure
 * function of what went wrong. The remote actor owns the timer; this file owns the numbers.
 *
 * nats-server keeps at most one pending penalty per remote (a later one replaces an earlier
 * one) and spends it once, after the ordinary reconnect wait, right before the next dial.
 *
 * @module
 */

/**
 * 30 s after a loop: an `-ERR 'Loop detected for leafnode account=…'` from the peer, or our own
 * detection (nats-server `leafNodeReconnectDelayAfterLoopDetected`).
 */
export const LOOP_DETECTED_DELAY_MS = 30_000;

/**
 * 30 s after the hub answers `-ERR 'remote leafnode has same cluster name'`
 * (nats-server `leafNodeReconnectDelayAfterClusterNameSame`).
 */
export const SAME_CLUSTER_NAME_DELAY_MS = 30_000;

/**
 * 30 s after this soliciting side (in the hub role) closed the link for a permission violation
 * it detected itself; an `-ERR 'Permissions Violation…'` *received* carries no penalty
 * (nats-server `leafNodeReconnectAfterPermViolation`).
 */
export const PERMISSION_VIOLATION_DELAY_MS = 30_000;

/**
 * 5 s after `-ERR 'connection rejected since minimum version required is "…"'`
 * (nats-server `leafNodeMinVersionReconnectDelay`, 2.11.15+; 2.9.10 has no penalty and its
 * accept side instead holds the socket open 5 s before closing).
 */
export const MIN_VERSION_DELAY_MS = 5_000;

/**
 * 250 ms before the very first connect of a remote bound to the system account when the server
 * is clustered, so routes can exchange state first (nats-server `sharedSysAccDelay`).
 */
export const SYSTEM_ACCOUNT_FIRST_CONNECT_DELAY_MS = 250;

/** Why a remote waits longer than the reconnect interval. */
export type PenaltyReason =
  | "loop-detected"
  | "same-cluster-name"
  | "permission-violation"
  | "min-version";

/** An extra wait and why. */
export interface Penalty {
  penaltyMs: number;
  reason: PenaltyReason;
}

const PENALTY_MS: Readonly<Record<PenaltyReason, number>> = {
  "loop-detected": LOOP_DETECTED_DELAY_MS,
  "same-cluster-name": SAME_CLUSTER_NAME_DELAY_MS,
  "permission-violation": PERMISSION_VIOLATION_DELAY_MS,
  "min-version": MIN_VERSION_DELAY_MS,
};

/**
 * The penalty for a reason, for conditions this side detects itself (a loop at registration,
 * a permission violation in the hub role).
 *
 * @example
 * ```ts
 * import { penaltyFor } from "./reconnect_policy.ts";
 * penaltyFor("loop-detected"); // { penaltyMs: 30000, reason: "loop-detected" }
 * ```
 */
export function penaltyFor(reason: PenaltyReason): Penalty {
  return { penaltyMs: PENALTY_MS[reason], reason };
}

/**
 * The penalty a received `-ERR` text earns, or `undefined` when it earns none. Accepts the bare
 * text or the whole `-ERR '…'` line. Like nats-server it looks for substrings, in its order:
 * same cluster name, minimum version, then "Loop detected".
 *
 * @example
 * ```ts
 * import { penaltyForError } from "./reconnect_policy.ts";
 * penaltyForError("remote leafnode has same cluster name")?.penaltyMs; // 30000
 * penaltyForError("Authorization Violation"); // undefined
 * ```
 */
export function penaltyForError(errText: string): Penalty | undefined {
  if (errText.includes("remote leafnode has same cluster name")) {
    return penaltyFor("same-cluster-name");
  }
  if (errText.includes("connection rejected since minimum version required is")) {
    return penaltyFor("min-version");
  }
  if (errText.includes("Loop detected")) return penaltyFor("loop-detected");
  return undefined;
}

/**
 * What preceded the wait: nothing yet (`"first"`), a failed dial or name resolution (`"dial"`),
 * or a connection that was established and then closed for any reason (`"closed"`).
 */
export type ReconnectCause = "first" | "dial" | "closed";

/** Input of {@linkcode nextDelay}. */
export interface NextDelayInput {
  /** The reconnect interval (`leafnodes.reconnect`, default `DEFAULT_LEAFNODE_RECONNECT_MS`). */
  reconnectMs: number;
  lastFailure: ReconnectCause;
  /** A pending penalty (or the system-account first-connect delay), spent on this wait. */
  penaltyMs?: number;
  /** Randomness in [0, 1) for the dial jitter; `Math.random` by default. */
  random?: () => number;
}

/**
 * Milliseconds to wait before the next connect attempt:
 * - `"first"`: only the pending penalty;
 * - `"dial"`: the interval plus a jitter in [0, interval) (nats-server 2.10+; 2.9.10 had none),
 *   so many leaves do not redial a restarted hub in lockstep;
 * - `"closed"`: the interval, no jitter;
 *
 * plus any pending penalty.
 *
 * @example
 * ```ts
 * import { nextDelay } from "./reconnect_policy.ts";
 * nextDelay({ reconnectMs: 1000, lastFailure: "closed", penaltyMs: 30_000 }); // 31000
 * ```
 */
export function nextDelay(input: NextDelayInput): number {
  const interval = Math.max(0, input.reconnectMs);
  const penalty = Math.max(0, input.penaltyMs ?? 0);
  switch (input.lastFailure) {
    case "first":
      return penalty;
    case "closed":
      return interval + penalty;
    case "dial": {
      const random = (input.random ?? Math.random)();
      const jitter = Math.min(interval - 1, Math.floor(random * interval));
      return interval + Math.max(0, jitter) + penalty;
    }
  }
}
