/**
 * `S2Transport` over in-memory transports: every write is a complete S2 stream (as nats-server
 * frames each flush), reads decode the peer's concatenated streams however the socket splits
 * them, and a level change is invisible to the reader.
 */

import assert from "node:assert/strict";
import { S2Transport } from "../../actors/s2_transport.ts";
import type { CompressionLevel } from "../../protocol/compression_mode.ts";
import { S2Error } from "../../protocol/s2_error.ts";
import { S2_STREAM_IDENTIFIER, S2StreamReader, S2StreamWriter } from "../../protocol/s2_stream.ts";
import { jsonText, natsText, randomBytes } from "../fixtures/s2/sample_data.ts";
import { MemoryTransport } from "../helpers/memory_transport.ts";

const te = new TextEncoder();
const td = new TextDecoder();

const CHUNK_COMPRESSED = 0x00;
const CHUNK_UNCOMPRESSED = 0x01;

/** A memory transport whose writes arrive at `peer` as reads, like one end of a socket. */
class PairedTransport extends MemoryTransport {
  peer?: MemoryTransport;

  override async write(data: Uint8Array): Promise<number> {
    const n = await super.write(data);
    this.peer?.push(data.slice());
    return n;
  }
}

function memoryPair(): [PairedTransport, PairedTransport] {
  const a = new PairedTransport();
  const b = new PairedTransport();
  a.peer = b;
  b.peer = a;
  return [a, b];
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

function startsWithIdentifier(bytes: Uint8Array): boolean {
  return S2_STREAM_IDENTIFIER.every((b, i) => bytes[i] === b);
}

/** Decodes one complete S2 stream with a fresh reader. */
function decodeStream(bytes: Uint8Array): Uint8Array {
  const reader = new S2StreamReader();
  const parts = reader.feed(bytes);
  reader.end();
  return concat(parts);
}

/** The chunk types of a stream, identifier excluded. */
function chunkTypes(stream: Uint8Array): number[] {
  const types: number[] = [];
  let p = 0;
  while (p < stream.length) {
    const type = stream[p];
    const length = stream[p + 1] | (stream[p + 2] << 8) | (stream[p + 3] << 16);
    if (type !== 0xff) types.push(type);
    p += 4 + length;
  }
  return types;
}

/** Reads from `transport` until `size` bytes arrived, `buffer.length` bytes at most per read. */
async function readExactly(
  transport: S2Transport,
  size: number,
  bufferBytes = 64 * 1024,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  const buffer = new Uint8Array(bufferBytes);
  while (total < size) {
    const n = await transport.read(buffer);
    if (n === null) throw new Error(`stream ended after ${total} of ${size} bytes`);
    parts.push(buffer.slice(0, n));
    total += n;
  }
  assert.equal(total, size, "read more than was sent");
  return concat(parts);
}

Deno.test("s2 transport - every write is one self-contained S2 stream", async () => {
  const inner = new MemoryTransport();
  const s2 = new S2Transport(inner, "s2_fast");
  const messages = [
    te.encode("PING\r\n"),
    natsText(3000),
    te.encode('CONNECT {"verbose":false}\r\n'),
  ];
  for (const message of messages) {
    assert.equal(await s2.write(message), message.length, "write reports the plaintext size");
  }
  assert.equal(inner.written.length, messages.length);
  inner.written.forEach((stream, i) => {
    assert.ok(startsWithIdentifier(stream), `write ${i} starts with S2sTwO`);
    assert.deepEqual(decodeStream(stream), messages[i], `write ${i} decodes on its own`);
  });
  assert.equal(s2.wireOut, inner.written.reduce((n, w) => n + w.length, 0));
  // natsText compresses: the wire carries fewer bytes than the plaintext.
  assert.ok(inner.written[1].length < messages[1].length);
});

Deno.test("s2 transport - s2_uncompressed writes raw chunks that still decode", async () => {
  const inner = new MemoryTransport();
  const s2 = new S2Transport(inner, "s2_uncompressed");
  const data = natsText(5000);
  await s2.write(data);
  const stream = inner.written[0];
  assert.ok(startsWithIdentifier(stream));
  assert.deepEqual(chunkTypes(stream), [CHUNK_UNCOMPRESSED]);
  // Identifier 10 + chunk header 4 + CRC 4 + the data itself.
  assert.equal(stream.length, 10 + 4 + 4 + data.length);
  assert.deepEqual(decodeStream(stream), data);
});

Deno.test("s2 transport - reads decode concatenated streams split at every point", async () => {
  const writer = new S2StreamWriter({ level: "fast", identifierPerWrite: true });
  const plain = [te.encode("INFO {}\r\n"), natsText(600, 3), te.encode("PONG\r\n")];
  const wire = concat(plain.map((p) => writer.write(p)));
  const expected = concat(plain);
  for (let split = 1; split < wire.length; split++) {
    const inner = new MemoryTransport();
    const s2 = new S2Transport(inner, "s2_fast");
    inner.push(wire.subarray(0, split));
    inner.push(wire.subarray(split));
    assert.deepEqual(await readExactly(s2, expected.length), expected, `split at ${split}`);
    assert.equal(s2.wireIn, wire.length);
  }
});

Deno.test("s2 transport - reads survive byte-by-byte arrival and tiny read buffers", async () => {
  const writer = new S2StreamWriter({ level: "better", identifierPerWrite: true });
  const plain = [jsonText(2000), randomBytes(300), te.encode("PING\r\n")];
  const wire = concat(plain.map((p) => writer.write(p)));
  const inner = new MemoryTransport();
  const s2 = new S2Transport(inner, "s2_fast");
  for (let i = 0; i < wire.length; i++) inner.push(wire.subarray(i, i + 1));
  // A 7-byte buffer forces one decoded chunk to be handed out over many reads.
  assert.deepEqual(await readExactly(s2, 2306, 7), concat(plain));
});

Deno.test("s2 transport - readOwned hands over each decoded chunk as a new array", async () => {
  const writer = new S2StreamWriter({ level: "fast", identifierPerWrite: true });
  const plain = [natsText(70_000, 5), te.encode("PING\r\n"), jsonText(3000)];
  const wire = concat(plain.map((p) => writer.write(p)));
  const inner = new MemoryTransport();
  const s2 = new S2Transport(inner, "s2_fast");
  for (let o = 0; o < wire.length; o += 1000) inner.push(wire.subarray(o, o + 1000));
  inner.push(new Uint8Array(0));
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (total < 73_006) {
    const chunk = await s2.readOwned();
    assert.ok(chunk !== null);
    chunks.push(chunk);
    total += chunk.length;
  }
  assert.deepEqual(concat(chunks), concat(plain));
  // Each is the reader's own output: no two share bytes, so the caller may keep them all.
  const [first, second] = chunks;
  assert.ok(first.buffer !== second.buffer || first.byteOffset + first.length <= second.byteOffset);
  inner.closed = true;
  assert.equal(await s2.readOwned(), null);
});

Deno.test("s2 transport - setLevel changes the block types, the peer decodes them all", async () => {
  const [a, b] = memoryPair();
  const writer = new S2Transport(a, "s2_uncompressed");
  const reader = new S2Transport(b, "s2_fast");
  const data = natsText(4000, 21);
  const sent: Uint8Array[] = [];
  const steps: [CompressionLevel, number][] = [
    ["s2_uncompressed", CHUNK_UNCOMPRESSED],
    ["s2_fast", CHUNK_COMPRESSED],
    ["s2_best", CHUNK_COMPRESSED],
    ["s2_uncompressed", CHUNK_UNCOMPRESSED],
    ["s2_better", CHUNK_COMPRESSED],
  ];
  for (const [level, chunkType] of steps) {
    writer.setLevel(level);
    assert.equal(writer.level, level);
    await writer.write(data);
    sent.push(data);
    const stream = a.written.at(-1)!;
    assert.ok(startsWithIdentifier(stream), `${level} starts a new stream`);
    assert.deepEqual(chunkTypes(stream), [chunkType], level);
  }
  // Better and best find more than fast does on the same text.
  const sizes = a.written.map((w) => w.length);
  assert.ok(sizes[1] < sizes[0] && sizes[2] <= sizes[1], `sizes ${sizes}`);
  assert.deepEqual(await readExactly(reader, data.length * steps.length), concat(sent));
});

Deno.test("s2 transport - setLevel to the current level keeps the writer", async () => {
  const inner = new MemoryTransport();
  const s2 = new S2Transport(inner, "s2_fast");
  s2.setLevel("s2_fast");
  assert.equal(s2.level, "s2_fast");
  await s2.write(natsText(1000));
  assert.deepEqual(chunkTypes(inner.written[0]), [CHUNK_COMPRESSED]);
});

Deno.test("s2 transport - initial bytes are decoded before anything read later", async () => {
  const writer = new S2StreamWriter({ level: "fast", identifierPerWrite: true });
  const first = writer.write(te.encode('CONNECT {"name":"leaf"}\r\n'));
  const second = writer.write(te.encode("PING\r\n"));
  // The bytes read past the switch point: a whole stream and the start of the next one.
  const initial = concat([first, second.subarray(0, 5)]);
  const inner = new MemoryTransport();
  const s2 = new S2Transport(inner, "s2_fast", initial);
  assert.equal(s2.wireIn, 0, "initial bytes were counted by whoever read them");
  const buffer = new Uint8Array(1024);
  const n = await s2.read(buffer);
  assert.equal(td.decode(buffer.subarray(0, n!)), 'CONNECT {"name":"leaf"}\r\n');
  inner.push(second.subarray(5));
  assert.equal(td.decode(await readExactly(s2, 6)), "PING\r\n");
});

Deno.test("s2 transport - an empty initial buffer is the same as none", async () => {
  const inner = new MemoryTransport();
  const s2 = new S2Transport(inner, "s2_fast", new Uint8Array(0));
  inner.push(new S2StreamWriter().write(te.encode("PONG\r\n")));
  assert.equal(td.decode(await readExactly(s2, 6)), "PONG\r\n");
});

async function assertReadFails(s2: S2Transport, reason: string): Promise<void> {
  await assert.rejects(s2.read(new Uint8Array(1024)), (error: unknown) => {
    assert.ok(error instanceof S2Error, `expected S2Error, got ${error}`);
    assert.equal(error.reason, reason, error.message);
    return true;
  });
}

Deno.test("s2 transport - a bad checksum surfaces as an S2Error from read()", async () => {
  const stream = new S2StreamWriter({ level: "uncompressed" }).write(te.encode("PING\r\n"));
  stream[stream.length - 1] ^= 0x01; // flip a data bit: the CRC no longer matches
  const inner = new MemoryTransport();
  const s2 = new S2Transport(inner, "s2_fast");
  inner.push(stream);
  await assertReadFails(s2, "crc_mismatch");
});

Deno.test("s2 transport - plaintext where S2 is expected surfaces as an S2Error", async () => {
  const inner = new MemoryTransport();
  const s2 = new S2Transport(inner, "s2_fast");
  inner.push('CONNECT {"verbose":false}\r\n');
  await assertReadFails(s2, "missing_identifier");
  // After a good stream, plaintext reads as a reserved chunk type ("P" is 0x50).
  const later = new MemoryTransport();
  const s2Later = new S2Transport(later, "s2_fast");
  later.push(concat([new S2StreamWriter().write(te.encode("PONG\r\n")), te.encode("PING\r\n")]));
  await assertReadFails(s2Later, "reserved_chunk");
});

Deno.test("s2 transport - a stream cut inside a chunk fails at end of input", async () => {
  const stream = new S2StreamWriter().write(natsText(500));
  const inner = new MemoryTransport();
  const s2 = new S2Transport(inner, "s2_fast");
  inner.push(stream.subarray(0, stream.length - 3));
  const reading = s2.read(new Uint8Array(1024));
  await Promise.resolve();
  inner.close();
  await assert.rejects(reading, (error: unknown) => {
    assert.ok(error instanceof S2Error);
    assert.equal(error.reason, "truncated");
    return true;
  });
  assert.equal(await s2.read(new Uint8Array(16)), null, "ended after the failure");
});

Deno.test("s2 transport - corrupt initial bytes are rejected at once", () => {
  const stream = new S2StreamWriter({ level: "uncompressed" }).write(te.encode("PING\r\n"));
  stream[15] ^= 0xff; // inside the CRC (identifier 10 bytes, chunk header 4)
  assert.throws(() => new S2Transport(new MemoryTransport(), "s2_fast", stream), S2Error);
});

Deno.test("s2 transport - end of input at a chunk boundary reads as end of stream", async () => {
  const inner = new MemoryTransport();
  const s2 = new S2Transport(inner, "s2_fast");
  inner.push(new S2StreamWriter().write(te.encode("PONG\r\n")));
  assert.equal(td.decode(await readExactly(s2, 6)), "PONG\r\n");
  const reading = s2.read(new Uint8Array(16));
  await Promise.resolve();
  inner.close();
  assert.equal(await reading, null);
  assert.equal(await s2.read(new Uint8Array(16)), null);
});

Deno.test("s2 transport - close closes the transport underneath and keeps its address", () => {
  const inner = new MemoryTransport();
  const s2 = new S2Transport(inner, "s2_best");
  assert.equal(s2.remoteHost, inner.remoteHost);
  assert.equal(s2.remotePort, inner.remotePort);
  s2.close();
  assert.equal(inner.closed, true);
});

Deno.test("s2 transport - a compressed pair carries traffic both ways at different levels", async () => {
  const [a, b] = memoryPair();
  const left = new S2Transport(a, "s2_best");
  const right = new S2Transport(b, "s2_uncompressed");
  const toRight = jsonText(20_000, 5);
  const toLeft = natsText(20_000, 6);
  await left.write(toRight);
  await right.write(toLeft);
  assert.deepEqual(await readExactly(right, toRight.length), toRight);
  assert.deepEqual(await readExactly(left, toLeft.length), toLeft);
  assert.ok(left.wireOut < toRight.length, "best compresses JSON");
  assert.ok(right.wireOut > toLeft.length, "uncompressed adds framing only");
  assert.equal(left.wireIn, right.wireOut);
  assert.equal(right.wireIn, left.wireOut);
});
