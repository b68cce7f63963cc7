import assert from "node:assert/strict";
import bcrypt from "bcryptjs";
import { createUser } from "@nats-io/nkeys";
import { defaultOptions } from "../../config/mod.ts";
import type { LeafAuthorizationOptions, ServerOptions } from "../../config/options.ts";
import { ClientAuthenticator } from "../../protocol/client_auth.ts";
import type { ConnectOptions } from "../../protocol/info.ts";
import { LeafAuthenticator } from "../../protocol/leaf_auth.ts";

const NONCE = "abcdefghijklmno";

function authenticator(
  leaf: Omit<LeafAuthorizationOptions, "users"> & { users?: LeafAuthorizationOptions["users"] } =
    {},
  server: Partial<ServerOptions> = {},
  withLeafBlock = true,
): LeafAuthenticator {
  const options = { ...defaultOptions(), ...server };
  const block = withLeafBlock ? { users: [], ...leaf } : undefined;
  return new LeafAuthenticator(block, new ClientAuthenticator(options));
}

/** base64url without padding, as nats-server and the nkeys libraries send signatures. */
function base64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

function base64Std(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

async function verdictOf(auth: LeafAuthenticator, connect: ConnectOptions, nonce = NONCE) {
  return await auth.authenticate(connect, nonce);
}

Deno.test("leaf auth - single user/password binds to $G unless the block names an account", async () => {
  const plain = authenticator({ user: "leaf", password: "secret" });
  const ok = await verdictOf(plain, { user: "leaf", pass: "secret" });
  assert.equal(ok.ok, true);
  assert.equal(ok.ok && ok.identity.account, "$G");
  assert.equal(ok.ok && ok.identity.user, "leaf");

  const bound = authenticator({ user: "leaf", password: "secret", account: "ACME" });
  const acme = await verdictOf(bound, { user: "leaf", pass: "secret" });
  assert.equal(acme.ok && acme.identity.account, "ACME");
});

Deno.test("leaf auth - single user/password refuses wrong or missing credentials", async () => {
  const auth = authenticator({ user: "leaf", password: "secret" });
  assert.equal((await verdictOf(auth, { user: "leaf", pass: "nope" })).ok, false);
  assert.equal((await verdictOf(auth, { user: "other", pass: "secret" })).ok, false);
  assert.equal((await verdictOf(auth, { user: "leaf" })).ok, false);
  assert.equal((await verdictOf(auth, {})).ok, false);
  const failure = await verdictOf(auth, { user: "leaf", pass: "nope" });
  assert.ok(!failure.ok && failure.reason.length > 0, "a failure says why");
});

Deno.test("leaf auth - a bcrypt password hash is checked with bcrypt", async () => {
  const hash = bcrypt.hashSync("s3cret", 4);
  assert.match(hash, /^\$2[aby]\$/);
  const auth = authenticator({ user: "leaf", password: hash });
  assert.equal((await verdictOf(auth, { user: "leaf", pass: "s3cret" })).ok, true);
  assert.equal((await verdictOf(auth, { user: "leaf", pass: hash })).ok, false);
  assert.equal((await verdictOf(auth, { user: "leaf", pass: "S3cret" })).ok, false);
});

Deno.test("leaf auth - nkey with a signature over the nonce binds to the block's account", async () => {
  const pair = createUser();
  const nkey = pair.getPublicKey();
  const sig = pair.sign(new TextEncoder().encode(NONCE));
  const auth = authenticator({ nkey, account: "ACME" });
  const ok = await verdictOf(auth, { nkey, sig: base64Url(sig) });
  assert.equal(ok.ok, true);
  assert.equal(ok.ok && ok.identity.account, "ACME");
  assert.equal(ok.ok && ok.identity.user, nkey);
  // nats-server also accepts standard base64 (spec 3.10).
  assert.equal((await verdictOf(auth, { nkey, sig: base64Std(sig) })).ok, true);
  // Without an account in the block, $G.
  const global = await verdictOf(authenticator({ nkey }), { nkey, sig: base64Url(sig) });
  assert.equal(global.ok && global.identity.account, "$G");
});

Deno.test("leaf auth - nkey fails without a signature, with a bad one, or for another key", async () => {
  const pair = createUser();
  const nkey = pair.getPublicKey();
  const auth = authenticator({ nkey });
  const good = base64Url(pair.sign(new TextEncoder().encode(NONCE)));
  assert.equal((await verdictOf(auth, { nkey })).ok, false, "no sig");
  assert.equal((await verdictOf(auth, { nkey, sig: good }, "otherNonce12345")).ok, false);
  const stranger = createUser();
  const strangerSig = base64Url(stranger.sign(new TextEncoder().encode(NONCE)));
  assert.equal((await verdictOf(auth, { nkey, sig: strangerSig })).ok, false, "wrong signer");
  assert.equal(
    (await verdictOf(auth, { nkey: stranger.getPublicKey(), sig: strangerSig })).ok,
    false,
    "key not configured",
  );
  assert.equal((await verdictOf(auth, { nkey, sig: "!!!not base64!!!" })).ok, false);
  assert.equal((await verdictOf(auth, { user: "x", pass: "y" })).ok, false);
});

Deno.test("leaf auth - a users list binds each user to its account", async () => {
  const hash = bcrypt.hashSync("pw-b", 4);
  const auth = authenticator({
    users: [
      { user: "a", password: "pw-a", account: "A" },
      { user: "b", password: hash, account: "B" },
      { user: "g", password: "pw-g" },
    ],
  });
  const a = await verdictOf(auth, { user: "a", pass: "pw-a" });
  assert.equal(a.ok && a.identity.account, "A");
  const b = await verdictOf(auth, { user: "b", pass: "pw-b" });
  assert.equal(b.ok && b.identity.account, "B");
  const g = await verdictOf(auth, { user: "g", pass: "pw-g" });
  assert.equal(g.ok && g.identity.account, "$G");
  // Leaf-specific users carry no permissions (spec 3.8).
  assert.equal(a.ok && a.identity.permissions, undefined);
  assert.equal((await verdictOf(auth, { user: "a", pass: "pw-b" })).ok, false);
  assert.equal((await verdictOf(auth, { user: "zz", pass: "pw-a" })).ok, false);
  assert.equal((await verdictOf(auth, {})).ok, false);
});

Deno.test("leaf auth - a leaf authorization block shadows the client users", async () => {
  const auth = authenticator(
    { users: [{ user: "leafy", password: "l" }] },
    { authorization: { users: [{ user: "app", password: "p", account: "$G" }] } },
  );
  assert.equal((await verdictOf(auth, { user: "app", pass: "p" })).ok, false);
  assert.equal((await verdictOf(auth, { user: "leafy", pass: "l" })).ok, true);
});

Deno.test("leaf auth - without a leaf block, client users authenticate with their permissions", async () => {
  const permissions = {
    publish: { allow: ["toHub.>"] },
    subscribe: { allow: ["toLeaf.>"], deny: ["toLeaf.secret"] },
  };
  const pair = createUser();
  const server: Partial<ServerOptions> = {
    authorization: { users: [{ user: "pu", password: "pp", account: "$G", permissions }] },
    accounts: {
      $G: { name: "$G", users: [] },
      A: { name: "A", users: [{ nkey: pair.getPublicKey(), account: "A" }] },
    },
  };
  const auth = authenticator({}, server, false);
  const pu = await verdictOf(auth, { user: "pu", pass: "pp" });
  assert.equal(pu.ok, true);
  assert.equal(pu.ok && pu.identity.account, "$G");
  assert.deepEqual(pu.ok && pu.identity.permissions, permissions);
  // Spec 3.10 (verified on 2.9.10): an nkey user of account A binds the leaf to A.
  const sig = base64Url(pair.sign(new TextEncoder().encode(NONCE)));
  const nk = await verdictOf(auth, { nkey: pair.getPublicKey(), sig });
  assert.equal(nk.ok && nk.identity.account, "A");
  assert.equal((await verdictOf(auth, { user: "pu", pass: "wrong" })).ok, false);
  assert.equal((await verdictOf(auth, {})).ok, false, "anonymous refused when auth is required");
  const badSig = base64Url(createUser().sign(new TextEncoder().encode(NONCE)));
  assert.equal((await verdictOf(auth, { nkey: pair.getPublicKey(), sig: badSig })).ok, false);
});

Deno.test("leaf auth - a leaf block with only an account falls back to client users when they exist", async () => {
  const auth = authenticator(
    { account: "ACME" },
    { authorization: { users: [{ user: "app", password: "p", account: "$G" }] } },
  );
  const app = await verdictOf(auth, { user: "app", pass: "p" });
  assert.equal(app.ok && app.identity.account, "$G");
  assert.equal((await verdictOf(auth, {})).ok, false);
});

Deno.test("leaf auth - with no auth anywhere anyone is bound to $G or the block's account", async () => {
  const none = authenticator({}, {}, false);
  const anyone = await verdictOf(none, {});
  assert.equal(anyone.ok && anyone.identity.account, "$G");
  const withCreds = await verdictOf(none, { user: "whoever", pass: "whatever" });
  assert.equal(withCreds.ok && withCreds.identity.account, "$G");

  const blockAccount = authenticator({ account: "ACME", timeoutMs: 5000 });
  const acme = await verdictOf(blockAccount, {});
  assert.equal(acme.ok && acme.identity.account, "ACME");

  const emptyBlock = authenticator({});
  const global = await verdictOf(emptyBlock, {});
  assert.equal(global.ok && global.identity.account, "$G");
});
