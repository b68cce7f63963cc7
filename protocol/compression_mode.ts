/**
 * Leafnode compression modes and the negotiation between two peers (spec
 * 5.1, 5.2): each side writes at its own level; only "S2 framing or not" is
 * shared.
 *
 * @module
 */
import type { S2Level } from "./s2_block.ts";

export type CompressionMode =
  | "off"
  | "accept"
  | "s2_auto"
  | "s2_uncompressed"
  | "s2_fast"
  | "s2_better"
  | "s2_best"
  | "not supported";

/** The level `s2_auto` starts from and falls back to (nats-server's defaults). */
export const DEFAULT_RTT_THRESHOLDS_MS: readonly number[] = [10, 50, 100];

const LEVELS = ["s2_uncompressed", "s2_fast", "s2_better", "s2_best"] as const;
export type CompressionLevel = (typeof LEVELS)[number];

/** The error text nats-server sends for a mode it does not know (sic: "route"). */
export function unsupportedModeText(mode: string): string {
  return `unsupported route compression mode "${mode}"`;
}

/**
 * What this side does, given its own mode and the one the peer advertised.
 * Returns an error text for a peer mode that means nothing.
 */
export function selectCompression(
  local: CompressionMode,
  remote: string | undefined,
): CompressionMode | { error: string } {
  if (local === "off" || local === "not supported") {
    return remote === undefined || remote === "" || local === "not supported"
      ? "not supported"
      : "off";
  }
  switch (remote) {
    case undefined:
    case "":
    case "not supported":
      return "not supported";
    case "off":
      return "off";
    case "accept":
      return local === "accept" ? "off" : local;
    case "s2_auto":
    case "s2_uncompressed":
    case "s2_fast":
    case "s2_better":
    case "s2_best":
      if (local !== "accept") return local;
      return remote === "s2_auto" ? "s2_fast" : remote;
    default:
      return { error: unsupportedModeText(remote) };
  }
}

/** Whether a negotiated mode means S2 framing on the wire. */
export function usesS2(mode: CompressionMode): boolean {
  return mode !== "off" && mode !== "not supported" && mode !== "accept";
}

/**
 * `s2_auto`'s level for a measured round trip: at or under the first
 * threshold no compression (S2 framing only), then fast, better, best. A zero
 * threshold disables its level; above the last threshold given the last level
 * is kept, or best when three or more were given.
 */
export function levelForRtt(
  rttMs: number,
  thresholds: readonly number[] = DEFAULT_RTT_THRESHOLDS_MS,
): CompressionLevel {
  let last: CompressionLevel = LEVELS[0];
  for (let i = 0; i < thresholds.length && i < LEVELS.length; i++) {
    const t = thresholds[i];
    if (t <= 0) continue;
    last = LEVELS[i];
    if (rttMs <= t) return LEVELS[i];
  }
  return thresholds.length >= 3 ? "s2_best" : last;
}

/** The level a negotiated mode writes with (s2_auto resolved from the RTT). */
export function resolveLevel(
  mode: CompressionMode,
  rttMs: number,
  thresholds?: readonly number[],
): CompressionLevel {
  if (mode === "s2_auto") return levelForRtt(rttMs, thresholds);
  return (LEVELS as readonly string[]).includes(mode) ? mode as CompressionLevel : "s2_fast";
}

/** The S2 encoder level for a compression level. */
export function encoderLevel(level: CompressionLevel): S2Level {
  switch (level) {
    case "s2_uncompressed":
      return "uncompressed";
    case "s2_fast":
      return "fast";
    case "s2_better":
      return "better";
    case "s2_best":
      return "best";
  }
}
