/**
 * The compression exchange of spec 5.3, byte for byte, against scripted peers on in-memory
 * transports: the accepting side (hub) and the soliciting side (leaf), the switch to S2 right
 * after an INFO line, and every way either side declines.
 */

import assert from "node:assert/strict";
import { FakeClock } from "../../actors/clock.ts";
import { acceptCompression, solicitCompression } from "../../actors/compression_negotiation.ts";
import { FirstInfoError } from "../../actors/first_info.ts";
import { S2Transport } from "../../actors/s2_transport.ts";
import type { Transport } from "../../actors/transport.ts";
import type { CompressionOptions } from "../../config/options.ts";
import { S2_STREAM_IDENTIFIER, S2StreamReader, S2StreamWriter } from "../../protocol/s2_stream.ts";
import { MemoryTransport } from "../helpers/memory_transport.ts";

const te = new TextEncoder();
const td = new TextDecoder();

const START_MS = 1_000;
const TIMEOUT_MS = 2_000;
const NONCE = "nIkXe2-ILPEaFJk";
const HUB_INFO = {
  server_id: "NHUB",
  server_name: "HUB",
  version: "2.10.0",
  headers: true,
  leafnode_urls: ["127.0.0.1:7422"],
  client_id: 7,
  nonce: NONCE,
};
const LEAF_INFO = { server_id: "NLEAF", server_name: "LEAF", version: "2.10.0", headers: true };
const CONNECT = 'CONNECT {"server_id":"NLEAF","headers":true,"compress_mode":"s2_fast"}\r\n';

/** A memory transport whose writes arrive at `peer` as reads, like one end of a socket. */
class PairedTransport extends MemoryTransport {
  peer?: MemoryTransport;

