/**
 * Decoding NATS JWTs (operator, account, user) with `@nats-io/jwt`: the library checks the
 * Ed25519 signature against the issuer key inside the token; this file adds the checks a
 * server makes before trusting the claims (claim type, key kinds of subject and issuer).
 * Nothing here decides trust: that needs the operator keys (see `jwt_auth.ts`).
 *
 * @module
 */

import { decode, isAccount, isOperator, isUser } from "@nats-io/jwt";
import type { Account, ClaimsData, Operator, User } from "@nats-io/jwt";
import { fromPublic } from "@nats-io/nkeys";

/** Decoded operator claims, with the fields nats-server reads that the library does not type. */
export type OperatorClaims = ClaimsData<Operator & { strict_signing_key_usage?: boolean }>;
/** Decoded account claims. */
export type AccountClaims = ClaimsData<Account>;
/** Decoded user claims. */
export type UserClaims = ClaimsData<User>;

/**
 * A token that is not a usable NATS JWT of the expected kind: malformed, signed by someone
 * other than its `iss`, of another claim type, or with the wrong kind of key.
 *
 * @example
 * ```ts
 * import { decodeUserClaims, JwtClaimsError } from "./jwt_claims.ts";
 * try {
 *   decodeUserClaims("not.a.jwt");
 * } catch (error) {
 *   console.log(error instanceof JwtClaimsError); // true
 * }
 * ```
 */
export class JwtClaimsError extends Error {
  override name = "JwtClaimsError";
}

/** Every JWT starts with the base64url of `{"`. */
const JWT_LINE = /^eyJ[A-Za-z0-9_\-.=]+$/;

/**
 * The JWT in `text`: the text itself, or the first JWT line of a decorated file (the
 * `-----BEGIN NATS OPERATOR JWT-----` armour nsc writes); `undefined` when there is none.
 *
 * @example
 * ```ts
 * import { extractJwt } from "./jwt_claims.ts";
 * extractJwt("-----BEGIN X-----\neyJhIjoxfQ.e30.sig\n------END X------\n"); // "eyJhIjoxfQ.e30.sig"
 * ```
 */
export function extractJwt(text: string): string | undefined {
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (JWT_LINE.test(trimmed)) return trimmed;
  }
  return undefined;
}

/** True when `key` is a valid public nkey (checksum included) of the kind `prefix` names. */
export function isPublicKeyOfKind(key: unknown, prefix: "O" | "A" | "U"): key is string {
  if (typeof key !== "string" || !key.startsWith(prefix)) return false;
  try {
    fromPublic(key);
    return true;
  } catch {
    return false;
  }
}

function decodeVerified<T>(token: string): ClaimsData<T> {
  let claims: ClaimsData<T>;
  try {
    claims = decode<T>(token);
  } catch (error) {
    throw new JwtClaimsError((error as Error).message, { cause: error });
  }
  if (typeof claims !== "object" || claims === null || typeof claims.nats !== "object") {
    throw new JwtClaimsError("not a NATS JWT: no nats claims");
  }
  return claims;
}

/**
 * Decodes an operator JWT: signed by the operator itself or one of its own signing keys.
 *
 * @throws {JwtClaimsError} when the token is not a valid operator JWT.
 */
export function decodeOperatorClaims(token: string): OperatorClaims {
  const claims = decodeVerified<Operator & { strict_signing_key_usage?: boolean }>(token);
  if (!isOperator(claims)) throw new JwtClaimsError("not an operator JWT");
  if (!isPublicKeyOfKind(claims.sub, "O")) {
    throw new JwtClaimsError("operator JWT subject is not an operator public key");
  }
  if (!isPublicKeyOfKind(claims.iss, "O")) {
    throw new JwtClaimsError("operator JWT issuer is not an operator public key");
  }
  if (claims.iss !== claims.sub && !(claims.nats.signing_keys ?? []).includes(claims.iss)) {
    throw new JwtClaimsError("operator JWT is not signed by the operator or its signing keys");
  }
  return claims;
}

/**
 * Decodes an account JWT; its issuer must be an operator key (which one is trusted is for the
 * caller to decide).
 *
 * @throws {JwtClaimsError} when the token is not a valid account JWT.
 */
export function decodeAccountClaims(token: string): AccountClaims {
  const claims = decodeVerified<Account>(token);
  if (!isAccount(claims)) throw new JwtClaimsError("not an account JWT");
  if (!isPublicKeyOfKind(claims.sub, "A")) {
    throw new JwtClaimsError("account JWT subject is not an account public key");
  }
  if (!isPublicKeyOfKind(claims.iss, "O")) {
    throw new JwtClaimsError("account JWT issuer is not an operator public key");
  }
  return claims;
}

/**
 * Decodes a user JWT; its issuer must be an account key (the account itself or one of its
 * signing keys, in which case `issuer_account` names the account).
 *
 * @throws {JwtClaimsError} when the token is not a valid user JWT.
 */
export function decodeUserClaims(token: string): UserClaims {
  const claims = decodeVerified<User>(token);
  if (!isUser(claims)) throw new JwtClaimsError("not a user JWT");
  if (!isPublicKeyOfKind(claims.sub, "U")) {
    throw new JwtClaimsError("user JWT subject is not a user public key");
  }
  if (!isPublicKeyOfKind(claims.iss, "A")) {
    throw new JwtClaimsError("user JWT issuer is not an account public key");
  }
  const issuerAccount = claims.nats.issuer_account;
  if (
    issuerAccount !== undefined && issuerAccount !== "" && !isPublicKeyOfKind(issuerAccount, "A")
  ) {
    throw new JwtClaimsError("user JWT issuer_account is not an account public key");
  }
  return claims;
}

/** The account a user JWT binds to: `issuer_account` when a signing key issued it, else `iss`. */
export function userAccountKey(claims: UserClaims): string {
  const issuerAccount = claims.nats.issuer_account;
  return issuerAccount ? issuerAccount : claims.iss;
}
