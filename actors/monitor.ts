/**
 * HTTP monitoring on `http_port`: nats-server's endpoints (`/varz`, `/connz`,
 * `/leafz`, `/subsz`, `/accountz`, `/healthz`) with its JSON field names and
 * shapes, Prometheus text at `/metrics`, and a live topology page at `/`.
 *
 * `/leafz` carries what nats-server's lacks (users asked for it, nats-server
 * #4282 and friends): each link's effective import/export policy, queue groups
 * and weights in its interest, reconnects and the last close reason and time,
 * and a `remotes` section with every remote's dial loop state.
 *
 * Everything renders from a {@linkcode MonitorView}; the monitor never reaches
 * into actors.
 *
 * @module
 */
import type { Logger } from "./logger.ts";
import type {
  ClientSnapshot,
  ConnectionActivity,
  LeafSnapshot,
  MonitorView,
  PolicySnapshot,
  RemoteSnapshot,
} from "./monitor_view.ts";
import { renderMetrics } from "./metrics.ts";
import { MONITOR_PAGE } from "./monitor_page.ts";
import { isValidLiteralSubject, subjectMatches } from "../protocol/subject.ts";
import process from "node:process";

/** Options for {@linkcode startMonitor}. */
export interface MonitorOptions {
  /** Interface to listen on (nats-server's `http_host`, which defaults to `host`). */
  host: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  logger: Logger;
}

/** A running monitor. */
export interface MonitorHandle {
  /** The bound port. */
  readonly port: number;
  /** Stops listening, finishes requests in flight and disposes the view. */
  close(): Promise<void>;
}

/** Where the monitor listens, as `/varz` reports it. */
export interface MonitorAddress {
  host: string;
  port: number;
}

/** A bad query parameter: answered with 400 and this text, as nats-server does. */
export class MonitorQueryError extends Error {
  override name = "MonitorQueryError";
}

/** nats-server's page size for `/connz` and `/subsz` when `limit` is absent. */
const DEFAULT_LIST_SIZE = 1024;
const NS_PER_MS = 1_000_000;

/**
 * Starts the monitor on `host:port` with `Deno.serve`. Throws (rejects) when the
 * port cannot be bound, e.g. with `Deno.errors.AddrInUse`.
 *
 * @example
 * ```ts
 * import { ServerActor } from "./server.ts";
 * import { Logger } from "./logger.ts";
 * import { monitorViewOf } from "./monitor_view.ts";
 * import { startMonitor } from "./monitor.ts";
 * import { defaultOptions } from "../config/mod.ts";
 * const server = new ServerActor({ ...defaultOptions(), port: 0 });
 * const monitor = await startMonitor(monitorViewOf(server), {
 *   host: "127.0.0.1",
 *   port: 0,
 *   logger: new Logger(),
 * });
 * console.log(await (await fetch(`http://127.0.0.1:${monitor.port}/healthz`)).text());
 * await monitor.close();
 * ```
 */
export function startMonitor(view: MonitorView, options: MonitorOptions): Promise<MonitorHandle> {
  const address: MonitorAddress = { host: options.host, port: options.port };
  const handle = createMonitorHandler(view, address);
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: options.host,
      port: options.port,
      // nats-server logs its own line; Deno's "Listening on" would be a second, different one.
      onListen() {},
    }, handle);
  } catch (error) {
    view.dispose();
    return Promise.reject(error);
  }
  address.port = server.addr.port;
  options.logger.info(`Starting http monitor on ${hostPort(options.host, address.port)}`);
  let closing: Promise<void> | undefined;
  return Promise.resolve({
    port: address.port,
    close(): Promise<void> {
      closing ??= (async () => {
        view.dispose();
        await server.shutdown();
      })();
      return closing;
    },
  });
}

