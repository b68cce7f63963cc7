import assert from "node:assert/strict";
import {
  acceptWebSocket,
  connectWebSocket,
  WebSocketTransport,
  type WebSocketTransportOptions,
} from "../../actors/ws_transport.ts";
import {
  encodeCloseFrame,
  encodeDataMessage,
  encodeFrame,
  WebSocketError,
  WebSocketFrameDecoder,
  WsOpcode,
} from "../../protocol/ws_frame.ts";
import { deflateMessage } from "../../protocol/ws_deflate.ts";
import { websocketAcceptKey, WebSocketHandshakeError } from "../../protocol/ws_handshake.ts";
import { MemoryTransport } from "../helpers/memory_transport.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const bytes = (s: string): Uint8Array => te.encode(s);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

type Frame = { opcode: number; rsv1: boolean; masked: boolean; payload: Uint8Array };

/** Splits raw frames the transport wrote (unfragmented frames only) and unmasks them. */
function writtenFrames(transport: MemoryTransport): Frame[] {
  const wire = concat(...transport.written);
  const frames: Frame[] = [];
  let at = 0;
  while (at < wire.length) {
    const b0 = wire[at];
    const b1 = wire[at + 1];
    let length = b1 & 0x7f;
    let header = 2;
    if (length === 126) {
      length = (wire[at + 2] << 8) | wire[at + 3];
      header = 4;
    } else if (length === 127) {
      length = Number(new DataView(wire.buffer, wire.byteOffset + at + 2, 8).getBigUint64(0));
      header = 10;
    }
    const masked = (b1 & 0x80) !== 0;
    const key = masked ? wire.slice(at + header, at + header + 4) : undefined;
    if (masked) header += 4;
    const payload = wire.slice(at + header, at + header + length);
    if (key) payload.forEach((_, i) => (payload[i] ^= key[i % 4]));
    frames.push({ opcode: b0 & 0x0f, rsv1: (b0 & 0x40) !== 0, masked, payload });
    at += header + length;
  }
  return frames;
}

/** Reads everything until end of stream with a fixed buffer size. */
async function readAll(transport: WebSocketTransport, size: number): Promise<string> {
  const buffer = new Uint8Array(size);
  let text = "";
  for (;;) {
    const n = await transport.read(buffer);
    if (n === null) return text;
    text += td.decode(buffer.subarray(0, n));
  }
}

function wrap(inner: MemoryTransport, options: Partial<WebSocketTransportOptions> = {}) {
  return new WebSocketTransport(inner, { role: "server", ...options });
}

/**
 * Two in-memory transports wired to each other: what one writes, the other reads. Closing one
 * end does not end the other's stream, so the peer sees only what was sent (a close frame).
 */
