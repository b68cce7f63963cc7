import assert from "node:assert/strict";
import {
  createAccount,
  createOperator,
  createUser,
  encodeAccount,
  encodeOperator,
  encodeUser,
  newScopedSigner,
} from "@nats-io/jwt";
import type { Account, KeyPair, User } from "@nats-io/jwt";
import { defaultOptions } from "../../config/mod.ts";
import type { OperatorOptions } from "../../config/options.ts";
import { UNLIMITED_ACCOUNT_LIMITS } from "../../config/nsc_lite.ts";
import { type AuthVerdict, ClientAuthenticator } from "../../protocol/client_auth.ts";
import { AccountLimits } from "../../protocol/jwt_account_limits.ts";
import { JwtAuthenticator } from "../../protocol/jwt_auth.ts";
import { decodeUserClaims, extractJwt, JwtClaimsError } from "../../protocol/jwt_claims.ts";
import { expandPermissionTemplate, permissionsFromJwt } from "../../protocol/jwt_permissions.ts";
import { LeafAuthenticator } from "../../protocol/leaf_auth.ts";

const NONCE = "nonce-from-info";
const nowSeconds = () => Math.floor(Date.now() / 1000);

function base64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

function sign(keys: KeyPair, nonce = NONCE): string {
  return base64Url(keys.sign(new TextEncoder().encode(nonce)));
}

/** An operator, one account it signed, and helpers to mint users and variants. */
class World {
  readonly operator = createOperator();
  readonly account = createAccount();
  operatorJwt = "";
  accountJwt = "";
  readonly extraPreload: Record<string, string> = {};

  static async create(account: Partial<Account> = {}): Promise<World> {
    const world = new World();
    world.operatorJwt = await encodeOperator("OP", world.operator);
    world.accountJwt = await encodeAccount(
      "ACC",
      world.account,
      { limits: { ...UNLIMITED_ACCOUNT_LIMITS }, ...account },
      { signer: world.operator },
    );
    return world;
  }

  get accountKey(): string {
    return this.account.getPublicKey();
  }

  options(overrides: Partial<OperatorOptions> = {}): OperatorOptions {
    return {
      operators: [this.operatorJwt],
      trustedKeys: [this.operator.getPublicKey()],
      resolver: "MEMORY",
      preload: { [this.accountKey]: this.accountJwt, ...this.extraPreload },
      ...overrides,
    };
  }

  auth(overrides: Partial<OperatorOptions> = {}, now?: () => number): JwtAuthenticator {
    return new JwtAuthenticator(this.options(overrides), { now });
  }

  async user(
    claims: Partial<User> = {},
    opts: { exp?: number; nbf?: number; issuer?: KeyPair; signer?: KeyPair } = {},
  ): Promise<{ keys: KeyPair; jwt: string }> {
    const keys = createUser();
    const jwt = await encodeUser("u", keys, opts.issuer ?? this.account, claims, {
      exp: opts.exp,
      nbf: opts.nbf,
      signer: opts.signer,
    });
    return { keys, jwt };
  }
}

function refusal(verdict: AuthVerdict): string {
  assert.equal(verdict.ok, false, "the connection is refused");
  return verdict.ok ? "" : verdict.reason;
}

function identity(verdict: AuthVerdict) {
  if (!verdict.ok) assert.fail(`expected success, got: ${verdict.reason}`);
  return verdict.identity;
}

Deno.test("jwt auth - a user JWT with a signed nonce binds to its issuing account", async () => {
  const world = await World.create();
  const { keys, jwt } = await world.user();
  const who = identity(world.auth().authenticate({ jwt, sig: sign(keys) }, NONCE, "STANDARD"));
  assert.equal(who.account, world.accountKey);
  assert.equal(who.user, keys.getPublicKey());
  assert.equal(who.permissions, undefined);
  assert.ok(who.lease, "the connection holds a place in the account's count");
});

Deno.test("jwt auth - no JWT, a malformed JWT or a tampered JWT is refused", async () => {
  const world = await World.create();
  const auth = world.auth();
  const { keys, jwt } = await world.user();
  assert.match(refusal(auth.authenticate({ sig: sign(keys) }, NONCE)), /requires a user JWT/);
  assert.match(refusal(auth.authenticate({ jwt: "abc", sig: sign(keys) }, NONCE)), /malformed/);
  const [head, body, sig] = jwt.split(".");
  const claims = JSON.parse(atob(body.replaceAll("-", "+").replaceAll("_", "/")));
  claims.nats.pub = { allow: [">"] };
  const forged = `${head}.${base64Url(new TextEncoder().encode(JSON.stringify(claims)))}.${sig}`;
  assert.match(refusal(auth.authenticate({ jwt: forged, sig: sign(keys) }, NONCE)), /signature/);
});

