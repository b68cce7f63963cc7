/**
 * Edge-isolate mode: Canopy inside a `Deno.serve` handler, for platforms (Deno Deploy and the
 * like) that offer HTTP but no raw TCP listener. NATS clients and leafnodes arrive as WebSocket
 * upgrades on paths of the program's choosing; remotes still dial out over TCP, TLS or
 * WebSocket.
 *
 * @module
 */

import type { ServerOptions } from "../config/options.ts";
import { checkOrigin, HandshakeReason, HttpHeaders } from "../protocol/ws_handshake.ts";
import { type CanopyServer, startServer } from "./server_handle.ts";
import { WebSocketObjectTransport } from "./ws_object_transport.ts";

/** What the host tells a handler about the request; `Deno.ServeHandlerInfo` fits. */
export interface EdgeRequestInfo {
  /** The peer's address: it becomes the connection's `client_ip` and appears in logs. */
  remoteAddr?: Deno.Addr;
}

/** A `Deno.serve` handler. */
export type EdgeHandler = (
  request: Request,
  info?: EdgeRequestInfo,
) => Response | Promise<Response>;

/** Options for {@linkcode createEdgeHandler}. */
export interface EdgeHandlerOptions {
  /** Path where NATS clients upgrade (nats.js `wsconnect({ servers: "wss://host/nats" })`). */
  clientPath?: string;
  /**
   * Path where leafnodes upgrade. A soliciting server appends `leafnode` to its URL's path, so
   * a remote with URL `wss://host` asks for `/leafnode` and `wss://host/x` for `/x/leafnode`.
   */
  leafPath?: string;
  /** Answers every other request; 404 when absent. */
  fallback?: EdgeHandler;
  /**
   * Refuse browsers from other origins: an `Origin` header must match the request's host.
   * Defaults to the server's `websocket.same_origin`.
   */
  sameOrigin?: boolean;
  /** Refuse browsers whose `Origin` is not listed. Defaults to `websocket.allowed_origins`. */
  allowedOrigins?: string[];
}

/** The default upgrade path for NATS clients. */
export const DEFAULT_CLIENT_PATH = "/nats";
/** The default upgrade path for leafnodes (what a remote with a bare `wss://host` URL asks for). */
export const DEFAULT_LEAF_PATH = "/leafnode";

/**
 * Builds a `Deno.serve` handler that serves NATS clients on `clientPath` and leafnodes on
 * `leafPath` over WebSocket, handing each upgraded socket to `server.accept()`. Other paths go
 * to `fallback` (or get 404). A request on a NATS path that is not a WebSocket upgrade gets 426.
 *
 * The server is usually started with `{ listeners: false }` (see {@linkcode edgeServer}), but a
 * server with listeners can take connections this way too.
 *
 * @example
 * ```ts
 * import { startServer } from "./server_handle.ts";
 * import { createEdgeHandler } from "./edge.ts";
 * const server = await startServer({ serverName: "edge" }, { listeners: false });
 * Deno.serve(createEdgeHandler(server, {
 *   fallback: () => new Response("NATS over WebSocket at /nats"),
 * }));
 * ```
 */
export function createEdgeHandler(
  server: CanopyServer,
  options: EdgeHandlerOptions = {},
): EdgeHandler {
  const clientPath = options.clientPath ?? DEFAULT_CLIENT_PATH;
  const leafPath = options.leafPath ?? DEFAULT_LEAF_PATH;
  if (clientPath === leafPath) {
    throw new RangeError(
      `Cannot serve clients and leafnodes on one path: both are "${clientPath}"`,
    );
  }
  const ws = server.options.websocket;
  const originPolicy = {
    sameOrigin: options.sameOrigin ?? ws?.sameOrigin ?? false,
    allowedOrigins: options.allowedOrigins ?? ws?.allowedOrigins ?? [],
  };
  const checksOrigin = originPolicy.sameOrigin || originPolicy.allowedOrigins.length > 0;
  return (request, info) => {
    const path = new URL(request.url).pathname;
    const kind = path === clientPath ? "client" : path === leafPath ? "leafnode" : undefined;
    if (kind === undefined) {
      return options.fallback?.(request, info) ?? new Response("Not Found", { status: 404 });
    }
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Upgrade Required: this path takes NATS over WebSocket", {
        status: 426,
        headers: { upgrade: "websocket" },
      });
    }
    if (checksOrigin) {
      const problem = checkOrigin(originView(request), {
        ...originPolicy,
        tls: request.url.startsWith("https:"),
      });
      if (problem !== undefined) {
        return new Response(HandshakeReason.originNotAllowed + problem, { status: 403 });
      }
    }
    // Read before upgrading: afterwards Deno's `info.remoteAddr` throws "Request closed".
    const address = info?.remoteAddr;
    const net = address && (address.transport === "tcp" || address.transport === "udp")
      ? address
      : undefined;
    let upgraded: { socket: WebSocket; response: Response };
    try {
      upgraded = Deno.upgradeWebSocket(request);
    } catch (error) {
      return new Response(`Bad WebSocket upgrade: ${(error as Error).message}`, { status: 400 });
    }
    const transport = new WebSocketObjectTransport(upgraded.socket, {
      remoteHost: net?.hostname ?? "",
      remotePort: net?.port ?? 0,
    });
    server.accept(transport, kind);
    return upgraded.response;
  };
}

/** A server with no TCP listener and the handler that feeds it. */
export interface EdgeServer {
  /** The server: stats, events, reload and close work as usual; `port`/`leafPort` are unused. */
  readonly server: CanopyServer;
  /** Pass to `Deno.serve`. */
  readonly handler: EdgeHandler;
}

/**
 * Starts a server that opens no TCP listener (remotes still dial out) and returns it with a
 * handler from {@linkcode createEdgeHandler}: the whole server behind one `Deno.serve`.
 *
 * @example
 * ```ts
 * import { edgeServer } from "./edge.ts";
 * const { server, handler } = await edgeServer({ serverName: "edge-1" });
 * const http = Deno.serve({ port: 8000 }, handler);
 * // later
 * await server.close();
 * await http.shutdown();
 * ```
 */
export async function edgeServer(
  options: Partial<ServerOptions> = {},
  handlerOptions: EdgeHandlerOptions = {},
): Promise<EdgeServer> {
  const server = await startServer(options, { listeners: false });
  return { server, handler: createEdgeHandler(server, handlerOptions) };
}

/** The two headers and the host that the origin check reads. */
function originView(request: Request): { headers: HttpHeaders; host: string } {
  const headers = new HttpHeaders();
  for (const name of ["origin", "sec-websocket-origin"]) {
    const value = request.headers.get(name);
    if (value !== null) headers.append(name, value);
  }
  return { headers, host: request.headers.get("host") ?? new URL(request.url).host };
}