function pipePair(): [MemoryTransport, MemoryTransport] {
  const a = new MemoryTransport();
  const b = new MemoryTransport();
  for (const [self, peer] of [[a, b], [b, a]] as const) {
    self.write = (data: Uint8Array) => {
      if (self.closed) return Promise.reject(new Deno.errors.BrokenPipe("closed"));
      self.written.push(data.slice());
      peer.push(data.slice());
      return Promise.resolve(data.length);
    };
  }
  return [a, b];
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("ws transport - read returns NATS bytes from masked frames, for any buffer size", async () => {
  const text = "INFO {}\r\nMSG foo 1 5\r\nhello\r\n";
  const wire = concat(
    encodeFrame({ opcode: WsOpcode.binary, payload: bytes(text.slice(0, 12)), mask: true }),
    encodeFrame({ opcode: WsOpcode.text, payload: bytes(text.slice(12)), mask: true }),
    encodeCloseFrame(1000, "", true),
  );
  for (const size of [1, 2, 3, 7, 16, 64, 4096]) {
    const inner = new MemoryTransport();
    inner.push(wire.slice());
    assert.equal(await readAll(wrap(inner), size), text, `buffer size ${size}`);
  }
});

Deno.test("ws transport - compressed and plain messages mix in one read, in order", async () => {
  const big = "MSG big 1 2000\r\n" + "x".repeat(2000) + "\r\n";
  const wire = concat(
    encodeFrame({ opcode: WsOpcode.binary, payload: bytes("PING\r\n"), mask: true }),
    encodeFrame({
      opcode: WsOpcode.binary,
      payload: deflateMessage(bytes(big)),
      compressed: true,
      mask: true,
    }),
    encodeFrame({ opcode: WsOpcode.binary, payload: bytes("PONG\r\n"), mask: true }),
    encodeFrame({
      opcode: WsOpcode.binary,
      payload: deflateMessage(bytes(big)),
      compressed: true,
      mask: true,
    }),
    encodeFrame({ opcode: WsOpcode.binary, payload: bytes("+OK\r\n"), mask: true }),
    encodeCloseFrame(1000, "", true),
  );
  const expected = "PING\r\n" + big + "PONG\r\n" + big + "+OK\r\n";
  for (const size of [1, 5, 6, 100, 1000, 2100, 8192]) {
    const inner = new MemoryTransport();
    inner.push(wire.slice());
    const transport = wrap(inner, { compression: true });
    assert.equal(await readAll(transport, size), expected, `buffer size ${size}`);
  }
});

Deno.test("ws transport - a ping is answered with a pong carrying its payload", async () => {
  const inner = new MemoryTransport();
  const transport = wrap(inner);
  inner.push(concat(
    encodeFrame({ opcode: WsOpcode.ping, payload: bytes("hb"), mask: true }),
    encodeFrame({ opcode: WsOpcode.binary, payload: bytes("PING\r\n"), mask: true }),
  ));
  const buffer = new Uint8Array(64);
  const n = await transport.read(buffer);
  assert.equal(td.decode(buffer.subarray(0, n!)), "PING\r\n");
  await settle();
  assert.deepEqual(writtenFrames(inner), [
    { opcode: WsOpcode.pong, rsv1: false, masked: false, payload: bytes("hb") },
  ]);
});

Deno.test("ws transport - the client side masks its pongs and data", async () => {
  const inner = new MemoryTransport();
  const transport = wrap(inner, { role: "client" });
  inner.push(encodeFrame({ opcode: WsOpcode.ping, payload: bytes("x") }));
  inner.push(encodeFrame({ opcode: WsOpcode.binary, payload: bytes("INFO {}\r\n") }));
  await transport.read(new Uint8Array(64));
  assert.equal(await transport.write(bytes("CONNECT {}\r\n")), 12);
  const frames = writtenFrames(inner);
  assert.deepEqual(frames.map((f) => [f.opcode, f.masked, td.decode(f.payload)]), [
    [WsOpcode.pong, true, "x"],
    [WsOpcode.binary, true, "CONNECT {}\r\n"],
  ]);
});

Deno.test("ws transport - no-masking turns masking off on both sides", async () => {
  const client = new MemoryTransport();
  await wrap(client, { role: "client", noMasking: true }).write(bytes("PING\r\n"));
  assert.equal(writtenFrames(client)[0].masked, false);
  const server = new MemoryTransport();
  server.push(encodeFrame({ opcode: WsOpcode.binary, payload: bytes("PING\r\n") }));
  server.push(encodeCloseFrame(1000));
  assert.equal(await readAll(wrap(server, { noMasking: true }), 64), "PING\r\n");
});

Deno.test("ws transport - a close frame is echoed, then read reports end of stream", async () => {
  const inner = new MemoryTransport();
  const transport = wrap(inner);
  inner.push(concat(
    encodeFrame({ opcode: WsOpcode.binary, payload: bytes("PUB a 0\r\n\r\n"), mask: true }),
    encodeCloseFrame(1001, "going away", true),
  ));
  const buffer = new Uint8Array(64);
  const n = await transport.read(buffer);
  assert.equal(td.decode(buffer.subarray(0, n!)), "PUB a 0\r\n\r\n", "data before the close first");
  assert.equal(await transport.read(buffer), null);
  await settle();
  const [reply] = writtenFrames(inner);
  assert.equal(reply.opcode, WsOpcode.close);
  assert.equal((reply.payload[0] << 8) | reply.payload[1], 1001);
  assert.equal(td.decode(reply.payload.subarray(2)), "going away");
  await assert.rejects(() => transport.write(bytes("x")), Deno.errors.BrokenPipe);
});

Deno.test("ws transport - an empty close frame gets an empty close frame back", async () => {
  const inner = new MemoryTransport();
  const transport = wrap(inner);
  inner.push(Uint8Array.of(0x88, 0x80, 1, 2, 3, 4));
  assert.equal(await transport.read(new Uint8Array(8)), null);
  await settle();
  assert.deepEqual(concat(...inner.written), Uint8Array.of(0x88, 0x00));
});

Deno.test("ws transport - a protocol error sends close 1002 and fails the read after the data", async () => {
  const inner = new MemoryTransport();
  const transport = wrap(inner);
  inner.push(concat(
    encodeFrame({ opcode: WsOpcode.binary, payload: bytes("PING\r\n"), mask: true }),
    encodeFrame({ opcode: WsOpcode.binary, payload: bytes("PONG\r\n") }), // unmasked
  ));
  const buffer = new Uint8Array(64);
  const n = await transport.read(buffer);
  assert.equal(td.decode(buffer.subarray(0, n!)), "PING\r\n");
  await assert.rejects(
    () => transport.read(buffer),
    (error) =>
      error instanceof WebSocketError && error.code === 1002 &&
      error.message === "mask bit missing",
  );
  await settle();
  const [close] = writtenFrames(inner);
  assert.equal(close.opcode, WsOpcode.close);
  assert.equal((close.payload[0] << 8) | close.payload[1], 1002);
  assert.equal(td.decode(close.payload.subarray(2)), "mask bit missing");
});

Deno.test("ws transport - write sends one binary frame per call, compressed when worth it", async () => {
  const inner = new MemoryTransport();
  const transport = wrap(inner, { compression: true });
  const big = "MSG foo 1 11\r\nhello world\r\n".repeat(30);
  const writes = [transport.write(bytes("PONG\r\n")), transport.write(bytes(big))];
  assert.deepEqual(await Promise.all(writes), [6, big.length]);
  const frames = writtenFrames(inner);
  assert.deepEqual(frames.map((f) => [f.opcode, f.rsv1, f.masked]), [
    [WsOpcode.binary, false, false],
    [WsOpcode.binary, true, false],
  ]);
  const seen: string[] = [];
  const decoder = new WebSocketFrameDecoder({
    onData: (payload) => seen.push(td.decode(payload)),
    onPing() {},
    onPong() {},
    onClose() {},
  }, { compression: true });
  decoder.feed(concat(...inner.written));
  assert.deepEqual(seen, ["PONG\r\n", big]);
});

Deno.test("ws transport - a later write reusing the output buffer does not corrupt an earlier one", async () => {
  const inner = new MemoryTransport();
  const transport = wrap(inner);
  const first = "A".repeat(300);
  const second = "B".repeat(200);
  await Promise.all([transport.write(bytes(first)), transport.write(bytes(second))]);
  assert.deepEqual(writtenFrames(inner).map((f) => td.decode(f.payload)), [first, second]);
});

Deno.test("ws transport - close() sends a close frame with the given status, then closes", async () => {
  const inner = new MemoryTransport();
  const transport = wrap(inner);
  transport.close(1008, "Authentication Timeout");
  transport.close();
  await settle();
  assert.equal(inner.closed, true);
  const frames = writtenFrames(inner);
  assert.equal(frames.length, 1, "one close frame even when called twice");
  assert.equal((frames[0].payload[0] << 8) | frames[0].payload[1], 1008);
  assert.equal(td.decode(frames[0].payload.subarray(2)), "Authentication Timeout");
  assert.equal(await transport.read(new Uint8Array(4)), null);
});

Deno.test("ws transport - initial bytes are decoded before the socket is read", async () => {
  const inner = new MemoryTransport();
  const first = encodeFrame({ opcode: WsOpcode.binary, payload: bytes("INFO {}\r\n") });
  const transport = new WebSocketTransport(inner, {
    role: "client",
    initialBytes: first.subarray(0, 5),
  });
  inner.push(first.subarray(5));
  inner.push(encodeCloseFrame(1000));
  assert.equal(await readAll(transport, 4), "INFO {}\r\n");
  assert.equal(transport.remoteHost, "127.0.0.1");
  assert.equal(transport.remotePort, 50000);
});

Deno.test("ws transport - acceptWebSocket and connectWebSocket talk to each other", async () => {
  const [clientSide, serverSide] = pipePair();
  const [connected, accepted] = await Promise.all([
    connectWebSocket(clientSide, {
      url: "ws://hub.example:8080/base",
      compression: true,
      noMasking: true,
      path: "/base/leafnode",
    }),
    acceptWebSocket(serverSide, { compression: true }),
  ]);
  assert.deepEqual([accepted.kind, accepted.path, accepted.compression, accepted.noMasking], [
    "leafnode",
    "/base/leafnode",
    true,
    true,
  ]);
  assert.equal(accepted.headers.get("host"), "hub.example:8080");
  assert.deepEqual([connected.compression, connected.masking], [true, false]);
  const info = "INFO " + JSON.stringify({ server_id: "x".repeat(100) }) + "\r\n";
  await accepted.transport.write(bytes(info));
  await connected.transport.write(bytes("CONNECT {}\r\nPING\r\n"));
  const buffer = new Uint8Array(4096);
  let n = await connected.transport.read(buffer);
  assert.equal(td.decode(buffer.subarray(0, n!)), info);
  n = await accepted.transport.read(buffer);
  assert.equal(td.decode(buffer.subarray(0, n!)), "CONNECT {}\r\nPING\r\n");
  connected.transport.close();
  assert.equal(await accepted.transport.read(buffer), null, "the close frame ends the stream");
  await settle();
  const reply = Array.from(concat(...serverSide.written).slice(-4));
  assert.deepEqual(reply, [0x88, 0x02, 0x03, 0xe8], "the server echoed close 1000");
});

Deno.test("ws transport - bytes that arrive with the 101 are not lost", async () => {
  const inner = new MemoryTransport();
  const pending = connectWebSocket(inner, { url: "ws://127.0.0.1:4443" });
  await settle();
  const request = td.decode(concat(...inner.written));
  const key = /Sec-WebSocket-Key: (\S+)/.exec(request)![1];
  assert.ok(request.startsWith("GET / HTTP/1.1\r\nHost: 127.0.0.1:4443\r\n"));
  inner.push(concat(
    bytes(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${websocketAcceptKey(key)}\r\n\r\n`,
    ),
    encodeDataMessage(bytes('INFO {"a":1}\r\n')),
  ));
  const { transport, masking, compression } = await pending;
  assert.deepEqual([masking, compression], [true, false]);
  const buffer = new Uint8Array(64);
  const n = await transport.read(buffer);
  assert.equal(td.decode(buffer.subarray(0, n!)), 'INFO {"a":1}\r\n');
});

Deno.test("ws transport - a refused upgrade writes the HTTP error, then throws", async () => {
  const inner = new MemoryTransport();
  inner.push("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
  await assert.rejects(
    () => acceptWebSocket(inner),
    (error) =>
      error instanceof WebSocketHandshakeError && error.status === 400 &&
      error.message === "key missing",
  );
  const response = inner.text();
  assert.ok(response.startsWith("HTTP/1.1 400 Bad Request\r\n"), response);
  assert.ok(response.endsWith("\r\n\r\nBad Request\n"));
});

Deno.test("ws transport - origin rules apply through acceptWebSocket", async () => {
  const inner = new MemoryTransport();
  inner.push(
    "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
      "Origin: http://evil.example\r\n\r\n",
  );
  await assert.rejects(
    () => acceptWebSocket(inner, { allowedOrigins: ["http://good.example"] }),
    (error) => error instanceof WebSocketHandshakeError && error.status === 403,
  );
  assert.ok(inner.text().startsWith("HTTP/1.1 403 Forbidden\r\n"));
});

Deno.test("ws transport - data sent before the 101 is refused unless allowed", async () => {
  const request = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  const early = encodeFrame({
    opcode: WsOpcode.binary,
    payload: bytes("CONNECT {}\r\n"),
    mask: true,
  });
  const refused = new MemoryTransport();
  refused.push(concat(bytes(request), early));
  await assert.rejects(
    () => acceptWebSocket(refused),
    (error) =>
      error instanceof WebSocketHandshakeError &&
      error.message === "client sent data before handshake is complete",
  );
  const allowed = new MemoryTransport();
  allowed.push(concat(bytes(request), early));
  const { transport } = await acceptWebSocket(allowed, { allowEarlyData: true });
  const buffer = new Uint8Array(64);
  const n = await transport.read(buffer);
  assert.equal(td.decode(buffer.subarray(0, n!)), "CONNECT {}\r\n");
});

Deno.test("ws transport - a peer that leaves mid-handshake is an error with status 0", async () => {
  const inner = new MemoryTransport();
  inner.push("GET / HTTP/1.1\r\nHost: h\r\n");
  const accepting = acceptWebSocket(inner);
  await settle();
  inner.close();
  await assert.rejects(
    () => accepting,
    (error) => error instanceof WebSocketHandshakeError && error.status === 0,
  );
  assert.equal(inner.written.length, 0, "nothing is answered to a peer that left");
});

Deno.test("ws transport - connectWebSocket refuses a non-websocket URL", async () => {
  await assert.rejects(
    () => connectWebSocket(new MemoryTransport(), { url: "nats://127.0.0.1:4222" }),
    TypeError,
  );
});
