/**
 * Operator-mode authentication (decentralized auth): a client or leaf presents a user JWT in
 * CONNECT `jwt` and signs the INFO nonce with the user's nkey (`sig`). The user binds to the
 * account that issued it. Checks, in nats-server's order where it matters:
 *
 * 1. the user JWT decodes and its signature matches its issuer; it is not expired or early;
 * 2. its account is known (preloaded), signed by a trusted operator key, not expired;
 * 3. the user's issuer is the account key or one of its signing keys (a scoped key replaces
 *    the user's permissions with its template);
 * 4. the connection type is allowed; bearer tokens are allowed by the account;
 * 5. the nonce signature verifies (skipped for bearer tokens); the user is not revoked;
 * 6. the account's connection limits have room.
 *
 * Every refusal carries a specific reason for the log; on the wire it is
 * `-ERR 'Authorization Violation'`, except a full account, which nats-server reports as
 * `-ERR 'maximum account active connections exceeded'` (`wireError`).
 *
 * @module
 */

import type { OperatorOptions, PermissionsOptions } from "../config/options.ts";
import type { AuthVerdict } from "./client_auth.ts";
import { nonceSignatureProblem } from "./client_auth.ts";
import type { ConnectOptions } from "./info.ts";
import { TrustedAccount } from "./jwt_account.ts";
import {
  ACCOUNT_CONNECTIONS_EXCEEDED,
  AccountLimits,
  type ConnectionLease,
} from "./jwt_account_limits.ts";
import {
  decodeAccountClaims,
  decodeOperatorClaims,
  decodeUserClaims,
  JwtClaimsError,
  userAccountKey,
  type UserClaims,
} from "./jwt_claims.ts";
import {
  expandPermissionTemplate,
  hasNoPermissions,
  permissionsFromJwt,
  PermissionTemplateError,
} from "./jwt_permissions.ts";
import type { UserPermissionsLimits } from "@nats-io/jwt";

/**
 * How a connection arrived, as user JWTs name it in `allowed_connection_types`: a client over
 * TCP (`STANDARD`) or WebSocket, a leafnode over TCP or WebSocket.
 */
export type ConnectionKind = "STANDARD" | "LEAFNODE" | "WEBSOCKET" | "LEAFNODE_WS";

/** Connection types nats-server 2.9.10 knows; others in a JWT are ignored (MQTT is known). */
const KNOWN_CONNECTION_TYPES = new Set([
  "STANDARD",
  "WEBSOCKET",
  "LEAFNODE",
  "LEAFNODE_WS",
  "MQTT",
  "MQTT_WS",
]);

/** True for the leafnode connection kinds. */
export function isLeafKind(kind: ConnectionKind): boolean {
  return kind === "LEAFNODE" || kind === "LEAFNODE_WS";
}

/** Options for {@linkcode JwtAuthenticator}. */
export interface JwtAuthenticatorOptions {
  /** Current time in milliseconds since the epoch (tests inject a fixed clock). */
  now?: () => number;
  /**
   * The counters of the authenticator this one replaces (configuration reload): connections
   * admitted before keep their places, and the new account limits apply to them.
   */
  limits?: AccountLimits;
}

type Refusal = Extract<AuthVerdict, { ok: false }>;

function refused(reason: string): Refusal {
  return { ok: false, reason };
}

/**
 * Authenticates user JWTs against the operator configuration. One instance serves clients and
 * leaves so that account connection counts are shared.
 *
 * @example
 * ```ts
 * import { JwtAuthenticator } from "./jwt_auth.ts";
 * import type { OperatorOptions } from "../config/options.ts";
 * declare const operator: OperatorOptions;
 * declare const userJwt: string, sig: string, nonce: string;
 * const auth = new JwtAuthenticator(operator);
 * const verdict = auth.authenticate({ jwt: userJwt, sig }, nonce, "STANDARD");
 * if (verdict.ok) {
 *   console.log(verdict.identity.account); // the account public key
 *   verdict.identity.lease?.release(); // when the connection closes
 * }
 * ```
 */
export class JwtAuthenticator {
  /** Live connection counts against the accounts' limits. */
  readonly limits: AccountLimits;
  readonly #accounts = new Map<string, TrustedAccount>();
  /** Preloaded accounts whose JWT is unusable, with why (logged on each attempt). */
  readonly #brokenAccounts = new Map<string, string>();
  readonly #trustedKeys: ReadonlySet<string>;
  readonly #now: () => number;

