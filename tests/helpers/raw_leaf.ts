/**
 * Scripted leafnode peers for wire-level tests: a fake leaf that dials a real hub's leafnode
 * port, and a fake hub that a real leaf's remote dials. Both speak the leafnode protocol by
 * hand through `LeafWire`, so tests can assert on the exact INFO, CONNECT, LS+/LS- and LMSG
 * text the server under test sends, and can send it things a real peer never would.
 *
 * Peer PINGs are answered with PONG automatically and never returned as ops, since both
 * implementations ping a new leaf connection about a second after it is set up.
 *
 * @example
 * ```ts
 * import { dialFakeLeaf } from "./raw_leaf.ts";
 * const leaf = await dialFakeLeaf(7422);
 * const { connectInfo, dump } = await leaf.connect({ name: "FAKE" });
 * console.log(connectInfo.remote_account, dump.map((op) => op.line));
 * await leaf.dispose();
 * ```
 *
 * @module
 */

import { connectRaw, parseInfo, RawClient } from "./raw_client.ts";

/** How long a read waits by default. */
const DEFAULT_READ_TIMEOUT_MS = 2_000;

/** Raised when the peer sends something the script did not expect. */
export class LeafWireError extends Error {
  override name = "LeafWireError";
}

/** One protocol operation read from the peer. */
export interface LeafOp {
  /** Upper-cased operation name: `INFO`, `CONNECT`, `LS+`, `LS-`, `LMSG`, `HMSG`, `-ERR`, … */
  op: string;
  /**
   * Arguments split on blanks; for `INFO`, `CONNECT` and `-ERR` one argument with the rest of
   * the line.
   */
  args: string[];
  /** The control line without its CRLF. */
  line: string;
  /** LMSG/HMSG payload (headers and body) without the trailing CRLF. */
  payload?: string;
}

/** Ops whose argument is the rest of the line (JSON or quoted text), not blank-separated. */
const WHOLE_LINE_OPS = new Set(["INFO", "CONNECT", "-ERR"]);

function parseControlLine(line: string): LeafOp {
  const trimmed = line.trim();
  const space = trimmed.search(/[ \t]/);
  const op = (space < 0 ? trimmed : trimmed.slice(0, space)).toUpperCase();
  const rest = space < 0 ? "" : trimmed.slice(space).trim();
  if (WHOLE_LINE_OPS.has(op)) return { op, args: rest === "" ? [] : [rest], line };
  return { op, args: rest === "" ? [] : rest.split(/[ \t]+/), line };
}

/** The payload size an LMSG/HMSG control line announces (its last argument). */
function payloadSize(op: LeafOp): number {
  const size = Number(op.args.at(-1));
  if (!Number.isInteger(size) || size < 0) {
    throw new LeafWireError(`Cannot read payload: bad size in ${JSON.stringify(op.line)}`);
  }
  return size;
}

/**
 * A leafnode connection read op by op. Wraps a `RawClient` (so bytes are latin1 text, one
 * character per byte).
 */
export class LeafWire {
  readonly raw: RawClient;
  #autoPong: boolean;

  constructor(raw: RawClient, options: { autoPong?: boolean } = {}) {
    this.raw = raw;
    this.#autoPong = options.autoPong ?? true;
  }

  /** True once the peer closed the connection. */
  get closed(): boolean {
    return this.raw.closed;
  }

  /** Writes protocol text as is. */
  send(text: string): Promise<void> {
    return this.raw.send(text);
  }

  /** Reads the next op (answering and skipping peer PINGs). */
  async nextOp(timeoutMs = DEFAULT_READ_TIMEOUT_MS): Promise<LeafOp> {
    while (true) {
      const line = (await this.raw.readUntil("\r\n", timeoutMs)).slice(0, -2);
      const op = parseControlLine(line);
      if (op.op === "PING" && this.#autoPong) {
        await this.send("PONG\r\n");
        continue;
      }
      if (op.op === "LMSG" || op.op === "HMSG") op.payload = await this.#readPayload(op, timeoutMs);
      return op;
    }
  }

