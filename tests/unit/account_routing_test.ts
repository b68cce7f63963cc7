import assert from "node:assert/strict";
import { AccountActor, type AccountMessage } from "../../actors/account.ts";
import type {
  ClientInbound,
  ClientTarget,
  DeliverMessage,
  ForwardMessage,
  InterestChange,
  LeafInbound,
  LeafTarget,
  RegisteredMessage,
  Subscription,
  Target,
} from "../../actors/subscription.ts";

const encoder = new TextEncoder();

/** A client connection as the account sees it, recording everything it is told. */
class FakeClient implements ClientTarget {
  readonly kind = "client";
  readonly cid: number;
  readonly echo: boolean;
  received: ClientInbound[] = [];
  constructor(cid: number, echo = true) {
    this.cid = cid;
    this.echo = echo;
  }
  tell(message: ClientInbound): void {
    this.received.push(message);
  }
  get deliveries(): DeliverMessage[] {
    return this.received.filter((m): m is DeliverMessage => m.kind === "deliver");
  }
}

/** A leaf link as the account sees it, recording everything it is told. */
class FakeLeaf implements LeafTarget {
  readonly kind = "leaf";
  readonly cid: number;
  readonly role: "hub" | "spoke";
  readonly peerCluster?: string;
  received: LeafInbound[] = [];
  constructor(cid: number, options: { role?: "hub" | "spoke"; peerCluster?: string } = {}) {
    this.cid = cid;
    this.role = options.role ?? "hub";
    this.peerCluster = options.peerCluster;
  }
  tell(message: LeafInbound): void {
    this.received.push(message);
  }
  get forwards(): ForwardMessage[] {
    return this.received.filter((m): m is ForwardMessage => m.kind === "forward");
  }
  get interest(): InterestChange[] {
    return this.received.flatMap((m) => m.kind === "interest" ? [m.change] : []);
  }
  get registrations(): RegisteredMessage[] {
    return this.received.filter((m): m is RegisteredMessage => m.kind === "registered");
  }
}

function newAccount(): AccountActor {
  return new AccountActor("$G", {});
}

let nextSid = 1;
function subscription(
  target: Target,
  subject: string,
  options: { queue?: string; weight?: number; origin?: string } = {},
): Subscription {
  return {
    subject,
    queue: options.queue,
    sid: String(nextSid++),
    target,
    weight: options.weight ?? 1,
    origin: options.origin,
    delivered: 0,
  };
}

function subscribe(account: AccountActor, sub: Subscription): Subscription {
  account.tell({ kind: "subscribe", sub });
  return sub;
}

function publish(
  account: AccountActor,
  from: Target,
  subject: string,
  extra: Partial<Extract<AccountMessage, { kind: "publish" }>> = {},
): void {
  const message = extra.message ?? encoder.encode("hi");
  account.tell({ kind: "publish", from, subject, headerSize: 0, message, ...extra });
}

/** Lets the account drain its mailbox (it schedules with microtasks and, past a batch, timers). */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

/** Runs `body` with a seeded Math.random so that random choices repeat from run to run. */
async function withSeededRandom(seed: number, body: () => Promise<void>): Promise<void> {
  const original = Math.random;
  let state = seed >>> 0;
  // mulberry32
  Math.random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  try {
    await body();
  } finally {
    Math.random = original;
  }
}

// ---- plain delivery ---------------------------------------------------------

Deno.test("account routing - every matching plain subscriber gets the message once", async () => {
  const account = newAccount();
  const a = new FakeClient(1);
  const b = new FakeClient(2);
  const other = new FakeClient(3);
  const publisher = new FakeClient(4);
  const subA = subscribe(account, subscription(a, "orders.*"));
  subscribe(account, subscription(b, "orders.new"));
  subscribe(account, subscription(other, "billing.>"));
  publish(account, publisher, "orders.new", { reply: "_INBOX.1" });
  await settle();
  assert.equal(a.deliveries.length, 1);
  assert.equal(b.deliveries.length, 1);
  assert.equal(other.deliveries.length, 0);
  assert.equal(publisher.deliveries.length, 0);
  const d = a.deliveries[0];
  assert.equal(d.sub, subA);
  assert.equal(d.subject, "orders.new");
  assert.equal(d.reply, "_INBOX.1");
  assert.equal(new TextDecoder().decode(d.message), "hi");
  assert.equal(d.producer, publisher);
  assert.equal(subA.delivered, 1);
});