/**
 * The monitor as a plain request handler, for tests and for embedding behind
 * another `Deno.serve`. `address` is read on each `/varz` (the port may be
 * learned after the handler is built).
 *
 * @example
 * ```ts
 * import { createMonitorHandler } from "./monitor.ts";
 * import type { MonitorView } from "./monitor_view.ts";
 * declare const view: MonitorView;
 * const handle = createMonitorHandler(view, { host: "0.0.0.0", port: 8222 });
 * const health = await handle(new Request("http://localhost/healthz")).json();
 * ```
 */
export function createMonitorHandler(
  view: MonitorView,
  address: MonitorAddress,
): (request: Request) => Response {
  const requests = new Map<string, number>();
  const cpu = new CpuSampler();
  const routes = new Map<string, (q: URLSearchParams) => Reply>([
    ["/varz", () => ({ json: varz(view, address, requests, cpu) })],
    ["/connz", (q) => ({ json: connz(view, q) })],
    ["/leafz", (q) => ({ json: leafz(view, q) })],
    ["/subsz", (q) => ({ json: subsz(view, q) })],
    ["/subscriptionsz", (q) => ({ json: subsz(view, q) })],
    ["/accountz", (q) => ({ json: accountz(view, q) })],
    // Compact, unlike the others: nats-server marshals this one without indentation.
    ["/healthz", () => ({ json: { status: "ok" }, compact: true })],
    ["/metrics", () =>
      new Response(renderMetrics(view, { httpRequests: requests }), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      })],
    [
      "/",
      () => new Response(MONITOR_PAGE, { headers: { "content-type": "text/html; charset=utf-8" } }),
    ],
  ]);
  return (request: Request): Response => {
    const url = new URL(request.url);
    const route = routes.get(url.pathname);
    if (!route) return text("404 page not found\n", 404);
    requests.set(url.pathname, (requests.get(url.pathname) ?? 0) + 1);
    try {
      const reply = route(url.searchParams);
      return reply instanceof Response ? reply : jsonResponse(reply, url.searchParams);
    } catch (error) {
      if (!(error instanceof MonitorQueryError)) throw error;
      return text(error.message, 400);
    }
  };
}

/** A JSON body to send, or a finished response. */
type Reply = Response | { json: unknown; compact?: boolean };

// ---- /varz ------------------------------------------------------------------