  /**
   * Reads `size` bytes plus CRLF. `RawClient` only reads up to a delimiter, and every chunk
   * up to a CRLF ends on one, so whole CRLF-terminated chunks add up to exactly size + 2.
   */
  async #readPayload(op: LeafOp, timeoutMs: number): Promise<string> {
    const size = payloadSize(op);
    let payload = "";
    while (payload.length < size + 2) payload += await this.raw.readUntil("\r\n", timeoutMs);
    if (payload.length !== size + 2) {
      throw new LeafWireError(
        `Cannot read payload: ${JSON.stringify(op.line)} announced ${size} bytes, ` +
          `got ${JSON.stringify(payload)}`,
      );
    }
    return payload.slice(0, -2);
  }

  /**
   * Reads ops until one satisfies `match` (a predicate, a regular expression tested against
   * the control line, or an exact control line). Returns every op read, the match last.
   */
  async readUntilOp(
    match: string | RegExp | ((op: LeafOp) => boolean),
    timeoutMs = DEFAULT_READ_TIMEOUT_MS,
  ): Promise<LeafOp[]> {
    const test = typeof match === "function"
      ? match
      : typeof match === "string"
      ? (op: LeafOp) => op.line === match
      : (op: LeafOp) => match.test(op.line);
    const deadline = performance.now() + timeoutMs;
    const seen: LeafOp[] = [];
    while (true) {
      const left = Math.max(1, deadline - performance.now());
      let op: LeafOp;
      try {
        op = await this.nextOp(left);
      } catch (error) {
        throw new LeafWireError(
          `Cannot find ${String(match)}; read before giving up: ` +
            JSON.stringify(seen.map((o) => o.line)),
          { cause: error },
        );
      }
      seen.push(op);
      if (test(op)) return seen;
    }
  }

  /**
   * Sends PING and returns every op the peer sent before its PONG: whatever the peer had
   * queued for us before it processed our PING.
   */
  async sync(timeoutMs = DEFAULT_READ_TIMEOUT_MS): Promise<LeafOp[]> {
    await this.send("PING\r\n");
    const ops = await this.readUntilOp((op) => op.op === "PONG", timeoutMs);
    return ops.slice(0, -1);
  }

  /** Waits for the peer to close and returns the text it sent before. */
  expectClosed(timeoutMs = DEFAULT_READ_TIMEOUT_MS): Promise<string> {
    return this.raw.expectClosed(timeoutMs);
  }

  /** Closes the socket and waits for the reader to stop. */
  dispose(): Promise<void> {
    return this.raw.dispose();
  }
}

/** Lines of `ops`, e.g. for `assert.deepEqual`. */
export function lines(ops: LeafOp[]): string[] {
  return ops.map((op) => op.line);
}

/** Parses a CONNECT or INFO op's JSON argument. */
export function jsonArg(op: LeafOp): Record<string, unknown> {
  if (op.args.length !== 1) {
    throw new LeafWireError(`Cannot parse JSON: no argument in ${JSON.stringify(op.line)}`);
  }
  return JSON.parse(op.args[0]);
}

/** What a hub answers to the fake leaf's CONNECT. */
export interface ConnectResult {
  /** The INFO with `connect_info: true`. */
  connectInfo: Record<string, unknown>;
  /** The hub's initial interest dump: every op between that INFO and the PONG. */
  dump: LeafOp[];
}

/** A fake leaf connected to a hub's leafnode port; `info` is the hub's first INFO. */
export class FakeLeaf extends LeafWire {
  readonly info: Record<string, unknown>;

  constructor(raw: RawClient, info: Record<string, unknown>) {
    super(raw);
    this.info = info;
  }

  /**
   * Sends `CONNECT <fields>` and a PING, then reads the `connect_info` INFO and the interest
   * dump up to the PONG. Throws when the hub answers anything else first (e.g. `-ERR`).
   */
  async connect(
    fields: Record<string, unknown> = {},
    timeoutMs = DEFAULT_READ_TIMEOUT_MS,
  ): Promise<ConnectResult> {
    await this.send(`CONNECT ${JSON.stringify(fields)}\r\nPING\r\n`);
    const first = await this.nextOp(timeoutMs);
    if (first.op !== "INFO") {
      throw new LeafWireError(`Cannot connect: the hub answered ${JSON.stringify(first.line)}`);
    }
    const connectInfo = jsonArg(first);
    const ops = await this.readUntilOp((op) => op.op === "PONG", timeoutMs);
    return { connectInfo, dump: ops.slice(0, -1) };
  }
}

/** Dials `port` on 127.0.0.1 and reads the hub's first INFO. */
export async function dialFakeLeaf(port: number): Promise<FakeLeaf> {
  const raw = await connectRaw(port);
  try {
    const info = parseInfo(await raw.readUntil("\r\n"));
    return new FakeLeaf(raw, info);
  } catch (error) {
    await raw.dispose();
    throw error;
  }
}

