/**
 * A tiny stand-in for `nsc`: creates an operator, a system account, one account and one user
 * with `@nats-io/jwt`, and writes what a Canopy (or nats-server) hub in operator mode and a
 * client or leaf need: the operator JWT, the user's `.creds`, the seeds, and a config with
 * `operator`, `system_account`, `resolver = "MEMORY"` and `resolver_preload`.
 *
 * Accounts get explicit `-1` ("unlimited") limits: nats-server reads a missing limit as 0 and
 * then refuses every connection and subscription.
 *
 * @module
 */

import {
  createAccount,
  createOperator,
  createUser,
  encodeAccount,
  encodeOperator,
  encodeUser,
  fmtCreds,
} from "@nats-io/jwt";
import type { KeyPair, OperatorLimits, User } from "@nats-io/jwt";
import { join, resolve } from "node:path";
import { stringify } from "smol-toml";

/** Account limits that allow everything, spelled out as nats-server needs them. */
export const UNLIMITED_ACCOUNT_LIMITS: Readonly<OperatorLimits> = Object.freeze({
  subs: -1,
  conn: -1,
  leaf: -1,
  imports: -1,
  exports: -1,
  data: -1,
  payload: -1,
  wildcards: true,
});

/** One identity: its public key, its seed (a secret) and the JWT that describes it. */
export interface Entity {
  publicKey: string;
  /** The nkey seed (`SO…`, `SA…`, `SU…`). A secret: never log it. */
  seed: string;
  jwt: string;
}

/** Everything an operator-mode setup is made of. */
export interface OperatorSetup {
  operator: Entity;
  systemAccount: Entity;
  account: Entity & { name: string };
  user: Entity & {
    name: string;
    /** The `.creds` text: the user JWT and seed in nsc's armoured format. */
    creds: string;
  };
}

/** Options for {@linkcode createOperatorSetup} and {@linkcode generateOperatorSetup}. */
export interface OperatorSetupOptions {
  /** Operator name (default `"canopy"`). */
  operatorName?: string;
  /** Account name (default `"APP"`). */
  accountName?: string;
  /** User name (default `"user"`). */
  userName?: string;
  /** Limits of the account (default {@linkcode UNLIMITED_ACCOUNT_LIMITS}). */
  accountLimits?: Partial<OperatorLimits>;
  /** Extra user claims: `pub`/`sub` permissions, `allowed_connection_types`, … */
  user?: Partial<User>;
}

const decoder = new TextDecoder();

function entity(keys: KeyPair, jwt: string): Entity {
  return { publicKey: keys.getPublicKey(), seed: decoder.decode(keys.getSeed()), jwt };
}

/**
 * Creates fresh keys and signed JWTs in memory: the operator (naming the system account), the
 * system account and the account (signed by the operator), the user (signed by the account).
 *
 * @example
 * ```ts
 * import { createOperatorSetup } from "./nsc_lite.ts";
 * const setup = await createOperatorSetup({ accountName: "ORDERS" });
 * console.log(setup.account.publicKey.startsWith("A")); // true
 * ```
 */
export async function createOperatorSetup(
  options: OperatorSetupOptions = {},
): Promise<OperatorSetup> {
  const operatorKeys = createOperator();
  const systemKeys = createAccount();
  const accountKeys = createAccount();
  const userKeys = createUser();
  const accountName = options.accountName ?? "APP";
  const userName = options.userName ?? "user";
  const limits = { ...UNLIMITED_ACCOUNT_LIMITS, ...options.accountLimits };
  const operatorJwt = await encodeOperator(options.operatorName ?? "canopy", operatorKeys, {
    system_account: systemKeys.getPublicKey(),
  });
  const systemJwt = await encodeAccount("SYS", systemKeys, { limits: UNLIMITED_ACCOUNT_LIMITS }, {
    signer: operatorKeys,
  });
  const accountJwt = await encodeAccount(accountName, accountKeys, { limits }, {
    signer: operatorKeys,
  });
  const userJwt = await encodeUser(userName, userKeys, accountKeys, options.user ?? {});
  return {
    operator: entity(operatorKeys, operatorJwt),
    systemAccount: entity(systemKeys, systemJwt),
    account: { ...entity(accountKeys, accountJwt), name: accountName },
    user: {
      ...entity(userKeys, userJwt),
      name: userName,
      creds: decoder.decode(fmtCreds(userJwt, userKeys)),
    },
  };
}

/**
 * The operator-mode part of a Canopy config (TOML; nats-server takes the same keys) for
 * `setup`: `operator` names `operatorPath` when given, else carries the JWT inline.
 *
 * @example
 * ```ts
 * import { createOperatorSetup, operatorConfigToml } from "./nsc_lite.ts";
 * const toml = operatorConfigToml(await createOperatorSetup());
 * console.log(toml.includes('resolver = "MEMORY"')); // true
 * ```
 */
