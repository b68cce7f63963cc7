/**
 * An account JWT compiled once into what authenticating its users needs: who may sign users
 * (the account key and its signing keys, some with a permission template), revocations,
 * connection limits, bearer-token policy and default permissions.
 *
 * @module
 */

import type { Account, SigningKey, UserPermissionsLimits } from "@nats-io/jwt";
import type { PermissionsOptions } from "../config/options.ts";
import { type AccountClaims, decodeAccountClaims } from "./jwt_claims.ts";
import { permissionsFromJwt } from "./jwt_permissions.ts";

/** nats-server's `jwt.All`: a revocation of every user issued at or before the time. */
const REVOKE_ALL = "*";

/** What a scoped signing key imposes on the users it signs. */
export interface SigningScope {
  /** The template replacing the user's own permissions and limits. */
  template: Partial<UserPermissionsLimits>;
}

/** Connection limits from the account JWT; `-1` means no limit. */
export interface AccountConnectionLimits {
  /** `limits.conn`: client and leaf connections together. */
  conn: number;
  /** `limits.leaf`: leafnode connections. */
  leaf: number;
}

/**
 * A decoded, signature-checked account JWT. Whether its issuer is trusted is not decided here.
 *
 * @example
 * ```ts
 * import { TrustedAccount } from "./jwt_account.ts";
 * declare const accountJwt: string;
 * const account = TrustedAccount.fromJwt(accountJwt);
 * console.log(account.publicKey, account.limits.conn);
 * ```
 */
export class TrustedAccount {
  readonly publicKey: string;
  readonly name: string;
  /** The operator key that signed the account JWT. */
  readonly issuer: string;
  readonly tags: readonly string[];
  /** Seconds since the epoch; 0 when the JWT never expires. */
  readonly expiresAt: number;
  /** Seconds since the epoch; 0 when the JWT is valid from the start. */
  readonly notBefore: number;
  readonly limits: AccountConnectionLimits;
  readonly disallowBearer: boolean;
  readonly defaultPermissions: PermissionsOptions | undefined;
  /** Signing key → its scope (`null` for an unscoped key). */
  readonly #signers = new Map<string, SigningScope | null>();
  readonly #revocations: ReadonlyMap<string, number>;

  /**
   * `strictSigningKeys`: the operator asked for strict signing key usage, so the account's own
   * key may not sign users.
   */
  constructor(claims: AccountClaims, options: { strictSigningKeys?: boolean } = {}) {
    const nats: Partial<Account> = claims.nats;
    this.publicKey = claims.sub;
    this.name = claims.name ?? "";
    this.issuer = claims.iss;
    this.tags = nats.tags ?? [];
    this.expiresAt = claims.exp ?? 0;
    this.notBefore = claims.nbf ?? 0;
    // nats-server reads a missing limit as 0, which allows no connection at all: generated
    // account JWTs must say -1 for "unlimited".
    this.limits = { conn: nats.limits?.conn ?? 0, leaf: nats.limits?.leaf ?? 0 };
    this.disallowBearer = nats.limits?.disallow_bearer === true || nats.disallow_bearer === true;
    this.defaultPermissions = permissionsFromJwt(nats.default_permissions);
    if (!options.strictSigningKeys) this.#signers.set(claims.sub, null);
    for (const entry of nats.signing_keys ?? []) {
      if (typeof entry === "string") this.#signers.set(entry, null);
      else if (isScope(entry)) this.#signers.set(entry.key, { template: entry.template ?? {} });
    }
    this.#revocations = new Map(Object.entries(nats.revocations ?? {}));
  }

  /** Decodes and wraps an account JWT. Throws `JwtClaimsError` when it is not one. */
  static fromJwt(token: string, options: { strictSigningKeys?: boolean } = {}): TrustedAccount {
    return new TrustedAccount(decodeAccountClaims(token), options);
  }

  /**
   * Whether `key` may sign users of this account: `undefined` when it may not, `null` for the
   * account key or an unscoped signing key, the scope otherwise.
   */
  signerScope(key: string): SigningScope | null | undefined {
    return this.#signers.get(key);
  }

  /**
   * True when the user `userKey` issued at `issuedAt` (seconds) is revoked: its own revocation
   * or the all-users one is at or after the issue time.
   */
  isRevoked(userKey: string, issuedAt: number): boolean {
    if (this.#revocations.size === 0) return false;
    const own = this.#revocations.get(userKey);
    if (own !== undefined && own >= issuedAt) return true;
    const all = this.#revocations.get(REVOKE_ALL);
    return all !== undefined && all >= issuedAt;
  }
}

/** nats-server accepts `user_template`; `@nats-io/jwt` writes `user_scope`. */
function isScope(entry: unknown): entry is SigningKey {
  if (typeof entry !== "object" || entry === null) return false;
  const scope = entry as { key?: unknown; kind?: unknown };
  return typeof scope.key === "string" &&
    (scope.kind === "user_scope" || scope.kind === "user_template");
}
