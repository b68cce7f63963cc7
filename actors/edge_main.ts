/**
 * Entry point for an edge isolate (Deno Deploy style): one `Deno.serve`, no TCP listener.
 * NATS clients connect over WebSocket on `/nats`, leafnodes on `/leafnode`, and when
 * `CANOPY_HUB_URL` is set the isolate is itself a leaf of that hub.
 *
 * ```sh
 * PORT=8080 CANOPY_HUB_URL=nats-leaf://user:pass@hub.example.com:7422 \
 *   deno run -A actors/edge_main.ts
 * ```
 *
 * Environment:
 * - `PORT`: HTTP port (default 8000; edge platforms usually ignore it and route for you).
 * - `CANOPY_HUB_URL`: the hub's leafnode URL(s), comma-separated: `nats-leaf://`, `tls://`,
 *   `ws://` or `wss://`. Unset: a standalone edge server.
 * - `CANOPY_SERVER_NAME`: the server name (default: a fresh server id).
 *
 * @module
 */

import { stringify } from "smol-toml";
import { parseConfigText } from "../config/mod.ts";
import { edgeServer } from "./edge.ts";

const DEFAULT_HTTP_PORT = 8000;

/**
 * Builds the options through the TOML loader so the environment is validated exactly like a
 * config file (URL schemes, credentials in URLs).
 */
function optionsFromEnvironment(): ReturnType<typeof parseConfigText> {
  const document: Record<string, unknown> = {};
  const name = Deno.env.get("CANOPY_SERVER_NAME");
  if (name) document.server_name = name;
  const hub = Deno.env.get("CANOPY_HUB_URL");
  if (hub) {
    const urls = hub.split(",").map((url) => url.trim()).filter((url) => url !== "");
    document.leafnodes = { remotes: [{ urls }] };
  }
  const options = parseConfigText(stringify(document), "edge environment");
  // No file to name in the logs, and none for a reload to re-read.
  delete options.configFile;
  return options;
}

if (import.meta.main) {
  const port = Number(Deno.env.get("PORT") ?? DEFAULT_HTTP_PORT);
  const { server, handler } = await edgeServer(optionsFromEnvironment(), {
    fallback: () =>
      new Response("Canopy edge: NATS over WebSocket at /nats, leafnodes at /leafnode\n"),
  });
  const http = Deno.serve({
    port,
    onListen: ({ hostname, port }) => {
      console.error(`Canopy edge listening on http://${hostname}:${port} (ws: /nats, /leafnode)`);
    },
  }, handler);
  const shutdown = async () => {
    await server.close();
    await http.shutdown();
    Deno.exit(0);
  };
  // Isolates have no signals; a terminal does.
  try {
    Deno.addSignalListener("SIGINT", shutdown);
    Deno.addSignalListener("SIGTERM", shutdown);
  } catch {
    // The platform stops the isolate itself.
  }
}