  /**
   * Preloaded accounts whose JWT is unusable are kept aside (their users are refused with the
   * reason).
   *
   * @throws {JwtClaimsError} when an operator JWT in `operator.operators` is not one (the
   *   config loader has already refused such a file).
   */
  constructor(operator: OperatorOptions, options: JwtAuthenticatorOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.limits = options.limits ?? new AccountLimits();
    this.limits.clearLimits();
    this.#trustedKeys = new Set(operator.trustedKeys);
    // Accounts signed by a strict operator's signing key may not sign users with their own key.
    const strictIssuers = new Set<string>();
    for (const token of operator.operators) {
      const claims = decodeOperatorClaims(token);
      if (claims.nats.strict_signing_key_usage) {
        for (const key of claims.nats.signing_keys ?? []) {
          if (typeof key === "string") strictIssuers.add(key);
        }
      }
    }
    for (const [key, token] of Object.entries(operator.preload)) {
      try {
        const claims = decodeAccountClaims(token);
        const account = new TrustedAccount(claims, {
          strictSigningKeys: strictIssuers.has(claims.iss),
        });
        if (account.publicKey !== key) {
          this.#brokenAccounts.set(
            key,
            `preloaded under another key: its subject is "${account.publicKey}"`,
          );
          continue;
        }
        this.#accounts.set(key, account);
        this.limits.setLimits(key, account.limits);
      } catch (error) {
        if (!(error instanceof JwtClaimsError)) throw error;
        this.#brokenAccounts.set(key, error.message);
      }
    }
  }

  /** Public keys of the usable preloaded accounts. */
  get accountKeys(): string[] {
    return [...this.#accounts.keys()];
  }

  /**
   * Decides who the CONNECT's user JWT is. `nonce` is the one sent in INFO; `kind` is how the
   * connection arrived. On success the identity holds a lease on the account's connection
   * count: release it when the connection closes.
   */
  authenticate(
    connect: ConnectOptions,
    nonce: string | undefined,
    kind: ConnectionKind = "STANDARD",
  ): AuthVerdict {
    if (connect.jwt === undefined || connect.jwt === "") {
      return refused("authentication requires a user JWT");
    }
    let user: UserClaims;
    try {
      user = decodeUserClaims(connect.jwt);
    } catch (error) {
      if (!(error instanceof JwtClaimsError)) throw error;
      return refused(`bad signature or malformed user JWT: ${error.message}`);
    }
    const nowSeconds = Math.floor(this.#now() / 1000);
    const userKey = user.sub;
    const timeProblem = validityProblem(`user JWT "${userKey}"`, user, nowSeconds);
    if (timeProblem) return refused(timeProblem);

    const accountKey = userAccountKey(user);
    const accountOrRefusal = this.#trustedAccount(accountKey, nowSeconds);
    if (!(accountOrRefusal instanceof TrustedAccount)) return accountOrRefusal;
    const account = accountOrRefusal;

    const scope = account.signerScope(user.iss);
    if (scope === undefined) {
      return refused(
        `wrong issuer: user JWT "${userKey}" is signed by "${user.iss}", which is neither account ` +
          `"${accountKey}" nor one of its signing keys`,
      );
    }
    let limits: Partial<UserPermissionsLimits> = user.nats;
    if (scope !== null) {
      if (!hasNoScopedFields(user.nats)) {
        return refused(
          `user JWT "${userKey}" is signed by scoped signing key "${user.iss}" but sets its own ` +
            `permissions or limits`,
        );
      }
      try {
        limits = {
          ...scope.template,
          ...expandPermissionTemplate(scope.template, {
            userName: user.name ?? "",
            userKey,
            userTags: user.nats.tags ?? [],
            accountName: account.name,
            issuerAccount: user.nats.issuer_account ?? "",
            accountTags: account.tags,
          }),
        };
      } catch (error) {
        if (!(error instanceof PermissionTemplateError)) throw error;
        return refused(`scoped signing key "${user.iss}": ${error.message}`);
      }
    }

    const typeProblem = connectionTypeProblem(limits.allowed_connection_types, kind, userKey);
    if (typeProblem) return refused(typeProblem);

    const bearer = limits.bearer_token === true;
    if (bearer && account.disallowBearer) {
      return refused(`account "${accountKey}" does not allow bearer token user "${userKey}"`);
    }
    if (!bearer) {
      const problem = nonceSignatureProblem(userKey, nonce, connect.sig);
      if (problem) return refused(`bad signature for user "${userKey}": ${problem}`);
    }
    if (account.isRevoked(userKey, user.iat ?? 0)) {
      return refused(`user "${userKey}" has been revoked by account "${accountKey}"`);
    }
    // Source networks and time windows need the peer address and a locale-aware clock; refuse
    // rather than let such a user in without its restrictions.
    if ((limits.src ?? []).length > 0) {
      return refused(`user JWT "${userKey}" restricts source networks (src), not supported`);
    }
    if ((limits.times ?? []).length > 0) {
      return refused(`user JWT "${userKey}" restricts connect times (times), not supported`);
    }

    const lease = this.admit(accountKey, kind);
    if (!("release" in lease)) return lease;
    const permissions: PermissionsOptions | undefined = permissionsFromJwt(limits) ??
      account.defaultPermissions;
    return {
      ok: true,
      identity: {
        account: accountKey,
        user: userKey,
        ...(permissions ? { permissions } : {}),
        lease,
        ...(user.exp ? { expiresAtMs: user.exp * 1000 } : {}),
      },
    };
  }

  /**
   * Takes a place in `account`'s connection count for a connection of `kind` authenticated by
   * other means (a leafnode `authorization` user bound to an account key).
   */
  admit(account: string, kind: ConnectionKind): ConnectionLease | Refusal {
    const leaf = isLeafKind(kind);
    const lease = this.limits.acquire(account, leaf);
    if (lease) return lease;
    const limit = this.#accounts.get(account)?.limits;
    return {
      ok: false,
      reason: `${ACCOUNT_CONNECTIONS_EXCEEDED}: account "${account}" allows ${
        leaf ? `${limit?.leaf} leafnode` : `${limit?.conn}`
      } connections (limits.${leaf ? "leaf" : "conn"} in the account JWT; -1 is unlimited)`,
      wireError: ACCOUNT_CONNECTIONS_EXCEEDED,
    };
  }

  #trustedAccount(accountKey: string, nowSeconds: number): TrustedAccount | Refusal {
    const account = this.#accounts.get(accountKey);
    if (!account) {
      const broken = this.#brokenAccounts.get(accountKey);
      return refused(
        broken === undefined
          ? `account "${accountKey}" is not known (not in resolver_preload)`
          : `account JWT of "${accountKey}" is not usable: ${broken}`,
      );
    }
    if (!this.#trustedKeys.has(account.issuer)) {
      return refused(
        `wrong issuer: account "${accountKey}" is signed by "${account.issuer}", not by a trusted operator key`,
      );
    }
    if (account.expiresAt > 0 && account.expiresAt <= nowSeconds) {
      return refused(`account JWT "${accountKey}" has expired`);
    }
    if (account.notBefore > 0 && account.notBefore > nowSeconds) {
      return refused(`account JWT "${accountKey}" is not valid yet`);
    }
    return account;
  }
}

