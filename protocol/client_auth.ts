/**
 * Deciding who a connecting client is: token, user/password (plain or bcrypt),
 * nkey with a signed nonce, or `no_auth_user`; in operator mode, a user JWT
 * (`jwt_auth.ts`). Pure decision logic; the connection actor feeds it the
 * CONNECT and acts on the verdict.
 *
 * @module
 */
import bcrypt from "bcryptjs";
import { fromPublic } from "@nats-io/nkeys";
import type { PermissionsOptions, ServerOptions, UserOptions } from "../config/options.ts";
import type { ConnectOptions } from "./info.ts";
import { GLOBAL_ACCOUNT } from "../config/defaults.ts";
import { certificateIdentities, type CertificateNames } from "./cert_identity.ts";
import { type ConnectionKind, JwtAuthenticator } from "./jwt_auth.ts";
import type { AccountLimits, ConnectionLease } from "./jwt_account_limits.ts";

export type { ConnectionKind } from "./jwt_auth.ts";
export type { ConnectionLease } from "./jwt_account_limits.ts";

/** A successful authentication: which account the client binds to and with what rights. */
export interface AuthIdentity {
  account: string;
  /** The user name or nkey, for logs; absent for anonymous clients. */
  user?: string;
  permissions?: PermissionsOptions;
  /**
   * Operator mode: this connection's place in its account's connection count. Release it when
   * the connection closes (whatever happened after authentication); releasing twice is harmless.
   */
  lease?: ConnectionLease;
  /** Operator mode: when the user JWT expires (ms since the epoch); close the connection then. */
  expiresAtMs?: number;
}

export type AuthVerdict =
  | { ok: true; identity: AuthIdentity }
  | {
    ok: false;
    /** Why, for the log. */
    reason: string;
    /** Text for `-ERR '...'` when it is not `Authorization Violation`. */
    wireError?: string;
  };

const BCRYPT_PREFIX = /^\$2[aby]?\$/;

function denied(reason: string): AuthVerdict {
  return { ok: false, reason };
}

