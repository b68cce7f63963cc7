/**
 * `permissions` tables of users (and `default_permissions`): publish and
 * subscribe allow/deny lists plus `allow_responses`.
 *
 * @module
 */

import type { ConfigIssues } from "./config_issues.ts";
import { DEFAULT_ALLOW_RESPONSE_EXPIRES_MS, DEFAULT_ALLOW_RESPONSE_MAX_MSGS } from "./defaults.ts";
import type { KeyPath } from "./key_path.ts";
import type {
  PermissionsOptions,
  ResponsePermissionOptions,
  SubjectPermissionOptions,
} from "./options.ts";
import { ALLOW_RESPONSES_KEYS, PERMISSIONS_KEYS, SUBJECT_PERMISSION_KEYS } from "./schema.ts";
import { TableReader } from "./table_reader.ts";
import {
  describeType,
  dropUndefined,
  durationReader,
  integerReader,
  isTable,
  readSubjectList,
} from "./value_readers.ts";

const readMaxMsgs = integerReader(-(2 ** 31), 2 ** 31 - 1);
const readExpires = durationReader({ allowNegative: true });

/** Reads a permissions table at `path`; `undefined` when broken. */
export function readPermissions(
  issues: ConfigIssues,
  path: KeyPath,
  value: unknown,
): PermissionsOptions | undefined {
  const table = TableReader.open(issues, path, value, PERMISSIONS_KEYS);
  if (table === undefined) return undefined;
  const permissions: PermissionsOptions = dropUndefined({
    publish: readSubjectPermission(table, "publish"),
    subscribe: readSubjectPermission(table, "subscribe"),
    allowResponses: readAllowResponses(table),
  });
  if (permissions.allowResponses !== undefined) {
    // As in nats-server: granting replies without a publish allow list turns
    // the implicit "publish anywhere" off, so the user may only reply.
    permissions.publish ??= {};
    permissions.publish.allow ??= [];
  }
  return permissions;
}

/**
 * `publish` / `subscribe`: `{ allow, deny }`, or (nats-server's older form) a
 * subject or list of subjects meaning "allow only these".
 */
function readSubjectPermission(
  table: TableReader,
  name: string,
): SubjectPermissionOptions | undefined {
  if (!table.has(name)) return undefined;
  const raw = table.raw(name);
  if (!isTable(raw)) {
    const allow = table.read(name, readSubjectList);
    return allow === undefined ? undefined : { allow };
  }
  const inner = table.table(name, SUBJECT_PERMISSION_KEYS);
  if (inner === undefined) return undefined;
  const permission = dropUndefined({
    allow: inner.read("allow", readSubjectList),
    deny: inner.read("deny", readSubjectList),
  });
  return Object.keys(permission).length === 0 ? undefined : permission;
}

/** `allow_responses = true` or `{ max = N, expires = "1m" }`; 0 means "default", negative "unlimited". */
function readAllowResponses(table: TableReader): ResponsePermissionOptions | undefined {
  if (!table.has("allow_responses")) return undefined;
  const raw = table.raw("allow_responses");
  const defaults = {
    maxMsgs: DEFAULT_ALLOW_RESPONSE_MAX_MSGS,
    expiresMs: DEFAULT_ALLOW_RESPONSE_EXPIRES_MS,
  };
  if (typeof raw === "boolean") return raw ? defaults : undefined;
  if (!isTable(raw)) {
    table.fail("allow_responses", `expected a boolean or a table, got ${describeType(raw)}`);
    return undefined;
  }
  const inner = table.table("allow_responses", ALLOW_RESPONSES_KEYS);
  if (inner === undefined) return undefined;
  const max = inner.read("max", readMaxMsgs);
  const expires = inner.read("expires", readExpires);
  return {
    maxMsgs: max === undefined || max === 0 ? defaults.maxMsgs : max,
    expiresMs: expires === undefined || expires === 0 ? defaults.expiresMs : expires,
  };
}
