import assert from "node:assert/strict";
import zlib from "node:zlib";
import {
  DecompressedSizeError,
  DEFLATE_TAIL,
  deflateMessage,
  inflateMessage,
  InvalidDeflateDataError,
} from "../../protocol/ws_deflate.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const NATS_TEXT = 'MSG orders.created 7 _INBOX.abc 24\r\n{"id":42,"total":1999}\r\n'.repeat(40);

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Runs bytes through a node:zlib stream and collects the output. */
function throughStream(stream: zlib.DeflateRaw | zlib.InflateRaw, input: Uint8Array, end: boolean) {
  return new Promise<Uint8Array>((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    stream.on("data", (chunk: Uint8Array) => chunks.push(chunk));
    stream.on("error", reject);
    stream.write(input);
    stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      resolve(concat(...chunks));
      if (end) stream.end();
    });
  });
}

Deno.test("ws deflate - a message round-trips and the 00 00 ff ff tail is stripped", () => {
  const data = te.encode(NATS_TEXT);
  const wire = deflateMessage(data);
  assert.ok(wire.length < data.length / 10, `compressed to ${wire.length} bytes`);
  const full = zlib.deflateRawSync(data, {
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
    level: zlib.constants.Z_BEST_SPEED,
  });
  assert.deepEqual(Array.from(full.subarray(-4)), Array.from(DEFLATE_TAIL));
  assert.deepEqual(wire, full.subarray(0, full.length - 4));
  assert.equal(td.decode(inflateMessage(wire)), NATS_TEXT);
});

Deno.test("ws deflate - an empty message round-trips", () => {
  const wire = deflateMessage(new Uint8Array(0));
  assert.deepEqual(Array.from(wire), [0x00]);
  assert.equal(inflateMessage(wire).length, 0);
  assert.equal(inflateMessage(new Uint8Array(0)).length, 0, "a bare tail inflates to nothing");
});

Deno.test("ws deflate - each message stands alone (no context takeover)", () => {
  const first = deflateMessage(te.encode(NATS_TEXT));
  const second = deflateMessage(te.encode(NATS_TEXT));
  assert.deepEqual(first, second, "the second message does not refer back to the first");
  assert.equal(td.decode(inflateMessage(second)), NATS_TEXT);
});

Deno.test("ws deflate - reads what a node:zlib deflate stream sync-flushes", async () => {
  const stream = zlib.createDeflateRaw();
  const flushed = await throughStream(stream, te.encode(NATS_TEXT), true);
  assert.deepEqual(Array.from(flushed.subarray(-4)), Array.from(DEFLATE_TAIL));
  assert.equal(td.decode(inflateMessage(flushed.subarray(0, flushed.length - 4))), NATS_TEXT);
});

Deno.test("ws deflate - a node:zlib inflate stream reads our messages", async () => {
  const wire = deflateMessage(te.encode(NATS_TEXT));
  const stream = zlib.createInflateRaw();
  const inflated = await throughStream(stream, concat(wire, DEFLATE_TAIL), true);
  assert.equal(td.decode(inflated), NATS_TEXT);
});

Deno.test("ws deflate - DecompressionStream('deflate-raw') reads our messages", async () => {
  const wire = concat(deflateMessage(te.encode(NATS_TEXT)), DEFLATE_TAIL);
  const stream = new Blob([wire]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  assert.equal(await new Response(stream).text(), NATS_TEXT);
});

Deno.test("ws deflate - reads a final-block stream from CompressionStream('deflate-raw')", async () => {
  const stream = new Blob([te.encode(NATS_TEXT)]).stream().pipeThrough(
    new CompressionStream("deflate-raw"),
  );
  const finished = new Uint8Array(await new Response(stream).arrayBuffer());
  assert.equal(td.decode(inflateMessage(finished)), NATS_TEXT);
});

Deno.test("ws deflate - inflating uses spare room after the data when told so", () => {
  const wire = deflateMessage(te.encode(NATS_TEXT));
  const storage = new Uint8Array(wire.length + 10).fill(0xaa);
  storage.set(wire);
  const view = storage.subarray(0, wire.length);
  assert.equal(td.decode(inflateMessage(view, { hasTailRoom: true })), NATS_TEXT);
  assert.deepEqual(Array.from(storage.subarray(wire.length, wire.length + 4)), [0, 0, 0xff, 0xff]);
  const tight = wire.slice();
  assert.equal(td.decode(inflateMessage(tight, { hasTailRoom: true })), NATS_TEXT);
});

Deno.test("ws deflate - the decompressed size guard stops a bomb", () => {
  const bomb = deflateMessage(new Uint8Array(10_000_000), { level: 9 });
  assert.ok(bomb.length < 20_000);
  assert.throws(
    () => inflateMessage(bomb, { maxSize: 1_000_000 }),
    (error) => error instanceof DecompressedSizeError && error.limit === 1_000_000,
  );
  assert.equal(inflateMessage(bomb, { maxSize: 10_000_000 }).length, 10_000_000);
});

Deno.test("ws deflate - invalid DEFLATE data is a typed error", () => {
  assert.throws(
    () => inflateMessage(Uint8Array.of(0xff, 0xff, 0xff)),
    (error) => error instanceof InvalidDeflateDataError && /invalid block type/.test(error.message),
  );
});
