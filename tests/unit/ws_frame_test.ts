import assert from "node:assert/strict";
import {
  closePayload,
  COMPRESS_THRESHOLD,
  encodeCloseFrame,
  encodeDataMessage,
  encodeFrame,
  type FrameDecoderOptions,
  frameHeaderSize,
  isValidCloseCode,
  maskBytes,
  MAX_PAYLOAD_CLOSE_REASON,
  WebSocketError,
  WebSocketFrameDecoder,
  WsCloseCode,
  WsOpcode,
} from "../../protocol/ws_frame.ts";
import { deflateMessage } from "../../protocol/ws_deflate.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const bytes = (s: string): Uint8Array => te.encode(s);

type Event =
  | { kind: "data"; text: string; fin: boolean; isText: boolean }
  | { kind: "ping" | "pong"; text: string }
  | { kind: "close"; code: number; reason: string };

/** A decoder that records every event, copying payloads (they may alias the fed bytes). */
function recorder(options: FrameDecoderOptions = {}) {
  const events: Event[] = [];
  const decoder = new WebSocketFrameDecoder({
    onData: (payload, fin, isText) =>
      events.push({ kind: "data", text: td.decode(payload), fin, isText }),
    onPing: (payload) => events.push({ kind: "ping", text: td.decode(payload) }),
    onPong: (payload) => events.push({ kind: "pong", text: td.decode(payload) }),
    onClose: (code, reason) => events.push({ kind: "close", code, reason }),
  }, options);
  return { decoder, events };
}

