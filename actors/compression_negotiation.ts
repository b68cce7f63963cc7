/**
 * Leafnode compression negotiation, byte-exact as nats-server 2.10+ does it
 * (spec 5.3). It runs on the socket before the link actor reads from it: the
 * switch to S2 happens right after an INFO line, so no other reader may be
 * holding plaintext bytes at that moment.
 *
 * @module
 */
import type { Clock } from "./clock.ts";
import { readFirstLine } from "./first_info.ts";
import { S2Transport } from "./s2_transport.ts";
import { PrefixedTransport } from "./tls_transport.ts";
import type { Transport } from "./transport.ts";
import type { CompressionOptions } from "../config/options.ts";
import {
  type CompressionLevel,
  type CompressionMode,
  resolveLevel,
  selectCompression,
  usesS2,
} from "../protocol/compression_mode.ts";
import { encodeErr, encodeInfo } from "../protocol/encoder.ts";

/**
 * `s2_auto` starts as if the RTT were zero (S2 framing, no compression) and
 * moves with the first measured PING/PONG. nats-server starts from the time
 * since the connection was made, but that counts TLS and dial time, not the
 * path's round trip, and so compresses loopback and LAN links for nothing.
 */
const INITIAL_RTT_MS = 0;

/** Our configured mode; nats-server defaults to `s2_auto` for leafnodes and remotes. */
export function localMode(options: CompressionOptions | undefined): CompressionMode {
  return (options?.mode ?? "s2_auto") as CompressionMode;
}

/** What either side needs to negotiate. */
export interface NegotiationOptions {
  /** This side's `compression` setting; absent means nats-server's default. */
  compression?: CompressionOptions;
  clock: Clock;
  /** How long to wait for the peer's INFO. */
  timeoutMs: number;
  /** This side's INFO fields, sent again with `compression` when both sides want S2. */
  info: () => Record<string, unknown>;
}

export interface Negotiated {
  transport: Transport;
  /** What this side writes with: a level, or "off" / "not supported". */
  mode: string;
  /** The S2 layer when compression is on, for `s2_auto` level changes. */
  s2?: S2Transport;
}

/** A peer's mode that means nothing: nats-server answers with an -ERR and closes. */
async function refuseMode(transport: Transport, text: string): Promise<never> {
  await writeAll(transport, encodeErr(text)).catch(() => {});
  throw new Error(text);
}

const encoder = new TextEncoder();

async function writeAll(transport: Transport, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await transport.write(bytes.subarray(off));
}

function infoOf(line: string): Record<string, unknown> | undefined {
  if (!/^info\s/i.test(line)) return undefined;
  try {
    return JSON.parse(line.slice(5));
  } catch {
    return undefined;
  }
}

/**
 * Soliciting side, given the hub's first INFO line: when both sides want
 * compression, send our INFO in plaintext, switch both directions to S2 and
 * read the hub's second (compressed) INFO, which then counts as the first.
 */
export async function solicitCompression(
  transport: Transport,
  firstInfo: string,
  options: NegotiationOptions,
): Promise<Negotiated & { firstInfo: string }> {
  const local = localMode(options.compression);
  const info = infoOf(firstInfo) ?? {};
  const chosen = selectCompression(local, info.compression as string | undefined);
  if (typeof chosen === "object") return await refuseMode(transport, chosen.error);
  if (!usesS2(chosen)) return { transport, firstInfo, mode: chosen };
  const { level, ourInfo } = s2Start(options, local, chosen);
  await writeAll(transport, ourInfo);
  const s2 = new S2Transport(transport, level);
  const second = await readFirstLine(s2, options.clock, options.timeoutMs);
  return {
    transport: withPrefix(s2, second.rest),
    firstInfo: second.line,
    mode: level,
    s2,
  };
}

/**
 * Accepting side, after our INFO (which advertised `compression`): a peer
 * that wants compression answers with its own INFO instead of CONNECT; we
 * switch to S2 right after that line and send our INFO again, compressed.
 * A peer that sends CONNECT (such as nats-server 2.9.10) gets plaintext.
 */
export async function acceptCompression(
  transport: Transport,
  options: NegotiationOptions,
): Promise<Negotiated> {
  const { line, rest } = await readFirstLine(transport, options.clock, options.timeoutMs);
  const info = infoOf(line);
  if (!info) {
    // No INFO first: an older peer; hand the line back to the parser untouched.
    const replay = new Uint8Array([...encoder.encode(`${line}\r\n`), ...rest]);
    return { transport: new PrefixedTransport(transport, replay), mode: "not supported" };
  }
  const local = localMode(options.compression);
  const chosen = selectCompression(local, info.compression as string | undefined);
  if (typeof chosen === "object") return await refuseMode(transport, chosen.error);
  if (!usesS2(chosen)) return { transport: withPrefix(transport, rest), mode: chosen };
  const { level, ourInfo } = s2Start(options, local, chosen);
  const s2 = new S2Transport(transport, level, rest);
  await s2.write(ourInfo);
  return { transport: s2, mode: level, s2 };
}

/**
 * Both sides, once S2 is agreed: the level to write at first, and our INFO advertising our
 * mode (`s2_auto` stays `s2_auto`, so the peer knows our level may change).
 */
function s2Start(
  options: NegotiationOptions,
  local: CompressionMode,
  chosen: CompressionMode,
): { level: CompressionLevel; ourInfo: Uint8Array } {
  const compression = local === "s2_auto" ? "s2_auto" : chosen;
  return {
    level: resolveLevel(chosen, INITIAL_RTT_MS, options.compression?.rttThresholdsMs),
    ourInfo: encodeInfo({ ...options.info(), compression }),
  };
}

/** `transport`, first yielding `rest`: bytes read past a line that belong to what follows. */
function withPrefix(transport: Transport, rest: Uint8Array): Transport {
  return rest.length > 0 ? new PrefixedTransport(transport, rest) : transport;
}
