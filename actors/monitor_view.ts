/**
 * What the HTTP monitor may see of a running server, as plain read-only
 * snapshots, and the adapter that takes them from a {@linkcode ServerActor}.
 *
 * The monitor never touches actors directly: every endpoint renders from a
 * {@linkcode MonitorView}, so endpoints are testable with a hand-built view
 * and the server's internals can change without breaking `/varz`.
 *
 * The adapter only reads the server's public fields. What the server does not
 * keep (counters of connections that have closed, when a leaf link last
 * closed, slow consumer counts) it learns by watching each connection's
 * `stopped` promise; connections are picked up by a light periodic scan and
 * on every request, so one that opens and closes between two scans is missed.
 *
 * @module
 */
import type { AccountActor } from "./account.ts";
import type { ClientConnection } from "./client_connection.ts";
import type { LeafConnection } from "./leaf_connection.ts";
import type { RemoteActor } from "./remote.ts";
import type { ServerActor } from "./server.ts";
import type { TimerId } from "./clock.ts";
import type { SubjectFilter } from "../protocol/subject_filter.ts";
import { hostPort } from "../protocol/remote_urls.ts";
import { CANOPY_VERSION, NATS_COMPAT_VERSION, PROTOCOL_LEVEL } from "../protocol/info.ts";
import { DEFAULT_TLS_TIMEOUT_MS } from "../config/defaults.ts";

/** Messages and bytes in both directions. */
export interface TrafficCounts {
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
}

/** Server-wide counters since start, closed connections included. */
export interface ServerTotals {
  /** Client connections and leaf links together. */
  all: TrafficCounts;
  /** Client connections only. */
  clients: TrafficCounts;
  /** Client connections accepted since start. */
  totalConnections: number;
  /** Connections cut off as slow consumers, by kind. */
  slowConsumers: { clients: number; leafs: number };
  /** Connections closed as stale (unanswered PINGs), by kind. */
  staleConnections: { clients: number; leafs: number };
}

/** The leafnode listener, as configured and bound. */
export interface LeafListenerSummary {
  host: string;
  port: number;
  authTimeoutMs: number;
  tlsTimeoutMs: number;
  tlsRequired: boolean;
  tlsVerify: boolean;
}

/** The websocket listener, when configured. */
export interface WebsocketSummary {
  host: string;
  port: number;
  noTls: boolean;
  compression: boolean;
  sameOrigin: boolean;
  allowedOrigins: string[];
}

/** Identity and settings of the server; fixed for its lifetime. */
export interface ServerSummary {
  serverId: string;
  serverName: string;
  /** The nats-server protocol version Canopy speaks (what INFO says). */
  version: string;
  canopyVersion: string;
  proto: number;
  /** The runtime, in the place nats-server puts its Go version. */
  go: string;
  host: string;
  /** The bound client port. */
  port: number;
  /** Milliseconds since the epoch. */
  startedAt: number;
  configFile?: string;
  authRequired: boolean;
  tlsRequired: boolean;
  tlsVerify: boolean;
  maxConnections: number;
  pingIntervalMs: number;
  pingMax: number;
  authTimeoutMs: number;
  maxControlLine: number;
  maxPayload: number;
  maxPending: number;
  tlsTimeoutMs: number;
  writeDeadlineMs: number;
  leafnode: LeafListenerSummary;
  websocket?: WebsocketSummary;
}

/** One subscription of a client connection. */
export interface SubscriptionSnapshot {
  account: string;
  subject: string;
  queue?: string;
  sid: string;
  /** Messages delivered to it so far. */
  msgs: number;
  /** Auto-unsubscribe limit, when set. */
  max?: number;
  /** The owning connection's id. */
  cid: number;
}

/** What every connection, client or leaf, reports: address, age and traffic. */
export interface ConnectionActivity {
  cid: number;
  ip: string;
  port: number;
  /** Milliseconds since the epoch (server clock). */
  start: number;
  /** Last time its traffic or subscriptions were seen to change (server clock). */
  lastActivity: number;
  pendingBytes: number;
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
  /** Client: its subscriptions. Leaf: the interest the peer registered. */
  subscriptionCount: number;
}