export function operatorConfigToml(setup: OperatorSetup, operatorPath?: string): string {
  return stringify({
    operator: operatorPath ?? setup.operator.jwt,
    system_account: setup.systemAccount.publicKey,
    resolver: "MEMORY",
    resolver_preload: {
      [setup.systemAccount.publicKey]: setup.systemAccount.jwt,
      [setup.account.publicKey]: setup.account.jwt,
    },
  }) + "\n";
}

/**
 * `generateOperatorSetup()` found an earlier setup in its directory and left it alone.
 *
 * @example
 * ```ts
 * import { generateOperatorSetup, OperatorSetupExistsError } from "./nsc_lite.ts";
 * try {
 *   await generateOperatorSetup("./operator");
 * } catch (error) {
 *   if (error instanceof OperatorSetupExistsError) console.error(error.message);
 * }
 * ```
 */
export class OperatorSetupExistsError extends Error {
  override name = "OperatorSetupExistsError";
  /** The file that is already there. */
  readonly path: string;

  constructor(path: string) {
    super(`Cannot write the operator setup: ${JSON.stringify(path)} already exists`);
    this.path = path;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** What {@linkcode generateOperatorSetup} wrote, and the values a caller needs next. */
export interface GeneratedOperatorSetup {
  operatorJwt: string;
  /** Absolute path of `operator.jwt`. */
  operatorJwtPath: string;
  accountPub: string;
  accountJwt: string;
  systemAccountPub: string;
  userPub: string;
  /** Absolute path of `<user>.creds`. */
  userCredsPath: string;
  /** The hub config (also written to `configPath`). */
  configSnippet: string;
  /** Absolute path of `canopy.toml`. */
  configPath: string;
  /** Every file written, absolute. */
  files: string[];
}

/**
 * Creates an operator setup and writes it into `dir` (created if needed): `operator.jwt`,
 * `<account>.jwt`, `SYS.jwt`, `<user>.creds`, the seeds `operator.nk` and `<account>.nk`
 * (owner-only), and `canopy.toml`, a hub config that trusts the operator and preloads both
 * accounts.
 *
 * @throws {OperatorSetupExistsError} when `dir` already holds `canopy.toml` or `operator.jwt`
 *   (nothing is written then).
 *
 * @example
 * ```ts
 * import { generateOperatorSetup } from "./nsc_lite.ts";
 * const out = await generateOperatorSetup("./operator");
 * console.log(`canopy -c ${out.configPath}; clients use --creds ${out.userCredsPath}`);
 * ```
 */
export async function generateOperatorSetup(
  dir: string,
  options: OperatorSetupOptions = {},
): Promise<GeneratedOperatorSetup> {
  const root = resolve(dir);
  const operatorJwtPath = join(root, "operator.jwt");
  const configPath = join(root, "canopy.toml");
  for (const path of [operatorJwtPath, configPath]) {
    if (await exists(path)) throw new OperatorSetupExistsError(path);
  }
  await Deno.mkdir(root, { recursive: true });
  const setup = await createOperatorSetup(options);
  const userCredsPath = join(root, `${setup.user.name}.creds`);
  const configSnippet = configHeader(setup, userCredsPath) +
    operatorConfigToml(setup, operatorJwtPath);
  const secret = { mode: 0o600 } as const;
  const writes: [string, string, Deno.WriteFileOptions?][] = [
    [operatorJwtPath, setup.operator.jwt + "\n"],
    [configPath, configSnippet],
    [join(root, `${setup.account.name}.jwt`), setup.account.jwt + "\n"],
    [join(root, "SYS.jwt"), setup.systemAccount.jwt + "\n"],
    [userCredsPath, setup.user.creds, secret],
    [join(root, "operator.nk"), setup.operator.seed + "\n", secret],
    [join(root, `${setup.account.name}.nk`), setup.account.seed + "\n", secret],
  ];
  for (const [path, text, writeOptions] of writes) {
    await Deno.writeTextFile(path, text, writeOptions);
  }
  return {
    operatorJwt: setup.operator.jwt,
    operatorJwtPath,
    accountPub: setup.account.publicKey,
    accountJwt: setup.account.jwt,
    systemAccountPub: setup.systemAccount.publicKey,
    userPub: setup.user.publicKey,
    userCredsPath,
    configSnippet,
    configPath,
    files: writes.map(([path]) => path),
  };
}

function configHeader(setup: OperatorSetup, credsPath: string): string {
  return [
    `# Operator mode, generated by canopy --init-operator.`,
    `# Account ${JSON.stringify(setup.account.name)} is ${setup.account.publicKey}.`,
    `# Clients connect with the user credentials in ${credsPath}.`,
    `# A leaf binds a remote to the account with:`,
    `#   [[leafnodes.remotes]]`,
    `#   url = "nats-leaf://<this hub>:7422"`,
    `#   account = "<a local account>"`,
    `#   credentials = ${JSON.stringify(credsPath)}`,
    "",
  ].join("\n");
}
