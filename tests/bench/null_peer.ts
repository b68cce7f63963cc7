/**
 * Stand-in servers with no routing behind them, used to measure the load generator's own
 * ceiling (see `generator_ceiling.ts`). Run as a script, like a real server:
 *
 * ```
 * deno run -A tests/bench/null_peer.ts sink -p 4222
 *   accepts clients, counts PUBs and answers PINGs: the publisher's ceiling
 * deno run -A tests/bench/null_peer.ts source -p 4222 --payload 128 --messages 1000000
 *   after a client's SUB and the PING that follows it, streams that many MSGs to it as fast
 *   as it can: the subscriber's ceiling
 * ```
 *
 * Both print `Server is ready` on stderr once listening, so they start like any target.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { DEFAULT_BATCH_BYTES } from "./load_generator.ts";
import { FrameScanner } from "./frame_scanner.ts";
import { READY_TEXT } from "./server_process.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const PONG = encoder.encode("PONG\r\n");
const INFO = encoder.encode(
  `INFO ${
    JSON.stringify({
      server_id: "NULLPEER",
      server_name: "null-peer",
      version: "0.0.0",
      proto: 1,
      headers: true,
      max_payload: 64 * 1024 * 1024,
    })
  }\r\n`,
);

/** What a source streams to each subscriber. */
interface SourcePlan {
  payloadBytes: number;
  messages: number;
}

/** Builds MSG frames for `subject`/`sid`, as many as fit in one 64 KiB batch. */
function buildMessageBatch(subject: string, sid: string, payloadBytes: number): {
  batch: Uint8Array;
  frames: number;
  frameBytes: number;
} {
  const header = encoder.encode(`MSG ${subject} ${sid} ${payloadBytes}\r\n`);
  const frameBytes = header.length + payloadBytes + 2;
  const frames = Math.max(1, Math.floor(DEFAULT_BATCH_BYTES / frameBytes));
  const batch = new Uint8Array(frameBytes * frames).fill(0x61);
  for (let frame = 0; frame < frames; frame++) {
    batch.set(header, frame * frameBytes);
    batch[(frame + 1) * frameBytes - 2] = 0x0d;
    batch[(frame + 1) * frameBytes - 1] = 0x0a;
  }
  return { batch, frames, frameBytes };
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

async function serveClient(conn: Deno.TcpConn, plan: SourcePlan | undefined): Promise<void> {
  conn.setNoDelay(true);
  // Serialise writes: a PONG must never land inside a batch of MSGs.
  let writeTail: Promise<void> = writeAll(conn, INFO);
  const send = (bytes: Uint8Array) => {
    writeTail = writeTail.then(() => writeAll(conn, bytes));
  };
  let subscription: { subject: string; sid: string } | undefined;
  let streamed = false;
  const scanner = new FrameScanner((line) => {
    const text = decoder.decode(line);
    if (text.startsWith("PING")) {
      send(PONG);
      if (plan !== undefined && subscription !== undefined && !streamed) {
        streamed = true;
        const { batch, frames, frameBytes } = buildMessageBatch(
          subscription.subject,
          subscription.sid,
          plan.payloadBytes,
        );
        let remaining = plan.messages;
        while (remaining > 0) {
          const count = Math.min(frames, remaining);
          send(count === frames ? batch : batch.subarray(0, count * frameBytes));
          remaining -= count;
        }
      }
    } else if (text.startsWith("SUB ")) {
      const [, subject, sid] = text.split(" ");
      subscription = { subject, sid };
    }
  });
  const buffer = new Uint8Array(256 * 1024);
  try {
    let count;
    while ((count = await conn.read(buffer)) !== null) scanner.scan(buffer.subarray(0, count));
    await writeTail;
  } catch {
    // The client went away; nothing to report from a null peer.
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}

async function main(args: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      port: { type: "string", short: "p" },
      addr: { type: "string", short: "a", default: "127.0.0.1" },
      payload: { type: "string", default: "16" },
      messages: { type: "string", default: "0" },
    },
  });
  const role = positionals[0];
  if (role !== "sink" && role !== "source") {
    throw new RangeError(`Cannot start null peer: role must be "sink" or "source", got "${role}"`);
  }
  const plan = role === "source"
    ? { payloadBytes: Number(values.payload), messages: Number(values.messages) }
    : undefined;
  const listener = Deno.listen({ hostname: values.addr, port: Number(values.port) });
  console.error(`null peer (${role}): ${READY_TEXT}`);
  for await (const conn of listener) serveClient(conn, plan);
}

if (import.meta.main) await main(Deno.args);
