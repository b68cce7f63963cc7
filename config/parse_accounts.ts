/**
 * `[accounts.NAME]` tables (or nats-server's plain `accounts = ["A", "B"]`).
 * Each account isolates its subjects; its users bind to it.
 *
 * @module
 */

import { GLOBAL_ACCOUNT } from "./defaults.ts";
import type { KeyPath } from "./key_path.ts";
import type { AccountOptions } from "./options.ts";
import { readPermissions } from "./parse_permissions.ts";
import { type ParsedUser, readUsers } from "./parse_users.ts";
import { ACCOUNT_KEYS } from "./schema.ts";
import { TableReader } from "./table_reader.ts";
import { describeType, isTable } from "./value_readers.ts";

/** Declared accounts and every user found in them. */
export interface ParsedAccounts {
  accounts: Record<string, AccountOptions>;
  users: ParsedUser[];
  /** Paths of the `users` keys of accounts that have at least one user. */
  userLists: KeyPath[];
}

/** Reads `accounts` from the top-level table (empty when absent). */
export function readAccounts(root: TableReader): ParsedAccounts {
  const parsed: ParsedAccounts = { accounts: {}, users: [], userLists: [] };
  if (!root.has("accounts")) return parsed;
  const raw = root.raw("accounts");
  const path = root.pathOf("accounts");
  const issues = root.issues;

  if (Array.isArray(raw)) {
    raw.forEach((name, index) => {
      if (typeof name !== "string" || name === "") {
        issues.add([...path, index], `expected an account name, got ${describeType(name)}`);
      } else if (name === GLOBAL_ACCOUNT) {
        issues.add([...path, index], `"${name}" is a Reserved Account`);
      } else if (Object.hasOwn(parsed.accounts, name)) {
        issues.add([...path, index], `Duplicate Account Entry: ${name}`);
      } else {
        parsed.accounts[name] = { name, users: [] };
      }
    });
    return parsed;
  }
  if (!isTable(raw)) {
    root.fail("accounts", `expected a table of accounts, got ${describeType(raw)}`);
    return parsed;
  }
  for (const [name, value] of Object.entries(raw)) {
    const accountPath = [...path, name];
    // `$G` holds everyone without an account; declaring it is refused, as by
    // nats-server. `$SYS` may be declared: it is then an ordinary account
    // that happens to be the system account.
    if (name === GLOBAL_ACCOUNT) {
      issues.add(accountPath, `"${name}" is a Reserved Account`);
      continue;
    }
    const table = TableReader.open(issues, accountPath, value, ACCOUNT_KEYS);
    if (table === undefined) continue;
    const defaultPermissions = table.has("default_permissions")
      ? readPermissions(
        issues,
        table.pathOf("default_permissions"),
        table.raw("default_permissions"),
      )
      : undefined;
    const users = table.has("users")
      ? readUsers(issues, table.pathOf("users"), table.raw("users"), name, defaultPermissions)
      : [];
    parsed.accounts[name] = { name, users: users.map((u) => u.options) };
    parsed.users.push(...users);
    if (users.length > 0) parsed.userLists.push(table.pathOf("users"));
  }
  return parsed;
}