function varz(
  view: MonitorView,
  address: MonitorAddress,
  requests: Map<string, number>,
  cpu: CpuSampler,
): Record<string, unknown> {
  const s = view.server();
  const totals = view.totals();
  const now = view.now();
  const leafs = view.leafs();
  const remotes = view.remotes();
  let subscriptions = 0;
  for (const a of view.accounts()) subscriptions += a.subscriptions;
  const leaf: Record<string, unknown> = {
    host: s.leafnode.host,
    port: s.leafnode.port,
    auth_timeout: s.leafnode.authTimeoutMs / 1000,
    tls_timeout: s.leafnode.tlsTimeoutMs / 1000,
    tls_required: s.leafnode.tlsRequired || undefined,
    tls_verify: s.leafnode.tlsVerify || undefined,
  };
  if (remotes.length > 0) leaf.remotes = remotes.map(remoteVarz);
  const ws = s.websocket;
  return {
    server_id: s.serverId,
    server_name: s.serverName,
    version: s.version,
    proto: s.proto,
    go: s.go,
    host: s.host,
    port: s.port,
    auth_required: s.authRequired || undefined,
    tls_required: s.tlsRequired || undefined,
    tls_verify: s.tlsVerify || undefined,
    max_connections: s.maxConnections,
    ping_interval: s.pingIntervalMs * NS_PER_MS,
    ping_max: s.pingMax,
    http_host: address.host,
    http_port: address.port,
    http_base_path: "",
    https_port: 0,
    auth_timeout: s.authTimeoutMs / 1000,
    max_control_line: s.maxControlLine,
    max_payload: s.maxPayload,
    max_pending: s.maxPending,
    cluster: {},
    gateway: {},
    leaf,
    mqtt: {},
    websocket: ws
      ? {
        host: ws.host,
        port: ws.port,
        no_tls: ws.noTls || undefined,
        same_origin: ws.sameOrigin || undefined,
        allowed_origins: ws.allowedOrigins.length > 0 ? ws.allowedOrigins : undefined,
        compression: ws.compression || undefined,
      }
      : {},
    jetstream: {},
    tls_timeout: s.tlsTimeoutMs / 1000,
    write_deadline: s.writeDeadlineMs * NS_PER_MS,
    start: isoTime(s.startedAt),
    now: isoTime(now),
    uptime: uptime(now - s.startedAt),
    mem: Deno.memoryUsage().rss,
    cores: navigator.hardwareConcurrency,
    // One JavaScript thread runs every actor.
    gomaxprocs: 1,
    cpu: cpu.percent(),
    connections: view.clients().length,
    total_connections: totals.totalConnections,
    routes: 0,
    remotes: 0,
    leafnodes: leafs.length,
    in_msgs: totals.all.inMsgs,
    in_bytes: totals.all.inBytes,
    in_client_msgs: totals.clients.inMsgs,
    in_client_bytes: totals.clients.inBytes,
    out_msgs: totals.all.outMsgs,
    out_bytes: totals.all.outBytes,
    out_client_msgs: totals.clients.outMsgs,
    out_client_bytes: totals.clients.outBytes,
    slow_consumers: totals.slowConsumers.clients + totals.slowConsumers.leafs,
    stale_connections: totals.staleConnections.clients + totals.staleConnections.leafs,
    stalled_clients: 0,
    subscriptions,
    http_req_stats: Object.fromEntries(requests),
    config_load_time: isoTime(s.startedAt),
    config_digest: "",
    slow_consumer_stats: {
      clients: totals.slowConsumers.clients,
      routes: 0,
      gateways: 0,
      leafs: totals.slowConsumers.leafs,
    },
    stale_connection_stats: {
      clients: totals.staleConnections.clients,
      routes: 0,
      gateways: 0,
      leafs: totals.staleConnections.leafs,
    },
    canopy_version: s.canopyVersion,
  };
}

function remoteVarz(r: RemoteSnapshot): Record<string, unknown> {
  const deny = r.denyImports.length > 0 || r.denyExports.length > 0
    ? {
      exports: r.denyExports.length > 0 ? r.denyExports : undefined,
      imports: r.denyImports.length > 0 ? r.denyImports : undefined,
    }
    : undefined;
  return {
    local_account: r.account,
    tls_timeout: r.tlsTimeoutMs === undefined ? undefined : r.tlsTimeoutMs / 1000,
    urls: r.configuredUrls,
    deny,
  };
}

// ---- /connz -----------------------------------------------------------------

type ConnRow = {
  cid: number;
  start: number;
  lastActivity: number;
  subscriptionCount: number;
  pendingBytes: number;
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
  account?: string;
  user?: string;
  render(): Record<string, unknown>;
};

const SORTS: Record<string, (a: ConnRow, b: ConnRow) => number> = {
  cid: (a, b) => a.cid - b.cid,
  start: (a, b) => a.cid - b.cid,
  subs: (a, b) => b.subscriptionCount - a.subscriptionCount,
  pending: (a, b) => b.pendingBytes - a.pendingBytes,
  msgs_to: (a, b) => b.outMsgs - a.outMsgs,
  msgs_from: (a, b) => b.inMsgs - a.inMsgs,
  bytes_to: (a, b) => b.outBytes - a.outBytes,
  bytes_from: (a, b) => b.inBytes - a.inBytes,
  last: (a, b) => b.lastActivity - a.lastActivity,
  idle: (a, b) => a.lastActivity - b.lastActivity,
  uptime: (a, b) => a.start - b.start,
  // Canopy measures no RTT yet: every connection ties, so the order stays by id.
  rtt: (a, b) => a.cid - b.cid,
};