Deno.test("account routing - echo off keeps a publisher's own plain messages from it", async () => {
  const account = newAccount();
  const quiet = new FakeClient(1, false);
  const loud = new FakeClient(2, true);
  const listener = new FakeClient(3);
  subscribe(account, subscription(quiet, "chat"));
  subscribe(account, subscription(loud, "chat"));
  subscribe(account, subscription(listener, "chat"));
  publish(account, quiet, "chat");
  publish(account, loud, "chat");
  await settle();
  assert.equal(quiet.deliveries.length, 1, "only loud's message reaches the echo-off client");
  assert.equal(quiet.deliveries[0].producer, loud);
  assert.equal(loud.deliveries.length, 2, "echo on: loud hears itself");
  assert.equal(listener.deliveries.length, 2);
});

// nats-server skips a queue member that is the publisher itself when echo is off.
Deno.test("account routing - echo off also keeps a publisher's queue messages from it", async () => {
  const account = newAccount();
  const quiet = new FakeClient(1, false);
  const peer = new FakeClient(2);
  subscribe(account, subscription(quiet, "work", { queue: "q" }));
  subscribe(account, subscription(peer, "work", { queue: "q" }));
  await withSeededRandom(11, async () => {
    for (let i = 0; i < 100; i++) publish(account, quiet, "work");
    await settle();
  });
  assert.equal(quiet.deliveries.length, 0, "the echo-off publisher got its own messages");
  assert.equal(peer.deliveries.length, 100);
});

Deno.test("account routing - an echo-off publisher alone in its group leaves it to a leaf member", async () => {
  const account = newAccount();
  const quiet = new FakeClient(1, false);
  const leaf = new FakeLeaf(9, { peerCluster: "SPOKE" });
  subscribe(account, subscription(quiet, "work", { queue: "q" }));
  subscribe(account, subscription(leaf, "work", { queue: "q" }));
  for (let i = 0; i < 10; i++) publish(account, quiet, "work");
  await settle();
  assert.equal(quiet.deliveries.length, 0, "the echo-off publisher got its own messages");
  assert.equal(leaf.forwards.length, 10);
  assert.deepEqual(leaf.forwards[0].queues, ["q"]);
});

// ---- queue groups -----------------------------------------------------------

Deno.test("account routing - a queue group gets each message exactly once", async () => {
  const account = newAccount();
  const members = [new FakeClient(1), new FakeClient(2), new FakeClient(3)];
  const other = [new FakeClient(4), new FakeClient(5)];
  for (const m of members) subscribe(account, subscription(m, "jobs", { queue: "workers" }));
  for (const m of other) subscribe(account, subscription(m, "jobs.*", { queue: "auditors" }));
  const publisher = new FakeClient(9);
  await withSeededRandom(7, async () => {
    for (let i = 0; i < 300; i++) publish(account, publisher, "jobs");
    await settle();
  });
  const counts = members.map((m) => m.deliveries.length);
  assert.equal(counts.reduce((x, y) => x + y, 0), 300, `counts ${counts}`);
  for (const n of counts) assert.ok(n > 0, `every member gets some: ${counts}`);
  // `jobs.*` does not match `jobs`; a second group on a matching subject gets its own copy.
  assert.equal(other[0].deliveries.length + other[1].deliveries.length, 0);
  publish(account, publisher, "jobs.x");
  await settle();
  assert.equal(other[0].deliveries.length + other[1].deliveries.length, 1);
});

Deno.test("account routing - a local member is preferred over a leaf member", async () => {
  const account = newAccount();
  const local = new FakeClient(1);
  const leaf = new FakeLeaf(2, { peerCluster: "SPOKE" });
  subscribe(account, subscription(leaf, "svc", { queue: "q", weight: 50 }));
  subscribe(account, subscription(local, "svc", { queue: "q" }));
  const publisher = new FakeClient(3);
  for (let i = 0; i < 200; i++) publish(account, publisher, "svc");
  await settle();
  assert.equal(local.deliveries.length, 200);
  assert.equal(leaf.forwards.length, 0);
});