Deno.test("jwt auth - a nonce signature by another key or over another nonce is a bad signature", async () => {
  const world = await World.create();
  const auth = world.auth();
  const { keys, jwt } = await world.user();
  const otherKey = createUser();
  assert.match(
    refusal(auth.authenticate({ jwt, sig: sign(otherKey) }, NONCE)),
    /bad signature.*verification failed/,
  );
  assert.match(
    refusal(auth.authenticate({ jwt, sig: sign(keys, "another nonce") }, NONCE)),
    /bad signature/,
  );
  assert.match(refusal(auth.authenticate({ jwt }, NONCE)), /bad signature.*without a signature/);
});

Deno.test("jwt auth - an expired user JWT and one not valid yet are refused", async () => {
  const world = await World.create();
  const auth = world.auth();
  const expired = await world.user({}, { exp: nowSeconds() - 10 });
  assert.match(
    refusal(auth.authenticate({ jwt: expired.jwt, sig: sign(expired.keys) }, NONCE)),
    /user JWT .* has expired/,
  );
  const early = await world.user({}, { nbf: nowSeconds() + 3600 });
  assert.match(
    refusal(auth.authenticate({ jwt: early.jwt, sig: sign(early.keys) }, NONCE)),
    /not valid yet/,
  );
  const current = await world.user({}, { exp: nowSeconds() + 3600 });
  const who = identity(auth.authenticate({ jwt: current.jwt, sig: sign(current.keys) }, NONCE));
  assert.ok(who.expiresAtMs! > Date.now(), "the expiry is reported for the connection's timer");
});

Deno.test("jwt auth - expiry follows the injected clock", async () => {
  const world = await World.create();
  const user = await world.user({}, { exp: nowSeconds() + 60 });
  const later = world.auth({}, () => Date.now() + 120_000);
  assert.match(
    refusal(later.authenticate({ jwt: user.jwt, sig: sign(user.keys) }, NONCE)),
    /expired/,
  );
});

Deno.test("jwt auth - an account signed by an untrusted operator is a wrong issuer", async () => {
  const world = await World.create();
  const rogue = createOperator();
  const rogueAccount = createAccount();
  world.extraPreload[rogueAccount.getPublicKey()] = await encodeAccount(
    "ROGUE",
    rogueAccount,
    { limits: { ...UNLIMITED_ACCOUNT_LIMITS } },
    { signer: rogue },
  );
  const { keys, jwt } = await world.user({}, { issuer: rogueAccount });
  assert.match(
    refusal(world.auth().authenticate({ jwt, sig: sign(keys) }, NONCE)),
    /wrong issuer: account .* not by a trusted operator key/,
  );
});

Deno.test("jwt auth - an account signed by an operator signing key is trusted", async () => {
  const operator = createOperator();
  const signingKey = createOperator();
  const account = createAccount();
  const operatorJwt = await encodeOperator("OP", operator, {
    signing_keys: [signingKey.getPublicKey()],
  });
  const accountJwt = await encodeAccount(
    "A",
    account,
    { limits: { ...UNLIMITED_ACCOUNT_LIMITS } },
    {
      signer: signingKey,
    },
  );
  const auth = new JwtAuthenticator({
    operators: [operatorJwt],
    trustedKeys: [operator.getPublicKey(), signingKey.getPublicKey()],
    resolver: "MEMORY",
    preload: { [account.getPublicKey()]: accountJwt },
  });
  const user = createUser();
  const jwt = await encodeUser("u", user, account);
  assert.equal(auth.authenticate({ jwt, sig: sign(user) }, NONCE).ok, true);
});

Deno.test("jwt auth - a user signed by a key the account does not list is a wrong issuer", async () => {
  const world = await World.create();
  const stranger = createAccount();
  // Claims to belong to the account, but the account never listed this signing key.
  const { keys, jwt } = await world.user({}, { issuer: world.account, signer: stranger });
  assert.match(
    refusal(world.auth().authenticate({ jwt, sig: sign(keys) }, NONCE)),
    /wrong issuer: user JWT .* neither account/,
  );
});