/** `exp`/`nbf` as nats-server's JWT library checks them (whole seconds, `exp` inclusive). */
function validityProblem(
  what: string,
  claims: { exp?: number; nbf?: number },
  nowSeconds: number,
): string | undefined {
  if (claims.exp && nowSeconds > claims.exp) {
    return `${what} has expired (exp ${new Date(claims.exp * 1000).toISOString()})`;
  }
  if (claims.nbf && claims.nbf > nowSeconds) {
    return `${what} is not valid yet (nbf ${new Date(claims.nbf * 1000).toISOString()})`;
  }
  return undefined;
}

/**
 * nats-server's rule: an empty list allows every type; unknown names are ignored, but a list of
 * only unknown names allows nothing (its author meant to restrict).
 */
function connectionTypeProblem(
  allowed: readonly string[] | undefined,
  kind: ConnectionKind,
  userKey: string,
): string | undefined {
  if (allowed === undefined || allowed.length === 0) return undefined;
  const known = allowed.map((t) => t.toUpperCase()).filter((t) => KNOWN_CONNECTION_TYPES.has(t));
  if (known.includes(kind)) return undefined;
  const list = JSON.stringify(allowed);
  return known.length === 0
    ? `connection type ${kind} not allowed: user "${userKey}" allows only unknown types ${list}`
    : `connection type ${kind} not allowed for user "${userKey}" (allowed: ${list})`;
}

/** A user signed by a scoped key may set no permissions or limits of its own. */
function hasNoScopedFields(user: Partial<UserPermissionsLimits>): boolean {
  const unlimited = (value: number | undefined) =>
    value === undefined || value === -1 || value === 0;
  return hasNoPermissions(user) && user.bearer_token !== true &&
    (user.src ?? []).length === 0 && (user.times ?? []).length === 0 &&
    (user.allowed_connection_types ?? []).length === 0 &&
    unlimited(user.subs) && unlimited(user.data) && unlimited(user.payload);
}