/** A fixed 15-character nonce, the length nats-server uses. */
export const FAKE_NONCE = "abcdefghijklmno";

/**
 * The INFO a nats-server 2.9.10 hub sends first, for `port`, with `overrides` applied
 * (a field set to `undefined` is left out).
 */
export function hubInfo(port: number, overrides: Record<string, unknown> = {}) {
  const info: Record<string, unknown> = {
    server_id: "NFAKEHUB0000000000000000000000000000000000000000000000000",
    server_name: "FAKEHUB",
    version: "2.9.10",
    proto: 1,
    go: "go1.19.8",
    host: "127.0.0.1",
    port,
    headers: true,
    auth_required: true,
    max_payload: 1048576,
    ip: `127.0.0.1:${port}`,
    client_id: 1,
    nonce: FAKE_NONCE,
    info_on_connect: true,
    leafnode_urls: [`127.0.0.1:${port}`],
    ...overrides,
  };
  for (const [key, value] of Object.entries(info)) if (value === undefined) delete info[key];
  return info;
}

/** One connection a real leaf opened to a `FakeHub`. */
export class HubSideConnection extends LeafWire {
  /** Sends `INFO <json> \r\n` the way nats-server writes it (a blank before CRLF). */
  sendInfo(info: Record<string, unknown>): Promise<void> {
    return this.send(`INFO ${JSON.stringify(info)} \r\n`);
  }

  /** Reads the leaf's CONNECT and returns its JSON. */
  async readConnect(timeoutMs = DEFAULT_READ_TIMEOUT_MS): Promise<Record<string, unknown>> {
    const op = await this.nextOp(timeoutMs);
    if (op.op !== "CONNECT") {
      throw new LeafWireError(`Cannot read CONNECT: the leaf sent ${JSON.stringify(op.line)}`);
    }
    return jsonArg(op);
  }
}

/**
 * A listener on a free loopback port standing in for a hub. A remote pointed at it reconnects
 * after every close, so each `accept()` returns the next attempt.
 */
export class FakeHub {
  readonly port: number;
  #listener: Deno.TcpListener;
  #connections = new Set<HubSideConnection>();
  #pending: Promise<Deno.TcpConn> | undefined;

  constructor(listener: Deno.TcpListener) {
    this.#listener = listener;
    this.port = listener.addr.port;
  }

  /** The `nats-leaf://` URL for a remote. */
  get url(): string {
    return `nats-leaf://127.0.0.1:${this.port}`;
  }