Deno.test("jwt auth - a user signed by an account signing key binds to the account", async () => {
  const signer = createAccount();
  const world = await World.create({ signing_keys: [signer.getPublicKey()] });
  const { keys, jwt } = await world.user({}, { issuer: world.account, signer });
  assert.equal(decodeUserClaims(jwt).iss, signer.getPublicKey());
  const who = identity(world.auth().authenticate({ jwt, sig: sign(keys) }, NONCE));
  assert.equal(who.account, world.accountKey);
});

Deno.test("jwt auth - an unknown account is refused", async () => {
  const world = await World.create();
  const other = createAccount();
  const { keys, jwt } = await world.user({}, { issuer: other });
  assert.match(
    refusal(world.auth().authenticate({ jwt, sig: sign(keys) }, NONCE)),
    /not in resolver_preload/,
  );
});

Deno.test("jwt auth - an expired account JWT refuses its users", async () => {
  const operator = createOperator();
  const account = createAccount();
  const accountJwt = await encodeAccount(
    "A",
    account,
    { limits: { ...UNLIMITED_ACCOUNT_LIMITS } },
    {
      signer: operator,
      exp: nowSeconds() - 5,
    },
  );
  const auth = new JwtAuthenticator({
    operators: [await encodeOperator("OP", operator)],
    trustedKeys: [operator.getPublicKey()],
    resolver: "MEMORY",
    preload: { [account.getPublicKey()]: accountJwt },
  });
  const user = createUser();
  const jwt = await encodeUser("u", user, account);
  assert.match(
    refusal(auth.authenticate({ jwt, sig: sign(user) }, NONCE)),
    /account JWT .* expired/,
  );
});

Deno.test("jwt auth - revocations refuse users issued at or before the revocation time", async () => {
  const operator = createOperator();
  const account = createAccount();
  const revoked = createUser();
  const kept = createUser();
  const revokedJwt = await encodeUser("r", revoked, account);
  const keptJwt = await encodeUser("k", kept, account);
  const iat = decodeUserClaims(revokedJwt).iat;
  const accountJwt = await encodeAccount("A", account, {
    limits: { ...UNLIMITED_ACCOUNT_LIMITS },
    revocations: { [revoked.getPublicKey()]: iat, [kept.getPublicKey()]: iat - 1 },
  }, { signer: operator });
  const auth = new JwtAuthenticator({
    operators: [await encodeOperator("OP", operator)],
    trustedKeys: [operator.getPublicKey()],
    resolver: "MEMORY",
    preload: { [account.getPublicKey()]: accountJwt },
  });
  assert.match(
    refusal(auth.authenticate({ jwt: revokedJwt, sig: sign(revoked) }, NONCE)),
    /has been revoked/,
  );
  assert.equal(
    auth.authenticate({ jwt: keptJwt, sig: sign(kept) }, NONCE).ok,
    true,
    "a user reissued after its revocation gets in",
  );
});

Deno.test("jwt auth - a '*' revocation refuses every user issued until then", async () => {
  const world = await World.create({ revocations: { "*": nowSeconds() + 60 } });
  const { keys, jwt } = await world.user();
  assert.match(refusal(world.auth().authenticate({ jwt, sig: sign(keys) }, NONCE)), /revoked/);
});

Deno.test("jwt auth - a bearer token user needs no nonce signature unless the account forbids it", async () => {
  const world = await World.create();
  const bearer = await world.user({ bearer_token: true });
  const who = identity(world.auth().authenticate({ jwt: bearer.jwt }, NONCE));
  assert.equal(who.user, bearer.keys.getPublicKey());

  const strict = await World.create({
    limits: { ...UNLIMITED_ACCOUNT_LIMITS, disallow_bearer: true },
  });
  const refused = await strict.user({ bearer_token: true });
  assert.match(
    refusal(strict.auth().authenticate({ jwt: refused.jwt }, NONCE)),
    /does not allow bearer token/,
  );
});