Deno.test("account routing - leaf members are chosen by their advertised weight", async () => {
  const account = newAccount();
  const light = new FakeLeaf(1, { peerCluster: "L1" });
  const heavy = new FakeLeaf(2, { peerCluster: "L3" });
  subscribe(account, subscription(light, "svc", { queue: "q", weight: 1 }));
  subscribe(account, subscription(heavy, "svc", { queue: "q", weight: 3 }));
  const publisher = new FakeClient(3);
  const total = 4000;
  await withSeededRandom(42, async () => {
    for (let i = 0; i < total; i++) publish(account, publisher, "svc");
    await settle();
  });
  const l = light.forwards.length;
  const h = heavy.forwards.length;
  assert.equal(l + h, total, "one member per message");
  // Expected 1000 / 3000; the binomial's standard deviation is about 27.
  assert.ok(Math.abs(l - 1000) < 150, `light got ${l}`);
  assert.ok(Math.abs(h - 3000) < 150, `heavy got ${h}`);
  for (const f of [...light.forwards, ...heavy.forwards]) assert.deepEqual(f.queues, ["q"]);
});

Deno.test("account routing - a reweighed leaf member shifts the share it gets", async () => {
  const account = newAccount();
  const a = new FakeLeaf(1, { peerCluster: "A" });
  const b = new FakeLeaf(2, { peerCluster: "B" });
  subscribe(account, subscription(a, "svc", { queue: "q", weight: 1 }));
  const subB = subscribe(account, subscription(b, "svc", { queue: "q", weight: 1 }));
  account.tell({ kind: "reweigh", sub: subB, weight: 9 });
  const publisher = new FakeClient(3);
  await withSeededRandom(3, async () => {
    for (let i = 0; i < 2000; i++) publish(account, publisher, "svc");
    await settle();
  });
  assert.equal(subB.weight, 9);
  assert.ok(Math.abs(b.forwards.length - 1800) < 120, `b got ${b.forwards.length}`);
});

Deno.test("account routing - a leaf message without queue names serves no local queue group", async () => {
  const account = newAccount();
  const plain = new FakeClient(1);
  const member = new FakeClient(2);
  subscribe(account, subscription(plain, "foo"));
  subscribe(account, subscription(member, "foo", { queue: "bar" }));
  const leaf = new FakeLeaf(5, { peerCluster: "SPOKE" });
  publish(account, leaf, "foo", { queues: [], origin: "SPOKE" });
  publish(account, leaf, "foo", { origin: "SPOKE" });
  await settle();
  assert.equal(plain.deliveries.length, 2);
  assert.equal(member.deliveries.length, 0);
});

Deno.test("account routing - a leaf message with queue names serves only the named groups", async () => {
  const account = newAccount();
  const plain = new FakeClient(1);
  const q1 = new FakeClient(2);
  const q2 = new FakeClient(3);
  subscribe(account, subscription(plain, "foo"));
  subscribe(account, subscription(q1, "foo", { queue: "q1" }));
  subscribe(account, subscription(q2, "foo", { queue: "q2" }));
  const leaf = new FakeLeaf(5, { peerCluster: "SPOKE" });
  publish(account, leaf, "foo", { queues: ["q1"], origin: "SPOKE" });
  await settle();
  assert.equal(plain.deliveries.length, 1, "plain subscribers still get it");
  assert.equal(q1.deliveries.length, 1);
  assert.equal(q2.deliveries.length, 0);
  publish(account, leaf, "foo", { queues: ["q1", "q2"], origin: "SPOKE" });
  await settle();
  assert.equal(q1.deliveries.length, 2);
  assert.equal(q2.deliveries.length, 1);
});

// ---- leaf links -------------------------------------------------------------

Deno.test("account routing - never forwards back to the sending link nor to its cluster", async () => {
  const account = newAccount();
  const from = new FakeLeaf(1, { peerCluster: "EAST" });
  const sameCluster = new FakeLeaf(2, { peerCluster: "EAST" });
  const other = new FakeLeaf(3, { peerCluster: "WEST" });
  for (const leaf of [from, sameCluster, other]) subscribe(account, subscription(leaf, "news"));
  publish(account, from, "news", { origin: "EAST" });
  await settle();
  assert.equal(from.forwards.length, 0, "no echo to the sending link");
  assert.equal(sameCluster.forwards.length, 0, "no echo to the sending cluster");
  assert.equal(other.forwards.length, 1);
  assert.deepEqual(other.forwards[0].queues, []);
  assert.equal(other.forwards[0].producer, from);
  // A client's message has no origin: every link with interest gets it.
  publish(account, new FakeClient(9), "news");
  await settle();
  assert.deepEqual([from, sameCluster, other].map((l) => l.forwards.length), [1, 1, 2]);
});

