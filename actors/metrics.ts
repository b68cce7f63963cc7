/**
 * The monitor's figures in Prometheus text exposition format (version 0.0.4),
 * served at `/metrics`: the same numbers as `/varz` and `/leafz`, named
 * `canopy_*`, with per-leaf series labelled by peer so that a scrape shows
 * which link is busy without a separate exporter.
 *
 * @module
 */
import type { MonitorView } from "./monitor_view.ts";

/** Extra figures the monitor itself keeps. */
export interface MetricsExtras {
  /** Requests served, by path. */
  httpRequests?: ReadonlyMap<string, number>;
}

type Labels = Record<string, string | number>;

/** Collects samples family by family; each family's HELP and TYPE are written once. */
class Exposition {
  #lines: string[] = [];

  family(
    name: string,
    type: "gauge" | "counter",
    help: string,
    samples: Iterable<[Labels, number]>,
  ): void {
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      this.#lines.push(`${name}${labelText(labels)} ${numberText(value)}`);
    }
  }

  single(name: string, type: "gauge" | "counter", help: string, value: number): void {
    this.family(name, type, help, [[{}, value]]);
  }

  text(): string {
    return this.#lines.join("\n") + "\n";
  }
}

/**
 * Renders every metric from one set of snapshots.
 *
 * @example
 * ```ts
 * import { renderMetrics } from "./metrics.ts";
 * import type { MonitorView } from "./monitor_view.ts";
 * declare const view: MonitorView;
 * const text = renderMetrics(view);
 * text.includes("canopy_connections "); // true
 * ```
 */