function connz(view: MonitorView, q: URLSearchParams): Record<string, unknown> {
  const sort = q.get("sort") || "cid";
  const auth = queryBool(q, "auth");
  const subsText = q.get("subs") ?? "";
  const subsDetail = subsText.toLowerCase() === "detail";
  const subs = subsDetail ? false : queryBool(q, "subs");
  const offset = Math.max(0, queryInt(q, "offset"));
  let limit = queryInt(q, "limit");
  if (limit <= 0) limit = DEFAULT_LIST_SIZE;
  const cid = queryUint(q, "cid");
  const state = queryState(q);
  const account = q.get("acc") ?? "";
  const user = q.get("user") ?? "";
  if ((sort === "stop" || sort === "reason") && state !== "closed") {
    throw new MonitorQueryError(`sort by ${sort} only valid on closed connections`);
  }
  if (!(sort in SORTS) && sort !== "stop" && sort !== "reason") {
    throw new MonitorQueryError(`invalid sorting option: ${sort}`);
  }
  if (cid > 0) limit = 1;
  const now = view.now();
  const result = {
    server_id: view.server().serverId,
    now: isoTime(now),
    num_connections: 0,
    total: 0,
    offset,
    limit,
    connections: [] as Record<string, unknown>[],
  };
  // Closed connections are not kept, so `state=closed` lists none.
  if (state === "closed") return result;
  let rows: ConnRow[] = [
    ...view.clients().map((c) => clientRow(c, now, { auth, subs, subsDetail })),
    ...view.leafs().map((l) => leafRow(l, now, { auth, subs, subsDetail })),
  ];
  if (account) rows = rows.filter((r) => r.account === account);
  if (user) rows = rows.filter((r) => r.user === user);
  if (cid > 0) rows = rows.filter((r) => r.cid === cid);
  rows.sort(SORTS[sort] ?? SORTS.cid);
  result.total = rows.length;
  const page = rows.slice(Math.min(offset, rows.length), Math.min(offset + limit, rows.length));
  result.connections = page.map((r) => r.render());
  result.num_connections = page.length;
  return result;
}

interface ConnRenderOptions {
  auth: boolean;
  subs: boolean;
  subsDetail: boolean;
}

function clientRow(c: ClientSnapshot, now: number, o: ConnRenderOptions): ConnRow {
  return {
    ...c,
    render: () => {
      const subs = o.subs || o.subsDetail ? c.subscriptions() : [];
      return {
        cid: c.cid,
        kind: "Client",
        type: "nats",
        ...activityFields(c, now),
        name: c.name || undefined,
        authorized_user: o.auth ? c.user || undefined : undefined,
        account: o.auth && c.account !== "$G" ? c.account : undefined,
        subscriptions_list: o.subs && subs.length > 0 ? subs.map((s) => s.subject) : undefined,
        subscriptions_list_detail: o.subsDetail && subs.length > 0
          ? subs.map((s) => ({
            subject: s.subject,
            qgroup: s.queue,
            sid: s.sid,
            msgs: s.msgs,
            max: s.max,
            cid: s.cid,
          }))
          : undefined,
      };
    },
  };
}

/** The `/connz` fields every connection has, in nats-server's order. */
function activityFields(c: ConnectionActivity, now: number): Record<string, unknown> {
  return {
    ip: c.ip,
    port: c.port,
    start: isoTime(c.start),
    last_activity: isoTime(c.lastActivity),
    uptime: uptime(now - c.start),
    idle: uptime(now - c.lastActivity),
    pending_bytes: c.pendingBytes,
    in_msgs: c.inMsgs,
    out_msgs: c.outMsgs,
    in_bytes: c.inBytes,
    out_bytes: c.outBytes,
    subscriptions: c.subscriptionCount,
  };
}