/** Joins data events into whole messages (text of each message, in order). */
function messages(events: Event[]): string[] {
  const out: string[] = [];
  let current = "";
  for (const event of events) {
    if (event.kind !== "data") continue;
    current += event.text;
    if (event.fin) {
      out.push(current);
      current = "";
    }
  }
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Feeds `wire` to a fresh decoder split at `at`, each piece a separate copy. */
function decodeSplit(wire: Uint8Array, at: number[], options: FrameDecoderOptions = {}): Event[] {
  const { decoder, events } = recorder(options);
  let from = 0;
  for (const to of [...at, wire.length]) {
    decoder.feed(wire.slice(from, to));
    from = to;
  }
  return events;
}

function decodeError(wire: Uint8Array, options: FrameDecoderOptions = {}): WebSocketError {
  const { decoder } = recorder(options);
  try {
    decoder.feed(wire.slice());
  } catch (error) {
    assert.ok(error instanceof WebSocketError, `expected WebSocketError, got ${error}`);
    return error;
  }
  assert.fail("expected the decoder to throw");
}

Deno.test("ws frame - a masked binary frame decodes when split at every byte", () => {
  const wire = encodeFrame({
    opcode: WsOpcode.binary,
    payload: bytes("PUB foo 5\r\nhello\r\n"),
    mask: true,
  });
  for (let cut = 0; cut <= wire.length; cut++) {
    const events = decodeSplit(wire, [cut]);
    assert.deepEqual(messages(events), ["PUB foo 5\r\nhello\r\n"], `cut at ${cut}`);
  }
  // And one byte at a time.
  const everyByte = decodeSplit(wire, Array.from({ length: wire.length }, (_, i) => i));
  assert.deepEqual(messages(everyByte), ["PUB foo 5\r\nhello\r\n"]);
});

Deno.test("ws frame - 7-bit, 16-bit and 64-bit lengths round-trip, masked and unmasked", () => {
  for (const size of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
    const payload = new Uint8Array(size).map((_, i) => i * 7);
    for (const mask of [false, true]) {
      const wire = encodeFrame({ opcode: WsOpcode.binary, payload, mask });
      const expectedHeader = (size <= 125 ? 2 : size <= 65535 ? 4 : 10) + (mask ? 4 : 0);
      assert.equal(wire.length, expectedHeader + size, `size ${size} mask ${mask}`);
      assert.equal(wire[1] & 0x7f, size <= 125 ? size : size <= 65535 ? 126 : 127);
      const received: Uint8Array[] = [];
      const decoder = new WebSocketFrameDecoder({
        onData: (p) => received.push(p.slice()),
        onPing() {},
        onPong() {},
        onClose() {},
      });
      decoder.feed(wire);
      assert.deepEqual(concat(...received), payload, `size ${size} mask ${mask}`);
    }
  }
});

Deno.test("ws frame - a 64-bit length with the top bit set is a protocol error", () => {
  const wire = Uint8Array.of(0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1);
  const error = decodeError(wire);
  assert.equal(error.code, 1002);
  assert.equal(error.message, "invalid 64-bit payload length");
});

Deno.test("ws frame - masking twice restores the data, at any key offset and alignment", () => {
  const key = Uint8Array.of(0x11, 0x22, 0x33, 0x44);
  const original = new Uint8Array(203).map((_, i) => i);
  for (let offset = 0; offset < 4; offset++) {
    const storage = new Uint8Array(210);
    const data = storage.subarray(offset + 1, offset + 1 + original.length);
    data.set(original);
    maskBytes(data, key);
    assert.notDeepEqual(data, original);
    // Byte-by-byte reference of the first bytes.
    for (let i = 0; i < 8; i++) assert.equal(data[i], original[i] ^ key[i % 4]);
    // Unmask in two uneven pieces, carrying the key position.
    const next = maskBytes(data.subarray(0, 37), key);
    assert.equal(next, 37 % 4);
    maskBytes(data.subarray(37), key, next);
    assert.deepEqual(data, original);
  }
});

Deno.test("ws frame - masked frames use fresh random keys and leave the payload untouched", () => {
  const payload = bytes("x".repeat(40));
  const a = encodeFrame({ opcode: WsOpcode.binary, payload, mask: true });
  const b = encodeFrame({ opcode: WsOpcode.binary, payload, mask: true });
  assert.equal(a[1] & 0x80, 0x80);
  assert.notDeepEqual(a.subarray(2, 6), b.subarray(2, 6), "two frames, two keys");
  assert.equal(td.decode(payload), "x".repeat(40));
});

Deno.test("ws frame - a fragmented message with control frames between fragments", () => {
  const wire = concat(
    encodeFrame({ opcode: WsOpcode.text, payload: bytes("SUB foo"), fin: false, mask: true }),
    encodeFrame({ opcode: WsOpcode.ping, payload: bytes("p1"), mask: true }),
    encodeFrame({
      opcode: WsOpcode.continuation,
      payload: bytes(" 1\r\n"),
      fin: false,
      mask: true,
    }),
    encodeFrame({ opcode: WsOpcode.pong, payload: bytes("p2"), mask: true }),
    encodeFrame({ opcode: WsOpcode.continuation, payload: bytes("PING\r\n"), mask: true }),
    encodeFrame({ opcode: WsOpcode.binary, payload: bytes("PONG\r\n"), mask: true }),
  );
  for (let cut = 0; cut <= wire.length; cut++) {
    const events = decodeSplit(wire, [cut]);
    assert.deepEqual(messages(events), ["SUB foo 1\r\nPING\r\n", "PONG\r\n"], `cut ${cut}`);
    const controls = events.filter((e) => e.kind !== "data");
    assert.deepEqual(controls, [{ kind: "ping", text: "p1" }, { kind: "pong", text: "p2" }]);
    const pieces = events.filter((e) => e.kind === "data") as { text: string; isText: boolean }[];
    const textPieces = pieces.filter((piece) => piece.isText).map((piece) => piece.text);
    const binaryPieces = pieces.filter((piece) => !piece.isText).map((piece) => piece.text);
    assert.equal(
      textPieces.join(""),
      "SUB foo 1\r\nPING\r\n",
      "the text message's pieces say text",
    );
    assert.equal(binaryPieces.join(""), "PONG\r\n", "the binary message's pieces say binary");
  }
});

Deno.test("ws frame - an empty final continuation frame still ends the message", () => {
  const wire = concat(
    encodeFrame({ opcode: WsOpcode.binary, payload: bytes("abc"), fin: false }),
    encodeFrame({ opcode: WsOpcode.continuation, payload: new Uint8Array(0) }),
  );
  assert.deepEqual(messages(decodeSplit(wire, [])), ["abc"]);
});

Deno.test("ws frame - a close frame reports status and reason, and later bytes are ignored", () => {
  const wire = concat(
    encodeCloseFrame(1001, "Server Shutdown", true),
    encodeFrame({ opcode: WsOpcode.binary, payload: bytes("late") }),
  );
  const { decoder, events } = recorder();
  decoder.feed(wire);
  assert.deepEqual(events, [{ kind: "close", code: 1001, reason: "Server Shutdown" }]);
  assert.equal(decoder.closed, true);
  decoder.feed(encodeFrame({ opcode: WsOpcode.binary, payload: bytes("later") }));
  assert.equal(events.length, 1);
});

Deno.test("ws frame - an empty close frame means status 1005", () => {
  const events = decodeSplit(Uint8Array.of(0x88, 0x00), []);
  assert.deepEqual(events, [{ kind: "close", code: 1005, reason: "" }]);
  assert.deepEqual(encodeCloseFrame(1005), Uint8Array.of(0x88, 0x00));
});

Deno.test("ws frame - bad close frames are refused with nats-server's texts", () => {
  let error = decodeError(Uint8Array.of(0x88, 0x01, 0x03));
  assert.deepEqual([error.code, error.message], [1002, "close frame payload cannot be 1 byte"]);
  error = decodeError(Uint8Array.of(0x88, 0x02, 0x03, 0xed)); // 1005 is reserved
  assert.deepEqual([error.code, error.message], [1002, "invalid close status code 1005"]);
  error = decodeError(Uint8Array.of(0x88, 0x04, 0x03, 0xe8, 0xff, 0xfe));
  assert.deepEqual([error.code, error.message], [1007, "invalid utf8 body in close frame"]);
});

Deno.test("ws frame - close codes follow RFC 6455's reserved ranges", () => {
  for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1011, 1014, 3000, 4999]) {
    assert.equal(isValidCloseCode(code), true, `${code}`);
  }
  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000]) {
    assert.equal(isValidCloseCode(code), false, `${code}`);
  }
});

