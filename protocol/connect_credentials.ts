/**
 * The authentication fields a soliciting leafnode puts in its CONNECT, chosen the way
 * nats-server 2.9.10 chooses them (spec 4.5):
 *
 * 1. a signature callback (embedding API), else
 * 2. a `.creds` file (re-read at every attempt), else
 * 3. an nkey seed (the `nkey` remote option; nats-server 2.10.8+), else
 * 4. the userinfo of the URL being dialled, else
 * 5. the userinfo of the first configured URL that has one (gossiped URLs never carry any).
 *
 * nats-server 2.11+ differs: it sends the URL's user/password *in addition* to jwt/nkey (for
 * auth callout), and since 2.10.26 a URL with only a username (`nats://tok@host`) sends it as
 * both `user` and `auth_token`. We follow 2.9.10: exclusive choice, username only in `user`.
 *
 * @module
 */

import {
  base64UrlNoPad,
  CredsError,
  loadCredsFile,
  publicKeyFromSeed,
  signNonce,
} from "./creds.ts";

/** What an embedding program's signature callback returns (nats-server's `SignatureCB`). */
export interface SignedNonce {
  /** The user JWT for CONNECT `jwt`. */
  jwt: string;
  /** The Ed25519 signature of the nonce: raw bytes, or already base64url-encoded text. */
  sig: Uint8Array | string;
}

/** Signs the INFO nonce (its ASCII bytes) on behalf of the remote, e.g. with an HSM. */
export type SignatureCallback = (nonce: Uint8Array) => Promise<SignedNonce>;

/** The parts of a remote's configuration that decide its credentials. */
export interface RemoteCredentialSource {
  /** Path of a `.creds` file. */
  credentials?: string;
  /** A user nkey seed (`SU…`). */
  nkey?: string;
  /** Overrides `credentials` and `nkey` when set. */
  signatureCallback?: SignatureCallback;
  /** The configured URLs; the first with userinfo also serves URLs without any. */
  urls?: readonly string[];
}

/** The authentication fields of a leafnode CONNECT; absent fields are not sent. */
export interface LeafConnectCredentials {
  jwt?: string;
  nkey?: string;
  sig?: string;
  user?: string;
  pass?: string;
}

/** Percent-decodes userinfo like Go's `url.Parse`; keeps the raw text when it is not valid. */
function decodeUserinfo(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function toUrl(url: URL | string): URL | undefined {
  if (url instanceof URL) return url;
  return URL.canParse(url) ? new URL(url) : undefined;
}

// WHATWG URLs cannot tell `nats://@host` (empty userinfo) from `nats://host`; nats-server
// sends nothing for the former and falls back for the latter. We fall back for both.
function hasUserinfo(url: URL): boolean {
  return url.username !== "" || url.password !== "";
}

/**
 * The URL whose userinfo authenticates a connection to `current`: `current` itself when it has
 * userinfo, else the first of `configured` with a username, else `current`.
 *
 * nats-server scans its shuffled copy of the list, so with several different userinfos it picks
 * one at random; we take the first in configured order so the choice is predictable.
 *
 * @example
 * ```ts
 * import { credentialsUrl } from "./connect_credentials.ts";
 * credentialsUrl(["nats-leaf://u:p@a:7422"], "nats-leaf://10.0.0.2:7422").href;
 * // "nats-leaf://u:p@a:7422"
 * ```
 */
export function credentialsUrl(
  configured: readonly (string | URL)[],
  current: URL | string,
): URL | undefined {
  const currentUrl = toUrl(current);
  if (currentUrl !== undefined && hasUserinfo(currentUrl)) return currentUrl;
  for (const candidate of configured) {
    const url = toUrl(candidate);
    if (url !== undefined && url.username !== "") return url;
  }
  return currentUrl;
}

function userPass(url: URL | undefined): LeafConnectCredentials {
  if (url === undefined || !hasUserinfo(url)) return {};
  const fields: LeafConnectCredentials = {};
  const user = decodeUserinfo(url.username);
  const pass = decodeUserinfo(url.password);
  // Go's json omitempty drops empty strings, so do we.
  if (user !== "") fields.user = user;
  if (pass !== "") fields.pass = pass;
  return fields;
}

async function fromCallback(
  callback: SignatureCallback,
  nonce: string,
): Promise<LeafConnectCredentials> {
  let signed: SignedNonce;
  try {
    signed = await callback(new TextEncoder().encode(nonce));
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new CredsError(`Cannot sign the nonce: ${detail}`, { cause });
  }
  const sig = typeof signed.sig === "string" ? signed.sig : base64UrlNoPad(signed.sig);
  return { jwt: signed.jwt, sig };
}

/**
 * Builds the CONNECT authentication fields for a connection to `url` that received `nonce` in
 * the peer's INFO (`undefined` signs the empty string, as nats-server does). Throws
 * {@linkcode CredsError} when the creds file cannot be read or parsed, the seed is malformed, or
 * the signature callback fails: nats-server aborts that connect attempt in each case.
 *
 * @example
 * ```ts
 * import { leafConnectCredentials } from "./connect_credentials.ts";
 * const auth = await leafConnectCredentials(remoteOptions, currentUrl, info.nonce);
 * const connect = { version: "2.9.10", ...auth, headers: true };
 * ```
 */
export async function leafConnectCredentials(
  remote: RemoteCredentialSource,
  url: URL | string,
  nonce: string | undefined,
): Promise<LeafConnectCredentials> {
  const signed = nonce ?? "";
  if (remote.signatureCallback !== undefined) {
    return await fromCallback(remote.signatureCallback, signed);
  }
  if (remote.credentials !== undefined && remote.credentials !== "") {
    const creds = await loadCredsFile(remote.credentials);
    return { jwt: creds.jwt, sig: signNonce(creds.seed, signed) };
  }
  if (remote.nkey !== undefined && remote.nkey !== "") {
    return { nkey: publicKeyFromSeed(remote.nkey), sig: signNonce(remote.nkey, signed) };
  }
  return userPass(credentialsUrl(remote.urls ?? [], url));
}