function leafRow(l: LeafSnapshot, now: number, o: ConnRenderOptions): ConnRow {
  return {
    ...l,
    render: () => {
      const interest = o.subs || o.subsDetail ? l.interest() : [];
      return {
        cid: l.cid,
        kind: "Leafnode",
        ...activityFields(l, now),
        name: l.peerName || undefined,
        account: o.auth && l.account !== "$G" ? l.account : undefined,
        subscriptions_list: o.subs && interest.length > 0
          ? interest.map((s) => s.subject)
          : undefined,
        subscriptions_list_detail: o.subsDetail && interest.length > 0
          ? interest.map((s) => ({
            subject: s.subject,
            qgroup: s.queue,
            sid: s.queue ? `${s.subject} ${s.queue}` : s.subject,
            msgs: 0,
            cid: l.cid,
          }))
          : undefined,
      };
    },
  };
}

// ---- /leafz -----------------------------------------------------------------

function leafz(view: MonitorView, q: URLSearchParams): Record<string, unknown> {
  const subs = queryBool(q, "subs");
  const account = q.get("acc") ?? "";
  const now = view.now();
  let leafs = view.leafs();
  let remotes = view.remotes();
  if (account) {
    leafs = leafs.filter((l) => l.account === account);
    remotes = remotes.filter((r) => r.account === account);
  }
  return {
    server_id: view.server().serverId,
    now: isoTime(now),
    leafnodes: leafs.length,
    leafs: leafs.map((l) => leafInfo(l, now, subs)),
    remotes: remotes.map((r) => remoteInfo(r, now)),
  };
}

function leafInfo(l: LeafSnapshot, now: number, subs: boolean): Record<string, unknown> {
  const interest = subs ? l.interest() : undefined;
  return {
    // nats-server 2.14's fields, in its order.
    id: l.cid,
    name: l.peerName,
    is_spoke: l.isSpoke,
    account: l.account ?? "",
    ip: l.ip,
    port: l.port,
    rtt: l.rttMs === undefined ? "" : goDuration(l.rttMs),
    in_msgs: l.inMsgs,
    out_msgs: l.outMsgs,
    in_bytes: l.inBytes,
    out_bytes: l.outBytes,
    subscriptions: l.subscriptionCount,
    subscriptions_list: interest && interest.length > 0
      ? interest.map((s) => s.subject)
      : undefined,
    compression: l.compression,
    // Canopy's additions.
    solicited: l.solicited,
    remote_index: l.remoteIndex,
    cluster: l.peerCluster,
    state: l.state,
    uptime: uptime(now - l.start),
    pending_bytes: l.pendingBytes,
    import_policy: policyJson(l.importPolicy),
    export_policy: policyJson(l.exportPolicy),
    subs_list: interest?.map((s) => ({ subject: s.subject, queue: s.queue, weight: s.weight })),
    reconnect_attempts: l.reconnectAttempts,
    last_close_reason: l.lastCloseReason,
    last_close_time: l.lastCloseTime === undefined ? "" : isoTime(l.lastCloseTime),
  };
}

function remoteInfo(r: RemoteSnapshot, now: number): Record<string, unknown> {
  return {
    index: r.index,
    urls: r.urls,
    account: r.account,
    hub: r.hub,
    state: r.state,
    link_id: r.linkId,
    attempts: r.attempts,
    last_error: r.lastError,
    last_close_reason: r.lastCloseReason,
    last_close_time: r.lastCloseTime === undefined ? "" : isoTime(r.lastCloseTime),
    next_attempt_in_ms: r.nextAttemptAt === undefined ? 0 : Math.max(0, r.nextAttemptAt - now),
    penalty: r.penalty ? { ms: r.penalty.ms, reason: r.penalty.reason } : undefined,
    deny_imports: r.denyImports,
    deny_exports: r.denyExports,
  };
}

function policyJson(p: PolicySnapshot): Record<string, unknown> {
  return p.allow ? { allow: p.allow, deny: p.deny } : { deny: p.deny };
}