Deno.test("ws frame - a long close reason is cut to 125 bytes with '...'", () => {
  const payload = closePayload(1008, "é".repeat(100)); // 200 bytes of UTF-8
  assert.ok(payload.length <= 125);
  const reason = td.decode(payload.subarray(2));
  assert.ok(reason.endsWith("..."));
  assert.ok(!reason.includes("\ufffd"), "no character is cut in half");
  assert.deepEqual(Array.from(payload.subarray(0, 2)), [0x03, 0xf0]);
  const ascii = closePayload(1008, "a".repeat(130));
  assert.equal(ascii.length, 125);
  assert.equal(td.decode(ascii.subarray(2)), "a".repeat(120) + "...");
  assert.equal(closePayload(1000, "a".repeat(123)).length, 125, "123 bytes still fit whole");
});

Deno.test("ws frame - protocol errors carry close code 1002 and nats-server's text", () => {
  const cases: [Uint8Array, string, FrameDecoderOptions?][] = [
    [Uint8Array.of(0xa2, 0x00), "RSV2 and RSV3 must be clear"],
    [Uint8Array.of(0x92, 0x00), "RSV2 and RSV3 must be clear"],
    [Uint8Array.of(0xc2, 0x00), "compressed frame received without negotiated permessage-deflate"],
    [Uint8Array.of(0x82, 0x00), "mask bit missing", { requireMask: true }],
    [
      Uint8Array.of(0x89, 0x7e, 0x00, 0x80),
      "control frame length bigger than maximum allowed of 125 bytes",
    ],
    [Uint8Array.of(0x09, 0x00), "control frame does not have final bit set"],
    [Uint8Array.of(0xc9, 0x00), "control frame must not be compressed", { compression: true }],
    [Uint8Array.of(0x80, 0x00), "invalid continuation frame"],
    [
      Uint8Array.of(0x02, 0x00, 0x82, 0x00),
      "new message started before final frame for previous message was received",
    ],
    [Uint8Array.of(0x02, 0x00, 0xc0, 0x00), "invalid continuation frame", { compression: true }],
  ];
  for (let opcode = 3; opcode <= 15; opcode++) {
    if (opcode >= 8 && opcode <= 10) continue;
    cases.push([Uint8Array.of(0x80 | opcode, 0x00), `unknown opcode ${opcode}`]);
  }
  for (const [wire, text, options] of cases) {
    const error = decodeError(wire, options);
    assert.equal(error.code, WsCloseCode.protocolError, text);
    assert.equal(error.message, text);
    assert.equal(error.name, "WebSocketError");
  }
});

