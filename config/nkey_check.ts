/**
 * nkey shape checks for config values (checksum and key type).
 *
 * @module
 */

import { fromPublic, fromSeed } from "@nats-io/nkeys";

/** A public user nkey: 56 base32 characters starting with `U`, valid checksum. */
export function isPublicUserKey(key: string): boolean {
  if (!key.startsWith("U")) return false;
  try {
    fromPublic(key);
    return true;
  } catch {
    return false;
  }
}

/** A user nkey seed (`SU...`), valid checksum. */
export function isUserSeed(seed: string): boolean {
  if (!seed.startsWith("SU")) return false;
  try {
    return fromSeed(new TextEncoder().encode(seed)).getPublicKey().startsWith("U");
  } catch {
    return false;
  }
}
