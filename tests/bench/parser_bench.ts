/**
 * Parser and encoder microbenchmarks: `deno bench -A tests/bench/parser_bench.ts`.
 *
 * Each parse bench feeds a batch of BATCH ops in 64 KiB chunks to one long-lived parser, as on a
 * live connection, so ops/s = BATCH / time per iteration.
 *
 * @module
 */

import { Parser } from "../../protocol/parser.ts";
import type { Op } from "../../protocol/ops.ts";
import { msgHeaderLength, writeLmsgHeader, writeMsgHeader } from "../../protocol/encoder.ts";
import type { MsgHeaderFields } from "../../protocol/encoder.ts";

const BATCH = 10_000;
const CHUNK = 65536;
const te = new TextEncoder();

function repeat(op: string, count: number): Uint8Array {
  return te.encode(op.repeat(count));
}

function chunks(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o < data.length; o += CHUNK) out.push(data.subarray(o, o + CHUNK));
  return out;
}

let seen = 0;
const onOp = (_op: Op) => {
  seen++; // keeps the call from being optimised away
};

function benchParse(name: string, role: "server" | "client" | "leaf", wire: Uint8Array) {
  const parts = chunks(wire);
  const parser = new Parser({ role, maxControlLine: 4096, maxPayload: 1048576, onOp });
  Deno.bench(`${name} (x${BATCH}, ${wire.length} bytes)`, { group: "parse" }, () => {
    for (let i = 0; i < parts.length; i++) parser.feed(parts[i]);
  });
}

const payload16 = "0123456789abcdef";
benchParse(
  "server PUB 16B",
  "server",
  repeat(`PUB orders.eu.created 16\r\n${payload16}\r\n`, BATCH),
);
benchParse(
  "server PUB 16B with reply",
  "server",
  repeat(`PUB orders.eu.created _INBOX.2kTqbY3wAHlMXFd0vG1.1 16\r\n${payload16}\r\n`, BATCH),
);
benchParse("server PUB 0B", "server", repeat("PUB a 0\r\n\r\n", BATCH));
benchParse(
  "server HPUB 16B",
  "server",
  repeat(`HPUB orders.eu 18 34\r\nNATS/1.0\r\nA: B\r\n\r\n${payload16}\r\n`, BATCH),
);
benchParse(
  "client MSG 16B",
  "client",
  repeat(`MSG orders.eu.created 1 16\r\n${payload16}\r\n`, BATCH),
);
benchParse("leaf LMSG 16B", "leaf", repeat(`LMSG orders.eu.created 16\r\n${payload16}\r\n`, BATCH));
benchParse(
  "leaf LMSG 16B with queues",
  "leaf",
  repeat(`LMSG orders.eu.created + r q1 q2 16\r\n${payload16}\r\n`, BATCH),
);
benchParse(
  "server PUB 1KiB",
  "server",
  repeat(`PUB orders.eu 1024\r\n${"x".repeat(1024)}\r\n`, BATCH),
);
benchParse("server PING", "server", repeat("PING\r\n", BATCH));

const out = new Uint8Array(1 << 20);
const msgFields: MsgHeaderFields = { subject: "orders.eu.created", sid: "1", size: 16 };
Deno.bench(`writeMsgHeader (x${BATCH})`, { group: "encode" }, () => {
  let o = 0;
  for (let i = 0; i < BATCH; i++) {
    o = writeMsgHeader(out, o, msgFields);
    if (o > out.length - 256) o = 0;
  }
});
Deno.bench(`msgHeaderLength + writeMsgHeader (x${BATCH})`, { group: "encode" }, () => {
  let o = 0;
  for (let i = 0; i < BATCH; i++) {
    if (o + msgHeaderLength(msgFields) > out.length) o = 0;
    o = writeMsgHeader(out, o, msgFields);
  }
});
const lmsgFields = { subject: "orders.eu.created", reply: "r", queues: ["q1"], size: 16 };
Deno.bench(`writeLmsgHeader with queue (x${BATCH})`, { group: "encode" }, () => {
  let o = 0;
  for (let i = 0; i < BATCH; i++) {
    o = writeLmsgHeader(out, o, lmsgFields);
    if (o > out.length - 256) o = 0;
  }
});