Deno.test("ws frame - after an error the decoder stays failed, and earlier frames were delivered", () => {
  const { decoder, events } = recorder();
  const wire = concat(
    encodeFrame({ opcode: WsOpcode.binary, payload: bytes("ok") }),
    Uint8Array.of(0x83, 0x00),
  );
  assert.throws(() => decoder.feed(wire), WebSocketError);
  assert.deepEqual(messages(events), ["ok"]);
  assert.throws(() => decoder.feed(Uint8Array.of(0x82, 0x00)), /unknown opcode 3/);
});

Deno.test("ws frame - a masked frame is accepted even when masking is not required", () => {
  const events = decodeSplit(
    encodeFrame({ opcode: WsOpcode.binary, payload: bytes("x"), mask: true }),
    [],
  );
  assert.deepEqual(messages(events), ["x"]);
});

Deno.test("ws frame - an oversize frame is refused with 1009 from its header alone", () => {
  const header = Uint8Array.of(0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0); // 4 GiB announced
  const error = decodeError(header, { maxMessageSize: 1024 });
  assert.equal(error.code, WsCloseCode.messageTooBig);
  assert.equal(error.message, MAX_PAYLOAD_CLOSE_REASON);
});

Deno.test("ws frame - the message limit counts all fragments of a message", () => {
  const options = { maxMessageSize: 10 };
  const fits = concat(
    encodeFrame({ opcode: WsOpcode.binary, payload: bytes("12345"), fin: false }),
    encodeFrame({ opcode: WsOpcode.continuation, payload: bytes("67890") }),
    encodeFrame({ opcode: WsOpcode.binary, payload: bytes("1234567890") }),
  );
  assert.deepEqual(messages(decodeSplit(fits, [], options)), ["1234567890", "1234567890"]);
  const tooBig = concat(
    encodeFrame({ opcode: WsOpcode.binary, payload: bytes("123456"), fin: false }),
    encodeFrame({ opcode: WsOpcode.continuation, payload: bytes("789012") }),
  );
  assert.equal(decodeError(tooBig, options).code, 1009);
});

Deno.test("ws frame - a compressed message is inflated whole, split at every byte", () => {
  const text = "MSG foo 1 11\r\nhello world\r\n".repeat(20);
  const deflated = deflateMessage(bytes(text));
  const wire = concat(
    encodeFrame({
      opcode: WsOpcode.binary,
      payload: deflated.subarray(0, 10),
      compressed: true,
      fin: false,
      mask: true,
    }),
    encodeFrame({ opcode: WsOpcode.ping, payload: bytes("mid"), mask: true }),
    encodeFrame({ opcode: WsOpcode.continuation, payload: deflated.subarray(10), mask: true }),
    encodeFrame({ opcode: WsOpcode.binary, payload: bytes("PONG\r\n"), mask: true }),
  );
  for (let cut = 0; cut <= wire.length; cut++) {
    const events = decodeSplit(wire, [cut], { compression: true });
    assert.deepEqual(messages(events), [text, "PONG\r\n"], `cut ${cut}`);
    const first = events.find((e) => e.kind === "data");
    assert.deepEqual(
      first,
      { kind: "data", text, fin: true, isText: false },
      "inflated in one piece",
    );
    assert.deepEqual(events.find((e) => e.kind === "ping"), { kind: "ping", text: "mid" });
  }
});

Deno.test("ws frame - bad compressed data is 1007 and a decompression bomb is 1009", () => {
  const garbage = encodeFrame({
    opcode: WsOpcode.binary,
    payload: Uint8Array.of(0xff, 0xff, 0xff),
    compressed: true,
  });
  const bad = decodeError(garbage, { compression: true });
  assert.equal(bad.code, WsCloseCode.invalidPayloadData);
  const bomb = encodeFrame({
    opcode: WsOpcode.binary,
    payload: deflateMessage(new Uint8Array(1_000_000), { level: 9 }),
    compressed: true,
  });
  assert.ok(bomb.length < 5_000, "a million zero bytes deflate to a few KiB");
  const big = decodeError(bomb, { compression: true, maxDecompressedSize: 100_000 });
  assert.equal(big.code, WsCloseCode.messageTooBig);
  const events = decodeSplit(bomb, [], { compression: true, maxDecompressedSize: 1_000_000 });
  assert.equal(events.length, 1, "exactly at the limit is fine");
});

