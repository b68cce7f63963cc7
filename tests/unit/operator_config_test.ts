import assert from "node:assert/strict";
import { stringify } from "smol-toml";
import { createAccount, createOperator, encodeAccount, encodeOperator } from "@nats-io/jwt";
import { ConfigError } from "../../config/config_error.ts";
import { parseConfigText } from "../../config/load.ts";
import {
  createOperatorSetup,
  generateOperatorSetup,
  operatorConfigToml,
  type OperatorSetup,
  OperatorSetupExistsError,
} from "../../config/nsc_lite.ts";
import { REMOTE_ACCOUNT_NKEY_REQUIRED } from "../../config/parse_operator.ts";
import { parseCreds } from "../../protocol/creds.ts";
import { decodeAccountClaims, decodeUserClaims } from "../../protocol/jwt_claims.ts";

const setup: OperatorSetup = await createOperatorSetup();

/** The operator keys of `setup`, plus `extra` top-level keys. */
function config(extra: Record<string, unknown> = {}, base = setup): Record<string, unknown> {
  return {
    operator: base.operator.jwt,
    system_account: base.systemAccount.publicKey,
    resolver: "MEMORY",
    resolver_preload: {
      [base.systemAccount.publicKey]: base.systemAccount.jwt,
      [base.account.publicKey]: base.account.jwt,
    },
    ...extra,
  };
}

function without(document: Record<string, unknown>, key: string): Record<string, unknown> {
  const copy = { ...document };
  delete copy[key];
  return copy;
}

/** Every problem (key and reason) a config document is refused for. */
function problems(document: Record<string, unknown>): { key: string; reason: string }[] {
  try {
    parseConfigText(stringify(document), "canopy.toml");
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    return [error, ...error.related].map((e) => ({ key: e.key, reason: e.reason }));
  }
  assert.fail("expected the config to be refused");
}

function assertProblem(document: Record<string, unknown>, key: string, reason: string | RegExp) {
  const found = problems(document);
  const hit = found.find((p) =>
    p.key === key && (typeof reason === "string" ? p.reason === reason : reason.test(p.reason))
  );
  assert.ok(hit, `no problem at ${key} matching ${reason}; got ${JSON.stringify(found)}`);
}

Deno.test("operator config - inline operator JWT, system account and preloads become options", () => {
  const options = parseConfigText(stringify(config()), "canopy.toml");
  assert.deepEqual(options.operator, {
    operators: [setup.operator.jwt],
    trustedKeys: [setup.operator.publicKey],
    systemAccount: setup.systemAccount.publicKey,
    resolver: "MEMORY",
    preload: {
      [setup.systemAccount.publicKey]: setup.systemAccount.jwt,
      [setup.account.publicKey]: setup.account.jwt,
    },
  });
  assert.deepEqual(
    Object.keys(options.accounts).sort(),
    ["$G", setup.account.publicKey, setup.systemAccount.publicKey].sort(),
    "the server gets one account per preloaded account, named by its public key",
  );
});

