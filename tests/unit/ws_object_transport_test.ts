import assert from "node:assert/strict";
import { InputOverflowError, WebSocketObjectTransport } from "../../actors/ws_object_transport.ts";

const te = new TextEncoder();
const td = new TextDecoder();

/** Just enough of a standard `WebSocket` for the transport, driven by the test. */
class FakeSocket extends EventTarget {
  readyState = 0;
  binaryType = "blob";
  bufferedAmount = 0;
  readonly sent: string[] = [];
  closedWith: { code?: number; reason?: string } | undefined;

  send(data: Uint8Array): void {
    if (this.readyState !== 1) throw new DOMException("'readyState' not OPEN", "InvalidStateError");
    this.sent.push(td.decode(data));
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = 3;
    this.dispatchEvent(new Event("close"));
  }

  open(): void {
    this.readyState = 1;
    this.dispatchEvent(new Event("open"));
  }

  receive(data: ArrayBuffer | string): void {
    this.dispatchEvent(new MessageEvent("message", { data }));
  }

  asWebSocket(): WebSocket {
    return this as unknown as WebSocket;
  }
}

function bytes(text: string): ArrayBuffer {
  return te.encode(text).buffer as ArrayBuffer;
}

async function readText(transport: WebSocketObjectTransport, size: number): Promise<string | null> {
  const buffer = new Uint8Array(size);
  const n = await transport.read(buffer);
  return n === null ? null : td.decode(buffer.subarray(0, n));
}

Deno.test("WebSocketObjectTransport - asks for array buffers and reads messages in order across small buffers", async () => {
  const socket = new FakeSocket();
  socket.open();
  const transport = new WebSocketObjectTransport(socket.asWebSocket(), {
    remoteHost: "203.0.113.7",
    remotePort: 5555,
  });
  assert.equal(socket.binaryType, "arraybuffer");
  assert.equal(transport.remoteHost, "203.0.113.7");
  assert.equal(transport.remotePort, 5555);
  socket.receive(bytes("PUB a 2\r\n"));
  socket.receive(bytes("hi\r\n"));
  assert.equal(await readText(transport, 4), "PUB ");
  assert.equal(await readText(transport, 64), "a 2\r\nhi\r\n");
});

Deno.test("WebSocketObjectTransport - a read waits for the next message and text frames count as bytes", async () => {
  const socket = new FakeSocket();
  socket.open();
  const transport = new WebSocketObjectTransport(socket.asWebSocket());
  const pending = readText(transport, 64);
  socket.receive("PING\r\n");
  assert.equal(await pending, "PING\r\n");
});

Deno.test("WebSocketObjectTransport - a close ends the stream after what was already received", async () => {
  const socket = new FakeSocket();
  socket.open();
  const transport = new WebSocketObjectTransport(socket.asWebSocket());
  socket.receive(bytes("last\r\n"));
  socket.dispatchEvent(new Event("close"));
  assert.equal(await readText(transport, 64), "last\r\n");
  assert.equal(await readText(transport, 64), null);
});

Deno.test("WebSocketObjectTransport - an error event ends a waiting read", async () => {
  const socket = new FakeSocket();
  socket.open();
  const transport = new WebSocketObjectTransport(socket.asWebSocket());
  const pending = readText(transport, 64);
  socket.dispatchEvent(new Event("error"));
  assert.equal(await pending, null);
});

Deno.test("WebSocketObjectTransport - writes before the socket opens wait for it", async () => {
  const socket = new FakeSocket();
  const transport = new WebSocketObjectTransport(socket.asWebSocket());
  const written = transport.write(te.encode("INFO {}\r\n"));
  await Promise.resolve();
  assert.deepEqual(socket.sent, []);
  socket.open();
  assert.equal(await written, 9);
  assert.deepEqual(socket.sent, ["INFO {}\r\n"]);
});

Deno.test("WebSocketObjectTransport - writes after close reject with BrokenPipe, close is idempotent", async () => {
  const socket = new FakeSocket();
  socket.open();
  const transport = new WebSocketObjectTransport(socket.asWebSocket());
  transport.close();
  transport.close();
  assert.deepEqual(socket.closedWith, { code: 1000, reason: "" });
  await assert.rejects(transport.write(te.encode("x")), Deno.errors.BrokenPipe);
  assert.equal(await readText(transport, 8), null);
});

Deno.test("WebSocketObjectTransport - a write waits while the socket holds more than the high-water mark", async () => {
  const socket = new FakeSocket();
  socket.open();
  const transport = new WebSocketObjectTransport(socket.asWebSocket(), { writeHighWaterMark: 10 });
  socket.bufferedAmount = 100;
  let done = false;
  const written = transport.write(te.encode("MSG\r\n")).then((n) => {
    done = true;
    return n;
  });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(done, false, "the write must wait for the send buffer to drain");
  socket.bufferedAmount = 0;
  assert.equal(await written, 5);
});

Deno.test("WebSocketObjectTransport - input beyond the bound closes with 1008 and fails the read", async () => {
  const socket = new FakeSocket();
  socket.open();
  const transport = new WebSocketObjectTransport(socket.asWebSocket(), { maxBufferedBytes: 8 });
  socket.receive(bytes("12345"));
  socket.receive(bytes("6789"));
  assert.equal(socket.closedWith?.code, 1008);
  await assert.rejects(transport.read(new Uint8Array(16)), InputOverflowError);
});

Deno.test("WebSocketObjectTransport - a socket that is already closed reads as ended", async () => {
  const socket = new FakeSocket();
  socket.readyState = 3;
  const transport = new WebSocketObjectTransport(socket.asWebSocket());
  assert.equal(await readText(transport, 8), null);
  await assert.rejects(transport.write(te.encode("x")), Deno.errors.BrokenPipe);
});