Deno.test("ws frame - encodeDataMessage compresses only when negotiated, large and worth it", () => {
  const small = bytes("PING\r\n");
  assert.equal(encodeDataMessage(small, { compress: true })[0], 0x82, "small data stays plain");
  const big = bytes("MSG foo 1 2\r\nhi\r\n".repeat(50));
  assert.ok(big.length > COMPRESS_THRESHOLD);
  const compressed = encodeDataMessage(big, { compress: true });
  assert.equal(compressed[0], 0xc2, "FIN + RSV1 + binary");
  assert.ok(compressed.length < big.length / 4);
  assert.equal(encodeDataMessage(big, { compress: false })[0], 0x82);
  const random = crypto.getRandomValues(new Uint8Array(500));
  assert.equal(
    encodeDataMessage(random, { compress: true })[0],
    0x82,
    "incompressible stays plain",
  );
  for (const mask of [false, true]) {
    const events = decodeSplit(encodeDataMessage(big, { compress: true, mask }), [], {
      compression: true,
    });
    assert.deepEqual(messages(events), [td.decode(big)]);
  }
});

Deno.test("ws frame - encodeDataMessage reuses an output buffer that is big enough", () => {
  const output = new Uint8Array(1024);
  const frame = encodeDataMessage(bytes("PING\r\n"), { output });
  assert.equal(frame.buffer, output.buffer);
  assert.deepEqual(Array.from(frame), [0x82, 6, ...bytes("PING\r\n")]);
  const tooSmall = new Uint8Array(4);
  assert.notEqual(
    encodeDataMessage(bytes("PING\r\n"), { output: tooSmall }).buffer,
    tooSmall.buffer,
  );
});

Deno.test("ws frame - frameHeaderSize matches what writeFrameHeader produces", () => {
  for (
    const [length, masked, size] of [[0, false, 2], [125, true, 6], [126, false, 4], [
      65536,
      true,
      14,
    ]] as const
  ) {
    assert.equal(frameHeaderSize(length, masked), size);
    const frame = encodeFrame({
      opcode: WsOpcode.binary,
      payload: new Uint8Array(length),
      mask: masked,
    });
    assert.equal(frame.length - length, size);
  }
});

Deno.test("ws frame - encodeFrame refuses invalid control frames", () => {
  assert.throws(
    () => encodeFrame({ opcode: WsOpcode.ping, payload: new Uint8Array(126) }),
    RangeError,
  );
  assert.throws(() => encodeFrame({ opcode: WsOpcode.close, fin: false }), RangeError);
  assert.throws(() => encodeFrame({ opcode: WsOpcode.pong, compressed: true }), RangeError);
});

Deno.test("ws frame - frames match nats-server's captured bytes", () => {
  // Hub → leaf INFO of 358 bytes: 82 7e 01 66.
  const info = encodeFrame({ opcode: WsOpcode.binary, payload: new Uint8Array(358) });
  assert.deepEqual(Array.from(info.subarray(0, 4)), [0x82, 0x7e, 0x01, 0x66]);
  // Leaf → hub masked CONNECT of 168 bytes: 82 fe 00 a8 <key>.
  const connect = encodeFrame({
    opcode: WsOpcode.binary,
    payload: new Uint8Array(168),
    mask: true,
  });
  assert.deepEqual(Array.from(connect.subarray(0, 4)), [0x82, 0xfe, 0x00, 0xa8]);
  assert.equal(connect.length, 4 + 4 + 168);
  // Uncompressed PING from a compression-enabled hub.
  assert.deepEqual(Array.from(encodeDataMessage(bytes("PING\r\n"), { compress: true })), [
    0x82,
    0x06,
    0x50,
    0x49,
    0x4e,
    0x47,
    0x0d,
    0x0a,
  ]);
});
