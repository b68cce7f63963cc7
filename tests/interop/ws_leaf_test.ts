/**
 * Leafnode links over WebSocket: a hub's `[websocket]` listener and a leaf's `ws://`/`wss://`
 * remote. Hub and leaf come from `LEAF_TEST_HUB` / `LEAF_TEST_LEAF`, so across the
 * `deno task test` passes each scenario runs Canopy ↔ Canopy, nats-server leaf → Canopy
 * listener, Canopy leaf → nats-server listener, and the reference pairing.
 *
 * - `ws://` with the listener's `compression` and the remote's `ws_compression` and
 *   `ws_no_masking`: plain messages, headers (header-only too), a payload over 64 KiB and a
 *   request/reply cross the link both ways. A relay between leaf and hub records the bytes, so
 *   the tests also see what was negotiated (upgrade path, permessage-deflate, Nats-No-Masking)
 *   and that the frames follow it (masking, RSV1).
 * - `wss://` (and `ws://` with a `tls` block): TLS with the test PKI, nothing in clear text.
 * - Canopy only: one remote mixing websocket and non-websocket URLs is a config error.
 */

import assert from "node:assert/strict";
import { stringify as stringifyToml } from "smol-toml";
import { headers } from "@nats-io/nats-core";
import type { NatsConnection } from "@nats-io/nats-core";
import { testCerts } from "../helpers/certs.ts";
import { freePort } from "../helpers/free_port.ts";
import { hubImpl, leafImpl, leafTestOptions, withTopology } from "../helpers/leaf_topology.ts";
import type { Topology } from "../helpers/leaf_topology.ts";
import { REPO_ROOT } from "../helpers/server_process.ts";
import type { ServerHandle } from "../helpers/server_process.ts";

const td = new TextDecoder();
const te = new TextEncoder();

/**
 * Over 64 KiB so that frames need the 64-bit length form; the first half is random (every byte
 * value, CR and LF included), the rest repeats so that permessage-deflate finds it worth it.
 */
const BIG_PAYLOAD = (() => {
  const bytes = new Uint8Array(70 * 1024);
  crypto.getRandomValues(bytes.subarray(0, 32 * 1024));
  const text = te.encode("canopy websocket leafnode payload; ");
  for (let at = 32 * 1024; at < bytes.length; at++) bytes[at] = text[at % text.length];
  return bytes;
})();

/** A relay, config error or request that has not answered after this is broken. */
const WAIT_MS = 5_000;

/** A CLI run that has not exited by then started serving, which is a failure here. */
const CLI_TIMEOUT_MS = 15_000;

/** Scenarios whose only subject is Canopy: run in the Canopy ↔ Canopy pass only. */
const CANOPY_ONLY = {
  ...leafTestOptions("canopy", "canopy"),
  ignore: hubImpl() !== "canopy" || leafImpl() !== "canopy",
};

/** The bytes of one relayed TCP connection, in each direction. */
interface RelayedConnection {
  readonly toHub: Uint8Array[];
  readonly toLeaf: Uint8Array[];
}

/**
 * A loopback TCP relay in front of a hub's websocket port that records every byte: the leaf
 * dials the relay, so the test sees the upgrade and the frames without touching either server.
 */
class TapRelay {
  readonly connections: RelayedConnection[] = [];
  #listener: Deno.TcpListener;
  #sockets = new Set<Deno.Conn>();
  #serving: Promise<void>;