/** One client connection. */
export interface ClientSnapshot extends ConnectionActivity {
  /** The client's `name` from CONNECT. */
  name?: string;
  /** The bound account, once authenticated. */
  account?: string;
  user?: string;
  /** Its subscriptions, built on demand. */
  subscriptions(): SubscriptionSnapshot[];
}

/** One entry of a leaf link's interest: a plain subject or a queue group with its weight. */
export interface LeafInterestSnapshot {
  subject: string;
  queue?: string;
  /** Members the peer advertised for a queue group; 1 for plain interest. */
  weight: number;
}

/** An effective allow/deny filter; `allow` absent means everything not denied. */
export interface PolicySnapshot {
  allow?: string[];
  deny: string[];
}

/** One leafnode link, accepted or solicited. */
export interface LeafSnapshot extends ConnectionActivity {
  /** The peer's server name (its id when it has none); empty before the handshake. */
  peerName: string;
  peerCluster?: string;
  /** True when we dialled it (a remote), false when the peer dialled our leafnode port. */
  solicited: boolean;
  /** The remote that dialled it, for solicited links. */
  remoteIndex?: number;
  /** True when we play the spoke on this link. */
  isSpoke: boolean;
  /** The local account the link is bound to, once known. */
  account?: string;
  /** Handshake state (`open` once interest flows). */
  state: string;
  /** What we accept from the peer (messages in, interest we advertise). */
  importPolicy: PolicySnapshot;
  /** What we send to the peer (messages out, interest the peer may claim). */
  exportPolicy: PolicySnapshot;
  /** Round-trip time in milliseconds; absent while unmeasured. */
  rttMs?: number;
  compression: string;
  /**
   * Solicited: failed connect attempts before this link came up. Accepted:
   * earlier links from the same peer and account seen closing (its reconnects).
   */
  reconnectAttempts: number;
  /** Why the previous link of this remote (or peer and account) closed; empty when none did. */
  lastCloseReason: string;
  /** When it closed (server clock), when seen. */
  lastCloseTime?: number;
  /** The peer's interest, built on demand. */
  interest(): LeafInterestSnapshot[];
}

/** State of one `[[leafnodes.remotes]]` entry. */
export interface RemoteSnapshot {
  index: number;
  /** The local account the remote binds (`$G` when not configured). */
  account: string;
  /** Configured URLs as `host:port` (credentials never shown). */
  configuredUrls: string[];
  /** The current rotation, gossiped URLs included, as `host:port`. */
  urls: string[];
  denyImports: string[];
  denyExports: string[];
  tlsTimeoutMs?: number;
  hub: boolean;
  state: "connected" | "backoff" | "dialing" | "stopped";
  /** Connect attempts since the last link that carried traffic. */
  attempts: number;
  lastError: string;
  lastCloseReason: string;
  lastCloseTime?: number;
  /** When the next dial is due (server clock), while backing off. */
  nextAttemptAt?: number;
  /** The penalty in the current wait, when the last link earned one (loop, permissions...). */
  penalty?: { ms: number; reason: string };
  /** The link's connection id while connected. */
  linkId?: number;
}

/** One account. */
export interface AccountSnapshot {
  name: string;
  clientConnections: number;
  leafConnections: number;
  /** Every subscription in the account, leaf interest included. */
  subscriptions: number;
}

/**
 * Read-only data behind every monitoring endpoint. Each call returns a fresh
 * snapshot; nothing returned is live or shared with the server.
 */
export interface MonitorView {
  /** Current time on the server's clock, milliseconds since the epoch. */
  now(): number;
  server(): ServerSummary;
  totals(): ServerTotals;
  /** Open client connections, by ascending id. */
  clients(): ClientSnapshot[];
  /** Open leafnode links, by ascending id. */
  leafs(): LeafSnapshot[];
  remotes(): RemoteSnapshot[];
  accounts(): AccountSnapshot[];
  /** Subscriptions of client connections (leaf interest excluded, as in nats-server's /subsz). */
  subscriptions(account?: string): SubscriptionSnapshot[];
  /** Stops any background work the view does. */
  dispose(): void;
}

