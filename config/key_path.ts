/**
 * Key paths name a place in the config document: table keys and list indexes,
 * printed the way users read them (`accounts.ACME.users[0].password`).
 *
 * @module
 */

/** Table keys (strings) and list indexes (numbers), outermost first. */
export type KeyPath = readonly (string | number)[];

const BARE_KEY = /^[A-Za-z0-9_$-]+$/;

/**
 * Formats a key path; keys that are not bare TOML-ish words are quoted so that
 * `a."b.c"` and `a.b.c` stay distinct.
 *
 * @example
 * ```ts
 * formatKeyPath(["accounts", "ACME", "users", 0, "password"]); // "accounts.ACME.users[0].password"
 * ```
 */
export function formatKeyPath(path: KeyPath): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") {
      out += `[${part}]`;
      continue;
    }
    const key = BARE_KEY.test(part) ? part : JSON.stringify(part);
    out += out === "" ? key : `.${key}`;
  }
  return out;
}
