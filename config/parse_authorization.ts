/**
 * `[authorization]`: client auth for the default account `$G` (a token, one
 * user/password pair, or a users list), with nats-server's rules on which of
 * those may be combined.
 *
 * @module
 */

import { GLOBAL_ACCOUNT } from "./defaults.ts";
import type { AuthorizationOptions } from "./options.ts";
import { readPermissions } from "./parse_permissions.ts";
import { type ParsedUser, readUsers } from "./parse_users.ts";
import { AUTHORIZATION_KEYS } from "./schema.ts";
import type { TableReader } from "./table_reader.ts";
import { dropUndefined, durationReader, readNonEmptyString, readString } from "./value_readers.ts";

/** The block as options plus what the cross-account checks need to know. */
export interface ParsedAuthorization {
  options: AuthorizationOptions;
  /** All users (list and singleton), with their positions. */
  users: ParsedUser[];
  /** A singleton `user`/`password` was given. */
  hasSingleUser: boolean;
  /** A `token` was given. */
  hasToken: boolean;
}

const readTimeout = durationReader({ positive: true });

/** Reads `[authorization]` from the top-level table, `undefined` when absent. */
export function readAuthorization(root: TableReader): ParsedAuthorization | undefined {
  const table = root.table("authorization", AUTHORIZATION_KEYS);
  if (table === undefined) return undefined;
  const token = table.read("token", readNonEmptyString);
  const user = table.read("user", readNonEmptyString);
  const password = table.read("password", readString);
  const defaultPermissions = table.has("default_permissions")
    ? readPermissions(
      table.issues,
      table.pathOf("default_permissions"),
      table.raw("default_permissions"),
    )
    : undefined;
  const users = table.has("users")
    ? readUsers(
      table.issues,
      table.pathOf("users"),
      table.raw("users"),
      GLOBAL_ACCOUNT,
      defaultPermissions,
    )
    : [];

  const hasSingleUser = table.has("user") || table.has("password");
  if (hasSingleUser && table.has("token")) table.fail("token", "Cannot have a user/pass and token");
  // nats-server treats even an empty `users = []` as "a users array".
  if (table.has("users") && table.has("user")) {
    table.fail("user", "Can not have a single user/pass and a users array");
  }
  if (table.has("users") && table.has("token")) {
    table.fail("token", "Can not have a token and a users array");
  }
  if (table.has("password") && !table.has("user")) {
    table.fail("password", `"password" needs a "user"`);
  }

  const single: ParsedUser[] = user === undefined ? [] : [{
    options: dropUndefined({ user, password, account: GLOBAL_ACCOUNT }),
    identityPath: table.pathOf("user"),
  }];
  const allUsers = [...single, ...users];
  return {
    options: dropUndefined({
      token,
      users: allUsers.map((u) => u.options),
      defaultPermissions,
      timeoutMs: table.read("timeout", readTimeout),
    }),
    users: allUsers,
    hasSingleUser,
    hasToken: table.has("token"),
  };
}
