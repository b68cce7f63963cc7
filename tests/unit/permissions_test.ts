import assert from "node:assert/strict";
import {
  DEFAULT_RESPONSE_EXPIRES_MS,
  InvalidPermissionError,
  Permissions,
  publishViolation,
  replyViolation,
  ResponsePermissions,
  subscribeViolation,
  SYSTEM_QUEUE_GROUP,
} from "../../protocol/permissions.ts";

Deno.test("permissions - error texts match nats-server 2.9.10", () => {
  // Texts as captured from `-ERR '...'` lines of the real binary.
  assert.equal(publishViolation("pub.secret"), 'Permissions Violation for Publish to "pub.secret"');
  assert.equal(subscribeViolation("baz"), 'Permissions Violation for Subscription to "baz"');
  assert.equal(
    subscribeViolation("q.x", "grp"),
    'Permissions Violation for Subscription to "q.x" using queue "grp"',
  );
  assert.equal(
    subscribeViolation("foo", SYSTEM_QUEUE_GROUP),
    'Permissions Violation for Subscription to "foo" using queue "_sys_"',
  );
  assert.equal(replyViolation("_R_.x"), 'Permissions Violation for Publish with Reply of "_R_.x"');
  // Go's %q escaping.
  assert.equal(publishViolation('a"b\\c'), 'Permissions Violation for Publish to "a\\"b\\\\c"');
  assert.equal(
    publishViolation("a\x01\x7f\tb"),
    'Permissions Violation for Publish to "a\\x01\\x7f\\tb"',
  );
});

Deno.test("permissions - compile returns undefined when everything is allowed", () => {
  assert.equal(Permissions.compile(undefined), undefined);
  assert.equal(Permissions.compile({}), undefined);
  assert.equal(Permissions.compile({ publish: {}, subscribe: { allow: [], deny: [] } }), undefined);
  assert.notEqual(Permissions.compile({ publish: { deny: ["x"] } }), undefined);
  assert.notEqual(
    Permissions.compile({ allowResponses: { maxMsgs: 1, expiresMs: 1000 } }),
    undefined,
  );
});

Deno.test("permissions - invalid entries are refused at compile time", () => {
  for (const entry of ["foo..bar", "a b c", "", "foo.>.bar", "foo. q"]) {
    assert.throws(
      () => Permissions.compile({ subscribe: { allow: [entry] } }),
      InvalidPermissionError,
      JSON.stringify(entry),
    );
  }
  assert.throws(
    () => Permissions.compile({ publish: { deny: ["a..b"] } }),
    /subject "a..b" is not a valid subject/,
  );
  assert.ok(Permissions.compile({ subscribe: { allow: ["  foo   q  "] } }));
});

Deno.test("permissions - publish allow and deny", () => {
  const perms = Permissions.compile({
    publish: { allow: ["foo.*", "pub.>", "_INBOX.>"], deny: ["pub.secret", "pub.private.>"] },
  })!;
  for (let round = 0; round < 2; round++) { // the second round is served from the cache
    assert.equal(perms.canPublish("foo.bar"), true);
    assert.equal(perms.canPublish("foo.bar.baz"), false);
    assert.equal(perms.canPublish("pub.a.b"), true);
    assert.equal(perms.canPublish("pub.secret"), false);
    assert.equal(perms.canPublish("pub.private.x"), false);
    assert.equal(perms.canPublish("pub.private"), true);
    assert.equal(perms.canPublish("nope"), false);
    assert.equal(perms.canPublish("_INBOX.abc"), true);
  }
  const denyOnly = Permissions.compile({ publish: { deny: ["$SYS.>"] } })!;
  assert.equal(denyOnly.canPublish("anything"), true);
  assert.equal(denyOnly.canPublish("$SYS.REQ"), false);
  // A published wildcard token only meets wildcard entries, as in routing.
  assert.equal(denyOnly.canPublish("$SYS.*"), false);
  assert.equal(perms.canPublish("pub.*"), true);
});

Deno.test("permissions - verdict cache stays correct past its bound", () => {
  const perms = Permissions.compile({ publish: { allow: ["even.>"] } })!;
  for (let i = 0; i < 2000; i++) {
    assert.equal(perms.canPublish(`even.${i}`), true);
    assert.equal(perms.canPublish(`odd.${i}`), false);
  }
  assert.equal(perms.canPublish("even.0"), true);
  assert.equal(perms.canPublish("odd.0"), false);
});

Deno.test("permissions - wildcard subscriptions must lie within an allow entry", () => {
  const perms = Permissions.compile({ subscribe: { allow: ["foo.*", "bar.>", "baz"] } })!;
  assert.equal(perms.canSubscribe("foo.x"), true);
  assert.equal(perms.canSubscribe("foo.*"), true);
  assert.equal(perms.canSubscribe("bar.*"), true);
  assert.equal(perms.canSubscribe("bar.>"), true);
  assert.equal(perms.canSubscribe("bar.*.>"), true);
  assert.equal(perms.canSubscribe("baz"), true);
  assert.equal(perms.canSubscribe("baz.x"), false);
  assert.equal(perms.canSubscribe("*"), false);
  assert.equal(perms.canSubscribe(">"), false);
  assert.equal(perms.canSubscribe("bar"), false);
  // nats-server 2.9.10 accepts this one and then delivers foo.a.b; we refuse it.
  assert.equal(perms.canSubscribe("foo.>"), false);
  // Queue subscriptions need only the subject when no entry names a queue.
  assert.equal(perms.canSubscribe("foo.x", "any"), true);
  assert.equal(perms.canSubscribe("nope", "any"), false);
});

