/**
 * NATS `.creds` files (user JWT + nkey seed) and nonce signing for the CONNECT a remote sends.
 *
 * A creds file holds two armored blocks: the first carries the user JWT, the second the user
 * nkey seed. Text outside the blocks (the "IMPORTANT" banner nsc writes) is ignored. Lines may
 * end in `\n` or `\r\n`. The seed is a secret: no message built here ever contains it.
 *
 * @module
 */

import { fromSeed } from "@nats-io/nkeys";

/** The two secrets a creds file carries. */
export interface Creds {
  /** The user JWT, verbatim; goes into CONNECT `jwt`. */
  jwt: string;
  /** The user nkey seed (`SU…`); signs the INFO nonce. Never log it. */
  seed: string;
}

/** Options for {@linkcode CredsError}. */
export interface CredsErrorOptions {
  /** The creds file involved, when there is one. */
  path?: string;
  cause?: unknown;
}

/**
 * A creds file that cannot be read or used, a malformed seed, or a failed nonce signature.
 * Messages never contain the seed.
 *
 * @example
 * ```ts
 * import { CredsError, parseCreds } from "./creds.ts";
 * try {
 *   parseCreds("not a creds file");
 * } catch (err) {
 *   console.log(err instanceof CredsError); // true
 * }
 * ```
 */
export class CredsError extends Error {
  override name = "CredsError";
  /** The creds file involved, if any. */
  readonly path: string | undefined;

  /** Creates the error; `message` must not contain secrets. */
  constructor(message: string, options: CredsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.path = options.path;
  }
}

// A dash line is at least three dashes, any text, at least three dashes (nsc writes
// `-----BEGIN NATS USER JWT-----` and `------END NATS USER JWT------`). nats-server does not
// anchor the opening line at its start, so neither do we.
const OPENING_LINE = /-{3,}.*-{3,}$/;
const CLOSING_LINE = /^-{3,}.*-{3,}$/;
// The characters nats-server (2.10+) accepts in a block's payload: JWTs are base64url with
// dots, seeds are base32; `=` covers padded encodings.
const PAYLOAD_LINE = /^[A-Za-z0-9_\-.=]+$/;

/** The payload of every armored block in `text`, in file order. */
function armoredBlocks(text: string): string[] {
  const lines = text.split("\n").map((line) => line.trim());
  const blocks: string[] = [];
  let i = 0;
  while (i + 2 < lines.length) {
    if (
      OPENING_LINE.test(lines[i]) && PAYLOAD_LINE.test(lines[i + 1]) &&
      CLOSING_LINE.test(lines[i + 2])
    ) {
      blocks.push(lines[i + 1]);
      i += 3;
    } else {
      i++;
    }
  }
  return blocks;
}

/** Seeds are base32 and start with `S`; JWTs are base64url with two dots. */
function looksLikeSeed(payload: string): boolean {
  return payload.startsWith("S") && !payload.includes(".");
}

function isValidSeed(seed: string): boolean {
  try {
    fromSeed(new TextEncoder().encode(seed)).clear();
    return true;
  } catch {
    return false;
  }
}

/**
 * Parses the text of a `.creds` file. Throws {@linkcode CredsError} when the user JWT block or
 * the seed block is missing, or when the seed is not a valid nkey seed.
 *
 * @example
 * ```ts
 * import { parseCreds } from "./creds.ts";
 * const { jwt, seed } = parseCreds(await Deno.readTextFile("leaf.creds"));
 * ```
 */
export function parseCreds(text: string): Creds {
  const blocks = armoredBlocks(text);
  if (blocks.length === 0 || (blocks.length === 1 && looksLikeSeed(blocks[0]))) {
    throw new CredsError("Cannot parse credentials: no user JWT block found");
  }
  if (blocks.length === 1) {
    throw new CredsError("Cannot parse credentials: no nkey seed block found");
  }
  const [jwt, seed] = blocks;
  if (!isValidSeed(seed)) {
    throw new CredsError("Cannot parse credentials: the nkey seed block is not a valid seed");
  }
  return { jwt, seed };
}

/**
 * Reads and parses a `.creds` file. Call it at every connect attempt, as nats-server does, so
 * that a rotated file is picked up without a restart.
 *
 * @example
 * ```ts
 * import { loadCredsFile } from "./creds.ts";
 * const creds = await loadCredsFile("/etc/canopy/leaf.creds");
 * ```
 */
export async function loadCredsFile(path: string): Promise<Creds> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new CredsError(`Cannot read credentials file "${path}": ${detail}`, { path, cause });
  }
  try {
    return parseCreds(text);
  } catch (cause) {
    if (!(cause instanceof CredsError)) throw cause;
    const detail = cause.message.replace(/^Cannot parse credentials: /, "");
    throw new CredsError(`Cannot parse credentials file "${path}": ${detail}`, { path, cause });
  }
}

function keyPairOf(seed: string, purpose: string) {
  try {
    return fromSeed(new TextEncoder().encode(seed));
  } catch (cause) {
    // The nkeys error text does not echo the seed, but keep our own wording anyway.
    throw new CredsError(`Cannot ${purpose}: malformed nkey seed`, { cause });
  }
}

/** Base64url without padding, the encoding nats-server expects for CONNECT `sig`. */
export function base64UrlNoPad(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * Signs the INFO `nonce` for CONNECT `sig`: Ed25519 over the nonce string's bytes (not its
 * base64-decoded form), encoded as base64url without padding (86 characters).
 *
 * @example
 * ```ts
 * import { signNonce } from "./creds.ts";
 * const sig = signNonce(seed, info.nonce ?? "");
 * ```
 */
export function signNonce(seed: string, nonce: string): string {
  const pair = keyPairOf(seed, "sign the nonce");
  try {
    return base64UrlNoPad(pair.sign(new TextEncoder().encode(nonce)));
  } finally {
    pair.clear();
  }
}

/**
 * The public key (`U…` for a user seed) that belongs to `seed`.
 *
 * @example
 * ```ts
 * import { publicKeyFromSeed } from "./creds.ts";
 * publicKeyFromSeed("SUA…"); // "UA…"
 * ```
 */
export function publicKeyFromSeed(seed: string): string {
  const pair = keyPairOf(seed, "derive the public key");
  try {
    return pair.getPublicKey();
  } finally {
    pair.clear();
  }
}