Deno.test("account routing - queue members on the sending link or its cluster are never picked", async () => {
  const account = newAccount();
  const from = new FakeLeaf(1, { peerCluster: "EAST" });
  const sameCluster = new FakeLeaf(2, { peerCluster: "EAST" });
  subscribe(account, subscription(from, "svc", { queue: "q", weight: 5 }));
  subscribe(account, subscription(sameCluster, "svc", { queue: "q", weight: 5 }));
  publish(account, from, "svc", { queues: ["q"], origin: "EAST" });
  await settle();
  assert.equal(from.forwards.length + sameCluster.forwards.length, 0);
  const other = new FakeLeaf(3, { peerCluster: "WEST" });
  subscribe(account, subscription(other, "svc", { queue: "q", weight: 1 }));
  for (let i = 0; i < 20; i++) publish(account, from, "svc", { queues: ["q"], origin: "EAST" });
  await settle();
  assert.equal(other.forwards.length, 20);
  assert.equal(from.forwards.length + sameCluster.forwards.length, 0);
});

Deno.test("account routing - a link with a plain sub and a queue member gets one forward", async () => {
  const account = newAccount();
  const leaf = new FakeLeaf(1, { peerCluster: "SPOKE" });
  subscribe(account, subscription(leaf, "leaf.q"));
  subscribe(account, subscription(leaf, "leaf.q", { queue: "lq", weight: 2 }));
  subscribe(account, subscription(leaf, "leaf.q", { queue: "lq2" }));
  subscribe(account, subscription(leaf, "leaf.*"));
  const publisher = new FakeClient(2);
  publish(account, publisher, "leaf.q", { reply: "hub.reply2" });
  await settle();
  assert.equal(leaf.forwards.length, 1, "one LMSG per link (spec 2.4)");
  const forward = leaf.forwards[0];
  assert.deepEqual([...forward.queues].sort(), ["lq", "lq2"]);
  assert.equal(forward.subject, "leaf.q");
  assert.equal(forward.reply, "hub.reply2");
});

Deno.test("account routing - interest changes reach every registered link but the owner", async () => {
  const account = newAccount();
  const l1 = new FakeLeaf(1, { role: "hub", peerCluster: "C1" });
  const l2 = new FakeLeaf(2, { role: "spoke", peerCluster: "C2" });
  const unregistered = new FakeLeaf(3, { peerCluster: "C3" });
  account.tell({ kind: "registerLeaf", leaf: l1, inboundCluster: "C1" });
  account.tell({ kind: "registerLeaf", leaf: l2 });
  const client = new FakeClient(4);
  const clientSub = subscribe(account, subscription(client, "foo"));
  const leafSub = subscribe(
    account,
    subscription(l1, "bar", { queue: "q", weight: 3, origin: "C1" }),
  );
  await settle();
  assert.deepEqual(l1.interest, [{
    subject: "foo",
    queue: undefined,
    delta: 1,
    owner: "client",
    origin: undefined,
  }]);
  assert.deepEqual(l2.interest, [
    { subject: "foo", queue: undefined, delta: 1, owner: "client", origin: undefined },
    { subject: "bar", queue: "q", delta: 3, owner: "hub-link", origin: "C1" },
  ]);
  assert.equal(unregistered.received.length, 0);

  account.tell({ kind: "reweigh", sub: leafSub, weight: 5 });
  account.tell({ kind: "unsubscribe", sub: clientSub });
  account.tell({ kind: "forget", subs: [leafSub] });
  await settle();
  assert.deepEqual(l1.interest.slice(1), [
    { subject: "foo", queue: undefined, delta: -1, owner: "client", origin: undefined },
  ]);
  assert.deepEqual(l2.interest.slice(2).map((c) => [c.subject, c.queue, c.delta]), [
    ["bar", "q", 2],
    ["foo", undefined, -1],
    ["bar", "q", -5],
  ]);
  assert.equal(account.subscriptionCount, 0);
  // The client hears that its subscription ended; leaf `forget` is silent.
  assert.deepEqual(client.received.map((m) => m.kind), ["subscriptionEnded"]);

  // An unregistered link hears nothing more.
  account.tell({ kind: "unregisterLeaf", leaf: l2 });
  subscribe(account, subscription(client, "late"));
  await settle();
  assert.equal(l2.interest.length, 5);
  assert.equal(l1.interest.at(-1)?.subject, "late");
});

Deno.test("account routing - a spoke link's interest is announced as owned by a spoke link", async () => {
  const account = newAccount();
  const watcher = new FakeLeaf(1, { peerCluster: "W" });
  const spokeSide = new FakeLeaf(2, { role: "spoke", peerCluster: "HUB" });
  account.tell({ kind: "registerLeaf", leaf: watcher });
  subscribe(account, subscription(spokeSide, "x", { origin: "HUB" }));
  await settle();
  assert.equal(watcher.interest[0].owner, "spoke-link");
  assert.equal(watcher.interest[0].origin, "HUB");
});