/** Options for {@linkcode monitorViewOf}. */
export interface MonitorViewOptions {
  /**
   * How often new connections are picked up for close accounting, in
   * milliseconds (0 disables the scan; requests still trigger one). A
   * connection that lives shorter than this may be missed by the totals.
   */
  scanIntervalMs?: number;
}

/**
 * Peers whose last close is remembered. Bounded so that a fleet of short-lived
 * leaves with fresh names cannot grow it without end; the oldest is forgotten.
 */
const MAX_PEER_HISTORY = 4096;

/** A quarter second keeps the totals close while costing one map walk per tick. */
const DEFAULT_SCAN_INTERVAL_MS = 250;

interface ActivityMark {
  signature: number;
  at: number;
}

interface CloseRecord {
  closes: number;
  reason: string;
  at: number;
  penaltyMs: number;
}

type Connection = ClientConnection | LeafConnection;

/**
 * Adapts a {@linkcode ServerActor} to a {@linkcode MonitorView}. Reads the
 * server's public fields only; call `dispose()` when monitoring stops.
 *
 * @example
 * ```ts
 * import { ServerActor } from "./server.ts";
 * import { defaultOptions } from "../config/mod.ts";
 * import { monitorViewOf } from "./monitor_view.ts";
 * const server = new ServerActor({ ...defaultOptions(), port: 0 });
 * const view = monitorViewOf(server);
 * console.log(view.server().serverId, view.clients().length);
 * view.dispose();
 * ```
 */
export function monitorViewOf(server: ServerActor, options: MonitorViewOptions = {}): MonitorView {
  return new ServerMonitorView(server, options.scanIntervalMs ?? DEFAULT_SCAN_INTERVAL_MS);
}

class ServerMonitorView implements MonitorView {
  #server: ServerActor;
  #summary?: ServerSummary;
  #watched = new WeakSet<Connection>();
  /** Connections whose final counters were moved into the closed totals. */
  #accounted = new WeakSet<Connection>();
  #activity = new WeakMap<Connection, ActivityMark>();
  #closedAll: TrafficCounts = zeroCounts();
  #closedClients: TrafficCounts = zeroCounts();
  #slow = { clients: 0, leafs: 0 };
  #stale = { clients: 0, leafs: 0 };
  /** Accepted links' history by peer and account. */
  #peerCloses = new Map<string, CloseRecord>();
  /** Solicited links' history by remote index. */
  #remoteCloses = new Map<number, CloseRecord>();
  #remoteOfLink = new WeakMap<LeafConnection, number>();
  #scanMs: number;
  #timer?: TimerId;
  #disposed = false;

  constructor(server: ServerActor, scanMs: number) {
    this.#server = server;
    this.#scanMs = scanMs;
    this.#scan();
    this.#arm();
  }

  now(): number {
    return this.#server.clock.now();
  }