  /** Waits for the next connection from a leaf; rejects after `timeoutMs`. */
  async accept(timeoutMs = 5_000): Promise<HubSideConnection> {
    this.#pending ??= this.#listener.accept();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new LeafWireError(`Cannot accept a leaf connection within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      const conn = await Promise.race([this.#pending, timeout]);
      this.#pending = undefined;
      conn.setNoDelay(true);
      const connection = new HubSideConnection(new RawClient(conn));
      this.#connections.add(connection);
      return connection;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Accepts a leaf and plays a 2.9.10 hub up to the end of the handshake: first INFO, read
   * CONNECT, `connect_info` INFO with `remote_account`, then `hubDump` lines. Returns the
   * connection and the leaf's CONNECT.
   */
  async acceptAndHandshake(
    options: { info?: Record<string, unknown>; remoteAccount?: string; hubDump?: string[] } = {},
  ): Promise<{ connection: HubSideConnection; connect: Record<string, unknown> }> {
    const connection = await this.accept();
    const info = hubInfo(this.port, options.info);
    await connection.sendInfo(info);
    const connect = await connection.readConnect();
    const { nonce: _nonce, ...rest } = info;
    await connection.sendInfo({
      ...rest,
      connect_info: true,
      remote_account: options.remoteAccount ?? "$G",
    });
    const dump = options.hubDump ?? [];
    if (dump.length > 0) await connection.send(dump.map((line) => `${line}\r\n`).join(""));
    return { connection, connect };
  }

  /** Closes every accepted connection and the listener. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#connections].map((c) => c.dispose()));
    this.#connections.clear();
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    await this.#pending?.catch(() => {});
  }
}

/** Opens a `FakeHub` on a free loopback port. */
export function listenFakeHub(): FakeHub {
  return new FakeHub(Deno.listen({ hostname: "127.0.0.1", port: 0, transport: "tcp" }));
}

/** The fake leaf's own subjects for barriers; the hub sees them as ordinary interest. */
const MARK_PREFIX = "fake.mark";
const BARRIER_REQUEST = "barrier.req";
const BARRIER_REPLY_PREFIX = "fake.barrier";
const BARRIER_SID = "999999";

/** What each side received while a `HubHarness` step ran. */
export interface StepResult {
  /** Ops the fake leaf received (LS+, LS-, LMSG, HMSG, …), barrier traffic removed. */
  leaf: LeafOp[];
  /** Raw text the hub client received (MSG/HMSG lines and payloads), barrier traffic removed. */
  client: string;
}

/**
 * A hub under test with a fake leaf on its leafnode port and a raw client on its client port,
 * plus barriers that tell when the hub has finished reacting to a step, so a test can assert
 * that something did NOT happen. Barriers use traffic through the hub on the same paths:
 * a step's effects are always queued ahead of the barrier's.
 *
 * @example
 * ```ts
 * import { HubHarness } from "./raw_leaf.ts";
 * const harness = await HubHarness.open(4222, 7422);
 * const { leaf } = await harness.clientStep("SUB foo 1\r\n");
 * console.log(leaf.map((op) => op.line)); // ["LS+ foo"]
 * await harness.dispose();
 * ```
 */
export class HubHarness {
  readonly leaf: FakeLeaf;
  readonly client: RawClient;
  /** The hub's answer to the fake leaf's CONNECT. */
  readonly connected: ConnectResult;
  #step = 0;

  private constructor(leaf: FakeLeaf, client: RawClient, connected: ConnectResult) {
    this.leaf = leaf;
    this.client = client;
    this.connected = connected;
  }

  /**
   * Connects a raw client (headers on) to `clientPort` and a fake leaf to `leafPort`, sends
   * `connect` as the leaf's CONNECT, and sets up the barrier subjects.
   */
  static async open(
    clientPort: number,
    leafPort: number,
    connect: Record<string, unknown> = { name: "FAKE", headers: true },
  ): Promise<HubHarness> {
    const client = await connectRaw(clientPort);
    let leaf: FakeLeaf | undefined;
    try {
      await client.handshake({ headers: true });
      await client.send(`SUB ${BARRIER_REQUEST} ${BARRIER_SID}\r\nPING\r\n`);
      await client.readUntil("PONG\r\n");
      leaf = await dialFakeLeaf(leafPort);
      const connected = await leaf.connect(connect);
      await leaf.send(`LS+ ${MARK_PREFIX}.>\r\nLS+ ${BARRIER_REPLY_PREFIX}.>\r\n`);
      await leaf.sync();
      return new HubHarness(leaf, client, connected);
    } catch (error) {
      await Promise.all([client.dispose(), leaf?.dispose()]);
      throw error;
    }
  }

  /**
   * The hub client sends `text`, then publishes a mark the fake leaf subscribed to, then
   * PINGs. Returns the ops the leaf got before the mark and the client's text before its
   * PONG: the hub's reaction to `text`.
   */
  async clientStep(text: string): Promise<StepResult> {
    const mark = `${MARK_PREFIX}.${++this.#step}`;
    await this.client.send(`${text}PUB ${mark} 0\r\n\r\nPING\r\n`);
    const ops = await this.leaf.readUntilOp(`LMSG ${mark} 0`);
    const received = await this.client.readUntil("PONG\r\n");
    return { leaf: ops.slice(0, -1), client: received.slice(0, -"PONG\r\n".length) };
  }

  /**
   * The fake leaf sends `text`, then a request to the hub client, which answers it. Returns
   * what the client got before the request and what the leaf got before the answer.
   */
  async leafStep(text: string): Promise<StepResult> {
    const reply = `${BARRIER_REPLY_PREFIX}.${++this.#step}`;
    await this.leaf.send(`${text}LMSG ${BARRIER_REQUEST} ${reply} 0\r\n\r\n`);
    const request = `MSG ${BARRIER_REQUEST} ${BARRIER_SID} ${reply} 0\r\n\r\n`;
    const received = await this.client.readUntil(request);
    await this.client.send(`PUB ${reply} 0\r\n\r\n`);
    const ops = await this.leaf.readUntilOp(`LMSG ${reply} 0`);
    return { leaf: ops.slice(0, -1), client: received.slice(0, -request.length) };
  }

  /** Closes both connections. */
  async dispose(): Promise<void> {
    await Promise.all([this.leaf.dispose(), this.client.dispose()]);
  }
}

/** The fake hub's own subjects for barriers; the leaf sees them as ordinary interest. */
const HUB_MARK_PREFIX = "hub.mark";

/**
 * A leaf under test connected to a `FakeHub`, plus a raw client on the leaf's client port, and
 * barriers in both directions like `HubHarness`'s. The fake hub has announced interest in its
 * mark and barrier subjects before the test starts.
 *
 * @example
 * ```ts
 * import { LeafHarness, listenFakeHub } from "./raw_leaf.ts";
 * const fakeHub = listenFakeHub();
 * // ... start a leaf whose remote dials fakeHub.url, with its client port on 4222 ...
 * const harness = await LeafHarness.open(fakeHub, 4222);
 * const { hub } = await harness.clientStep("SUB foo 1\r\n");
 * console.log(hub.map((op) => op.line)); // ["LS+ foo"]
 * await harness.dispose();
 * ```
 */
export class LeafHarness {
  readonly hub: HubSideConnection;
  readonly client: RawClient;
  /** The leaf's CONNECT. */
  readonly connect: Record<string, unknown>;
  /** The leaf's initial interest dump (up to the PONG for the fake hub's first PING). */
  readonly dump: LeafOp[];
  #step = 0;

  private constructor(
    hub: HubSideConnection,
    client: RawClient,
    connect: Record<string, unknown>,
    dump: LeafOp[],
  ) {
    this.hub = hub;
    this.client = client;
    this.connect = connect;
    this.dump = dump;
  }

  /**
   * Accepts the leaf's connection on `fakeHub`, completes the handshake (with `hubDump` sent
   * after the `connect_info` INFO), reads the leaf's dump, and connects a raw client (headers
   * on) to the leaf's `clientPort`.
   */
  static async open(
    fakeHub: FakeHub,
    clientPort: number,
    options: { info?: Record<string, unknown>; remoteAccount?: string; hubDump?: string[] } = {},
  ): Promise<LeafHarness> {
    const { connection, connect } = await fakeHub.acceptAndHandshake({
      ...options,
      hubDump: [
        `LS+ ${HUB_MARK_PREFIX}.>`,
        `LS+ ${BARRIER_REPLY_PREFIX}.>`,
        ...(options.hubDump ?? []),
      ],
    });
    const dump = await connection.sync();
    const client = await connectRaw(clientPort);
    try {
      await client.handshake({ headers: true });
      await client.send(`SUB ${BARRIER_REQUEST} ${BARRIER_SID}\r\nPING\r\n`);
      await client.readUntil("PONG\r\n");
      // The client's barrier subscription goes to the hub as well.
      await connection.readUntilOp(`LS+ ${BARRIER_REQUEST}`);
    } catch (error) {
      await client.dispose();
      throw error;
    }
    return new LeafHarness(connection, client, connect, dump);
  }

  /**
   * The leaf client sends `text`, then publishes a mark the fake hub subscribed to, then
   * PINGs. Returns the ops the hub got before the mark and the client's text before its PONG.
   */
  async clientStep(text: string): Promise<{ hub: LeafOp[]; client: string }> {
    const mark = `${HUB_MARK_PREFIX}.${++this.#step}`;
    await this.client.send(`${text}PUB ${mark} 0\r\n\r\nPING\r\n`);
    const ops = await this.hub.readUntilOp(`LMSG ${mark} 0`);
    const received = await this.client.readUntil("PONG\r\n");
    return { hub: ops.slice(0, -1), client: received.slice(0, -"PONG\r\n".length) };
  }

  /**
   * The fake hub sends `text`, then a request to the leaf client, which answers it. Returns
   * what the client got before the request and what the hub got before the answer.
   */
  async hubStep(text: string): Promise<{ hub: LeafOp[]; client: string }> {
    const reply = `${BARRIER_REPLY_PREFIX}.${++this.#step}`;
    await this.hub.send(`${text}LMSG ${BARRIER_REQUEST} ${reply} 0\r\n\r\n`);
    const request = `MSG ${BARRIER_REQUEST} ${BARRIER_SID} ${reply} 0\r\n\r\n`;
    const received = await this.client.readUntil(request);
    await this.client.send(`PUB ${reply} 0\r\n\r\n`);
    const ops = await this.hub.readUntilOp(`LMSG ${reply} 0`);
    return { hub: ops.slice(0, -1), client: received.slice(0, -request.length) };
  }

  /** Closes the raw client and the hub side of the link. */
  async dispose(): Promise<void> {
    await Promise.all([this.hub.dispose(), this.client.dispose()]);
  }
}