  override async write(data: Uint8Array): Promise<number> {
    const n = await super.write(data);
    this.peer?.push(data.slice());
    return n;
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** One S2 stream, as a nats-server peer writes one flush. */
function s2(text: string, level: "uncompressed" | "fast" | "best" = "fast"): Uint8Array {
  return new S2StreamWriter({ level }).write(te.encode(text));
}

function infoLine(fields: Record<string, unknown>): string {
  return `INFO ${JSON.stringify(fields)}\r\n`;
}

function startsWithIdentifier(bytes: Uint8Array): boolean {
  return S2_STREAM_IDENTIFIER.every((b, i) => bytes[i] === b);
}

/** Decodes everything `transport` wrote as one sequence of S2 streams. */
function decodeWritten(transport: MemoryTransport): string {
  const reader = new S2StreamReader();
  const text = reader.feed(concat(transport.written)).map((b) => td.decode(b)).join("");
  reader.end();
  return text;
}

/** The JSON of an `INFO {...}` line (with or without CRLF and nats-server's trailing space). */
function infoFields(line: string): Record<string, unknown> {
  const match = /^INFO (\{.*\})\s*$/s.exec(line);
  assert.ok(match, `not an INFO line: ${JSON.stringify(line)}`);
  return JSON.parse(match[1]);
}

/** Reads until `size` bytes arrived. */
async function readText(transport: Transport, size: number): Promise<string> {
  const buffer = new Uint8Array(64 * 1024);
  let text = "";
  let total = 0;
  while (total < size) {
    const n = await transport.read(buffer);
    if (n === null) throw new Error(`stream ended after ${total} of ${size} bytes`);
    text += td.decode(buffer.subarray(0, n));
    total += n;
  }
  return text;
}

/** Lets pending promise continuations (writes, the first read) run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function acceptOptions(
  compression: CompressionOptions | undefined,
  clock = new FakeClock(START_MS),
) {
  return {
    compression,
    clock,
    timeoutMs: TIMEOUT_MS,
    info: () => ({ ...HUB_INFO }),
  };
}

function solicitOptions(
  compression: CompressionOptions | undefined,
  clock = new FakeClock(START_MS),
) {
  return {
    compression,
    clock,
    timeoutMs: TIMEOUT_MS,
    info: () => ({ ...LEAF_INFO }),
  };
}

// ---- accept side (hub) -------------------------------------------------------------------

Deno.test("negotiation accept - switches right after the peer's INFO line, same chunk", async () => {
  const wire = new MemoryTransport();
  // One socket read holds the plaintext INFO and the first compressed bytes behind it.
  wire.push(concat([te.encode(infoLine({ ...LEAF_INFO, compression: "s2_fast" })), s2(CONNECT)]));
  const result = await acceptCompression(wire, acceptOptions({ mode: "s2_fast" }));
  assert.equal(result.mode, "s2_fast");
  assert.ok(result.transport instanceof S2Transport);
  assert.equal(result.transport.level, "s2_fast");
  assert.equal(await readText(result.transport, CONNECT.length), CONNECT);
  // The hub wrote exactly one thing: its INFO again, as one S2 stream.
  assert.equal(wire.written.length, 1);
  assert.ok(startsWithIdentifier(wire.written[0]));
  const info = infoFields(decodeWritten(wire));
  assert.equal(info.compression, "s2_fast");
  assert.equal(info.nonce, NONCE, "the same nonce as the first INFO");
  assert.equal(info.client_id, HUB_INFO.client_id);
  assert.deepEqual(info.leafnode_urls, HUB_INFO.leafnode_urls);
  // From now on everything the hub writes is S2.
  await result.transport.write(te.encode("PING\r\n"));
  assert.equal(wire.written.length, 2);
  assert.ok(startsWithIdentifier(wire.written[1]));
  assert.ok(decodeWritten(wire).endsWith("\r\nPING\r\n"));
});

Deno.test("negotiation accept - the switch point is byte exact wherever reads split", async () => {
  const info = te.encode(infoLine({ ...LEAF_INFO, compression: "s2_best" }));
  const compressed = concat([s2(CONNECT, "best"), s2("PING\r\n", "uncompressed")]);
  const bytes = concat([info, compressed]);
  for (let split = 1; split < bytes.length; split++) {
    const wire = new MemoryTransport();
    wire.push(bytes.subarray(0, split));
    wire.push(bytes.subarray(split));
    const result = await acceptCompression(wire, acceptOptions({ mode: "s2_fast" }));
    assert.equal(result.mode, "s2_fast", `split at ${split}`);
    const expected = `${CONNECT}PING\r\n`;
    assert.equal(await readText(result.transport, expected.length), expected, `split ${split}`);
  }
});

Deno.test("negotiation accept - s2_auto advertises s2_auto and starts at the zero-RTT level", async () => {
  // Dial and TLS time say nothing about the path, so s2_auto starts as if the RTT were 0 and
  // moves with the first PING/PONG (nats-server starts from the time since the dial).
  const cases = [
    { elapsed: 0, thresholds: undefined, level: "s2_uncompressed", chunk: 0x01 },
    { elapsed: 500, thresholds: undefined, level: "s2_uncompressed", chunk: 0x01 },
    { elapsed: 500, thresholds: [0, 30], level: "s2_fast", chunk: 0x00 },
    { elapsed: 0, thresholds: [0, 0, 20], level: "s2_better", chunk: 0x00 },
  ] as const;
  for (const { elapsed, thresholds, level, chunk } of cases) {
    const clock = new FakeClock(START_MS);
    clock.advance(elapsed);
    const wire = new MemoryTransport();
    wire.push(infoLine({ ...LEAF_INFO, compression: "s2_auto" }));
    const result = await acceptCompression(
      wire,
      acceptOptions({ mode: "s2_auto", rttThresholdsMs: thresholds && [...thresholds] }, clock),
    );
    const label = `${elapsed} ms after accept, thresholds ${thresholds}`;
    assert.equal(result.mode, level, label);
    assert.equal((result.transport as S2Transport).level, level, label);
    assert.equal(infoFields(decodeWritten(wire)).compression, "s2_auto", label);
    // Identifier chunk (10 bytes), then the INFO's chunk: raw for s2_uncompressed.
    assert.equal(wire.written[0][10], chunk, label);
  }
});

Deno.test("negotiation accept - an accepting hub follows the peer's level (auto means fast)", async () => {
  for (
    const [peer, level] of [["s2_auto", "s2_fast"], ["s2_best", "s2_best"], [
      "s2_uncompressed",
      "s2_uncompressed",
    ]]
  ) {
    const wire = new MemoryTransport();
    wire.push(infoLine({ ...LEAF_INFO, compression: peer }));
    const result = await acceptCompression(wire, acceptOptions({ mode: "accept" }));
    assert.equal(result.mode, level, `peer ${peer}`);
    assert.equal(infoFields(decodeWritten(wire)).compression, level, `peer ${peer}`);
  }
});

Deno.test("negotiation accept - a peer sending CONNECT first gets plaintext, CONNECT replayed", async () => {
  // nats-server 2.9.10 ignores `compression` in our INFO and answers with CONNECT.
  const plain = `${CONNECT}PING\r\nLS+ $G foo\r\n`;
  const wire = new MemoryTransport();
  for (
    const piece of [
      plain.slice(0, 4),
      plain.slice(4, CONNECT.length + 2),
      plain.slice(CONNECT.length + 2),
    ]
  ) {
    wire.push(piece);
  }
  const result = await acceptCompression(wire, acceptOptions({ mode: "s2_auto" }));
  assert.equal(result.mode, "not supported");
  assert.ok(!(result.transport instanceof S2Transport));
  assert.equal(await readText(result.transport, plain.length), plain);
  assert.equal(wire.written.length, 0, "nothing sent: no second INFO, no S2");
  await result.transport.write(te.encode("PONG\r\n"));
  assert.equal(wire.text(), "PONG\r\n", "writes stay plaintext");
});

Deno.test("negotiation accept - a peer INFO declining compression keeps the link plaintext", async () => {
  for (const [hub, peer, mode] of [["s2_fast", "off", "off"], ["accept", "accept", "off"]]) {
    const wire = new MemoryTransport();
    wire.push(`${infoLine({ ...LEAF_INFO, compression: peer })}${CONNECT}`);
    const result = await acceptCompression(wire, acceptOptions({ mode: hub }));
    assert.equal(result.mode, mode, `${hub} x ${peer}`);
    assert.equal(wire.written.length, 0);
    // What followed the INFO is handed on as plaintext.
    assert.equal(await readText(result.transport, CONNECT.length), CONNECT);
  }
});

Deno.test("negotiation accept - an unknown peer mode fails with nats-server's text", async () => {
  const wire = new MemoryTransport();
  wire.push(infoLine({ ...LEAF_INFO, compression: "zstd" }));
  await assert.rejects(
    acceptCompression(wire, acceptOptions({ mode: "s2_auto" })),
    (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.equal(error.message, 'unsupported route compression mode "zstd"');
      return true;
    },
  );
  // As nats-server: the refusal goes on the wire before the close.
  assert.equal(wire.text(), "-ERR 'unsupported route compression mode \"zstd\"'\r\n");
});

Deno.test("negotiation accept - silence past the timeout fails and closes", async () => {
  const clock = new FakeClock(START_MS);
  const wire = new MemoryTransport();
  const pending = acceptCompression(wire, acceptOptions({ mode: "s2_auto" }, clock));
  await settle();
  clock.advance(TIMEOUT_MS);
  await assert.rejects(pending, FirstInfoError);
  assert.equal(wire.closed, true);
});

// ---- solicit side (leaf) -----------------------------------------------------------------

Deno.test("negotiation solicit - plaintext INFO with compression, then the hub's S2 INFO", async () => {
  const wire = new MemoryTransport();
  const hubFirst = infoLine({ ...HUB_INFO, compression: "s2_auto" }).trimEnd();
  const pending = solicitCompression(wire, hubFirst, solicitOptions({ mode: "s2_fast" }));
  await settle();
  // Step 4: our INFO, plaintext, one line, nothing else until the hub answers.
  assert.equal(wire.written.length, 1);
  const ours = wire.text();
  assert.ok(ours.endsWith("\r\n") && ours.indexOf("\n") === ours.length - 1, ours);
  const sent = infoFields(ours);
  assert.equal(sent.compression, "s2_fast");
  assert.equal(sent.server_id, LEAF_INFO.server_id);
  // Step 5: the hub's INFO again, compressed, with the same nonce.
  const hubSecond = infoLine({ ...HUB_INFO, compression: "s2_auto" });
  wire.push(s2(hubSecond, "uncompressed"));
  const result = await pending;
  assert.equal(result.firstInfo, hubSecond.slice(0, -2), "the compressed INFO counts as first");
  assert.equal(result.mode, "s2_fast");
  assert.ok(result.transport instanceof S2Transport);
  // Step 6: CONNECT goes out compressed.
  await result.transport.write(te.encode(CONNECT));
  assert.equal(wire.written.length, 2);
  assert.ok(startsWithIdentifier(wire.written[1]));
  const reader = new S2StreamReader();
  assert.equal(td.decode(concat(reader.feed(wire.written[1]))), CONNECT);
});

Deno.test("negotiation solicit - the hub's compressed INFO may arrive a byte at a time", async () => {
  const wire = new MemoryTransport();
  const hubSecond = infoLine({ ...HUB_INFO, compression: "s2_best" });
  const stream = s2(hubSecond, "best");
  for (let i = 0; i < stream.length; i++) wire.push(stream.subarray(i, i + 1));
  const result = await solicitCompression(
    wire,
    infoLine({ ...HUB_INFO, compression: "s2_best" }).trimEnd(),
    solicitOptions({ mode: "s2_better" }),
  );
  assert.equal(result.firstInfo, hubSecond.trimEnd());
  assert.equal(result.mode, "s2_better");
});

Deno.test("negotiation solicit - bytes behind the hub's compressed INFO are read next", async () => {
  const wire = new MemoryTransport();
  const hubSecond = infoLine({ ...HUB_INFO, compression: "s2_fast" });
  wire.push(s2(`${hubSecond}PING\r\n`));
  const result = await solicitCompression(
    wire,
    hubSecond.trimEnd(),
    solicitOptions({ mode: "s2_fast" }),
  );
  assert.equal(result.firstInfo, hubSecond.trimEnd());
  assert.equal(await readText(result.transport, 6), "PING\r\n");
});

Deno.test("negotiation solicit - s2_auto (the default) starts at the zero-RTT level", async () => {
  const cases = [
    { elapsed: 0, compression: undefined, level: "s2_uncompressed" },
    { elapsed: 250, compression: undefined, level: "s2_uncompressed" },
    { elapsed: 250, compression: { mode: "s2_auto", rttThresholdsMs: [0, 30] }, level: "s2_fast" },
    {
      elapsed: 0,
      compression: { mode: "s2_auto", rttThresholdsMs: [0, 0, 0, 40] },
      level: "s2_best",
    },
  ] as const;
  for (const { elapsed, compression, level } of cases) {
    const clock = new FakeClock(START_MS);
    clock.advance(elapsed);
    const wire = new MemoryTransport();
    wire.push(s2(infoLine({ ...HUB_INFO, compression: "s2_fast" })));
    const result = await solicitCompression(
      wire,
      infoLine({ ...HUB_INFO, compression: "s2_fast" }).trimEnd(),
      solicitOptions(
        compression &&
          { mode: compression.mode, rttThresholdsMs: [...compression.rttThresholdsMs] },
        clock,
      ),
    );
    const label = `${elapsed} ms after dialling, ${JSON.stringify(compression)}`;
    assert.equal(result.mode, level, label);
    assert.equal((result.transport as S2Transport).level, level, label);
    assert.equal(infoFields(td.decode(wire.written[0])).compression, "s2_auto", label);
  }
});

Deno.test("negotiation solicit - an accepting leaf takes the hub's level (auto means fast)", async () => {
  for (const [hub, level] of [["s2_auto", "s2_fast"], ["s2_better", "s2_better"]]) {
    const wire = new MemoryTransport();
    wire.push(s2(infoLine({ ...HUB_INFO, compression: hub })));
    const result = await solicitCompression(
      wire,
      infoLine({ ...HUB_INFO, compression: hub }).trimEnd(),
      solicitOptions({ mode: "accept" }),
    );
    assert.equal(result.mode, level, `hub ${hub}`);
    assert.equal(infoFields(td.decode(wire.written[0])).compression, level, `hub ${hub}`);
  }
});

Deno.test("negotiation solicit - declines leave the socket untouched for a plaintext CONNECT", async () => {
  const cases: [string | undefined, string | undefined, string][] = [
    // nats-server 2.9.10: no `compression` in its INFO.
    [undefined, undefined, "not supported"],
    ["s2_auto", undefined, "not supported"],
    ["s2_fast", "off", "off"],
    ["accept", "accept", "off"],
    ["off", "s2_auto", "off"],
    ["off", undefined, "not supported"],
    ["not supported", "s2_fast", "not supported"],
  ];
  for (const [leaf, hub, mode] of cases) {
    const wire = new MemoryTransport();
    const first = infoLine(hub === undefined ? HUB_INFO : { ...HUB_INFO, compression: hub })
      .trimEnd();
    const result = await solicitCompression(
      wire,
      first,
      solicitOptions(leaf === undefined ? undefined : { mode: leaf }),
    );
    const label = `leaf ${leaf} x hub ${hub}`;
    assert.equal(result.mode, mode, label);
    assert.equal(result.transport, wire, label);
    assert.equal(result.firstInfo, first, label);
    assert.equal(wire.written.length, 0, `${label}: nothing written`);
  }
});

Deno.test("negotiation solicit - an unknown hub mode fails with nats-server's text", async () => {
  const wire = new MemoryTransport();
  await assert.rejects(
    solicitCompression(
      wire,
      infoLine({ ...HUB_INFO, compression: "lz4" }).trimEnd(),
      solicitOptions({ mode: "s2_fast" }),
    ),
    (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.equal(error.message, 'unsupported route compression mode "lz4"');
      return true;
    },
  );
  // As nats-server: the refusal goes on the wire before the close.
  assert.equal(wire.text(), "-ERR 'unsupported route compression mode \"lz4\"'\r\n");
});

Deno.test("negotiation solicit - no compressed INFO before the timeout fails", async () => {
  const clock = new FakeClock(START_MS);
  const wire = new MemoryTransport();
  const pending = solicitCompression(
    wire,
    infoLine({ ...HUB_INFO, compression: "s2_fast" }).trimEnd(),
    solicitOptions({ mode: "s2_fast" }, clock),
  );
  await settle();
  assert.equal(wire.written.length, 1, "our INFO went out");
  clock.advance(TIMEOUT_MS);
  await assert.rejects(pending, FirstInfoError);
  assert.equal(wire.closed, true);
});

// ---- both sides --------------------------------------------------------------------------

Deno.test("negotiation - leaf and hub agree over a socket pair, each at its own level", async () => {
  const leafEnd = new PairedTransport();
  const hubEnd = new PairedTransport();
  leafEnd.peer = hubEnd;
  hubEnd.peer = leafEnd;
  // Step 1 (the hub's LeafConnection does this): the plaintext INFO with `compression`.
  const hubFirst = infoLine({ ...HUB_INFO, compression: "s2_best" });
  await hubEnd.write(te.encode(hubFirst));
  // The remote reads that line before negotiating (first_info.ts); do the same by hand.
  const buffer = new Uint8Array(4096);
  const n = await leafEnd.read(buffer);
  assert.equal(td.decode(buffer.subarray(0, n!)), hubFirst);
  const [leaf, hub] = await Promise.all([
    solicitCompression(leafEnd, hubFirst.trimEnd(), solicitOptions({ mode: "s2_fast" })),
    acceptCompression(hubEnd, acceptOptions({ mode: "s2_best" })),
  ]);
  assert.equal(leaf.mode, "s2_fast");
  assert.equal(hub.mode, "s2_best");
  assert.equal(infoFields(leaf.firstInfo).nonce, NONCE);
  assert.equal(infoFields(leaf.firstInfo).compression, "s2_best");

  // The leaf's wire: its INFO in plaintext, then S2 streams only.
  await leaf.transport.write(te.encode(CONNECT));
  const leafWire = concat(leafEnd.written);
  const leafInfoEnd = leafWire.indexOf(0x0a) + 1;
  assert.equal(infoFields(td.decode(leafWire.subarray(0, leafInfoEnd))).compression, "s2_fast");
  assert.ok(startsWithIdentifier(leafWire.subarray(leafInfoEnd)));
  assert.equal(await readText(hub.transport, CONNECT.length), CONNECT);

  // The hub's wire: the first INFO in plaintext, then S2 streams only.
  const cmds = "PING\r\nLS+ $G foo\r\n";
  await hub.transport.write(te.encode(cmds));
  const hubWire = concat(hubEnd.written);
  assert.equal(td.decode(hubWire.subarray(0, hubFirst.length)), hubFirst);
  assert.ok(startsWithIdentifier(hubWire.subarray(hubFirst.length)));
  assert.equal(await readText(leaf.transport, cmds.length), cmds);
});