Deno.test("jwt auth - allowed_connection_types limits how the user may connect", async () => {
  const world = await World.create();
  const auth = world.auth();
  const leafOnly = await world.user({ allowed_connection_types: ["LEAFNODE"] });
  const connect = { jwt: leafOnly.jwt, sig: sign(leafOnly.keys) };
  assert.match(
    refusal(auth.authenticate(connect, NONCE, "STANDARD")),
    /connection type STANDARD not allowed/,
  );
  assert.match(
    refusal(auth.authenticate(connect, NONCE, "LEAFNODE_WS")),
    /LEAFNODE_WS not allowed/,
  );
  assert.equal(auth.authenticate(connect, NONCE, "LEAFNODE").ok, true);

  const wsOnly = await world.user({
    allowed_connection_types: ["websocket", "MQTT"] as unknown as User["allowed_connection_types"],
  });
  const ws = { jwt: wsOnly.jwt, sig: sign(wsOnly.keys) };
  assert.equal(auth.authenticate(ws, NONCE, "WEBSOCKET").ok, true, "names are case-insensitive");
  assert.equal(auth.authenticate(ws, NONCE, "STANDARD").ok, false);

  const unknownOnly = await world.user({
    allowed_connection_types: ["CARRIER_PIGEON"] as unknown as User["allowed_connection_types"],
  });
  assert.match(
    refusal(auth.authenticate({ jwt: unknownOnly.jwt, sig: sign(unknownOnly.keys) }, NONCE)),
    /only unknown types/,
  );
});

Deno.test("jwt auth - user permissions and resp become connection permissions", async () => {
  const world = await World.create();
  const { keys, jwt } = await world.user({
    pub: { allow: ["orders.>"], deny: ["orders.secret"] },
    sub: { allow: ["_INBOX.>"] },
    resp: { max: 3, ttl: 5_000_000_000 },
  });
  const who = identity(world.auth().authenticate({ jwt, sig: sign(keys) }, NONCE));
  assert.deepEqual(who.permissions, {
    publish: { allow: ["orders.>"], deny: ["orders.secret"] },
    subscribe: { allow: ["_INBOX.>"] },
    allowResponses: { maxMsgs: 3, expiresMs: 5000 },
  });
});

Deno.test("jwt auth - the account's default_permissions apply to users without their own", async () => {
  const world = await World.create({ default_permissions: { pub: { deny: ["admin.>"] } } });
  const plain = await world.user();
  const who = identity(world.auth().authenticate({ jwt: plain.jwt, sig: sign(plain.keys) }, NONCE));
  assert.deepEqual(who.permissions, { publish: { deny: ["admin.>"] } });
  const own = await world.user({ sub: { allow: ["x"] } });
  const ownWho = identity(world.auth().authenticate({ jwt: own.jwt, sig: sign(own.keys) }, NONCE));
  assert.deepEqual(ownWho.permissions, { subscribe: { allow: ["x"] } });
});

Deno.test("jwt auth - a scoped signing key imposes its template and forbids the user's own permissions", async () => {
  const scopedKey = createAccount();
  const scope = newScopedSigner(scopedKey, "team", { pub: { allow: ["team.{{name()}}.>"] } });
  const world = await World.create({ signing_keys: [scope] });
  const keys = createUser();
  const jwt = await encodeUser("ann", keys, world.account, {}, {
    signer: scopedKey,
    scopedUser: true,
  });
  const who = identity(world.auth().authenticate({ jwt, sig: sign(keys) }, NONCE));
  assert.deepEqual(who.permissions?.publish, { allow: ["team.ann.>"] });

  const greedy = createUser();
  const greedyJwt = await encodeUser("bob", greedy, world.account, { pub: { allow: [">"] } }, {
    signer: scopedKey,
    scopedUser: true,
  });
  assert.match(
    refusal(world.auth().authenticate({ jwt: greedyJwt, sig: sign(greedy) }, NONCE)),
    /scoped signing key .* sets its own permissions/,
  );
});

Deno.test("jwt auth - strict signing key usage refuses accounts signed with the operator identity key", async () => {
  const operator = createOperator();
  const signingKey = createOperator();
  const account = createAccount();
  const operatorJwt = await encodeOperator("OP", operator, {
    signing_keys: [signingKey.getPublicKey()],
    strict_signing_key_usage: true,
  } as Record<string, unknown>);
  const accountJwt = await encodeAccount(
    "A",
    account,
    { limits: { ...UNLIMITED_ACCOUNT_LIMITS } },
    {
      signer: operator,
    },
  );
  // trustedKeys as the config computes them for a strict operator: signing keys only.
  const auth = new JwtAuthenticator({
    operators: [operatorJwt],
    trustedKeys: [signingKey.getPublicKey()],
    resolver: "MEMORY",
    preload: { [account.getPublicKey()]: accountJwt },
  });
  const user = createUser();
  const jwt = await encodeUser("u", user, account);
  assert.match(
    refusal(auth.authenticate({ jwt, sig: sign(user) }, NONCE)),
    /wrong issuer: account/,
  );
});

