import assert from "node:assert/strict";
import { certificateIdentities } from "../../protocol/cert_identity.ts";
import { ClientAuthenticator } from "../../protocol/client_auth.ts";
import { LeafAuthenticator } from "../../protocol/leaf_auth.ts";
import { defaultOptions } from "../../config/mod.ts";

const CERT = {
  subject: "CN=leaf-client\nO=Canopy\nOU=test",
  subjectAltName: "DNS:leaf.example, email:leaf@example.com, URI:spiffe://x/y",
};

Deno.test("cert identity - e-mails, DNS names, URIs, then the DN in both orders", () => {
  const names = certificateIdentities(CERT);
  assert.deepEqual(names.slice(0, 3), ["leaf@example.com", "leaf.example", "spiffe://x/y"]);
  assert.ok(names.includes("CN=leaf-client,O=Canopy,OU=test"));
  assert.ok(names.includes("OU=test,O=Canopy,CN=leaf-client"));
});

Deno.test("verify_and_map - the certificate picks the client user, CONNECT credentials ignored", async () => {
  const options = {
    ...defaultOptions(),
    tls: { verifyAndMap: true, certFile: "x", keyFile: "y" },
    authorization: {
      users: [
        { user: "leaf@example.com", account: "$G", permissions: { publish: { allow: ["a"] } } },
        { user: "other", password: "pw", account: "$G" },
      ],
    },
  };
  const auth = new ClientAuthenticator(options);
  const mapped = await auth.authenticate({ user: "other", pass: "pw" }, undefined, CERT);
  assert.ok(mapped.ok);
  assert.equal(mapped.identity.user, "leaf@example.com");
  assert.deepEqual(mapped.identity.permissions, { publish: { allow: ["a"] } });
  const none = await auth.authenticate({ user: "other", pass: "pw" }, undefined, undefined);
  assert.equal(none.ok, false);
  const unknown = await auth.authenticate({}, undefined, { subject: "CN=stranger" });
  assert.equal(unknown.ok, false);
});

Deno.test("verify_and_map - a leaf certificate picks the leafnode user and its account", async () => {
  const options = defaultOptions();
  const clients = new ClientAuthenticator(options);
  const leafAuth = new LeafAuthenticator(
    { users: [{ user: "CN=leaf-client,O=Canopy,OU=test", password: "", account: "EDGE" }] },
    clients,
    { verifyAndMap: true },
  );
  const verdict = await leafAuth.authenticate({ user: "ignored" }, "nonce", CERT);
  assert.ok(verdict.ok);
  assert.equal(verdict.identity.account, "EDGE");
  assert.equal((await leafAuth.authenticate({}, "nonce", { subject: "CN=x" })).ok, false);
});