Deno.test("account routing - registerLeaf answers with the account's interest but the link's own", async () => {
  const account = newAccount();
  const client = new FakeClient(1);
  const other = new FakeLeaf(2, { peerCluster: "OTHER" });
  const joining = new FakeLeaf(3, { peerCluster: "NEW" });
  subscribe(account, subscription(client, "foo"));
  subscribe(account, subscription(client, "foo"));
  subscribe(account, subscription(client, "work", { queue: "g" }));
  subscribe(account, subscription(other, "remote.>", { origin: "OTHER" }));
  subscribe(account, subscription(other, "work", { queue: "g", weight: 4, origin: "OTHER" }));
  subscribe(account, subscription(joining, "mine"));
  account.tell({ kind: "registerLeaf", leaf: joining, inboundCluster: "NEW" });
  await settle();
  assert.equal(joining.registrations.length, 1);
  const reply = joining.registrations[0];
  assert.equal(reply.loop, false);
  assert.match(reply.lds, /^\$LDS\.[0-9A-Za-z]{22}$/);
  assert.equal(reply.lds, account.lds);
  const key = (c: InterestChange) => `${c.subject}|${c.queue ?? ""}|${c.delta}|${c.owner}`;
  assert.deepEqual(reply.interest.map(key).sort(), [
    "foo||1|client",
    "foo||1|client",
    "remote.>||1|hub-link",
    "work|g|1|client",
    "work|g|4|hub-link",
  ]);
  assert.equal(reply.interest.find((c) => c.subject === "remote.>")?.origin, "OTHER");
  assert.ok(account.leafs.has(joining));
});

Deno.test("account routing - an uplink to a cluster that is already our spoke is a loop", async () => {
  const account = newAccount();
  const spoke1 = new FakeLeaf(1, { role: "hub", peerCluster: "EDGE" });
  const spoke2 = new FakeLeaf(2, { role: "hub", peerCluster: "EDGE" });
  account.tell({ kind: "registerLeaf", leaf: spoke1, inboundCluster: "EDGE" });
  account.tell({ kind: "registerLeaf", leaf: spoke2, inboundCluster: "EDGE" });
  subscribe(account, subscription(new FakeClient(9), "foo"));
  const uplink = new FakeLeaf(3, { role: "spoke", peerCluster: "EDGE" });
  account.tell({ kind: "registerLeaf", leaf: uplink, hubCluster: "EDGE" });
  await settle();
  const verdict = uplink.registrations[0];
  assert.equal(verdict.loop, true);
  assert.deepEqual(verdict.interest, [], "no dump for a looping link");
  assert.equal(account.leafs.has(uplink), false);

  // One spoke of EDGE leaves: the other still makes it a loop.
  account.tell({ kind: "unregisterLeaf", leaf: spoke1, inboundCluster: "EDGE" });
  account.tell({ kind: "registerLeaf", leaf: uplink, hubCluster: "EDGE" });
  await settle();
  assert.equal(uplink.registrations[1].loop, true);

  // The last one leaves: no loop any more.
  account.tell({ kind: "unregisterLeaf", leaf: spoke2, inboundCluster: "EDGE" });
  account.tell({ kind: "registerLeaf", leaf: uplink, hubCluster: "EDGE" });
  await settle();
  assert.equal(uplink.registrations[2].loop, false);
  assert.equal(uplink.registrations[2].interest.length, 1);
  assert.ok(account.leafs.has(uplink));

  // A hub cluster that is not one of our spokes was never a loop.
  const fresh = newAccount();
  const elsewhere = new FakeLeaf(4, { role: "spoke", peerCluster: "HUB" });
  fresh.tell({ kind: "registerLeaf", leaf: spoke1, inboundCluster: "EDGE" });
  fresh.tell({ kind: "registerLeaf", leaf: elsewhere, hubCluster: "HUB" });
  await settle();
  assert.equal(elsewhere.registrations[0].loop, false);
});

Deno.test("account routing - each account has its own stable $LDS subject", () => {
  const a = newAccount();
  const b = new AccountActor("ACME", {});
  assert.notEqual(a.lds, b.lds);
  assert.equal(a.lds, a.lds);
  assert.equal(b.accountName, "ACME");
});
