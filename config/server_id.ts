/**
 * Server identity when the config gives no `server_name`.
 *
 * @module
 */

import { createServer } from "@nats-io/nkeys";

/**
 * A fresh server id shaped like nats-server's: the public key of a new server
 * nkey (56 characters of base32, starting with `N`). nats-server uses the same
 * key as both INFO `server_id` and, absent `server_name`, the server name.
 *
 * @example
 * ```ts
 * const id = generateServerId(); // "NCSE2TL53KUGZO5ICTDQGRXTUHUMSGX7QA25MCTCQLXJQ34HGHVZI33O"
 * ```
 */
export function generateServerId(): string {
  return createServer().getPublicKey();
}
