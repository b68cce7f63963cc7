import assert from "node:assert/strict";
import { createAccount, createUser, fromPublic } from "@nats-io/nkeys";
import { encodeUser, fmtCreds } from "@nats-io/jwt";
import {
  base64UrlNoPad,
  CredsError,
  loadCredsFile,
  parseCreds,
  publicKeyFromSeed,
  signNonce,
} from "../../protocol/creds.ts";

const encoder = new TextEncoder();

async function makeCreds() {
  const user = createUser();
  const jwt = await encodeUser("leaf", user, createAccount());
  const seed = new TextDecoder().decode(user.getSeed());
  const text = new TextDecoder().decode(fmtCreds(jwt, user));
  return { jwt, seed, publicKey: user.getPublicKey(), text };
}

function base64UrlDecode(text: string): Uint8Array {
  const std = text.replaceAll("-", "+").replaceAll("_", "/");
  const padded = std + "=".repeat((4 - std.length % 4) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

Deno.test("creds - parses a file written by @nats-io/jwt fmtCreds", async () => {
  const { jwt, seed, text } = await makeCreds();
  assert.deepEqual(parseCreds(text), { jwt, seed });
});

Deno.test("creds - accepts CRLF line endings and no trailing newline", async () => {
  const { jwt, seed, text } = await makeCreds();
  const crlf = text.replaceAll("\n", "\r\n").replace(/\r\n$/, "");
  assert.ok(!crlf.endsWith("\n"));
  assert.deepEqual(parseCreds(crlf), { jwt, seed });
});

Deno.test("creds - ignores text around and between the blocks", async () => {
  const { jwt, seed } = await makeCreds();
  const text = [
    "# generated for tests",
    "-----BEGIN NATS USER JWT-----",
    jwt,
    "------END NATS USER JWT------",
    "",
    "************************* IMPORTANT *************************",
    "NKEY Seed printed below can be used to sign and prove identity.",
    "",
    "  -----BEGIN USER NKEY SEED-----  ",
    seed,
    "------END USER NKEY SEED------",
    "trailing words",
  ].join("\n");
  assert.deepEqual(parseCreds(text), { jwt, seed });
});

Deno.test("creds - a file without blocks lacks the JWT", () => {
  assert.throws(() => parseCreds(""), {
    name: "CredsError",
    message: "Cannot parse credentials: no user JWT block found",
  });
  assert.throws(() => parseCreds("just some text\nand more\n"), CredsError);
});

Deno.test("creds - a file with only the JWT block lacks the seed", async () => {
  const { jwt } = await makeCreds();
  const text = `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n`;
  assert.throws(() => parseCreds(text), {
    name: "CredsError",
    message: "Cannot parse credentials: no nkey seed block found",
  });
});

Deno.test("creds - a file with only the seed block lacks the JWT, and never shows the seed", async () => {
  const { seed } = await makeCreds();
  const text = `-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`;
  try {
    parseCreds(text);
    assert.fail("expected a CredsError");
  } catch (err) {
    assert.ok(err instanceof CredsError);
    assert.equal(err.message, "Cannot parse credentials: no user JWT block found");
    assert.ok(!err.message.includes(seed));
  }
});

Deno.test("creds - a broken seed is reported without echoing it", async () => {
  const { jwt, seed } = await makeCreds();
  const broken = seed.slice(0, -2) + (seed.endsWith("AA") ? "BB" : "AA");
  const text = `---JWT---\n${jwt}\n---END---\n---SEED---\n${broken}\n---END---\n`;
  try {
    parseCreds(text);
    assert.fail("expected a CredsError");
  } catch (err) {
    assert.ok(err instanceof CredsError);
    assert.equal(err.message, "Cannot parse credentials: the nkey seed block is not a valid seed");
    assert.ok(!err.message.includes(broken));
  }
});

Deno.test("creds - a block whose payload has a space is not a block", async () => {
  const { jwt, seed } = await makeCreds();
  const text = `-----A-----\nnot a token\n-----B-----\n-----C-----\n${jwt}\n-----D-----\n` +
    `-----E-----\n${seed}\n-----F-----\n`;
  assert.deepEqual(parseCreds(text), { jwt, seed });
});

Deno.test("creds - signNonce signs the ASCII nonce, base64url without padding", async () => {
  const { seed, publicKey } = await makeCreds();
  const nonce = "abcdefghijklmno";
  const sig = signNonce(seed, nonce);
  assert.equal(sig.length, 86);
  assert.match(sig, /^[A-Za-z0-9_-]+$/);
  const verifier = fromPublic(publicKey);
  assert.ok(verifier.verify(encoder.encode(nonce), base64UrlDecode(sig)));
  assert.ok(!verifier.verify(encoder.encode("abcdefghijklmnp"), base64UrlDecode(sig)));
});

Deno.test("creds - publicKeyFromSeed returns the user's public key", async () => {
  const { seed, publicKey } = await makeCreds();
  assert.equal(publicKeyFromSeed(seed), publicKey);
  assert.ok(publicKey.startsWith("U"));
});

Deno.test("creds - signNonce and publicKeyFromSeed reject a malformed seed without echoing it", () => {
  for (const call of [() => signNonce("SUBOGUS", "n"), () => publicKeyFromSeed("SUBOGUS")]) {
    try {
      call();
      assert.fail("expected a CredsError");
    } catch (err) {
      assert.ok(err instanceof CredsError);
      assert.match(err.message, /malformed nkey seed$/);
      assert.ok(!err.message.includes("SUBOGUS"));
    }
  }
});

Deno.test("creds - base64UrlNoPad matches RFC 4648 base64url without '='", () => {
  assert.equal(base64UrlNoPad(new Uint8Array([0xfb, 0xff])), "-_8");
  assert.equal(base64UrlNoPad(new Uint8Array([])), "");
  assert.equal(base64UrlNoPad(encoder.encode("f")), "Zg");
});

Deno.test("creds - loadCredsFile reads the file anew at each call", async () => {
  const path = await Deno.makeTempFile({ suffix: ".creds" });
  try {
    const first = await makeCreds();
    await Deno.writeTextFile(path, first.text);
    assert.equal((await loadCredsFile(path)).jwt, first.jwt);
    const second = await makeCreds();
    await Deno.writeTextFile(path, second.text);
    assert.deepEqual(await loadCredsFile(path), { jwt: second.jwt, seed: second.seed });
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("creds - loadCredsFile names the file in its errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const missing = `${dir}/missing.creds`;
    await assert.rejects(loadCredsFile(missing), (err: unknown) => {
      assert.ok(err instanceof CredsError);
      assert.equal(err.path, missing);
      assert.ok(err.message.startsWith(`Cannot read credentials file "${missing}": `));
      return true;
    });
    const empty = `${dir}/empty.creds`;
    await Deno.writeTextFile(empty, "nothing here\n");
    await assert.rejects(loadCredsFile(empty), {
      name: "CredsError",
      message: `Cannot parse credentials file "${empty}": no user JWT block found`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