Deno.test("permissions - leaf connections may subscribe broader than the allow list", () => {
  const opts = { subscribe: { allow: ["foo.bar", "baz.*"] } };
  const client = Permissions.compile(opts)!;
  const leaf = Permissions.compile(opts, { leaf: true })!;
  for (const subject of ["foo.*", "foo.>", ">", "*.*"]) {
    assert.equal(client.canSubscribe(subject), false, subject);
    assert.equal(leaf.canSubscribe(subject), true, subject);
  }
  assert.equal(leaf.canSubscribe("other.*"), false);
  assert.equal(leaf.canSubscribe("foo.baz"), false);
});

Deno.test("permissions - deny entries refuse subscriptions they match", () => {
  const perms = Permissions.compile({ subscribe: { deny: ["bar.secret", "*.deny", "foo.*"] } })!;
  assert.equal(perms.canSubscribe("bar.secret"), false);
  assert.equal(perms.canSubscribe("x.deny"), false);
  assert.equal(perms.canSubscribe("*.deny"), false);
  assert.equal(perms.canSubscribe("foo.x"), false);
  assert.equal(perms.canSubscribe("foo.*"), false);
  // As nats-server: the subscription's `>` is a token that deny `*` matches.
  assert.equal(perms.canSubscribe("foo.>"), false);
  assert.equal(perms.canSubscribe("bar.ok"), true);
  assert.equal(perms.canSubscribe("bar.secret.x"), true);
  assert.equal(perms.canSubscribe("bar.secret", "q"), false);
});

Deno.test("permissions - overlapping wildcard subscriptions are filtered at delivery", () => {
  const perms = Permissions.compile({
    subscribe: { allow: ["bar.>", "star.*"], deny: ["bar.secret", "*.deny"] },
  })!;
  assert.equal(perms.filtersDeliveries, true);
  assert.equal(perms.canSubscribe("bar.>"), true);
  assert.equal(perms.canSubscribe("star.*"), true);
  for (let round = 0; round < 2; round++) {
    assert.equal(perms.deliveryDenied("bar.secret"), true);
    assert.equal(perms.deliveryDenied("bar.ok"), false);
    assert.equal(perms.deliveryDenied("star.deny"), true);
    assert.equal(perms.deliveryDenied("star.ok"), false);
  }
  const none = Permissions.compile({ subscribe: { allow: [">"] } })!;
  assert.equal(none.filtersDeliveries, false);
  assert.equal(none.deliveryDenied("anything"), false);
});

Deno.test("permissions - queue-qualified allow entries", () => {
  // allow = ["foo v1"]: queue subscribe to foo with v1 only, no plain subscription.
  const onlyQueue = Permissions.compile({ subscribe: { allow: ["foo v1"] } })!;
  assert.equal(onlyQueue.canSubscribe("foo"), false);
  assert.equal(onlyQueue.canSubscribe("foo", "v1"), true);
  assert.equal(onlyQueue.canSubscribe("foo", "v2"), false);
  // allow = ["foo", "foo v1"]: plain foo, but queue only v1.
  const both = Permissions.compile({ subscribe: { allow: ["foo", "foo v1"] } })!;
  assert.equal(both.canSubscribe("foo"), true);
  assert.equal(both.canSubscribe("foo", "v1"), true);
  assert.equal(both.canSubscribe("foo", "v2"), false);
  // Wildcard subjects and queue patterns, as probed on nats-server 2.9.10.
  const probed = Permissions.compile({
    subscribe: { allow: ["q.* v1", "q.plain", "qw v1.*"] },
  })!;
  assert.equal(probed.canSubscribe("q.x", "v1"), true);
  assert.equal(probed.canSubscribe("q.x", "grp"), false);
  assert.equal(probed.canSubscribe("q.plain"), true);
  assert.equal(probed.canSubscribe("q.plain", "g"), false);
  assert.equal(probed.canSubscribe("qw", "v1.x"), true);
  assert.equal(probed.canSubscribe("qw", "v1.*"), true);
  assert.equal(probed.canSubscribe("qw", "v2"), false);
  assert.equal(probed.canSubscribe("qw"), false);
});