Deno.test("jwt auth - src and times restrictions are refused rather than ignored", async () => {
  const world = await World.create();
  const src = await world.user({ src: ["10.0.0.0/8"] });
  assert.match(
    refusal(world.auth().authenticate({ jwt: src.jwt, sig: sign(src.keys) }, NONCE)),
    /source networks/,
  );
  const times = await world.user({ times: [{ start: "08:00:00", end: "17:00:00" }] });
  assert.match(
    refusal(world.auth().authenticate({ jwt: times.jwt, sig: sign(times.keys) }, NONCE)),
    /connect times/,
  );
});

Deno.test("jwt auth - limits.conn counts clients and leaves; releasing a lease frees a place", async () => {
  const world = await World.create({
    limits: { ...UNLIMITED_ACCOUNT_LIMITS, conn: 2, leaf: 5 },
  });
  const auth = world.auth();
  const { keys, jwt } = await world.user();
  const connect = { jwt, sig: sign(keys) };
  const leaf = identity(auth.authenticate(connect, NONCE, "LEAFNODE"));
  const client = identity(auth.authenticate(connect, NONCE, "STANDARD"));
  const third = auth.authenticate(connect, NONCE, "STANDARD");
  assert.match(refusal(third), /maximum account active connections exceeded/);
  assert.equal(!third.ok && third.wireError, "maximum account active connections exceeded");
  assert.equal(
    auth.authenticate(connect, NONCE, "LEAFNODE").ok,
    true,
    "a leaf is checked against limits.leaf only, as in nats-server",
  );
  client.lease!.release();
  client.lease!.release(); // a second release changes nothing
  assert.equal(auth.limits.connections(world.accountKey), 2, "two leaves remain");
  assert.equal(auth.authenticate(connect, NONCE, "STANDARD").ok, false, "leaves fill limits.conn");
  leaf.lease!.release();
  assert.equal(auth.limits.leafConnections(world.accountKey), 1);
  assert.equal(auth.authenticate(connect, NONCE, "STANDARD").ok, true);
});

Deno.test("jwt auth - limits.leaf refuses leaves beyond it, and a missing limit allows none", async () => {
  const world = await World.create({ limits: { ...UNLIMITED_ACCOUNT_LIMITS, leaf: 1 } });
  const auth = world.auth();
  const { keys, jwt } = await world.user();
  const connect = { jwt, sig: sign(keys) };
  assert.equal(auth.authenticate(connect, NONCE, "LEAFNODE").ok, true);
  assert.match(refusal(auth.authenticate(connect, NONCE, "LEAFNODE_WS")), /1 leafnode connections/);

  const bare = await World.create({ limits: {} });
  const user = await bare.user();
  assert.match(
    refusal(bare.auth().authenticate({ jwt: user.jwt, sig: sign(user.keys) }, NONCE)),
    /allows 0 connections/,
  );
});

Deno.test("AccountLimits - accounts without registered limits are not limited", () => {
  const limits = new AccountLimits();
  const leases = Array.from({ length: 5 }, () => limits.acquire("FREE", false));
  assert.ok(leases.every((lease) => lease !== undefined));
  assert.equal(limits.connections("FREE"), 5);
  for (const lease of leases) lease!.release();
  assert.equal(limits.connections("FREE"), 0);
});

Deno.test("jwt claims - extractJwt finds the JWT in a decorated file", () => {
  const token = "eyJ0eXAiOiJKV1QifQ.eyJhIjoxfQ.c2ln";
  assert.equal(
    extractJwt(`-----BEGIN NATS OPERATOR JWT-----\n${token}\n------END NATS OPERATOR JWT------\n`),
    token,
  );
  assert.equal(extractJwt(`  ${token}  \n`), token);
  assert.equal(extractJwt("no jwt here"), undefined);
});

Deno.test("jwt claims - an account JWT is not accepted as a user JWT", async () => {
  const world = await World.create();
  assert.throws(() => decodeUserClaims(world.accountJwt), JwtClaimsError);
});

Deno.test("jwt permissions - templates expand tags, and a deny entry that cannot expand refuses", () => {
  const context = {
    userName: "ann",
    userKey: "UKEY",
    userTags: ["dept:eng", "dept:ops"],
    accountName: "APP",
    issuerAccount: "AKEY",
    accountTags: [],
  };
  const expanded = expandPermissionTemplate({
    pub: { allow: ["d.{{tag(dept)}}.>", "a.{{account-name()}}", "x.{{tag(missing)}}"] },
    sub: { allow: ["only.{{tag(missing)}}"] },
  }, context);
  assert.deepEqual(expanded.pub, { allow: ["d.eng.>", "d.ops.>", "a.APP"], deny: [] });
  assert.deepEqual(expanded.sub, { allow: [], deny: [">"] }, "an emptied allow list denies all");
  assert.throws(() => expandPermissionTemplate({ pub: { deny: ["{{nope()}}"] } }, context));
});