  constructor(targetPort: number) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#serving = this.#serve(targetPort);
  }

  get port(): number {
    return this.#listener.addr.port;
  }

  async #serve(targetPort: number): Promise<void> {
    try {
      for await (const leafSide of this.#listener) {
        let hubSide: Deno.Conn;
        try {
          hubSide = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
        } catch {
          leafSide.close();
          continue;
        }
        const connection: RelayedConnection = { toHub: [], toLeaf: [] };
        this.connections.push(connection);
        this.#sockets.add(leafSide).add(hubSide);
        this.#pipe(leafSide, hubSide, connection.toHub);
        this.#pipe(hubSide, leafSide, connection.toLeaf);
      }
    } catch {
      // The listener was closed.
    }
  }

  async #pipe(from: Deno.Conn, to: Deno.Conn, record: Uint8Array[]): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buffer);
        if (n === null) break;
        const chunk = buffer.slice(0, n);
        record.push(chunk);
        for (let at = 0; at < chunk.length;) at += await to.write(chunk.subarray(at));
      }
    } catch {
      // One side went away; the other is closed below.
    } finally {
      this.#closeSocket(from);
      this.#closeSocket(to);
    }
  }

  #closeSocket(socket: Deno.Conn): void {
    if (!this.#sockets.delete(socket)) return;
    try {
      socket.close();
    } catch {
      // Already closed.
    }
  }

  async close(): Promise<void> {
    this.#listener.close();
    for (const socket of [...this.#sockets]) this.#closeSocket(socket);
    await this.#serving;
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** An HTTP head (start line plus lower-cased header fields) and the bytes after it. */
interface HttpExchange {
  startLine: string;
  fields: Map<string, string>;
  body: Uint8Array;
}

function splitHead(bytes: Uint8Array): HttpExchange | undefined {
  for (let at = 0; at + 3 < bytes.length; at++) {
    if (bytes[at] === 13 && bytes[at + 1] === 10 && bytes[at + 2] === 13 && bytes[at + 3] === 10) {
      const [startLine, ...lines] = td.decode(bytes.subarray(0, at)).split("\r\n");
      const fields = new Map<string, string>();
      for (const line of lines) {
        const colon = line.indexOf(":");
        fields.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      return { startLine, fields, body: bytes.subarray(at + 4) };
    }
  }
  return undefined;
}

/** What a test needs of one WebSocket frame header. */
interface FrameInfo {
  opcode: number;
  /** RSV1: the message is permessage-deflate compressed. */
  compressed: boolean;
  masked: boolean;
  length: number;
}

/** Walks the complete frames of a recorded stream (a torn last frame is left out). */
function framesOf(stream: Uint8Array): FrameInfo[] {
  const frames: FrameInfo[] = [];
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  let at = 0;
  while (at + 2 <= stream.length) {
    const masked = (stream[at + 1] & 0x80) !== 0;
    let length = stream[at + 1] & 0x7f;
    let header = 2;
    if (length === 126) {
      if (at + 4 > stream.length) break;
      length = view.getUint16(at + 2);
      header = 4;
    } else if (length === 127) {
      if (at + 10 > stream.length) break;
      length = Number(view.getBigUint64(at + 2));
      header = 10;
    }
    if (masked) header += 4;
    if (at + header + length > stream.length) break;
    frames.push({
      opcode: stream[at] & 0x0f,
      compressed: (stream[at] & 0x40) !== 0,
      masked,
      length,
    });
    at += header + length;
  }
  return frames;
}

/** The upgrade of one relayed connection and the frames that followed it. */
interface RelayedUpgrade {
  request: HttpExchange;
  response: HttpExchange;
  toHub: FrameInfo[];
  toLeaf: FrameInfo[];
}

/** Every relayed connection that completed its upgrade (a leaf may have dialled more). */
function relayedUpgrades(relay: TapRelay): RelayedUpgrade[] {
  const upgrades: RelayedUpgrade[] = [];
  for (const connection of relay.connections) {
    const request = splitHead(concat(connection.toHub));
    const response = splitHead(concat(connection.toLeaf));
    if (!request || !response?.startLine.includes(" 101 ")) continue;
    upgrades.push({
      request,
      response,
      toHub: framesOf(request.body),
      toLeaf: framesOf(response.body),
    });
  }
  return upgrades;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * From `from`'s server to `to`'s: a plain message, one with headers, a header-only one and
 * `BIG_PAYLOAD` arrive intact and in order.
 */
async function assertMessagesCross(
  topology: Topology,
  from: NatsConnection,
  to: NatsConnection,
  direction: string,
): Promise<void> {
  const subject = `ws.${direction}`;
  const inbox = topology.inbox(to, subject);
  await inbox.awaitInterestFrom(from);

  const withHeaders = headers();
  withHeaders.set("X-Direction", direction);
  withHeaders.append("X-Multi", "one");
  withHeaders.append("X-Multi", "two");
  from.publish(subject, "plain");
  from.publish(subject, "with headers", { headers: withHeaders });
  from.publish(subject, new Uint8Array(0), { headers: withHeaders });
  from.publish(subject, BIG_PAYLOAD);
  await inbox.waitForCount(4);

  const [plain, headed, headerOnly, big] = inbox.messages;
  assert.equal(inbox.messages.length, 4, `${direction}: nothing more arrived`);
  assert.equal(plain.string(), "plain");
  assert.equal(plain.headers, undefined, `${direction}: no headers on a plain message`);
  assert.equal(headed.string(), "with headers");
  for (const msg of [headed, headerOnly]) {
    assert.equal(msg.headers?.get("X-Direction"), direction);
    assert.deepEqual(msg.headers?.values("X-Multi"), ["one", "two"]);
  }
  assert.equal(headerOnly.data.length, 0, `${direction}: the header-only message stays empty`);
  assert.equal(big.data.length, BIG_PAYLOAD.length, `${direction}: the big payload's size`);
  assert.ok(sameBytes(big.data, BIG_PAYLOAD), `${direction}: the big payload's bytes`);
}

/** A request from the leaf side is answered by a responder on the hub side. */
async function assertRequestCrosses(
  topology: Topology,
  requester: NatsConnection,
  responder: NatsConnection,
): Promise<void> {
  responder.subscribe("ws.service", {
    callback: (_error, msg) => {
      msg.respond(`echo: ${msg.string()}`);
    },
  });
  // A later subscription's probe arriving proves the responder's interest arrived too.
  await topology.inbox(responder, "ws.service.ready").awaitInterestFrom(requester);
  const reply = await requester.request("ws.service", "ping", { timeout: WAIT_MS });
  assert.equal(reply.string(), "echo: ping");
}

/** Everything of `assertMessagesCross` both ways, plus a request/reply, over `hub` ↔ `leaf`. */
async function assertTrafficBothWays(
  topology: Topology,
  hub: ServerHandle,
  leaf: ServerHandle,
): Promise<void> {
  const onHub = await topology.client(hub);
  const onLeaf = await topology.client(leaf);
  await assertMessagesCross(topology, onHub, onLeaf, "down");
  await assertMessagesCross(topology, onLeaf, onHub, "up");
  await assertRequestCrosses(topology, onLeaf, onHub);
}

/** The `[websocket]` listener of a hub: plain text on a fixed free port. */
function plainListener(wsPort: number, compression: boolean): Record<string, unknown> {
  return { websocket: { listen: `127.0.0.1:${wsPort}`, no_tls: true, compression } };
}

interface WsCase {
  /** The hub's `websocket.compression`. */
  listenerCompression: boolean;
  /** The remote's `ws_compression`. */
  wsCompression: boolean;
  /** The remote's `ws_no_masking`. */
  wsNoMasking: boolean;
}

const WS_CASES: WsCase[] = [
  { listenerCompression: true, wsCompression: true, wsNoMasking: false },
  { listenerCompression: true, wsCompression: true, wsNoMasking: true },
  { listenerCompression: true, wsCompression: false, wsNoMasking: false },
  { listenerCompression: true, wsCompression: false, wsNoMasking: true },
  // The remote asks for compression and the listener declines: plain frames, link still up.
  { listenerCompression: false, wsCompression: true, wsNoMasking: false },
];

for (const wsCase of WS_CASES) {
  const { listenerCompression, wsCompression, wsNoMasking } = wsCase;
  const negotiated = listenerCompression && wsCompression;
  Deno.test({
    name: `ws leaf - a ws:// remote carries messages both ways (listener compression ` +
      `${listenerCompression}, ws_compression ${wsCompression}, ws_no_masking ${wsNoMasking})`,
    ...leafTestOptions(),
    fn: () =>
      withTopology(async (topology) => {
        const wsPort = freePort();
        const hub = await topology.hub(plainListener(wsPort, listenerCompression));
        const relay = new TapRelay(wsPort);
        try {
          const leaf = await topology.leaf([{
            url: `ws://127.0.0.1:${relay.port}`,
            ws_compression: wsCompression,
            ws_no_masking: wsNoMasking,
          }]);
          await assertTrafficBothWays(topology, hub, leaf);

          const upgrades = relayedUpgrades(relay);
          assert.ok(upgrades.length > 0, "the leaf upgraded through the relay");
          for (const { request, response, toHub, toLeaf } of upgrades) {
            assert.match(request.startLine, /^GET \/leafnode HTTP\/1\.1$/);
            const offer = request.fields.get("sec-websocket-extensions") ?? "";
            assert.equal(offer.includes("permessage-deflate"), wsCompression, "deflate offered");
            assert.equal(request.fields.get("nats-no-masking"), wsNoMasking ? "true" : undefined);
            const agreed = response.fields.get("sec-websocket-extensions") ?? "";
            assert.equal(agreed.includes("permessage-deflate"), negotiated, "deflate agreed");
            assert.equal(
              response.fields.get("nats-no-masking"),
              wsNoMasking ? "true" : undefined,
              "the listener echoes no-masking",
            );
            assert.ok(toHub.length > 0 && toLeaf.length > 0, "frames went both ways");
            assert.ok(
              toHub.every((frame) => frame.masked === !wsNoMasking),
              "leaf masks unless agreed",
            );
            assert.ok(toLeaf.every((frame) => !frame.masked), "the hub never masks");
          }
          // The big payload crossed both ways: compressed exactly when negotiated.
          const all = (pick: (upgrade: RelayedUpgrade) => FrameInfo[]) => upgrades.flatMap(pick);
          assert.equal(all((u) => u.toHub).some((f) => f.compressed), negotiated, "leaf → hub");
          assert.equal(all((u) => u.toLeaf).some((f) => f.compressed), negotiated, "hub → leaf");
          if (!negotiated) {
            assert.ok(
              all((u) => u.toLeaf).some((frame) => frame.length > 64 * 1024),
              "the uncompressed big message went in a frame with a 64-bit length",
            );
          }
        } finally {
          await relay.close();
        }
      }),
  });
}

/** `tls` blocks of a wss hub (the test server certificate) and of a remote (the test CA). */
async function wssBlocks(): Promise<{
  listener: Record<string, unknown>;
  remoteTls: Record<string, unknown>;
}> {
  const certs = await testCerts();
  return {
    listener: {
      websocket: {
        listen: `127.0.0.1:${freePort()}`,
        tls: { cert_file: certs.server.certFile, key_file: certs.server.keyFile },
      },
    },
    remoteTls: { ca_file: certs.ca.certFile, timeout: 2 },
  };
}

function wsPortOf(config: Record<string, unknown>): number {
  const websocket = config.websocket as { listen: string };
  return Number(websocket.listen.slice(websocket.listen.lastIndexOf(":") + 1));
}

for (const scheme of ["wss", "ws"] as const) {
  Deno.test({
    name: scheme === "wss"
      ? "ws leaf - a wss:// remote with 'tls { ca_file }' links to a TLS websocket listener"
      : "ws leaf - a ws:// remote with a tls block still starts TLS to the listener",
    ...leafTestOptions(),
    fn: () =>
      withTopology(async (topology) => {
        const { listener, remoteTls } = await wssBlocks();
        const hub = await topology.hub(listener);
        const relay = new TapRelay(wsPortOf(listener));
        try {
          const leaf = await topology.leaf([{
            url: `${scheme}://127.0.0.1:${relay.port}`,
            tls: remoteTls,
          }]);
          await assertTrafficBothWays(topology, hub, leaf);

          const used = relay.connections.filter((c) => c.toHub.length > 0);
          assert.ok(used.length > 0, "the leaf dialled through the relay");
          for (const connection of used) {
            const toHub = concat(connection.toHub);
            assert.equal(toHub[0], 0x16, "the first bytes are a TLS handshake record");
            const clear = td.decode(toHub) + td.decode(concat(connection.toLeaf));
            assert.doesNotMatch(clear, /GET \/leafnode|HTTP\/1\.1 101|ws\.(up|down)/);
          }
        } finally {
          await relay.close();
        }
      }),
  });
}

/** Runs Canopy on a config file and collects its exit code and output. */
async function runCanopyConfig(
  config: Record<string, unknown>,
): Promise<{ code: number; output: string }> {
  const path = await Deno.makeTempFile({ prefix: "canopy_ws_", suffix: ".toml" });
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), CLI_TIMEOUT_MS);
  try {
    await Deno.writeTextFile(path, stringifyToml(config));
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${REPO_ROOT}mod.ts`, "-c", path],
      cwd: REPO_ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: abort.signal,
    }).output();
    return { code, output: td.decode(stdout) + td.decode(stderr) };
  } finally {
    clearTimeout(timer);
    await Deno.remove(path).catch(() => {});
  }
}

Deno.test({
  name: "ws leaf - a remote mixing websocket and non-websocket URLs is refused at config load",
  ...CANOPY_ONLY,
  fn: async () => {
    const mixes: [key: "url" | "urls", urls: string[]][] = [
      ["urls", ["ws://127.0.0.1:7001", "nats-leaf://127.0.0.1:7002"]],
      ["url", ["nats-leaf://u:secret@127.0.0.1:7002", "wss://127.0.0.1:7003"]],
    ];
    const results = await Promise.all(mixes.map(([key, urls]) =>
      runCanopyConfig({
        port: freePort(),
        leafnodes: { port: freePort(), remotes: [{ [key]: urls }] },
      })
    ));
    results.forEach(({ code, output }, index) => {
      const [key] = mixes[index];
      assert.equal(code, 1, output);
      assert.match(output, new RegExp(`leafnodes\\.remotes\\[0\\]\\.${key}\\b`), output);
      assert.match(
        output,
        /remote leaf node configuration cannot have a mix of websocket and non-websocket urls/,
      );
      assert.doesNotMatch(output, /secret/, "the password is redacted");
      assert.doesNotMatch(output, /Server is ready/);
    });
  },
});
