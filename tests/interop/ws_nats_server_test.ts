/**
 * Our WebSocket framing and upgrade against the real nats-server 2.9.10, in both roles:
 * - we dial its `websocket {}` listener over raw Deno TCP, upgrade with `connectWebSocket()` and
 *   speak NATS through the `WebSocketTransport`, with and without compression and masking;
 * - a nats-server leaf remote with a `ws://` URL dials our `acceptWebSocket()`.
 * Plus the real nats.js `wsconnect` client against a tiny NATS-ish server built on
 * `acceptWebSocket()` (no nats-server needed for that one).
 */

import assert from "node:assert/strict";
import { wsconnect } from "@nats-io/nats-core";
import { TcpTransport, type Transport } from "../../actors/transport.ts";
import {
  acceptWebSocket,
  connectWebSocket,
  WebSocketTransport,
} from "../../actors/ws_transport.ts";
import { freePort } from "../helpers/free_port.ts";
import { type ServerHandle, serverTestOptions, startServer } from "../helpers/server_process.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const NATS_SERVER_ONLY = serverTestOptions("nats-server");
const READ_TIMEOUT_MS = 5_000;

/** Records the raw bytes that cross a transport, to look at the frames themselves. */
class TapTransport implements Transport {
  readonly inbound: Uint8Array[] = [];
  readonly outbound: Uint8Array[] = [];
  #inner: Transport;

  constructor(inner: Transport) {
    this.#inner = inner;
  }

  get remoteHost(): string {
    return this.#inner.remoteHost;
  }

  get remotePort(): number {
    return this.#inner.remotePort;
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    const n = await this.#inner.read(buffer);
    if (n !== null) this.inbound.push(buffer.slice(0, n));
    return n;
  }

  async write(data: Uint8Array): Promise<number> {
    const n = await this.#inner.write(data);
    this.outbound.push(data.slice(0, n));
    return n;
  }

  close(): void {
    this.#inner.close();
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

interface FrameHeader {
  b0: number;
  masked: boolean;
  length: number;
  payload: Uint8Array;
}

/** Walks the frames in `wire` (starting at `from`), reading only their headers. */
function frameHeaders(wire: Uint8Array, from = 0): FrameHeader[] {
  const frames: FrameHeader[] = [];
  let at = from;
  while (at + 2 <= wire.length) {
    const b0 = wire[at];
    const masked = (wire[at + 1] & 0x80) !== 0;
    let length = wire[at + 1] & 0x7f;
    let header = 2;
    if (length === 126) {
      length = (wire[at + 2] << 8) | wire[at + 3];
      header = 4;
    } else if (length === 127) {
      length = Number(new DataView(wire.buffer, wire.byteOffset + at + 2, 8).getBigUint64(0));
      header = 10;
    }
    if (masked) header += 4;
    frames.push({ b0, masked, length, payload: wire.subarray(at + header, at + header + length) });
    at += header + length;
  }
  return frames;
}

/** Offset just past the HTTP head at the start of `wire`. */
function afterHead(wire: Uint8Array): number {
  const text = td.decode(wire.subarray(0, Math.min(wire.length, 4096)));
  return te.encode(text.slice(0, text.indexOf("\r\n\r\n") + 4)).length;
}

class ReadTimeoutError extends Error {
  override name = "ReadTimeoutError";
}

/** Accumulates text read from a transport and waits for pieces of it. */
class TextReader {
  text = "";
  #transport: Transport;
  #buffer = new Uint8Array(16 * 1024);
  #ended = false;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Reads until `needle` is in the text (or the stream ends), failing after a timeout. */
  async until(needle: string, timeoutMs = READ_TIMEOUT_MS): Promise<string> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ReadTimeoutError(`No "${needle}" within ${timeoutMs} ms: ${this.text}`)),
        timeoutMs,
      );
    });
    try {
      while (!this.text.includes(needle) && !this.#ended) {
        const n = await Promise.race([this.#transport.read(this.#buffer), timeout]);
        if (n === null) this.#ended = true;
        else this.text += td.decode(this.#buffer.subarray(0, n));
      }
      return this.text;
    } finally {
      clearTimeout(timer);
    }
  }
}

async function withWebsocketServer(
  compression: boolean,
  body: (server: ServerHandle, wsPort: number) => Promise<void>,
): Promise<void> {
  const wsPort = freePort();
  const server = await startServer(
    { websocket: { listen: `127.0.0.1:${wsPort}`, no_tls: true, compression } },
    { impl: "nats-server" },
  );
  try {
    await body(server, wsPort);
  } finally {
    await server.stop();
  }
}

for (const compression of [false, true]) {
  for (const noMasking of [false, true]) {
    Deno.test({
      name: `ws interop - NATS over our frames to nats-server (compression ${compression}, ` +
        `no-masking ${noMasking})`,
      ...NATS_SERVER_ONLY,
      fn: () =>
        withWebsocketServer(compression, async (_server, wsPort) => {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port: wsPort });
          const tap = new TapTransport(new TcpTransport(conn));
          const connected = await connectWebSocket(tap, {
            url: `ws://127.0.0.1:${wsPort}`,
            compression: true,
            noMasking,
          });
          const ws = connected.transport;
          try {
            assert.equal(connected.compression, compression, "compression only when enabled");
            assert.equal(connected.masking, !noMasking, "nats-server agrees to no-masking");
            assert.equal(
              connected.headers.get("nats-no-masking"),
              noMasking ? "true" : undefined,
            );

            const reader = new TextReader(ws);
            const info = await reader.until("\r\n");
            assert.match(info, /^INFO \{.*"max_payload":1048576.*\} \r\n$/);
            reader.text = "";

            const big = "0123456789abcdef".repeat(200); // 3200 bytes, compresses well
            await ws.write(te.encode(
              'CONNECT {"verbose":false,"pedantic":false,"protocol":1,"headers":true}\r\n' +
                "SUB ws.test 1\r\nPING\r\n",
            ));
            await reader.until("PONG\r\n");
            reader.text = "";
            await ws.write(
              te.encode(`PUB ws.test 5\r\nhello\r\nPUB ws.test ${big.length}\r\n${big}\r\n`),
            );
            await ws.write(te.encode("PING\r\n"));
            const received = await reader.until("PONG\r\n");
            assert.equal(
              received,
              `MSG ws.test 1 5\r\nhello\r\nMSG ws.test 1 ${big.length}\r\n${big}\r\nPONG\r\n`,
            );

            // What went over the wire: our frames masked or not, compressed when negotiated,
            // and nats-server's frames compressed too once messages are big enough.
            const sent = frameHeaders(concat(tap.outbound), afterHead(concat(tap.outbound)));
            assert.ok(sent.length >= 3);
            assert.ok(sent.every((frame) => frame.masked === !noMasking), "masking as agreed");
            const sentBig = sent.find((frame) => (frame.b0 & 0x40) !== 0);
            assert.equal(sentBig !== undefined, compression, "our big PUB went compressed");
            const inbound = concat(tap.inbound);
            const got = frameHeaders(inbound, afterHead(inbound));
            assert.ok(got.every((frame) => !frame.masked), "servers never mask");
            assert.equal(
              got.some((frame) => frame.b0 === 0xc2),
              compression,
              "nats-server compresses large flushes when negotiated",
            );
            if (compression) {
              assert.ok(
                got.some((frame) => frame.b0 === 0x82 && frame.length === 6),
                "and leaves PONG (6 bytes) uncompressed",
              );
            }
          } finally {
            ws.close();
          }
        }),
    });
  }
}