Deno.test("jwt permissions - empty lists set no permission", () => {
  assert.equal(permissionsFromJwt({ pub: { allow: [], deny: [] }, sub: {} }), undefined);
  assert.deepEqual(permissionsFromJwt({ resp: {} }), {
    allowResponses: { maxMsgs: 0, expiresMs: 0 },
  });
});

Deno.test("client auth - operator mode requires auth and a nonce and uses user JWTs only", async () => {
  const world = await World.create();
  const options = { ...defaultOptions(), operator: world.options() };
  const auth = new ClientAuthenticator(options);
  assert.equal(auth.authRequired, true);
  assert.equal(auth.nonceRequired, true);
  assert.equal(auth.anonymousIdentity(), undefined);
  assert.equal((await auth.authenticate({ user: "x", pass: "y" }, NONCE)).ok, false);
  const wsOnly = await world.user({ allowed_connection_types: ["WEBSOCKET"] });
  const connect = { jwt: wsOnly.jwt, sig: sign(wsOnly.keys) };
  assert.equal((await auth.authenticate(connect, NONCE)).ok, false, "STANDARD by default");
  assert.equal((await auth.authenticate(connect, NONCE, undefined, "WEBSOCKET")).ok, true);
});

Deno.test("leaf auth - operator mode: leaves authenticate as LEAFNODE users and count against limits.leaf", async () => {
  const world = await World.create({ limits: { ...UNLIMITED_ACCOUNT_LIMITS, leaf: 1 } });
  const clients = new ClientAuthenticator({ ...defaultOptions(), operator: world.options() });
  const leafAuth = new LeafAuthenticator(undefined, clients);
  const leafUser = await world.user({ allowed_connection_types: ["LEAFNODE"] });
  const connect = { jwt: leafUser.jwt, sig: sign(leafUser.keys) };
  const first = identity(await leafAuth.authenticate(connect, NONCE));
  assert.equal(first.account, world.accountKey);
  assert.equal((await leafAuth.authenticate(connect, NONCE)).ok, false, "limits.leaf is 1");
  first.lease!.release();
  assert.equal((await leafAuth.authenticate(connect, NONCE, undefined, "LEAFNODE_WS")).ok, false);
  assert.equal((await leafAuth.authenticate(connect, NONCE)).ok, true);
});

Deno.test("leaf auth - operator mode: an authorization user bound to an account takes a leaf place", async () => {
  const world = await World.create({ limits: { ...UNLIMITED_ACCOUNT_LIMITS, leaf: 1 } });
  const clients = new ClientAuthenticator({ ...defaultOptions(), operator: world.options() });
  const leafAuth = new LeafAuthenticator(
    { user: "leaf", password: "pw", account: world.accountKey, users: [] },
    clients,
  );
  const first = identity(await leafAuth.authenticate({ user: "leaf", pass: "pw" }, NONCE));
  assert.ok(first.lease);
  const second = await leafAuth.authenticate({ user: "leaf", pass: "pw" }, NONCE);
  assert.equal(!second.ok && second.wireError, "maximum account active connections exceeded");
});

Deno.test("client auth - a reloaded authenticator keeps the live counts and applies the new limits", async () => {
  const world = await World.create({ limits: { ...UNLIMITED_ACCOUNT_LIMITS, conn: 2 } });
  const before = new ClientAuthenticator({ ...defaultOptions(), operator: world.options() });
  const { keys, jwt } = await world.user();
  const connect = { jwt, sig: sign(keys) };
  const held = identity(await before.authenticate(connect, NONCE));
  assert.ok(held.lease);

  const after = new ClientAuthenticator(
    { ...defaultOptions(), operator: world.options() },
    { accountLimits: before.jwt!.limits },
  );
  assert.equal(after.jwt!.limits.connections(world.accountKey), 1, "the held place carries over");
  assert.equal((await after.authenticate(connect, NONCE)).ok, true);
  assert.equal((await after.authenticate(connect, NONCE)).ok, false, "limits.conn is 2");
  held.lease.release();
  assert.equal((await after.authenticate(connect, NONCE)).ok, true, "the old lease frees a place");
});
