import assert from "node:assert/strict";
import { SubjectFilter } from "../../protocol/subject_filter.ts";

Deno.test("subject filter - an empty filter is open and lets everything pass", () => {
  const filter = new SubjectFilter();
  assert.equal(filter.open, true);
  assert.equal(filter.allowsMessage("anything.at.all"), true);
  assert.equal(filter.allowsInterest(">"), true);
  assert.equal(new SubjectFilter({ allow: [], deny: [] }).open, true, "empty allow means all");
});

Deno.test("subject filter - allowsMessage honours allow lists with wildcards", () => {
  const filter = new SubjectFilter({ allow: ["orders.*", "audit.>"] });
  assert.equal(filter.open, false);
  assert.equal(filter.allowsMessage("orders.42"), true);
  assert.equal(filter.allowsMessage("orders.42.x"), false);
  assert.equal(filter.allowsMessage("orders"), false);
  assert.equal(filter.allowsMessage("audit.a.b.c"), true);
  assert.equal(filter.allowsMessage("audit"), false);
  assert.equal(filter.allowsMessage("other"), false);
});

Deno.test("subject filter - allowsMessage lets deny overrule allow", () => {
  const filter = new SubjectFilter({ allow: ["foo.>"], deny: ["foo.bar", "foo.secret.*"] });
  assert.equal(filter.allowsMessage("foo.x"), true);
  assert.equal(filter.allowsMessage("foo.bar"), false);
  assert.equal(filter.allowsMessage("foo.bar.baz"), true);
  assert.equal(filter.allowsMessage("foo.secret.a"), false);
  assert.equal(filter.allowsMessage("foo.secret"), true);
  // Deny only: everything else passes.
  const denyOnly = new SubjectFilter({ deny: ["$JS.API.>"] });
  assert.equal(denyOnly.allowsMessage("$JS.API.INFO"), false);
  assert.equal(denyOnly.allowsMessage("$JS.ACK.x"), true);
});

Deno.test("subject filter - verdicts stay right when the same subject is asked again", () => {
  const filter = new SubjectFilter({ allow: ["a.*"], deny: ["a.b"] });
  for (let i = 0; i < 3; i++) {
    assert.equal(filter.allowsMessage("a.c"), true);
    assert.equal(filter.allowsMessage("a.b"), false);
  }
  // Past the verdict cache's bound the answers do not change.
  for (let i = 0; i < 3000; i++) filter.allowsMessage(`a.n${i}`);
  assert.equal(filter.allowsMessage("a.b"), false);
  assert.equal(filter.allowsMessage("a.c"), true);
  assert.equal(filter.allowsMessage("z.c"), false);
});

Deno.test("subject filter - literal interest is judged like a message", () => {
  const filter = new SubjectFilter({ allow: ["foo.>"], deny: ["foo.bar"] });
  assert.equal(filter.allowsInterest("foo.x"), true);
  assert.equal(filter.allowsInterest("foo.bar"), false);
  assert.equal(filter.allowsInterest("zzz"), false);
});

Deno.test("subject filter - wildcard interest passes when some allowed subject falls under it", () => {
  const filter = new SubjectFilter({ allow: ["foo.bar"] });
  // nats-server advertises `foo.*` to a leaf allowed only `foo.bar` (spec 3.8).
  assert.equal(filter.allowsInterest("foo.*"), true);
  assert.equal(filter.allowsInterest("foo.>"), true);
  assert.equal(filter.allowsInterest(">"), true);
  assert.equal(filter.allowsInterest("*.bar"), true);
  assert.equal(filter.allowsInterest("baz.*"), false);
  assert.equal(filter.allowsInterest("foo.bar.*"), false);
  assert.equal(filter.allowsInterest("*"), false);
});

Deno.test("subject filter - wildcard interest fails only when a deny covers all of it", () => {
  const filter = new SubjectFilter({ deny: ["foo.>", "bar.baz"] });
  assert.equal(filter.allowsInterest("foo.*"), false, "foo.> covers foo.*");
  assert.equal(filter.allowsInterest("foo.>"), false);
  assert.equal(filter.allowsInterest("foo.a.>"), false);
  assert.equal(filter.allowsInterest("bar.*"), true, "bar.baz covers only part of bar.*");
  assert.equal(filter.allowsInterest(">"), true);
  assert.equal(filter.allowsInterest("*.x"), true, "foo.> covers only part of *.x");
});

Deno.test("subject filter - the spec 3.8 capture: which leaf interest passes an import", () => {
  // Fake hub sent import={allow:[foo.>],deny:[foo.bar]}; the real leaf advertised only
  // foo.x, foo.* and > of the subjects its client subscribed to.
  const filter = new SubjectFilter({ allow: ["foo.>"], deny: ["foo.bar"] });
  const subscribed = ["foo.bar", "foo.x", "zzz", "foo.*", ">", "bar.x"];
  assert.deepEqual(subscribed.filter((s) => filter.allowsInterest(s)), ["foo.x", "foo.*", ">"]);
});

Deno.test("subject filter - withDenied adds denies and keeps the allow list", () => {
  const base = new SubjectFilter({ allow: ["app.>", "$JS.API.>"], deny: ["app.secret"] });
  const merged = base.withDenied(["$JS.API.>", "$KV.>"]);
  assert.notEqual(merged, base);
  assert.deepEqual(merged.allow, ["app.>", "$JS.API.>"]);
  assert.deepEqual(merged.deny, ["app.secret", "$JS.API.>", "$KV.>"]);
  assert.equal(merged.allowsMessage("app.x"), true);
  assert.equal(merged.allowsMessage("app.secret"), false);
  assert.equal(merged.allowsMessage("$JS.API.INFO"), false);
  assert.equal(merged.allowsInterest("$JS.API.>"), false);
  // The original is unchanged.
  assert.equal(base.allowsMessage("$JS.API.INFO"), true);
  assert.deepEqual(base.deny, ["app.secret"]);
  // Nothing extra: the same filter.
  assert.equal(base.withDenied([]), base);
  // An open filter with denies is no longer open.
  const open = new SubjectFilter();
  assert.equal(open.withDenied(["x"]).open, false);
  assert.equal(open.withDenied(["x"]).allowsMessage("x"), false);
  assert.equal(open.withDenied(["x"]).allowsMessage("y"), true);
});

Deno.test("subject filter - a filter keeps its own copy of the lists it was given", () => {
  const allow = ["a.>"];
  const deny = ["a.b"];
  const filter = new SubjectFilter({ allow, deny });
  allow.push("b.>");
  deny.length = 0;
  assert.equal(filter.allowsMessage("b.x"), false);
  assert.equal(filter.allowsMessage("a.b"), false);
});
