/**
 * Operator mode (decentralized auth): `operator` (JWT files or inline JWTs) or `trusted_keys`,
 * `system_account`, `resolver = "MEMORY"` and `resolver_preload` (account public key →
 * account JWT), read and checked as nats-server 2.9.10 does, plus the combinations it
 * forbids: accounts or users in the config, leafnode users, remotes bound to anything but an
 * account public key.
 *
 * @module
 */

import {
  decodeAccountClaims,
  decodeOperatorClaims,
  extractJwt,
  isPublicKeyOfKind,
  JwtClaimsError,
  type OperatorClaims,
} from "../protocol/jwt_claims.ts";
import type { KeyPath } from "./key_path.ts";
import type { OperatorOptions } from "./options.ts";
import type { ParsedAccounts } from "./parse_accounts.ts";
import type { ParsedAuthorization } from "./parse_authorization.ts";
import type { ParsedLeafnodes } from "./parse_leafnodes.ts";
import type { TableReader } from "./table_reader.ts";
import { describeType, isTable, readNonEmptyString, stringListReader } from "./value_readers.ts";

const readKeyList = stringListReader("operator public keys");
const readOperatorList = stringListReader("operator JWTs or JWT files");

/** nats-server's text for a remote whose `account` is not an account public key. */
export const REMOTE_ACCOUNT_NKEY_REQUIRED = "operator mode requires account nkeys in remotes. " +
  "Please add an `account` key to each remote in your `leafnodes` section, to assign it to an account. " +
  "Each account value should be a 56 character public key, starting with the letter 'A'";

const INLINE_JWT = /^eyJ[A-Za-z0-9_\-.=]+$/;
const MEMORY_RESOLVER = /^\s*(MEM|MEMORY)\s*$/i;

/**
 * Reads the operator-mode keys from the top-level table; `undefined` (after reporting any
 * operator-only key that was set anyway) when neither `operator` nor `trusted_keys` is set.
 */
export function readOperator(root: TableReader): OperatorOptions | undefined {
  const operatorMode = root.has("operator") || root.has("trusted_keys");
  if (!operatorMode) {
    for (const key of ["resolver", "resolver_preload", "system_account"]) {
      if (root.has(key)) {
        root.fail(
          key,
          `${key} is only supported in operator mode: set "operator" (an operator JWT) or "trusted_keys"`,
        );
      }
    }
    return undefined;
  }
  const operators = root.has("operator") ? readOperatorJwts(root) : [];
  let trustedKeys: string[];
  if (root.has("trusted_keys")) {
    if (root.has("operator")) {
      root.fail("trusted_keys", "conflicting options for 'TrustedKeys' and 'TrustedOperators'");
    }
    trustedKeys = readTrustedKeys(root);
  } else {
    trustedKeys = operatorSigningKeys(operators.map((o) => o.claims));
  }
  if (!root.has("resolver")) {
    root.fail(
      root.has("operator") ? "operator" : "trusted_keys",
      "operators require an account resolver to be configured",
    );
  } else readResolver(root);
  const preload = root.has("resolver_preload") ? readPreload(root) : {};
  const systemAccount = readSystemAccount(root, operators.map((o) => o.claims));
  return {
    operators: operators.map((o) => o.jwt),
    trustedKeys,
    ...(systemAccount === undefined ? {} : { systemAccount }),
    resolver: "MEMORY",
    preload,
  };
}

/** What the operator-mode checks need from the rest of the document. */
export interface OperatorModeContext {
  accounts: ParsedAccounts;
  authorization: ParsedAuthorization | undefined;
  leafnodes: ParsedLeafnodes;
}

/**
 * Reports what operator mode forbids (nats-server's `validateTrustedOperators` and leafnode
 * checks), and leafnode accounts that name no preloaded account.
 */
export function checkOperatorMode(
  root: TableReader,
  operator: OperatorOptions,
  context: OperatorModeContext,
): void {
  if (Object.keys(context.accounts.accounts).length > 0) {
    root.fail("accounts", "operators do not allow Accounts to be configured directly");
  }
  const authorization = context.authorization;
  if (authorization !== undefined && authorization.users.length > 0) {
    root.fail("authorization", "operators do not allow users to be configured directly");
  } else if (authorization?.hasToken) {
    root.fail(
      "authorization",
      "a token cannot be used in operator mode: clients present user JWTs",
    );
  }
  const leafnodes = context.leafnodes;
  if ((leafnodes.options.authorization?.users.length ?? 0) > 0) {
    root.issues.add(
      [...root.pathOf("leafnodes"), "authorization", "users"],
      "operator mode does not allow specifying user in leafnode config",
    );
  }
  const known = new Set(Object.keys(operator.preload));
  if (operator.systemAccount !== undefined) known.add(operator.systemAccount);
  for (const ref of leafnodes.accountRefs) {
    if (!isPublicKeyOfKind(ref.account, "A")) {
      // Leafnode users were refused above; their accounts need no second message.
      if (ref.role === "remote") root.issues.add(ref.path, REMOTE_ACCOUNT_NKEY_REQUIRED);
      else if (ref.path.at(-3) !== "users") {
        root.issues.add(ref.path, "operator mode and non account nkeys are incompatible");
      }
    } else if (!known.has(ref.account)) {
      root.issues.add(
        ref.path,
        `account ${
          JSON.stringify(ref.account)
        } is not in resolver_preload (nor the system account)`,
      );
    }
  }
}