export function renderMetrics(view: MonitorView, extras: MetricsExtras = {}): string {
  const out = new Exposition();
  const server = view.server();
  const totals = view.totals();
  const now = view.now();
  const clients = view.clients();
  const leafs = view.leafs();
  const remotes = view.remotes();
  const accounts = view.accounts();

  out.family("canopy_info", "gauge", "Server identity; the value is always 1.", [[{
    server_id: server.serverId,
    server_name: server.serverName,
    version: server.canopyVersion,
    nats_version: server.version,
  }, 1]]);
  out.single(
    "canopy_start_time_seconds",
    "gauge",
    "Start time of the server, seconds since the epoch.",
    server.startedAt / 1000,
  );
  out.single(
    "canopy_uptime_seconds",
    "gauge",
    "Seconds since the server started.",
    Math.max(0, (now - server.startedAt) / 1000),
  );
  out.single("canopy_connections", "gauge", "Open client connections.", clients.length);
  out.single(
    "canopy_connections_total",
    "counter",
    "Client connections accepted since start.",
    totals.totalConnections,
  );
  out.single("canopy_leafnodes", "gauge", "Open leafnode links, both directions.", leafs.length);
  out.single(
    "canopy_subscriptions",
    "gauge",
    "Subscriptions in all accounts, leaf interest included.",
    accounts.reduce((n, a) => n + a.subscriptions, 0),
  );
  out.single(
    "canopy_in_msgs_total",
    "counter",
    "Messages received from clients and leaf links.",
    totals.all.inMsgs,
  );
  out.single(
    "canopy_out_msgs_total",
    "counter",
    "Messages sent to clients and leaf links.",
    totals.all.outMsgs,
  );
  out.single(
    "canopy_in_bytes_total",
    "counter",
    "Bytes received from clients and leaf links.",
    totals.all.inBytes,
  );
  out.single(
    "canopy_out_bytes_total",
    "counter",
    "Bytes sent to clients and leaf links.",
    totals.all.outBytes,
  );
  out.single(
    "canopy_client_in_msgs_total",
    "counter",
    "Messages received from clients.",
    totals.clients.inMsgs,
  );
  out.single(
    "canopy_client_out_msgs_total",
    "counter",
    "Messages sent to clients.",
    totals.clients.outMsgs,
  );
  out.family(
    "canopy_slow_consumers_total",
    "counter",
    "Connections cut off as slow consumers, by kind.",
    [[{ kind: "client" }, totals.slowConsumers.clients], [
      { kind: "leaf" },
      totals.slowConsumers.leafs,
    ]],
  );
  out.family(
    "canopy_stale_connections_total",
    "counter",
    "Connections closed for unanswered PINGs, by kind.",
    [[{ kind: "client" }, totals.staleConnections.clients], [
      { kind: "leaf" },
      totals.staleConnections.leafs,
    ]],
  );
  out.single(
    "canopy_resident_memory_bytes",
    "gauge",
    "Resident set size of the process.",
    Deno.memoryUsage().rss,
  );

  out.family(
    "canopy_account_connections",
    "gauge",
    "Open client connections per account.",
    accounts.map((a) => [{ account: a.name }, a.clientConnections]),
  );
  out.family(
    "canopy_account_leafnodes",
    "gauge",
    "Leafnode links bound to each account.",
    accounts.map((a) => [{ account: a.name }, a.leafConnections]),
  );
  out.family(
    "canopy_account_subscriptions",
    "gauge",
    "Subscriptions per account, leaf interest included.",
    accounts.map((a) => [{ account: a.name }, a.subscriptions]),
  );

  // One series set per link: `id` keeps two links from the same peer apart, and a
  // new link starting its counters at zero is a new series rather than a reset.
  const leafLabels = leafs.map((l) => ({
    peer: l.peerName,
    account: l.account ?? "",
    direction: l.solicited ? "out" : "in",
    id: l.cid,
  }));
  const perLeaf = (pick: (i: number) => number): [Labels, number][] =>
    leafLabels.map((labels, i) => [labels, pick(i)]);
  out.family(
    "canopy_leaf_in_msgs_total",
    "counter",
    "Messages received over each leaf link.",
    perLeaf((i) => leafs[i].inMsgs),
  );
  out.family(
    "canopy_leaf_out_msgs_total",
    "counter",
    "Messages sent over each leaf link.",
    perLeaf((i) => leafs[i].outMsgs),
  );
  out.family(
    "canopy_leaf_in_bytes_total",
    "counter",
    "Bytes received over each leaf link.",
    perLeaf((i) => leafs[i].inBytes),
  );
  out.family(
    "canopy_leaf_out_bytes_total",
    "counter",
    "Bytes sent over each leaf link.",
    perLeaf((i) => leafs[i].outBytes),
  );
  out.family(
    "canopy_leaf_subscriptions",
    "gauge",
    "Interest the peer registered on each leaf link.",
    perLeaf((i) => leafs[i].subscriptionCount),
  );
  out.family(
    "canopy_leaf_pending_bytes",
    "gauge",
    "Bytes queued for each leaf link and not yet written.",
    perLeaf((i) => leafs[i].pendingBytes),
  );
  out.family(
    "canopy_leaf_uptime_seconds",
    "gauge",
    "Seconds since each leaf link was accepted or dialled.",
    perLeaf((i) => Math.max(0, (now - leafs[i].start) / 1000)),
  );

  const remoteLabels = remotes.map((r) => ({ remote: r.index, account: r.account }));
  out.family(
    "canopy_remote_connected",
    "gauge",
    "1 while the remote has a link up, else 0.",
    remotes.map((r, i) => [remoteLabels[i], r.state === "connected" ? 1 : 0]),
  );
  out.family(
    "canopy_remote_connect_attempts",
    "gauge",
    "Connect attempts since the remote's last working link.",
    remotes.map((r, i) => [remoteLabels[i], r.attempts]),
  );
  out.family(
    "canopy_remote_next_attempt_seconds",
    "gauge",
    "Seconds until the remote dials again (0 unless backing off).",
    remotes.map((r, i) => [
      remoteLabels[i],
      r.nextAttemptAt === undefined ? 0 : Math.max(0, (r.nextAttemptAt - now) / 1000),
    ]),
  );

  if (extras.httpRequests) {
    out.family(
      "canopy_http_requests_total",
      "counter",
      "Monitoring requests served, by path.",
      [...extras.httpRequests].map(([path, n]) => [{ path }, n]),
    );
  }
  return out.text();
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(String(v))}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

/** The exposition format escapes backslash, double quote and line feed in label values. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function numberText(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
