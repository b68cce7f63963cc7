/**
 * The monitor's front page: a live topology of this server and its leafnode
 * links, as plain HTML with inline script (no build step, no dependencies).
 * It polls `./varz` and `./leafz` every second and redraws in place.
 *
 * Peer names and accounts come from the network, so the script only ever sets
 * them as text (`textContent`), never as markup.
 *
 * @module
 */

/** The page served at `/`. */
export const MONITOR_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Canopy monitor</title>
<style>
  :root { --fg: #1d2433; --muted: #6b7385; --line: #c9cfdb; --ok: #2f9e6b; --warn: #d08a13;
          --bad: #c8433a; --hub: #3b5bdb; --spoke: #1098ad; --bg: #f7f8fb; }
  body { font: 14px/1.4 ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
         color: var(--fg); background: var(--bg); margin: 0; padding: 16px 24px; }
  header { display: flex; align-items: baseline; gap: 16px; flex-wrap: wrap; }
  h1 { font-size: 20px; margin: 0; }
  #status { color: var(--muted); }
  #status.stale { color: var(--bad); }
  #summary span { margin-right: 14px; }
  #topology { width: 100%; height: 480px; background: #fff; border: 1px solid var(--line);
              border-radius: 8px; margin: 12px 0; }
  .link { stroke-width: 2; fill: none; }
  .link.open { stroke: var(--ok); }
  .link.handshake { stroke: var(--warn); stroke-dasharray: 6 4; }
  .link.down { stroke: var(--bad); stroke-dasharray: 3 5; }
  .node rect { fill: #fff; stroke: var(--line); stroke-width: 1.5; rx: 8; }
  .node.self rect { fill: #eef2ff; stroke: var(--hub); stroke-width: 2; }
  .node text { font-size: 12px; fill: var(--fg); }
  .node text.title { font-weight: 600; font-size: 13px; }
  .node text.muted { fill: var(--muted); }
  .edge-label { font-size: 11px; fill: var(--muted); }
  table { border-collapse: collapse; width: 100%; background: #fff; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); }
  th { color: var(--muted); font-weight: 600; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  nav a { margin-right: 12px; color: var(--hub); text-decoration: none; }
  .legend span { margin-right: 14px; }
  .sw { display: inline-block; width: 18px; height: 0; border-top: 2px solid; vertical-align: middle;
        margin-right: 4px; }
</style>
</head>
<body>
<header>
  <h1 id="title">Canopy</h1>
  <span id="status">connecting…</span>
</header>
<div id="summary"></div>
<div class="legend">
  <span><i class="sw" style="border-color: var(--ok)"></i>open</span>
  <span><i class="sw" style="border-color: var(--warn); border-top-style: dashed"></i>handshake</span>
  <span><i class="sw" style="border-color: var(--bad); border-top-style: dotted"></i>remote down</span>
  <span>left: peers that dialled us · right: remotes we dial</span>
</div>
<svg id="topology" role="img" aria-label="leafnode topology"></svg>
<table>
  <thead><tr><th>id</th><th>direction</th><th>peer</th><th>account</th><th>role</th><th>state</th>
  <th>in msgs</th><th>out msgs</th><th>subs</th><th>import</th><th>export</th><th>last close</th></tr></thead>
  <tbody id="links"></tbody>
</table>
<p><nav>
  <a href="./varz">varz</a><a href="./connz">connz</a><a href="./leafz?subs=1">leafz</a>
  <a href="./subsz">subsz</a><a href="./accountz">accountz</a><a href="./healthz">healthz</a>
  <a href="./metrics">metrics</a>
</nav></p>
<script>
"use strict";
var SVG = "http://www.w3.org/2000/svg";
var svg = document.getElementById("topology");

function el(name, attrs, text) {
  var node = document.createElementNS(SVG, name);
  for (var key in attrs) node.setAttribute(key, String(attrs[key]));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function cell(row, value, numeric) {
  var td = document.createElement("td");
  td.textContent = value === undefined || value === null ? "" : String(value);
  if (numeric) td.className = "num";
  row.appendChild(td);
}

function policyText(p) {
  if (!p) return "";
  var allow = p.allow ? "allow " + p.allow.join(" ") : "all";
  return p.deny && p.deny.length ? allow + " − deny " + p.deny.join(" ") : allow;
}

function box(x, y, lines, cls) {
  var g = el("g", { "class": "node " + (cls || ""), transform: "translate(" + x + "," + y + ")" });
  var width = 180, height = 18 + lines.length * 16;
  g.appendChild(el("rect", { x: -width / 2, y: -height / 2, width: width, height: height }));
  lines.forEach(function (line, i) {
    g.appendChild(el("text", {
      x: 0, y: -height / 2 + 20 + i * 16, "text-anchor": "middle",
      "class": i === 0 ? "title" : "muted"
    }, line));
  });
  return g;
}

function draw(varz, leafz) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  var width = svg.clientWidth || 900, height = svg.clientHeight || 480;
  var cx = width / 2, cy = height / 2;
  var inbound = [], outbound = [];
  (leafz.leafs || []).forEach(function (l) { (l.solicited ? outbound : inbound).push(l); });
  var linked = {};
  outbound.forEach(function (l) { if (l.remote_index !== undefined) linked[l.remote_index] = true; });
  // A remote without a listed link is dialling, backing off, or mid-handshake.
  (leafz.remotes || []).forEach(function (r) { if (!linked[r.index]) outbound.push({ remote: r }); });
  function place(list, side) {
    var x = side < 0 ? Math.max(110, cx - 320) : Math.min(width - 110, cx + 320);
    list.forEach(function (item, i) {
      var y = (height / (list.length + 1)) * (i + 1);
      var klass, lines, label;
      if (item.remote) {
        var r = item.remote;
        klass = r.state === "connected" ? "handshake" : "down";
        lines = [(r.urls && r.urls[0]) || "remote " + r.index, "account " + r.account,
          r.state + (r.next_attempt_in_ms ? " · retry in " + Math.ceil(r.next_attempt_in_ms / 1000) + "s" : "")];
        if (r.last_error) lines.push(r.last_error.slice(0, 28));
        label = "remote " + r.index + " · attempts " + r.attempts;
      } else {
        klass = item.state === "open" ? "open" : "handshake";
        lines = [item.name || "(handshaking)", "account " + (item.account || "?"),
          (item.is_spoke ? "we are spoke" : "we are hub") + " · " + item.state];
        label = item.in_msgs + " in / " + item.out_msgs + " out";
      }
      var x1 = side < 0 ? x + 90 : x - 90, x2 = side < 0 ? cx - 95 : cx + 95;
      svg.appendChild(el("path", {
        "class": "link " + klass,
        d: "M" + x1 + "," + y + " C" + (x1 + x2) / 2 + "," + y + " " + (x1 + x2) / 2 + "," + cy + " " + x2 + "," + cy
      }));
      svg.appendChild(el("text", { "class": "edge-label", x: (x1 + x2) / 2, y: (y + cy) / 2 - 6,
        "text-anchor": "middle" }, label));
      svg.appendChild(box(x, y, lines));
    });
  }
  place(inbound, -1);
  place(outbound, 1);
  svg.appendChild(box(cx, cy, [varz.server_name, "clients " + varz.connections + " · leafs " + varz.leafnodes,
    "subs " + varz.subscriptions, "up " + varz.uptime], "self"));
}

function table(leafz) {
  var body = document.getElementById("links");
  while (body.firstChild) body.removeChild(body.firstChild);
  (leafz.leafs || []).forEach(function (l) {
    var row = document.createElement("tr");
    cell(row, l.id, true);
    cell(row, l.solicited ? "out (remote " + l.remote_index + ")" : "in");
    cell(row, l.name);
    cell(row, l.account);
    cell(row, l.is_spoke ? "spoke" : "hub");
    cell(row, l.state);
    cell(row, l.in_msgs, true);
    cell(row, l.out_msgs, true);
    cell(row, l.subscriptions, true);
    cell(row, policyText(l.import_policy));
    cell(row, policyText(l.export_policy));
    cell(row, l.last_close_reason ? l.last_close_reason + " " + l.last_close_time : "");
    body.appendChild(row);
  });
}

function summary(varz) {
  var box = document.getElementById("summary");
  while (box.firstChild) box.removeChild(box.firstChild);
  [["server", varz.server_name], ["id", varz.server_id], ["client port", varz.port],
   ["leaf port", varz.leaf && varz.leaf.port], ["msgs in", varz.in_msgs], ["msgs out", varz.out_msgs],
   ["slow consumers", varz.slow_consumers]].forEach(function (pair) {
    var span = document.createElement("span");
    span.textContent = pair[0] + ": " + (pair[1] === undefined ? "—" : pair[1]);
    box.appendChild(span);
  });
  document.getElementById("title").textContent = "Canopy · " + varz.server_name;
}

function poll() {
  Promise.all([fetch("./varz"), fetch("./leafz")]).then(function (responses) {
    return Promise.all(responses.map(function (r) {
      if (!r.ok) throw new Error(r.status + " " + r.statusText);
      return r.json();
    }));
  }).then(function (data) {
    summary(data[0]);
    draw(data[0], data[1]);
    table(data[1]);
    var status = document.getElementById("status");
    status.className = "";
    status.textContent = "updated " + new Date().toLocaleTimeString();
  }).catch(function (error) {
    var status = document.getElementById("status");
    status.className = "stale";
    status.textContent = "unreachable: " + error.message;
  }).finally(function () { setTimeout(poll, 1000); });
}
poll();
</script>
</body>
</html>
`;