/** The server's accounts in operator mode: every preloaded account and the system account. */
export function operatorAccountNames(operator: OperatorOptions): string[] {
  const names = new Set(Object.keys(operator.preload));
  if (operator.systemAccount !== undefined) names.add(operator.systemAccount);
  return [...names];
}

interface ReadOperatorJwt {
  jwt: string;
  claims: OperatorClaims;
}

function readOperatorJwts(root: TableReader): ReadOperatorJwt[] {
  const raw = root.raw("operator");
  const values = root.read("operator", readOperatorList);
  if (values === undefined) return [];
  const out: ReadOperatorJwt[] = [];
  values.forEach((value, index) => {
    const path: KeyPath = typeof raw === "string"
      ? root.pathOf("operator")
      : [...root.pathOf("operator"), index];
    const jwt = operatorJwtText(value);
    if (typeof jwt !== "string") {
      root.issues.add(path, `error parsing operator JWT: ${jwt.problem}`);
      return;
    }
    try {
      out.push({ jwt, claims: decodeOperatorClaims(jwt) });
    } catch (error) {
      if (!(error instanceof JwtClaimsError)) throw error;
      root.issues.add(path, `error parsing operator JWT: ${error.message}`);
    }
  });
  return out;
}

/** The JWT itself when inline, else the JWT in the file at `value` (plain or decorated). */
function operatorJwtText(value: string): string | { problem: string } {
  if (INLINE_JWT.test(value.trim())) return value.trim();
  let text: string;
  try {
    text = Deno.readTextFileSync(value);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound ? "no such file" : (error as Error).message;
    return { problem: `cannot read ${JSON.stringify(value)}: ${why}` };
  }
  return extractJwt(text) ?? { problem: `no JWT found in ${JSON.stringify(value)}` };
}

/**
 * The operator keys that may sign accounts: each operator's own key (unless it asks for strict
 * signing key usage) and its signing keys.
 */
function operatorSigningKeys(operators: readonly OperatorClaims[]): string[] {
  const keys: string[] = [];
  for (const claims of operators) {
    if (!claims.nats.strict_signing_key_usage) keys.push(claims.sub);
    for (const key of claims.nats.signing_keys ?? []) {
      if (typeof key === "string") keys.push(key);
    }
  }
  return keys;
}

function readTrustedKeys(root: TableReader): string[] {
  const keys = root.read("trusted_keys", readKeyList) ?? [];
  for (const key of keys) {
    if (!isPublicKeyOfKind(key, "O")) {
      root.fail(
        "trusted_keys",
        `trust key ${JSON.stringify(key)} required to be a valid public operator nkey`,
      );
    }
  }
  return keys;
}

function readResolver(root: TableReader): void {
  const value = root.raw("resolver");
  if (typeof value === "string" && MEMORY_RESOLVER.test(value)) return;
  if (isTable(value) || (typeof value === "string" && /^\s*URL\b/i.test(value))) {
    root.fail(
      "resolver",
      `Canopy supports only resolver = "MEMORY" (with resolver_preload), not the URL or directory resolvers`,
    );
    return;
  }
  root.fail(
    "resolver",
    typeof value === "string"
      ? 'error parsing account resolver, should be MEM or  URL("url") or a map containing dir and type state=[FULL|CACHE])'
      : `error parsing operator resolver, wrong type: ${describeType(value)}`,
  );
}

function readPreload(root: TableReader): Record<string, string> {
  const value = root.raw("resolver_preload");
  const path = root.pathOf("resolver_preload");
  const preload: Record<string, string> = {};
  if (!isTable(value)) {
    root.fail("resolver_preload", "preload should be a map of account_public_key:account_jwt");
    return preload;
  }
  for (const [key, jwt] of Object.entries(value)) {
    const at = [...path, key];
    if (typeof jwt !== "string") {
      root.issues.add(at, "preload map value should be a string JWT");
      continue;
    }
    let subject: string;
    try {
      subject = decodeAccountClaims(jwt).sub;
    } catch (error) {
      if (!(error instanceof JwtClaimsError)) throw error;
      root.issues.add(at, "invalid account JWT");
      continue;
    }
    if (!isPublicKeyOfKind(key, "A")) {
      root.issues.add(at, `preload key ${JSON.stringify(key)} is not an account public key`);
    } else if (subject !== key) {
      root.issues.add(
        at,
        `preload key ${JSON.stringify(key)} does not match the account JWT subject ${
          JSON.stringify(subject)
        }`,
      );
    } else preload[key] = jwt;
  }
  return preload;
}

/** `system_account`, which must agree with the operator JWTs that name one. */
function readSystemAccount(
  root: TableReader,
  operators: readonly OperatorClaims[],
): string | undefined {
  const configured = root.read("system_account", readNonEmptyString);
  if (configured === undefined) {
    // As nats-server: a single operator's system account applies when the config names none.
    return operators.length === 1 ? operators[0].nats.system_account || undefined : undefined;
  }
  if (!isPublicKeyOfKind(configured, "A")) {
    root.fail(
      "system_account",
      `system_account ${JSON.stringify(configured)} is not an account public key`,
    );
    return undefined;
  }
  const named = operators.map((o) => o.nats.system_account).filter((s) => s);
  if (named.length > 0 && !named.includes(configured)) {
    root.fail("system_account", "system_account in config and operator JWT must be identical");
  }
  return configured;
}