  dispose(): void {
    this.#disposed = true;
    if (this.#timer !== undefined) this.#server.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  server(): ServerSummary {
    const s = this.#server;
    // The ports are only known once the listeners are bound, so they are read each time.
    this.#summary ??= summarize(s);
    return {
      ...this.#summary,
      port: s.clientPort,
      leafnode: { ...this.#summary.leafnode, port: s.leafPort },
    };
  }

  totals(): ServerTotals {
    this.#scan();
    const all = { ...this.#closedAll };
    const clients = { ...this.#closedClients };
    for (const c of this.#server.connections.values()) {
      if (this.#accounted.has(c)) continue;
      addCounts(all, c);
      addCounts(clients, c);
    }
    for (const l of this.#server.leafs.values()) {
      if (!this.#accounted.has(l)) addCounts(all, l);
    }
    return {
      all,
      clients,
      totalConnections: this.#server.totalConnections,
      slowConsumers: { ...this.#slow },
      staleConnections: { ...this.#stale },
    };
  }

  clients(): ClientSnapshot[] {
    this.#scan();
    const out: ClientSnapshot[] = [];
    for (const c of this.#server.connections.values()) {
      if (c.isStopped) continue;
      const account = c.account?.accountName;
      out.push({
        ...this.#activityOf(c),
        name: c.clientName,
        account,
        user: c.user,
        subscriptions: () =>
          [...c.subscriptions()].map((sub) => ({
            account: account ?? "",
            subject: sub.subject,
            queue: sub.queue,
            sid: sub.sid,
            msgs: sub.delivered,
            max: sub.max,
            cid: c.cid,
          })),
      });
    }
    return out.sort(byCid);
  }

  leafs(): LeafSnapshot[] {
    this.#scan();
    const out: LeafSnapshot[] = [];
    for (const l of this.#server.leafs.values()) {
      if (l.isStopped) continue;
      out.push(this.#leafSnapshot(l));
    }
    return out.sort(byCid);
  }

  #leafSnapshot(l: LeafConnection): LeafSnapshot {
    const { toPeer, fromPeer } = l.filters();
    const solicited = l.side === "solicit";
    const remoteIndex = this.#remoteOfLink.get(l);
    const remote = remoteIndex === undefined ? undefined : this.#server.remotes[remoteIndex];
    let reconnectAttempts = 0;
    let history: CloseRecord | undefined;
    if (solicited) {
      // The attempt that produced this link is not a failure.
      if (remote) reconnectAttempts = Math.max(0, remote.attempts - 1);
      history = remoteIndex === undefined ? undefined : this.#remoteCloses.get(remoteIndex);
    } else {
      history = this.#peerCloses.get(peerKey(l));
      reconnectAttempts = history?.closes ?? 0;
    }
    return {
      ...this.#activityOf(l),
      peerName: l.peerName ?? "",
      peerCluster: l.peerCluster,
      solicited,
      remoteIndex,
      isSpoke: l.role === "spoke",
      account: l.account?.accountName,
      state: l.state,
      importPolicy: policyOf(fromPeer),
      exportPolicy: policyOf(toPeer),
      compression: l.compression,
      rttMs: l.rttMs,
      reconnectAttempts,
      // The remote's own record is exact; ours may have missed a link that closed between scans.
      lastCloseReason: remote?.lastCloseReason ?? history?.reason ?? "",
      lastCloseTime: history?.at,
      interest: () =>
        [...l.peerInterest()].map((sub) => ({
          subject: sub.subject,
          queue: sub.queue,
          weight: sub.queue ? sub.weight : 1,
        })),
    };
  }

  remotes(): RemoteSnapshot[] {
    this.#scan();
    const now = this.now();
    return this.#server.remotes.map((r) => {
      const history = this.#remoteCloses.get(r.index);
      const backoff = r.state === "backoff";
      const snapshot: RemoteSnapshot = {
        index: r.index,
        account: r.remote.account ?? "$G",
        configuredUrls: r.urls.configured.map(hostPort),
        urls: r.urls.urls.map(hostPort),
        denyImports: [...r.remote.denyImports],
        denyExports: [...r.remote.denyExports],
        tlsTimeoutMs: r.remote.tls?.timeoutMs,
        hub: r.remote.hub,
        state: remoteState(r),
        attempts: r.attempts,
        lastError: r.lastError ?? "",
        lastCloseReason: r.lastCloseReason ?? history?.reason ?? "",
        lastCloseTime: history?.at,
        nextAttemptAt: backoff ? r.nextAttemptAt : undefined,
        linkId: r.link?.cid,
      };
      if (backoff && history && this.#penaltyApplies(history, r.nextAttemptAt, now)) {
        snapshot.penalty = { ms: history.penaltyMs, reason: history.reason };
      }
      return snapshot;
    });
  }

  /**
   * Whether the current wait is the one that followed the penalised close: that
   * wait ends one interval plus the penalty after the close, while any later
   * wait (after a failed dial) ends at least two intervals plus the penalty after it.
   */
  #penaltyApplies(history: CloseRecord, nextAttemptAt: number | undefined, now: number): boolean {
    if (history.penaltyMs <= 0 || nextAttemptAt === undefined || nextAttemptAt <= now) return false;
    const wait = nextAttemptAt - history.at;
    const reconnectMs = this.#server.options.leafnodes.reconnectMs;
    return wait >= history.penaltyMs && wait < history.penaltyMs + 2 * reconnectMs;
  }

  accounts(): AccountSnapshot[] {
    const clients = new Map<AccountActor, number>();
    for (const c of this.#server.connections.values()) {
      if (c.account && !c.isStopped) clients.set(c.account, (clients.get(c.account) ?? 0) + 1);
    }
    const out: AccountSnapshot[] = [];
    for (const account of this.#server.accounts.values()) {
      out.push({
        name: account.accountName,
        clientConnections: clients.get(account) ?? 0,
        leafConnections: account.leafs.size,
        subscriptions: account.subscriptionCount,
      });
    }
    return out;
  }

  subscriptions(accountName?: string): SubscriptionSnapshot[] {
    const out: SubscriptionSnapshot[] = [];
    for (const account of this.#server.accounts.values()) {
      if (accountName !== undefined && account.accountName !== accountName) continue;
      for (const sub of account.index.all()) {
        if (sub.target.kind !== "client") continue;
        out.push({
          account: account.accountName,
          subject: sub.subject,
          queue: sub.queue,
          sid: sub.sid,
          msgs: sub.delivered,
          max: sub.max,
          cid: sub.target.cid,
        });
      }
    }
    return out;
  }

  // ---- close accounting ------------------------------------------------------

  #arm(): void {
    if (this.#scanMs <= 0 || this.#disposed) return;
    this.#timer = this.#server.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#scan();
      this.#arm();
    }, this.#scanMs);
  }

  /** Starts watching connections not seen before, and refreshes activity marks. */
  #scan(): void {
    const server = this.#server;
    for (const c of server.connections.values()) {
      this.#watch(c);
      this.#lastActivity(c);
    }
    for (const l of server.leafs.values()) {
      this.#watch(l);
      this.#lastActivity(l);
    }
    for (const r of server.remotes) {
      const link = r.link;
      if (link && !this.#remoteOfLink.has(link)) {
        this.#remoteOfLink.set(link, r.index);
        this.#watch(link);
      }
    }
  }

  #watch(c: Connection): void {
    if (this.#watched.has(c)) return;
    this.#watched.add(c);
    c.stopped.then(({ reason }) => this.#closed(c, reason));
  }

  #closed(c: Connection, reason: string): void {
    this.#accounted.add(c);
    addCounts(this.#closedAll, c);
    const at = this.now();
    if (c.kind === "client") {
      addCounts(this.#closedClients, c);
      if (isSlowConsumer(reason)) this.#slow.clients++;
      if (isStale(reason)) this.#stale.clients++;
      return;
    }
    const why = c.closeReason || reason;
    if (isSlowConsumer(why)) this.#slow.leafs++;
    if (isStale(why)) this.#stale.leafs++;
    const remoteIndex = this.#remoteOfLink.get(c);
    // Links that never finished the handshake have no peer identity to file them under.
    if (remoteIndex === undefined && !c.peerName) return;
    const record = (previous: CloseRecord | undefined): CloseRecord => ({
      closes: (previous?.closes ?? 0) + 1,
      reason: why,
      at,
      penaltyMs: c.penaltyMs,
    });
    if (remoteIndex !== undefined) {
      this.#remoteCloses.set(remoteIndex, record(this.#remoteCloses.get(remoteIndex)));
      return;
    }
    const key = peerKey(c);
    const previous = this.#peerCloses.get(key);
    // Re-inserted so the map's order is least recently closed first, which is what goes.
    this.#peerCloses.delete(key);
    this.#peerCloses.set(key, record(previous));
    if (this.#peerCloses.size > MAX_PEER_HISTORY) {
      this.#peerCloses.delete(this.#peerCloses.keys().next().value!);
    }
  }

  /** Moves the activity mark when traffic or subscriptions changed since the last look. */
  #activityOf(c: Connection): ConnectionActivity {
    return {
      cid: c.cid,
      ip: c.transport.remoteHost,
      port: c.transport.remotePort,
      start: c.startedAt,
      lastActivity: this.#lastActivity(c),
      pendingBytes: c.pendingBytes,
      inMsgs: c.inMsgs,
      outMsgs: c.outMsgs,
      inBytes: c.inBytes,
      outBytes: c.outBytes,
      subscriptionCount: c.subscriptionCount,
    };
  }

  #lastActivity(c: Connection): number {
    const signature = c.inMsgs + c.outMsgs * 2 + c.subscriptionCount * 3;
    const mark = this.#activity.get(c);
    if (!mark) {
      const at = signature === 0 ? c.startedAt : this.now();
      this.#activity.set(c, { signature, at });
      return at;
    }
    if (mark.signature !== signature) {
      mark.signature = signature;
      mark.at = this.now();
    }
    return mark.at;
  }
}

function summarize(server: ServerActor): ServerSummary {
  const o = server.options;
  const auth = o.authorization;
  const users = (auth?.users.length ?? 0) +
    Object.values(o.accounts).reduce((n, a) => n + a.users.length, 0);
  const leaf = o.leafnodes;
  const ws = o.websocket;
  return {
    serverId: server.serverId,
    serverName: o.serverName,
    version: NATS_COMPAT_VERSION,
    canopyVersion: CANOPY_VERSION,
    proto: PROTOCOL_LEVEL,
    go: `deno ${Deno.version.deno}`,
    host: o.host,
    port: server.clientPort,
    startedAt: server.startedAt.getTime(),
    configFile: o.configFile,
    authRequired: auth?.token !== undefined || users > 0,
    tlsRequired: o.tls !== undefined,
    tlsVerify: o.tls?.verify === true || o.tls?.verifyAndMap === true,
    maxConnections: o.maxConnections,
    pingIntervalMs: o.pingIntervalMs,
    pingMax: o.pingMax,
    authTimeoutMs: o.authTimeoutMs,
    maxControlLine: o.maxControlLine,
    maxPayload: o.maxPayload,
    maxPending: o.maxPending,
    tlsTimeoutMs: o.tls?.timeoutMs ?? DEFAULT_TLS_TIMEOUT_MS,
    writeDeadlineMs: o.writeDeadlineMs,
    leafnode: {
      host: leaf.host,
      port: server.leafPort,
      authTimeoutMs: leaf.authorization?.timeoutMs ?? o.authTimeoutMs,
      tlsTimeoutMs: leaf.tls?.timeoutMs ?? DEFAULT_TLS_TIMEOUT_MS,
      tlsRequired: leaf.tls !== undefined,
      tlsVerify: leaf.tls?.verify === true || leaf.tls?.verifyAndMap === true,
    },
    websocket: ws && {
      host: ws.host,
      port: ws.port,
      noTls: ws.noTls,
      compression: ws.compression,
      sameOrigin: ws.sameOrigin,
      allowedOrigins: [...ws.allowedOrigins],
    },
  };
}

function remoteState(r: RemoteActor): RemoteSnapshot["state"] {
  switch (r.state) {
    case "connected":
    case "backoff":
    case "stopped":
      return r.state;
    default:
      // "idle" is the instant between start and the first dial.
      return "dialing";
  }
}

function policyOf(filter: SubjectFilter): PolicySnapshot {
  return filter.allow ? { allow: [...filter.allow], deny: [...filter.deny] } : {
    deny: [...filter.deny],
  };
}

function peerKey(l: LeafConnection): string {
  return `${l.peerName ?? ""}\u0000${l.account?.accountName ?? ""}`;
}

function isSlowConsumer(reason: string): boolean {
  return reason.startsWith("Slow Consumer");
}

function isStale(reason: string): boolean {
  return reason === "Stale Connection";
}

function zeroCounts(): TrafficCounts {
  return { inMsgs: 0, outMsgs: 0, inBytes: 0, outBytes: 0 };
}

function addCounts(into: TrafficCounts, from: TrafficCounts): void {
  into.inMsgs += from.inMsgs;
  into.outMsgs += from.outMsgs;
  into.inBytes += from.inBytes;
  into.outBytes += from.outBytes;
}

function byCid(a: { cid: number }, b: { cid: number }): number {
  return a.cid - b.cid;
}
