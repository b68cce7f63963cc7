/**
 * A loopback port for a test or benchmark server.
 *
 * @example
 * ```ts
 * import { freePort } from "./free_port.ts";
 * const port = freePort();
 * console.log(`start the server on 127.0.0.1:${port}`);
 * ```
 *
 * @module
 */

/** Ports handed out lately: the OS may offer a just-closed port again at once. */
const recent: number[] = [];
const RECENT_PORTS = 256;

/**
 * Returns a TCP port on 127.0.0.1 that was free a moment ago: the OS picks it for a listener on
 * port 0, which is closed again before returning. Another process can take it in between, so a
 * caller that fails to bind should retry with a new port. Within this process no port is handed
 * out twice in a row of 256 calls: Linux can offer the port it just gave back, and two servers
 * of one test (a client port and a websocket port, say) would then collide.
 */
export function freePort(): number {
  for (;;) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0, transport: "tcp" });
    const port = listener.addr.port;
    listener.close();
    if (recent.includes(port)) continue;
    recent.push(port);
    if (recent.length > RECENT_PORTS) recent.shift();
    return port;
  }
}
