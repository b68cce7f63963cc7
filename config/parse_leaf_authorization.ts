/**
 * `[leafnodes.authorization]`: how accepted leafnode connections authenticate
 * and which local account they bind to.
 *
 * @module
 */

import type { KeyPath } from "./key_path.ts";
import { isPublicUserKey } from "./nkey_check.ts";
import type { LeafAuthorizationOptions } from "./options.ts";
import { LEAF_AUTHORIZATION_KEYS, LEAF_USER_KEYS } from "./schema.ts";
import { TableReader } from "./table_reader.ts";
import {
  dropUndefined,
  durationReader,
  readNonEmptyString,
  readString,
  readTableList,
} from "./value_readers.ts";

/** The block plus the paths of every account it names, for the account-exists check. */
export interface ParsedLeafAuthorization {
  options: LeafAuthorizationOptions;
  accountRefs: { account: string; path: KeyPath }[];
}

const readTimeout = durationReader({ positive: true });

/** Reads `authorization` from the `[leafnodes]` table, `undefined` when absent. */
export function readLeafAuthorization(leafnodes: TableReader): ParsedLeafAuthorization | undefined {
  const table = leafnodes.table("authorization", LEAF_AUTHORIZATION_KEYS);
  if (table === undefined) return undefined;
  const accountRefs: ParsedLeafAuthorization["accountRefs"] = [];
  const singleUser = table.read("user", readNonEmptyString);
  const singlePassword = table.read("password", readString);
  const account = table.read("account", readNonEmptyString);
  if (account !== undefined) accountRefs.push({ account, path: table.pathOf("account") });
  const nkey = table.read("nkey", readNonEmptyString);
  if (nkey !== undefined && !isPublicUserKey(nkey)) {
    table.fail("nkey", "Not a valid public nkey for a user");
  }

  const users: LeafAuthorizationOptions["users"] = [];
  const seen = new Set<string>();
  const entries = table.has("users")
    ? readTableList(table.issues, table.pathOf("users"), table.raw("users"), "users")
    : [];
  for (const entry of entries) {
    const userTable = new TableReader(table.issues, entry.path, entry.table, LEAF_USER_KEYS);
    const user = userTable.read("user", readNonEmptyString);
    const password = userTable.read("password", readString);
    const userAccount = userTable.read("account", readNonEmptyString);
    if (!userTable.has("user")) userTable.fail(undefined, "User entry requires a user");
    if (!userTable.has("password")) userTable.fail(undefined, "User entry requires a password");
    if (userAccount !== undefined) {
      accountRefs.push({ account: userAccount, path: userTable.pathOf("account") });
    }
    if (user === undefined || password === undefined) continue;
    if (seen.has(user)) {
      userTable.fail(
        "user",
        `duplicate user ${JSON.stringify(user)} detected in leafnode authorization`,
      );
      continue;
    }
    seen.add(user);
    users.push(dropUndefined({ user, password, account: userAccount }));
  }
  if (table.has("users") && table.has("user")) {
    table.fail("user", "can not have a single user/pass and a users array");
  }
  if (table.has("password") && !table.has("user")) {
    table.fail("password", `"password" needs a "user"`);
  }
  return {
    options: dropUndefined({
      user: singleUser,
      password: singlePassword,
      account,
      nkey,
      timeoutMs: table.read("timeout", readTimeout),
      users,
    }),
    accountRefs,
  };
}
