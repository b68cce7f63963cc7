/**
 * User JWT permissions (`pub`, `sub`, `resp`) as Canopy permissions, and the templates of
 * scoped signing keys (`{{name()}}`, `{{tag(x)}}`, …) expanded for one user, with
 * nats-server's rules: a template that yields an invalid subject drops that allow entry but
 * rejects the user when it is a deny entry, and an allow list emptied by expansion becomes
 * "deny everything".
 *
 * @module
 */

import type { Permission, Permissions } from "@nats-io/jwt";
import type { PermissionsOptions, SubjectPermissionOptions } from "../config/options.ts";
import { isValidSubject } from "./subject.ts";

/** What templates may refer to. */
export interface TemplateContext {
  /** The user JWT's `name`. */
  userName: string;
  /** The user's public key. */
  userKey: string;
  /** The user JWT's `tags`. */
  userTags: readonly string[];
  /** The account JWT's `name`. */
  accountName: string;
  /** The user JWT's `issuer_account` (empty when the account key itself signed). */
  issuerAccount: string;
  /** The account JWT's `tags`. */
  accountTags: readonly string[];
}

/** A scoped template whose deny list expands to an invalid subject: the user is refused. */
export class PermissionTemplateError extends Error {
  override name = "PermissionTemplateError";
}

const NANOS_PER_MS = 1_000_000;

function subjectPermission(
  permission: Partial<Permission> | undefined,
): SubjectPermissionOptions | undefined {
  const allow = permission?.allow ?? [];
  const deny = permission?.deny ?? [];
  if (allow.length === 0 && deny.length === 0) return undefined;
  const out: SubjectPermissionOptions = {};
  if (allow.length > 0) out.allow = [...allow];
  if (deny.length > 0) out.deny = [...deny];
  return out;
}

/**
 * Canopy permissions for a user JWT's `pub`/`sub`/`resp`, `undefined` when it sets none (the
 * account's `default_permissions` then apply). `resp.ttl` is in nanoseconds (Go's
 * `time.Duration`); zero values fall back to nats-server's defaults downstream.
 *
 * @example
 * ```ts
 * import { permissionsFromJwt } from "./jwt_permissions.ts";
 * permissionsFromJwt({ pub: { allow: ["orders.>"] }, resp: { max: 1, ttl: 5e9 } });
 * // { publish: { allow: ["orders.>"] }, allowResponses: { maxMsgs: 1, expiresMs: 5000 } }
 * ```
 */
export function permissionsFromJwt(
  permissions: Partial<Permissions> | undefined,
): PermissionsOptions | undefined {
  if (permissions === undefined) return undefined;
  const out: PermissionsOptions = {};
  const publish = subjectPermission(permissions.pub);
  const subscribe = subjectPermission(permissions.sub);
  if (publish) out.publish = publish;
  if (subscribe) out.subscribe = subscribe;
  // nats-server treats a present `resp` as allow_responses, even with zero fields.
  if (permissions.resp) {
    const ttl = permissions.resp.ttl ?? 0;
    out.allowResponses = {
      maxMsgs: permissions.resp.max ?? 0,
      expiresMs: ttl > 0 ? Math.max(1, Math.trunc(ttl / NANOS_PER_MS)) : ttl,
    };
  }
  return out.publish || out.subscribe || out.allowResponses ? out : undefined;
}

/** True when `permissions` sets no subject or response permission at all. */
export function hasNoPermissions(permissions: Partial<Permissions> | undefined): boolean {
  return permissionsFromJwt(permissions) === undefined;
}

function tagValues(tags: readonly string[], name: string): string[] {
  const prefix = `${name.toLowerCase()}:`;
  return tags.filter((tag) => tag.startsWith(prefix)).map((tag) => tag.slice(prefix.length));
}

/** The values one `{{...}}` token stands for; an unknown function yields an invalid token. */
function tokenValues(token: string, context: TemplateContext): string[] {
  if (!token.startsWith("{{") || !token.endsWith("}}")) return [token];
  const op = token.slice(2, -2).toLowerCase();
  if (op === "name()") return [context.userName];
  if (op === "subject()") return [context.userKey];
  if (op === "account-name()") return [context.accountName];
  if (op === "account-subject()") return [context.issuerAccount];
  const tag = /^(account-)?tag\((.*)\)$/.exec(op);
  if (tag) {
    const values = tagValues(tag[1] ? context.accountTags : context.userTags, tag[2]);
    // No matching tag leaves an empty token, which no valid subject has.
    return values.length > 0 ? values : [""];
  }
  return [" "];
}

function expandSubject(subject: string, context: TemplateContext): string[] {
  let prefixes = [""];
  subject.split(".").forEach((token, index) => {
    const values = tokenValues(token, context);
    const next: string[] = [];
    for (const prefix of prefixes) {
      for (const value of values) next.push(index === 0 ? value : `${prefix}.${value}`);
    }
    prefixes = next;
  });
  return prefixes;
}

function expandList(
  list: readonly string[] | undefined,
  context: TemplateContext,
  failOnBadSubject: boolean,
): string[] {
  const out: string[] = [];
  for (const entry of list ?? []) {
    if (!entry.includes("{{")) {
      out.push(entry);
      continue;
    }
    for (const subject of expandSubject(entry, context)) {
      if (isValidSubject(subject)) out.push(subject);
      else if (failOnBadSubject) {
        throw new PermissionTemplateError(
          `template ${JSON.stringify(entry)} generated an invalid subject`,
        );
      }
    }
  }
  return out;
}

/**
 * A scoped signing key's permission template expanded for one user.
 *
 * @throws {PermissionTemplateError} when a deny entry expands to an invalid subject.
 *
 * @example
 * ```ts
 * import { expandPermissionTemplate } from "./jwt_permissions.ts";
 * expandPermissionTemplate({ pub: { allow: ["user.{{name()}}.>"] } }, {
 *   userName: "ann", userKey: "U...", userTags: [], accountName: "APP",
 *   issuerAccount: "A...", accountTags: [],
 * }); // { pub: { allow: ["user.ann.>"], deny: [] }, sub: { allow: [], deny: [] }, resp: undefined }
 * ```
 */
export function expandPermissionTemplate(
  template: Partial<Permissions>,
  context: TemplateContext,
): Partial<Permissions> {
  const expand = (permission: Partial<Permission> | undefined): Permission => {
    const allowWasSet = (permission?.allow ?? []).length > 0;
    const allow = expandList(permission?.allow, context, false);
    const deny = expandList(permission?.deny, context, true);
    // An allow list that templates emptied must not turn into "allow everything".
    if (allowWasSet && allow.length === 0) deny.push(">");
    return { allow, deny };
  };
  return { pub: expand(template.pub), sub: expand(template.sub), resp: template.resp };
}