Deno.test("operator config - the operator JWT may be a plain or decorated file; the system account comes from it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const plain = `${dir}/op.jwt`;
    const decorated = `${dir}/op_decorated.jwt`;
    await Deno.writeTextFile(plain, setup.operator.jwt + "\n");
    await Deno.writeTextFile(
      decorated,
      `-----BEGIN NATS OPERATOR JWT-----\n${setup.operator.jwt}\n------END NATS OPERATOR JWT------\n`,
    );
    for (const path of [plain, decorated]) {
      const document = without(config({ operator: path }), "system_account");
      const options = parseConfigText(stringify(document), "canopy.toml");
      assert.deepEqual(options.operator?.operators, [setup.operator.jwt]);
      assert.equal(options.operator?.systemAccount, setup.systemAccount.publicKey);
    }
    assertProblem(
      config({ operator: `${dir}/missing.jwt` }),
      "operator",
      /error parsing operator JWT: cannot read/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("operator config - the generated TOML snippet loads as is", () => {
  const options = parseConfigText(operatorConfigToml(setup), "snippet.toml");
  assert.equal(options.operator?.resolver, "MEMORY");
  assert.equal(Object.keys(options.operator?.preload ?? {}).length, 2);
});

Deno.test("operator config - an operator needs a resolver, and only MEMORY is supported", () => {
  assertProblem(
    without(config(), "resolver"),
    "operator",
    "operators require an account resolver to be configured",
  );
  assertProblem(
    config({ resolver: 'URL("http://localhost:9090/jwt/v1/accounts/")' }),
    "resolver",
    /only resolver = "MEMORY"/,
  );
  assertProblem(
    config({ resolver: { type: "full", dir: "./jwt" } }),
    "resolver",
    /only resolver = "MEMORY"/,
  );
  assertProblem(config({ resolver: "BOGUS" }), "resolver", /error parsing account resolver/);
  assert.equal(
    parseConfigText(stringify(config({ resolver: "mem" })), "c.toml").operator?.resolver,
    "MEMORY",
  );
});

Deno.test("operator config - operator-only keys without an operator are refused", () => {
  assertProblem({ resolver: "MEMORY" }, "resolver", /only supported in operator mode/);
  assertProblem(
    { system_account: setup.systemAccount.publicKey },
    "system_account",
    /only supported in operator mode/,
  );
});

Deno.test("operator config - accounts and users cannot be configured next to an operator", () => {
  assertProblem(
    config({ accounts: { APP: { users: [{ user: "a", password: "b" }] } } }),
    "accounts",
    "operators do not allow Accounts to be configured directly",
  );
  assertProblem(
    config({ authorization: { users: [{ user: "a", password: "b" }] } }),
    "authorization",
    "operators do not allow users to be configured directly",
  );
  assertProblem(
    config({ authorization: { token: "secret" } }),
    "authorization",
    /token cannot be used in operator mode/,
  );
  assertProblem(
    config({ leafnodes: { authorization: { users: [{ user: "l", password: "p" }] } } }),
    "leafnodes.authorization.users",
    "operator mode does not allow specifying user in leafnode config",
  );
});

Deno.test("operator config - remotes must bind to an account public key that is preloaded", () => {
  const url = "nats-leaf://127.0.0.1:7422";
  assertProblem(
    config({ leafnodes: { remotes: [{ url }] } }),
    "leafnodes.remotes[0].account",
    REMOTE_ACCOUNT_NKEY_REQUIRED,
  );
  assertProblem(
    config({ leafnodes: { remotes: [{ url, account: "APP" }] } }),
    "leafnodes.remotes[0].account",
    REMOTE_ACCOUNT_NKEY_REQUIRED,
  );
  const stranger = createAccount().getPublicKey();
  assertProblem(
    config({ leafnodes: { remotes: [{ url, account: stranger }] } }),
    "leafnodes.remotes[0].account",
    /not in resolver_preload/,
  );
  const options = parseConfigText(
    stringify(config({ leafnodes: { remotes: [{ url, account: setup.account.publicKey }] } })),
    "c.toml",
  );
  assert.equal(options.leafnodes.remotes[0].account, setup.account.publicKey);
  assertProblem(
    config({ leafnodes: { authorization: { user: "l", password: "p", account: "APP" } } }),
    "leafnodes.authorization.account",
    "operator mode and non account nkeys are incompatible",
  );
});

Deno.test("operator config - system_account must match the operator JWT's", () => {
  const other = createAccount().getPublicKey();
  assertProblem(
    config({ system_account: other }),
    "system_account",
    "system_account in config and operator JWT must be identical",
  );
  assertProblem(config({ system_account: "SYS" }), "system_account", /not an account public key/);
});

Deno.test("operator config - trusted_keys must be operator keys and cannot be mixed with operator", () => {
  const key = createOperator().getPublicKey();
  const trusted = without(config({ trusted_keys: [key] }), "operator");
  const options = parseConfigText(stringify(without(trusted, "system_account")), "c.toml");
  assert.deepEqual(options.operator?.trustedKeys, [key]);
  assert.deepEqual(options.operator?.operators, []);
  assertProblem(
    config({ trusted_keys: [key] }),
    "trusted_keys",
    "conflicting options for 'TrustedKeys' and 'TrustedOperators'",
  );
  assertProblem(
    without(config({ trusted: ["OBAD"] }), "operator"),
    "trusted",
    /trust key "OBAD" required to be a valid public operator nkey/,
  );
});

Deno.test("operator config - a strict operator trusts only its signing keys", async () => {
  const operator = createOperator();
  const signingKey = createOperator();
  const jwt = await encodeOperator("OP", operator, {
    signing_keys: [signingKey.getPublicKey()],
    strict_signing_key_usage: true,
  } as Record<string, unknown>);
  const document = without(config({ operator: jwt, resolver_preload: {} }), "system_account");
  const options = parseConfigText(stringify(document), "c.toml");
  assert.deepEqual(options.operator?.trustedKeys, [signingKey.getPublicKey()]);
});

Deno.test("operator config - preloads must be account JWTs under their own public key", async () => {
  const key = setup.account.publicKey;
  assertProblem(
    config({ resolver_preload: { [key]: "eyJnot.a.jwt" } }),
    `resolver_preload.${key}`,
    "invalid account JWT",
  );
  assertProblem(
    config({ resolver_preload: { [key]: setup.user.jwt } }),
    `resolver_preload.${key}`,
    "invalid account JWT",
  );
  assertProblem(
    config({ resolver_preload: { [key]: 42 } }),
    `resolver_preload.${key}`,
    "preload map value should be a string JWT",
  );
  assertProblem(
    config({ resolver_preload: "x" }),
    "resolver_preload",
    "preload should be a map of account_public_key:account_jwt",
  );
  const other = createAccount();
  const otherJwt = await encodeAccount("O", other, {}, { signer: createOperator() });
  assertProblem(
    config({ resolver_preload: { [key]: otherJwt } }),
    `resolver_preload.${key}`,
    /does not match the account JWT subject/,
  );
});

Deno.test("operator config - a bad operator JWT is refused", () => {
  assertProblem(
    config({ operator: setup.account.jwt }),
    "operator",
    "error parsing operator JWT: not an operator JWT",
  );
});

Deno.test("nsc lite - generateOperatorSetup writes a loadable hub config, creds and secrets", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = await generateOperatorSetup(`${dir}/op`, {
      accountName: "ORDERS",
      userName: "ann",
    });
    const options = parseConfigText(await Deno.readTextFile(out.configPath), out.configPath);
    assert.deepEqual(options.operator?.operators, [out.operatorJwt]);
    assert.ok(Object.hasOwn(options.accounts, out.accountPub));
    assert.equal(decodeAccountClaims(out.accountJwt).nats.limits?.conn, -1, "explicit -1 limits");
    const creds = parseCreds(await Deno.readTextFile(out.userCredsPath));
    const user = decodeUserClaims(creds.jwt);
    assert.equal(user.iss, out.accountPub);
    assert.equal(user.name, "ann");
    assert.equal(out.userCredsPath, `${dir}/op/ann.creds`);
    assert.equal((await Deno.stat(out.userCredsPath)).mode! & 0o077, 0, "creds are owner-only");
    assert.equal((await Deno.stat(`${dir}/op/ORDERS.nk`)).mode! & 0o077, 0, "seeds are owner-only");
    await assert.rejects(() => generateOperatorSetup(`${dir}/op`), OperatorSetupExistsError);
    assert.equal(
      await Deno.readTextFile(out.operatorJwtPath),
      out.operatorJwt + "\n",
      "left alone",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