// ---- /subsz -----------------------------------------------------------------

function subsz(view: MonitorView, q: URLSearchParams): Record<string, unknown> {
  const detail = queryBool(q, "subs");
  const offset = Math.max(0, queryInt(q, "offset"));
  let limit = queryInt(q, "limit");
  if (limit <= 0) limit = DEFAULT_LIST_SIZE;
  const test = q.get("test") ?? "";
  if (test && !isValidLiteralSubject(test)) {
    throw new MonitorQueryError(`invalid test subject, must be valid publish subject: ${test}`);
  }
  const account = q.get("acc") || undefined;
  let numSubscriptions = 0;
  for (const a of view.accounts()) {
    if (account === undefined || a.name === account) numSubscriptions += a.subscriptions;
  }
  const result: Record<string, unknown> = {
    server_id: view.server().serverId,
    now: isoTime(view.now()),
    ...sublistStats(numSubscriptions),
    total: 0,
    offset,
    limit,
  };
  if (detail) {
    let subs = view.subscriptions(account);
    if (test) subs = subs.filter((s) => subjectMatches(s.subject, test));
    result.total = subs.length;
    result.subscriptions_list = subs
      .slice(Math.min(offset, subs.length), Math.min(offset + limit, subs.length))
      .map((s) => ({
        account: s.account,
        subject: s.subject,
        qgroup: s.queue,
        sid: s.sid,
        msgs: s.msgs,
        max: s.max,
        cid: s.cid,
      }));
  }
  return result;
}

/**
 * nats-server's sublist statistics. Canopy's index keeps no insert, match or
 * cache counters, so only the subscription count is real.
 */
function sublistStats(numSubscriptions: number): Record<string, number> {
  return {
    num_subscriptions: numSubscriptions,
    num_cache: 0,
    num_inserts: 0,
    num_removes: 0,
    num_matches: 0,
    cache_hit_rate: 0,
    max_fanout: 0,
    avg_fanout: 0,
  };
}

// ---- /accountz --------------------------------------------------------------

function accountz(view: MonitorView, q: URLSearchParams): Record<string, unknown> {
  const name = q.get("acc") ?? "";
  const accounts = view.accounts();
  const base = { server_id: view.server().serverId, now: isoTime(view.now()) };
  if (!name) return { ...base, accounts: accounts.map((a) => a.name) };
  const account = accounts.find((a) => a.name === name);
  if (!account) throw new MonitorQueryError(`Account ${name} does not exist`);
  return {
    ...base,
    account_detail: {
      account_name: account.name,
      // Accounts come from the config and never change while running.
      update_time: isoTime(view.server().startedAt),
      expired: false,
      complete: true,
      jetstream_enabled: false,
      leafnode_connections: account.leafConnections,
      client_connections: account.clientConnections,
      subscriptions: account.subscriptions,
      sublist_stats: sublistStats(account.subscriptions),
    },
  };
}

// ---- query decoding (nats-server's texts) ------------------------------------

const TRUE_TEXTS = new Set(["1", "t", "T", "true", "TRUE", "True"]);
const FALSE_TEXTS = new Set(["0", "f", "F", "false", "FALSE", "False"]);

/** Go's `strconv.ParseBool`, with nats-server's error text. */
function queryBool(q: URLSearchParams, name: string): boolean {
  const text = q.get(name) ?? "";
  if (text === "") return false;
  if (TRUE_TEXTS.has(text)) return true;
  if (FALSE_TEXTS.has(text)) return false;
  throw new MonitorQueryError(
    `Error decoding boolean for '${name}': strconv.ParseBool: parsing ${
      JSON.stringify(text)
    }: invalid syntax`,
  );
}

