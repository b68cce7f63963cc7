/**
 * `users = [...]` lists of `[authorization]` and `[accounts.NAME]`: each entry
 * is a user/password user or an nkey user, with optional permissions.
 *
 * @module
 */

import type { ConfigIssues } from "./config_issues.ts";
import type { KeyPath } from "./key_path.ts";
import { isPublicUserKey } from "./nkey_check.ts";
import type { PermissionsOptions, UserOptions } from "./options.ts";
import { readPermissions } from "./parse_permissions.ts";
import { USER_KEYS } from "./schema.ts";
import { TableReader } from "./table_reader.ts";
import { dropUndefined, readNonEmptyString, readString, readTableList } from "./value_readers.ts";

/** A user plus where it was written, for cross-checks such as duplicate names. */
export interface ParsedUser {
  options: UserOptions;
  /** Path of the `user` (or `nkey`) key, where a duplicate is reported. */
  identityPath: KeyPath;
}

/**
 * Reads a users list bound to `account`. Users without permissions of their
 * own get `defaultPermissions`, as nats-server applies `default_permissions`.
 */
export function readUsers(
  issues: ConfigIssues,
  path: KeyPath,
  value: unknown,
  account: string,
  defaultPermissions: PermissionsOptions | undefined,
): ParsedUser[] {
  const users: ParsedUser[] = [];
  for (const entry of readTableList(issues, path, value, "users")) {
    const table = new TableReader(issues, entry.path, entry.table, USER_KEYS);
    const nkey = table.read("nkey", readNonEmptyString);
    const user = table.read("user", readNonEmptyString);
    const password = table.read("password", readString);
    const permissions = table.has("permissions")
      ? readPermissions(issues, table.pathOf("permissions"), table.raw("permissions"))
      : defaultPermissions;
    if (table.has("nkey")) {
      if (nkey !== undefined && !isPublicUserKey(nkey)) {
        table.fail("nkey", "Not a valid public nkey for a user");
      }
      if (table.has("user") || table.has("password")) {
        table.fail(undefined, "Nkey users do not take usernames or passwords");
        continue;
      }
    } else if (!table.has("user")) {
      table.fail(undefined, "User entry requires a user");
      continue;
    }
    if (nkey === undefined && user === undefined) continue;
    users.push({
      options: dropUndefined({ user, password, nkey, account, permissions }),
      identityPath: table.pathOf(nkey !== undefined ? "nkey" : "user"),
    });
  }
  return users;
}
