import assert from "node:assert/strict";
import { createAccount, createUser, fromPublic } from "@nats-io/nkeys";
import { encodeUser, fmtCreds } from "@nats-io/jwt";
import {
  credentialsUrl,
  leafConnectCredentials,
  type SignatureCallback,
} from "../../protocol/connect_credentials.ts";
import { CredsError } from "../../protocol/creds.ts";

const encoder = new TextEncoder();
const NONCE = "abcdefghijklmno";

function base64UrlDecode(text: string): Uint8Array {
  const std = text.replaceAll("-", "+").replaceAll("_", "/");
  const padded = std + "=".repeat((4 - std.length % 4) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

function verifies(publicKey: string, nonce: string, sig: string | undefined): boolean {
  assert.ok(sig !== undefined, "sig must be set");
  return fromPublic(publicKey).verify(encoder.encode(nonce), base64UrlDecode(sig));
}

async function withCredsFile(fn: (path: string, jwt: string, publicKey: string) => Promise<void>) {
  const user = createUser();
  const jwt = await encodeUser("leaf", user, createAccount());
  const path = await Deno.makeTempFile({ suffix: ".creds" });
  try {
    await Deno.writeFile(path, fmtCreds(jwt, user));
    await fn(path, jwt, user.getPublicKey());
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("connect credentials - URL userinfo gives user and pass, percent-decoded", async () => {
  const auth = await leafConnectCredentials(
    {},
    "nats-leaf://my%40user:p%3Ass%2Fw@127.0.0.1:7422",
    NONCE,
  );
  assert.deepEqual(auth, { user: "my@user", pass: "p:ss/w" });
});

Deno.test("connect credentials - a username alone is sent as user only (2.9.10)", async () => {
  assert.deepEqual(await leafConnectCredentials({}, "nats-leaf://tok@hub:7422", NONCE), {
    user: "tok",
  });
});

Deno.test("connect credentials - no auth configured sends nothing", async () => {
  assert.deepEqual(await leafConnectCredentials({}, new URL("nats-leaf://hub:7422"), NONCE), {});
});

Deno.test("connect credentials - gossiped URLs borrow the first configured userinfo", async () => {
  const remote = {
    urls: ["nats-leaf://hub-a:7422", "nats-leaf://leaf:secret@hub-b:7422", "nats://x:y@hub-c"],
  };
  assert.deepEqual(await leafConnectCredentials(remote, "nats-leaf://10.0.0.9:7422", NONCE), {
    user: "leaf",
    pass: "secret",
  });
  // The URL being dialled wins over the fallback.
  assert.deepEqual(await leafConnectCredentials(remote, "nats://x:y@hub-c:7422", NONCE), {
    user: "x",
    pass: "y",
  });
});

Deno.test("connect credentials - credentialsUrl skips URLs with a password but no username", () => {
  const url = credentialsUrl(
    ["nats-leaf://:only-pass@a:7422", "nats-leaf://u:p@b:7422"],
    "nats-leaf://c:7422",
  );
  assert.equal(url?.href, "nats-leaf://u:p@b:7422");
  assert.equal(credentialsUrl([], "nats-leaf://c:7422")?.href, "nats-leaf://c:7422");
  assert.equal(
    credentialsUrl(["nats-leaf://u:p@b:7422"], "not a url")?.href,
    "nats-leaf://u:p@b:7422",
  );
});

Deno.test("connect credentials - nkey seed gives the public key and a nonce signature", async () => {
  const user = createUser();
  const seed = new TextDecoder().decode(user.getSeed());
  const auth = await leafConnectCredentials(
    { nkey: seed, urls: ["nats-leaf://u:p@hub:7422"] },
    "nats-leaf://u:p@hub:7422",
    NONCE,
  );
  assert.equal(auth.nkey, user.getPublicKey());
  assert.ok(verifies(user.getPublicKey(), NONCE, auth.sig));
  // 2.9.10 order: an nkey replaces the URL's user/password.
  assert.equal(auth.user, undefined);
  assert.equal(auth.pass, undefined);
});

Deno.test("connect credentials - creds file wins over nkey and URL userinfo", async () => {
  await withCredsFile(async (path, jwt, publicKey) => {
    const other = new TextDecoder().decode(createUser().getSeed());
    const auth = await leafConnectCredentials(
      { credentials: path, nkey: other },
      "nats-leaf://u:p@hub:7422",
      NONCE,
    );
    assert.deepEqual(Object.keys(auth).sort(), ["jwt", "sig"]);
    assert.equal(auth.jwt, jwt);
    assert.ok(verifies(publicKey, NONCE, auth.sig));
  });
});

Deno.test("connect credentials - a missing nonce signs the empty string", async () => {
  await withCredsFile(async (path, _jwt, publicKey) => {
    const auth = await leafConnectCredentials({ credentials: path }, "nats-leaf://hub", undefined);
    assert.ok(verifies(publicKey, "", auth.sig));
  });
});

Deno.test("connect credentials - the signature callback wins over everything", async () => {
  await withCredsFile(async (path) => {
    let seen: string | undefined;
    const signatureCallback: SignatureCallback = (nonce) => {
      seen = new TextDecoder().decode(nonce);
      return Promise.resolve({ jwt: "CALLBACK.JWT.X", sig: new Uint8Array([0xfb, 0xff]) });
    };
    const auth = await leafConnectCredentials(
      { signatureCallback, credentials: path, nkey: "SUIGNORED" },
      "nats-leaf://u:p@hub:7422",
      NONCE,
    );
    assert.equal(seen, NONCE);
    assert.deepEqual(auth, { jwt: "CALLBACK.JWT.X", sig: "-_8" });
  });
});

Deno.test("connect credentials - a callback's string signature is sent as is", async () => {
  const auth = await leafConnectCredentials(
    { signatureCallback: () => Promise.resolve({ jwt: "J", sig: "already-encoded" }) },
    "nats-leaf://hub",
    NONCE,
  );
  assert.equal(auth.sig, "already-encoded");
});

Deno.test("connect credentials - a failing callback aborts with CredsError", async () => {
  const cause = new Error("hsm offline");
  await assert.rejects(
    leafConnectCredentials(
      { signatureCallback: () => Promise.reject(cause) },
      "nats-leaf://hub",
      NONCE,
    ),
    (err: unknown) => {
      assert.ok(err instanceof CredsError);
      assert.equal(err.message, "Cannot sign the nonce: hsm offline");
      assert.equal(err.cause, cause);
      return true;
    },
  );
});

Deno.test("connect credentials - an unreadable creds file aborts with CredsError", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      leafConnectCredentials({ credentials: `${dir}/none.creds` }, "nats-leaf://u:p@hub", NONCE),
      CredsError,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connect credentials - a malformed nkey seed aborts with CredsError", async () => {
  await assert.rejects(
    leafConnectCredentials({ nkey: "SUNOTASEED" }, "nats-leaf://hub", NONCE),
    { name: "CredsError", message: "Cannot derive the public key: malformed nkey seed" },
  );
});