/** Go's `strconv.Atoi`, with nats-server's error text. */
function queryInt(q: URLSearchParams, name: string): number {
  const text = q.get(name) ?? "";
  if (text === "") return 0;
  if (!/^[+-]?\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new MonitorQueryError(
      `Error decoding int for '${name}': strconv.Atoi: parsing ${
        JSON.stringify(text)
      }: invalid syntax`,
    );
  }
  return Number(text);
}

function queryUint(q: URLSearchParams, name: string): number {
  const text = q.get(name) ?? "";
  if (text === "") return 0;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new MonitorQueryError(
      `Error decoding uint64 for '${name}': strconv.ParseUint: parsing ${
        JSON.stringify(text)
      }: invalid syntax`,
    );
  }
  return Number(text);
}

function queryState(q: URLSearchParams): "open" | "closed" | "all" {
  const text = q.get("state") ?? "";
  switch (text.toLowerCase()) {
    case "":
    case "open":
      return "open";
    case "closed":
      return "closed";
    case "any":
    case "all":
      return "all";
  }
  throw new MonitorQueryError(`Error decoding state for ${text}`);
}

// ---- formatting --------------------------------------------------------------

/** A JSONP callback name; anything else could inject script into the page that asked. */
const CALLBACK_NAME = /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/;

/** JSON as nats-server sends it: indented, CORS open, or wrapped in `callback(...)` (JSONP). */
function jsonResponse(reply: { json: unknown; compact?: boolean }, q: URLSearchParams): Response {
  const body = reply.compact ? JSON.stringify(reply.json) : JSON.stringify(reply.json, null, 2);
  const callback = q.get("callback");
  if (callback) {
    if (!CALLBACK_NAME.test(callback)) {
      throw new MonitorQueryError(`Invalid callback name: ${JSON.stringify(callback)}`);
    }
    return new Response(`${callback}(${body})`, {
      headers: { "content-type": "application/javascript" },
    });
  }
  return new Response(body, {
    headers: { "content-type": "application/json", "access-control-allow-origin": "*" },
  });
}

function text(body: string, status: number): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** nats-server's uptime text: `1y2d3h4m5s`, leading zero units left out. */
export function uptime(ms: number): string {
  let secs = Math.max(0, Math.floor(ms / 1000));
  const years = Math.floor(secs / (365 * 86400));
  secs -= years * 365 * 86400;
  const days = Math.floor(secs / 86400);
  secs -= days * 86400;
  const hours = Math.floor(secs / 3600);
  secs -= hours * 3600;
  const mins = Math.floor(secs / 60);
  secs -= mins * 60;
  if (years > 0) return `${years}y${days}d${hours}h${mins}m${secs}s`;
  if (days > 0) return `${days}d${hours}h${mins}m${secs}s`;
  if (hours > 0) return `${hours}h${mins}m${secs}s`;
  if (mins > 0) return `${mins}m${secs}s`;
  return `${secs}s`;
}

/** A duration as Go prints one (`301µs`, `40.6ms`, `1.5s`). */
export function goDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 0.001) return `${Math.round(ms * 1e6)}ns`;
  if (ms < 1) return `${trim(ms * 1000)}µs`;
  if (ms < 1000) return `${trim(ms)}ms`;
  return `${trim(ms / 1000)}s`;
}

function trim(n: number): string {
  return String(Number(n.toFixed(6)));
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** CPU use of this process in percent of one core, averaged since the previous reading. */
class CpuSampler {
  #lastCpuUs = 0;
  #lastWallMs = performance.timeOrigin;

  percent(): number {
    const usage = process.cpuUsage();
    const cpuUs = usage.user + usage.system;
    const wallMs = performance.timeOrigin + performance.now();
    const elapsedMs = wallMs - this.#lastWallMs;
    const pct = elapsedMs > 0 ? ((cpuUs - this.#lastCpuUs) / 1000 / elapsedMs) * 100 : 0;
    this.#lastCpuUs = cpuUs;
    this.#lastWallMs = wallMs;
    return Math.round(pct * 100) / 100;
  }
}