Deno.test({
  name: "ws interop - nats-server drops a client whose frames are unmasked without agreement",
  ...NATS_SERVER_ONLY,
  fn: () =>
    withWebsocketServer(false, async (server, wsPort) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: wsPort });
      const tap = new TapTransport(new TcpTransport(conn));
      const connected = await connectWebSocket(tap, { url: `ws://127.0.0.1:${wsPort}` });
      assert.equal(connected.masking, true);
      await new TextReader(connected.transport).until("\r\n");
      // Pretend no-masking was agreed: our frames go out unmasked.
      const rogue = new WebSocketTransport(tap, { role: "client", noMasking: true });
      await rogue.write(te.encode("PING\r\n"));
      const reader = new TextReader(rogue);
      await reader.until("never arrives");
      assert.equal(reader.ended, true, "nats-server ends the connection");
      assert.equal(reader.text, "", "no PONG: the PING was never parsed");
      await server.waitForLog("read error: mask bit missing");
      // 2.9.10 closes the socket without flushing its close frame; a later version may send
      // one, and then it must carry 1002 and the same text.
      const inbound = concat(tap.inbound);
      const close = frameHeaders(inbound, afterHead(inbound)).find((f) => (f.b0 & 0x0f) === 8);
      if (close) {
        assert.equal((close.payload[0] << 8) | close.payload[1], 1002);
        assert.equal(td.decode(close.payload.subarray(2)), "mask bit missing");
      }
      rogue.close();
    }),
});