Deno.test("permissions - queue-qualified deny entries", () => {
  const perms = Permissions.compile({ subscribe: { deny: ["dd", "dd bad", "qo v1", "w.* x.*"] } })!;
  assert.equal(perms.canSubscribe("qo"), true);
  assert.equal(perms.canSubscribe("qo", "v2"), true);
  assert.equal(perms.canSubscribe("qo", "v1"), false);
  assert.equal(perms.canSubscribe("dd", "bad"), false);
  // A plain deny wins (nats-server 2.9.10 lets `SUB dd ok` through here).
  assert.equal(perms.canSubscribe("dd", "ok"), false);
  assert.equal(perms.canSubscribe("w.a", "x.y"), false);
  assert.equal(perms.canSubscribe("w.a", "y"), true);
  // Deliveries to a queue subscription are filtered by queue deny entries too.
  assert.equal(perms.deliveryDenied("qo"), false);
  assert.equal(perms.deliveryDenied("qo", "v1"), true);
  assert.equal(perms.deliveryDenied("qo", "v2"), false);
  assert.equal(perms.deliveryDenied("w.b", "x.z"), true);
  assert.equal(perms.deliveryDenied("dd", "any"), true);
});

Deno.test("permissions - allow and deny combined", () => {
  const perms = Permissions.compile({
    publish: { allow: [">"], deny: ["admin.>"] },
    subscribe: { allow: ["events.>"], deny: ["events.internal.>"] },
  })!;
  assert.equal(perms.canPublish("events.x"), true);
  assert.equal(perms.canPublish("admin.reset"), false);
  assert.equal(perms.canSubscribe("events.public"), true);
  assert.equal(perms.canSubscribe("events.internal.x"), false);
  assert.equal(perms.canSubscribe("events.internal.>"), false);
  assert.equal(perms.canSubscribe("events.*.x"), true);
  assert.equal(perms.deliveryDenied("events.internal.x"), true);
  assert.equal(perms.canSubscribe("other"), false);
});

Deno.test("permissions - allow_responses lets a handler answer tracked replies", () => {
  let now = 1_000;
  const perms = Permissions.compile(
    { subscribe: { allow: [">"] }, allowResponses: { maxMsgs: 2, expiresMs: 1_000 } },
    { now: () => now },
  )!;
  const responses = perms.responses!;
  // Without a publish allow list, allow_responses turns the blanket allow off.
  assert.equal(perms.canPublish("nope"), false);
  assert.equal(perms.canPublish("rep.1"), false);
  responses.track("rep.1");
  responses.track("rep.2");
  assert.equal(perms.canPublish("rep.1"), true);
  assert.equal(perms.canPublish("rep.1"), true);
  assert.equal(perms.canPublish("rep.1"), false, "third reply exceeds max 2");
  now += 1_000;
  assert.equal(perms.canPublish("rep.2"), true, "exactly at expiry is still allowed");
  now += 1;
  assert.equal(perms.canPublish("rep.2"), false, "past expiry");
  assert.equal(perms.canPublish("nope"), false);
  // An explicit allow list still works alongside responses.
  const withAllow = Permissions.compile(
    { publish: { allow: ["svc.>"] }, allowResponses: { maxMsgs: 1, expiresMs: 1_000 } },
    { now: () => now },
  )!;
  assert.equal(withAllow.canPublish("svc.x"), true);
  withAllow.responses!.track("_INBOX.1");
  assert.equal(withAllow.canPublish("_INBOX.1"), true);
  assert.equal(withAllow.canPublish("_INBOX.1"), false);
});

Deno.test("permissions - ResponsePermissions defaults, unlimited values and re-tracking", () => {
  let now = 0;
  const clock = () => now;
  const defaults = new ResponsePermissions({ maxMsgs: 0, expiresMs: 0 }, clock);
  defaults.track("r");
  now = DEFAULT_RESPONSE_EXPIRES_MS;
  assert.equal(defaults.consume("r"), true);
  assert.equal(defaults.consume("r"), false, "default max is 1");
  defaults.track("r2");
  now += DEFAULT_RESPONSE_EXPIRES_MS + 1;
  assert.equal(defaults.consume("r2"), false, "default expiry is 2 minutes");

  const unlimited = new ResponsePermissions({ maxMsgs: -1, expiresMs: -1 }, clock);
  unlimited.track("u");
  now += 1e9;
  for (let i = 0; i < 100; i++) assert.equal(unlimited.consume("u"), true);

  const limited = new ResponsePermissions({ maxMsgs: 1, expiresMs: 10 }, clock);
  limited.track("x");
  assert.equal(limited.consume("x"), true);
  limited.track("x"); // a new request with the same reply grants a new reply
  assert.equal(limited.consume("x"), true);
  assert.equal(limited.consume("never-tracked"), false);
});

Deno.test("permissions - ResponsePermissions sweeps stale entries past the threshold", () => {
  let now = 0;
  const responses = new ResponsePermissions({ maxMsgs: 1, expiresMs: 100 }, () => now);
  for (let i = 0; i < 4096; i++) responses.track(`old.${i}`);
  assert.equal(responses.size, 4096);
  now = 1_000;
  responses.track("fresh");
  assert.equal(responses.size, 1, "expired entries were swept");
  assert.equal(responses.consume("fresh"), true);
  // Live entries are never dropped.
  for (let i = 0; i < 5000; i++) responses.track(`live.${i}`);
  assert.equal(responses.size, 5000);
  assert.equal(responses.consume("live.0"), true);
});
