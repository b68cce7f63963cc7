/**
 * Canopy: a NATS-protocol server and hub/leaf router for Deno.
 *
 * Run it (`deno run -A mod.ts --config canopy.toml`), embed it ({@linkcode startServer}), or put
 * it behind `Deno.serve` in an edge isolate ({@linkcode edgeServer}).
 *
 * @example Embedding: a leaf whose remote signs the hub's nonce itself
 * ```ts
 * import { parseConfigText, startServer } from "./mod.ts";
 * import { fromSeed } from "@nats-io/nkeys";
 *
 * const options = parseConfigText(
 *   `port = 4223\n[[leafnodes.remotes]]\nurls = ["nats-leaf://hub.example.com:7422"]\n`,
 *   "leaf.toml",
 * );
 * const userJwt = Deno.env.get("LEAF_JWT")!;
 * const userKey = fromSeed(new TextEncoder().encode(Deno.env.get("LEAF_SEED")!));
 * options.leafnodes.remotes[0].signatureCallback = (nonce) =>
 *   Promise.resolve({ jwt: userJwt, sig: userKey.sign(nonce) });
 *
 * const server = await startServer(options);
 * await server.ready;
 * server.on("linkUp", (link) => console.log(`leafnode link ${link.lid} up (${link.role})`));
 * server.on("authFailure", (failure) => console.warn(`refused ${failure.remote}: ${failure.reason}`));
 * console.log(server.stats().connections);
 * await server.close();
 * ```
 *
 * @example Edge isolate: clients and leaves over WebSocket, no TCP listener
 * ```ts
 * import { edgeServer } from "./mod.ts";
 * const { handler } = await edgeServer({ serverName: "edge" }, { clientPath: "/nats" });
 * Deno.serve(handler);
 * ```
 *
 * @module
 */
export { type CanopyServer, type ServerStats, startServer } from "./actors/server_handle.ts";
export type { ServerDependencies } from "./actors/server.ts";
export type {
  AuthFailureEvent,
  LinkDownEvent,
  LinkEvent,
  ServerEventMap,
  ServerEventName,
} from "./actors/server_events.ts";
export {
  createEdgeHandler,
  type EdgeHandler,
  type EdgeHandlerOptions,
  type EdgeRequestInfo,
  type EdgeServer,
  edgeServer,
} from "./actors/edge.ts";
export type { Transport } from "./actors/transport.ts";
export {
  InputOverflowError,
  WebSocketObjectTransport,
  type WebSocketObjectTransportOptions,
} from "./actors/ws_object_transport.ts";
export { ConfigError, loadConfigFile, parseConfigText } from "./config/mod.ts";
export type * from "./config/options.ts";

if (import.meta.main) {
  const { runCli } = await import("./actors/cli_runner.ts");
  Deno.exit(await runCli(Deno.args));
}