for (const [compression, noMasking] of [[true, true], [false, false]]) {
  Deno.test({
    name: `ws interop - a nats-server ws:// leaf remote upgrades through acceptWebSocket ` +
      `(ws_compression ${compression}, ws_no_masking ${noMasking})`,
    ...NATS_SERVER_ONLY,
    fn: async () => {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = listener.addr.port;
      const accepting = listener.accept();
      accepting.catch(() => {}); // observed below; this only silences a failed start
      let server: ServerHandle | undefined;
      let ws: WebSocketTransport | undefined;
      try {
        server = await startServer({
          leafnodes: {
            remotes: [{
              url: `ws://127.0.0.1:${port}`,
              ws_compression: compression,
              ws_no_masking: noMasking,
            }],
          },
        }, { impl: "nats-server" });
        const tap = new TapTransport(new TcpTransport(await accepting));
        const accepted = await acceptWebSocket(tap, { compression: true });
        ws = accepted.transport;
        assert.equal(accepted.kind, "leafnode");
        assert.equal(accepted.path, "/leafnode");
        assert.equal(accepted.compression, compression);
        assert.equal(accepted.noMasking, noMasking);
        assert.equal(accepted.headers.get("user-agent"), "Go-http-client/1.1");

        const info = {
          server_id: "NCANOPYWSTEST",
          version: "2.9.10",
          proto: 1,
          headers: true,
          max_payload: 1048576,
          client_id: 1,
          leafnode_urls: [`127.0.0.1:${port}`],
        };
        await ws.write(te.encode(`INFO ${JSON.stringify(info)}\r\n`));
        const reader = new TextReader(ws);
        const text = await reader.until("PING\r\n");
        const connectLine = text.split("\r\n").find((line) => line.startsWith("CONNECT "));
        assert.ok(connectLine, `a CONNECT arrived: ${text}`);
        const connect = JSON.parse(connectLine.slice("CONNECT ".length));
        assert.equal(connect.headers, true);
        assert.equal(typeof connect.name, "string");

        const frames = frameHeaders(concat(tap.inbound), afterHead(concat(tap.inbound)));
        assert.ok(frames.length > 0);
        assert.ok(frames.every((frame) => frame.masked === !noMasking), "masked unless agreed");
        assert.equal(
          frames.some((frame) => (frame.b0 & 0x40) !== 0),
          compression,
          "the remote's CONNECT went compressed when negotiated",
        );
      } finally {
        ws?.close();
        listener.close();
        await server?.stop();
      }
    },
  });
}

/**
 * Just enough of a NATS server for a client's connect, subscribe, publish and flush: INFO,
 * PONG for PING, MSG for each PUB to a subscribed subject.
 */
async function serveTinyNats(transport: Transport): Promise<void> {
  await transport.write(te.encode(
    'INFO {"server_id":"TINY","version":"2.9.10","proto":1,"headers":false,"max_payload":1048576}\r\n',
  ));
  const subs = new Map<string, string[]>();
  const buffer = new Uint8Array(4096);
  let text = "";
  for (;;) {
    const n = await transport.read(buffer).catch(() => null);
    if (n === null) return;
    text += td.decode(buffer.subarray(0, n));
    for (;;) {
      const eol = text.indexOf("\r\n");
      if (eol < 0) break;
      const [op, ...args] = text.slice(0, eol).split(" ");
      const verb = op.toUpperCase();
      if (verb === "PUB") {
        const size = Number(args.at(-1));
        if (text.length < eol + 2 + size + 2) break;
        const payload = text.slice(eol + 2, eol + 2 + size);
        text = text.slice(eol + 2 + size + 2);
        for (const sid of subs.get(args[0]) ?? []) {
          const reply = args.length === 3 ? ` ${args[1]}` : "";
          await transport.write(
            te.encode(`MSG ${args[0]} ${sid}${reply} ${size}\r\n${payload}\r\n`),
          );
        }
        continue;
      }
      text = text.slice(eol + 2);
      if (verb === "PING") await transport.write(te.encode("PONG\r\n"));
      if (verb === "SUB") subs.set(args[0], [...(subs.get(args[0]) ?? []), args.at(-1)!]);
    }
  }
}

Deno.test({
  name: "ws interop - the nats.js wsconnect client works against acceptWebSocket",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const accepted: { path: string; noMasking: boolean }[] = [];
    const serving = (async () => {
      for await (const conn of listener) {
        const raw = new TcpTransport(conn);
        const upgrade = await acceptWebSocket(raw, { compression: true }).catch(() => undefined);
        if (!upgrade) {
          raw.close();
          continue;
        }
        accepted.push({ path: upgrade.path, noMasking: upgrade.noMasking });
        serveTinyNats(upgrade.transport).finally(() => upgrade.transport.close());
      }
    })().catch(() => {});
    try {
      const nc = await wsconnect({ servers: `ws://127.0.0.1:${listener.addr.port}` });
      const sub = nc.subscribe("echo.test", { max: 1 });
      nc.publish("echo.test", "over websocket");
      await nc.flush();
      let got = "";
      for await (const msg of sub) got = msg.string();
      assert.equal(got, "over websocket");
      await nc.close();
      assert.deepEqual(accepted, [{ path: "/", noMasking: false }]);
    } finally {
      listener.close();
      await serving;
    }
  },
});
