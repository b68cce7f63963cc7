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

/**
 * Returns a TCP port on 127.0.0.1 that was free a moment ago: the OS picks it for a listener on
 * port 0, which is closed again before returning. Another process can take it in between, so a
 * caller that fails to bind should retry with a new port.
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0, transport: "tcp" });
  try {
    return listener.addr.port;
  } finally {
    listener.close();
  }
}