export function decodeSignature(sig: string): Uint8Array | undefined {
  try {
    const std = sig.replaceAll("-", "+").replaceAll("_", "/");
    const padded = std + "=".repeat((4 - std.length % 4) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/** Constant-time comparison so that response timing does not leak a secret's prefix. */
function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** Compares a configured password (plain or bcrypt hash) with the one presented. */
export async function passwordMatches(stored: string, given: string): Promise<boolean> {
  if (BCRYPT_PREFIX.test(stored)) return await bcrypt.compare(given, stored);
  return sameSecret(stored, given);
}

/**
 * Checks that `sig` is `nkey`'s signature over the nonce we sent; returns
 * why not, or undefined when it verifies.
 */
export function nonceSignatureProblem(
  nkey: string,
  nonce: string | undefined,
  sig: string | undefined,
): string | undefined {
  if (!nonce || !sig) return "nkey presented without a signature";
  const bytes = decodeSignature(sig);
  if (!bytes) return "signature is not base64";
  try {
    if (!fromPublic(nkey).verify(new TextEncoder().encode(nonce), bytes)) {
      return "signature verification failed";
    }
  } catch {
    return "invalid nkey";
  }
  return undefined;
}

export class ClientAuthenticator {
  #token?: string;
  #byName = new Map<string, UserOptions>();
  #byNkey = new Map<string, UserOptions>();
  #noAuthUser?: UserOptions;
  #defaultPermissions?: PermissionsOptions;
  #mapCertificates: boolean;
  #jwt?: JwtAuthenticator;

  /**
   * `deps.now` is the clock for JWT expiry; `deps.accountLimits` carries the live account
   * connection counts over from the authenticator this one replaces on a reload.
   */
  constructor(
    options: ServerOptions,
    deps: { now?: () => number; accountLimits?: AccountLimits } = {},
  ) {
    if (options.operator) {
      this.#jwt = new JwtAuthenticator(options.operator, {
        now: deps.now,
        limits: deps.accountLimits,
      });
    }
    const auth = options.authorization;
    this.#mapCertificates = options.tls?.verifyAndMap === true;
    this.#token = auth?.token;
    this.#defaultPermissions = auth?.defaultPermissions;
    const users = [
      ...(auth?.users ?? []),
      ...Object.values(options.accounts).flatMap((a) => a.users),
    ];
    for (const u of users) {
      if (u.nkey) this.#byNkey.set(u.nkey, u);
      else if (u.user !== undefined) this.#byName.set(u.user, u);
    }
    if (options.noAuthUser) this.#noAuthUser = this.#byName.get(options.noAuthUser);
  }

  /** True when a client must present credentials (INFO `auth_required`). */
  get authRequired(): boolean {
    if (this.#jwt) return true;
    return this.#token !== undefined || this.#byName.size > 0 || this.#byNkey.size > 0;
  }

  /** True when INFO must carry a nonce for nkey signatures. */
  get nonceRequired(): boolean {
    return this.#jwt !== undefined || this.#byNkey.size > 0;
  }

  /** The operator-mode authenticator (and its account connection counts), if any. */
  get jwt(): JwtAuthenticator | undefined {
    return this.#jwt;
  }

  /**
   * Who a client is when it presents nothing: anyone when no auth is
   * configured, the `no_auth_user` when one is set, otherwise nobody.
   */
  anonymousIdentity(): AuthIdentity | undefined {
    if (this.#jwt) return undefined;
    if (!this.authRequired) return { account: GLOBAL_ACCOUNT };
    const user = this.#noAuthUser;
    if (!user) return undefined;
    return {
      account: user.account,
      user: user.user,
      permissions: user.permissions ?? this.#defaultPermissions,
    };
  }

  /**
   * Decides who the CONNECT is. `kind` says how the connection arrived; only operator mode
   * uses it (user JWTs may limit their connection types).
   */
  async authenticate(
    connect: ConnectOptions,
    nonce: string | undefined,
    certificate?: CertificateNames,
    kind: ConnectionKind = "STANDARD",
  ): Promise<AuthVerdict> {
    // In operator mode only user JWTs count, as in nats-server (no users can be configured).
    if (this.#jwt) return this.#jwt.authenticate(connect, nonce, kind);
    if (this.#mapCertificates) return this.#mapped(certificate);
    if (!this.authRequired) return { ok: true, identity: { account: GLOBAL_ACCOUNT } };
    if (this.#token !== undefined) {
      if (connect.auth_token === undefined) return denied("no token presented");
      return sameSecret(this.#token, connect.auth_token)
        ? { ok: true, identity: { account: GLOBAL_ACCOUNT, permissions: this.#defaultPermissions } }
        : denied("token mismatch");
    }
    if (connect.nkey !== undefined) return this.#nkey(connect, nonce);
    if (connect.user !== undefined) {
      const user = this.#byName.get(connect.user);
      if (!user) return denied(`unknown user "${connect.user}"`);
      if (
        user.password !== undefined && !(await passwordMatches(user.password, connect.pass ?? ""))
      ) {
        return denied(`wrong password for user "${connect.user}"`);
      }
      return this.#granted(user, connect.user);
    }
    const anonymous = connect.auth_token === undefined && connect.jwt === undefined
      ? this.anonymousIdentity()
      : undefined;
    if (anonymous) return { ok: true, identity: anonymous };
    return denied("no credentials presented");
  }

  /** `verify_and_map`: the certificate alone says who the client is; CONNECT credentials are ignored. */
  #mapped(certificate: CertificateNames | undefined): AuthVerdict {
    if (!certificate) return denied("verify_and_map needs a client certificate");
    for (const name of certificateIdentities(certificate)) {
      const user = this.#byName.get(name);
      if (user) return this.#granted(user, name);
    }
    return denied(`no user maps to certificate "${certificate.subject.replaceAll("\n", ",")}"`);
  }

  #nkey(connect: ConnectOptions, nonce: string | undefined): AuthVerdict {
    const user = this.#byNkey.get(connect.nkey!);
    if (!user) return denied(`unknown nkey "${connect.nkey}"`);
    const problem = nonceSignatureProblem(connect.nkey!, nonce, connect.sig);
    if (problem) return denied(problem);
    return this.#granted(user, connect.nkey);
  }

  #granted(user: UserOptions, name: string | undefined): AuthVerdict {
    return {
      ok: true,
      identity: {
        account: user.account,
        user: name,
        permissions: user.permissions ?? this.#defaultPermissions,
      },
    };
  }
}
