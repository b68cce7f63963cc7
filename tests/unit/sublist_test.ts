import assert from "node:assert/strict";
import {
  InvalidSubjectError,
  type MatchResult,
  pickQueueMember,
  SubscriptionIndex,
} from "../../protocol/sublist.ts";

interface Sub {
  subject: string;
  queue?: string;
  id: number;
}

let nextId = 0;
function sub(subject: string, queue?: string): Sub {
  return { subject, queue, id: nextId++ };
}

function ids(list: readonly Sub[]): number[] {
  return list.map((s) => s.id).sort((a, b) => a - b);
}

/** Result as comparable data: sorted plain ids, and queue name → sorted member ids. */
function shape(result: MatchResult<Sub>): { plain: number[]; queues: Record<string, number[]> } {
  const queues: Record<string, number[]> = {};
  for (const group of result.queues) {
    assert.ok(group.length > 0, "queue groups are never empty");
    const name = group[0].queue!;
    assert.equal(queues[name], undefined, `queue ${name} appears once`);
    assert.ok(group.every((s) => s.queue === name), "a group holds one queue name");
    queues[name] = ids(group);
  }
  return { plain: ids(result.plain), queues };
}

Deno.test("sublist - matches literal, * and > subscriptions", () => {
  const index = new SubscriptionIndex<Sub>();
  const literal = sub("foo.bar");
  const star = sub("foo.*");
  const rest = sub("foo.>");
  const all = sub(">");
  const other = sub("baz.*");
  const deep = sub("*.bar.>");
  for (const s of [literal, star, rest, all, other, deep]) index.insert(s);
  assert.equal(index.size, 6);
  assert.deepEqual(ids(index.match("foo.bar").plain), ids([literal, star, rest, all]));
  assert.deepEqual(ids(index.match("foo.bar.baz").plain), ids([rest, all, deep]));
  assert.deepEqual(ids(index.match("foo").plain), ids([all]));
  assert.deepEqual(ids(index.match("baz.x").plain), ids([all, other]));
  assert.deepEqual(ids(index.match("x.bar").plain), ids([all]));
  assert.equal(index.hasInterest("anything"), true);
  index.remove(all);
  assert.equal(index.hasInterest("nothing.here.at.all"), false);
  assert.deepEqual(index.match("nothing").queues, []);
});

Deno.test("sublist - published wildcard tokens are plain tokens", () => {
  const index = new SubscriptionIndex<Sub>();
  const literal = sub("foo.bar");
  const star = sub("foo.*");
  const all = sub(">");
  for (const s of [literal, star, all]) index.insert(s);
  assert.deepEqual(ids(index.match("foo.*").plain), ids([star, all]));
  assert.deepEqual(ids(index.match("foo.>").plain), ids([star, all]));
  assert.deepEqual(ids(index.match("foo..bar").plain), []);
  assert.deepEqual(ids(index.match("").plain), []);
  assert.deepEqual(ids(index.match("foo.").plain), []);
});

Deno.test("sublist - queue subscriptions are grouped by name across nodes", () => {
  const index = new SubscriptionIndex<Sub>();
  const a1 = sub("jobs.new", "a");
  const a2 = sub("jobs.*", "a");
  const a3 = sub("jobs.>", "a");
  const b1 = sub("jobs.new", "b");
  const plain = sub("jobs.new");
  for (const s of [a1, a2, a3, b1, plain]) index.insert(s);
  assert.deepEqual(shape(index.match("jobs.new")), {
    plain: [plain.id],
    queues: { a: ids([a1, a2, a3]), b: [b1.id] },
  });
  assert.deepEqual(shape(index.match("jobs.old")), { plain: [], queues: { a: ids([a2, a3]) } });
  assert.equal(index.remove(b1), true);
  assert.deepEqual(shape(index.match("jobs.new")).queues, { a: ids([a1, a2, a3]) });
});

Deno.test("sublist - remove works by identity and prunes", () => {
  const index = new SubscriptionIndex<Sub>();
  const first = sub("a.b.c");
  const twin = sub("a.b.c");
  const queued = sub("a.b.c", "q");
  index.insert(first);
  index.insert(twin);
  index.insert(queued);
  index.insert(first); // twice: no-op
  assert.equal(index.size, 3);
  assert.equal(index.remove(sub("a.b.c")), false, "an equal object is not the same subscription");
  assert.equal(index.remove({ ...first, queue: "q" }), false);
  assert.equal(index.remove(first), true);
  assert.equal(index.remove(first), false);
  assert.deepEqual(ids(index.match("a.b.c").plain), [twin.id]);
  assert.equal(index.remove(queued), true);
  assert.equal(index.remove(twin), true);
  assert.equal(index.size, 0);
  assert.deepEqual([...index.all()], []);
  assert.equal(index.remove(sub("x..y")), false);
  // The pruned path can be rebuilt.
  const again = sub("a.b.c");
  index.insert(again);
  assert.deepEqual(ids(index.match("a.b.c").plain), [again.id]);
});

Deno.test("sublist - invalid subjects are refused with InvalidSubjectError", () => {
  const index = new SubscriptionIndex<Sub>();
  for (const subject of ["", "foo..bar", "foo.", ".foo", "foo.>.bar", ">.>"]) {
    assert.throws(() => index.insert(sub(subject)), InvalidSubjectError, JSON.stringify(subject));
  }
  assert.equal(index.size, 0);
  index.insert(sub("foo*")); // `*` inside a token is a plain character
  assert.equal(index.match("foo*").plain.length, 1);
  assert.equal(index.match("foox").plain.length, 0);
});

Deno.test("sublist - cache never returns a stale result", () => {
  const index = new SubscriptionIndex<Sub>();
  assert.equal(index.hasInterest("orders.42"), false); // cached miss
  const literal = sub("orders.42");
  index.insert(literal);
  assert.deepEqual(ids(index.match("orders.42").plain), [literal.id]);
  const star = sub("orders.*");
  index.insert(star);
  assert.deepEqual(ids(index.match("orders.42").plain), ids([literal, star]));
  const queued = sub("orders.>", "q");
  index.insert(queued);
  assert.deepEqual(shape(index.match("orders.42")).queues, { q: [queued.id] });
  index.remove(literal);
  assert.deepEqual(ids(index.match("orders.42").plain), [star.id]);
  index.remove(star);
  index.remove(queued);
  assert.equal(index.hasInterest("orders.42"), false);
  // A wildcard sub must also reach cached results of published wildcard subjects.
  assert.equal(index.hasInterest("orders.*"), false);
  const rest = sub("orders.>");
  index.insert(rest);
  assert.equal(index.hasInterest("orders.*"), true);
  index.remove(rest);
  assert.equal(index.hasInterest("orders.*"), false);
});

Deno.test("sublist - results are frozen and shared", () => {
  const index = new SubscriptionIndex<Sub>();
  index.insert(sub("a"));
  index.insert(sub("a", "q"));
  const result = index.match("a");
  assert.equal(index.match("a"), result, "second match is the cached object");
  assert.ok(Object.isFrozen(result));
  assert.ok(Object.isFrozen(result.plain));
  assert.ok(Object.isFrozen(result.queues));
  assert.ok(Object.isFrozen(result.queues[0]));
  assert.throws(() => (result.plain as Sub[]).push(sub("a")), TypeError);
  // A snapshot taken before a change keeps its contents.
  index.insert(sub("a"));
  assert.equal(result.plain.length, 1);
  assert.equal(index.match("a").plain.length, 2);
});

Deno.test("sublist - bounded cache stays correct across evictions", () => {
  const index = new SubscriptionIndex<Sub>({ cacheSize: 2 });
  const subs = ["a", "b", "c", "d"].map((s) => sub(s));
  for (const s of subs) index.insert(s);
  for (let round = 0; round < 3; round++) {
    for (const s of subs) assert.deepEqual(ids(index.match(s.subject).plain), [s.id]);
  }
  index.remove(subs[0]);
  assert.equal(index.hasInterest("a"), false);
  assert.throws(() => new SubscriptionIndex({ cacheSize: -1 }), RangeError);
  const uncached = new SubscriptionIndex<Sub>({ cacheSize: 0 });
  uncached.insert(sub("x"));
  assert.equal(uncached.hasInterest("x"), true);
});

Deno.test("sublist - all() yields every subscription once", () => {
  const index = new SubscriptionIndex<Sub>();
  const subs = [
    sub("a"),
    sub("a.b"),
    sub("a.*"),
    sub("a.>"),
    sub(">"),
    sub("a", "q"),
    sub("*.b", "r"),
  ];
  for (const s of subs) index.insert(s);
  assert.deepEqual(ids([...index.all()]), ids(subs));
});

Deno.test("sublist - pickQueueMember picks every member and refuses empty groups", () => {
  const group = [sub("q", "g"), sub("q", "g"), sub("q", "g")];
  const seen = new Set<Sub>();
  for (let i = 0; i < 300; i++) seen.add(pickQueueMember(group));
  assert.equal(seen.size, 3);
  assert.equal(pickQueueMember([group[1]]), group[1]);
  assert.throws(() => pickQueueMember([]), RangeError);
});

// Randomised cross-check against a brute-force matcher, with inserts and removes interleaved
// with matches so the cache is exercised under change.

function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function referenceMatches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  if (s.some((token) => token === "")) return false;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== "*" && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

function referenceShape(live: Sub[], subject: string): ReturnType<typeof shape> {
  const matching = live.filter((s) => referenceMatches(s.subject, subject));
  const queues: Record<string, number[]> = {};
  for (const s of matching) if (s.queue) (queues[s.queue] ??= []).push(s.id);
  for (const name in queues) queues[name].sort((a, b) => a - b);
  return { plain: ids(matching.filter((s) => !s.queue)), queues };
}

const TOKENS = ["a", "b", "c", "dd"];

function randomSubject(random: () => number, wildcards: boolean): string {
  const length = 1 + Math.floor(random() * 4);
  const tokens: string[] = [];
  for (let i = 0; i < length; i++) {
    tokens.push(wildcards && random() < 0.25 ? "*" : TOKENS[Math.floor(random() * TOKENS.length)]);
  }
  if (wildcards && random() < 0.2) tokens[length - 1] = ">";
  // Published subjects sometimes carry wildcard tokens, which route as plain tokens.
  if (!wildcards && random() < 0.05) tokens[0] = random() < 0.5 ? "*" : ">";
  return tokens.join(".");
}

for (const cacheSize of [1024, 8]) {
  Deno.test(`sublist - random cross-check against brute force (cache ${cacheSize})`, () => {
    const random = seeded(cacheSize);
    const index = new SubscriptionIndex<Sub>({ cacheSize });
    const live: Sub[] = [];
    const published = Array.from({ length: 40 }, () => randomSubject(random, false));
    let checks = 0;
    for (let step = 0; step < 6000; step++) {
      const r = random();
      if (r < 0.3) {
        const queue = random() < 0.3 ? ["q1", "q2", "q3"][Math.floor(random() * 3)] : undefined;
        const s = sub(randomSubject(random, true), queue);
        index.insert(s);
        live.push(s);
      } else if (r < 0.45 && live.length > 0) {
        const [s] = live.splice(Math.floor(random() * live.length), 1);
        assert.equal(index.remove(s), true);
      } else {
        const subject = published[Math.floor(random() * published.length)];
        assert.deepEqual(shape(index.match(subject)), referenceShape(live, subject), subject);
        assert.equal(
          index.hasInterest(subject),
          live.some((s) => referenceMatches(s.subject, subject)),
        );
        checks++;
      }
      assert.equal(index.size, live.length);
    }
    assert.ok(checks > 3000);
    assert.deepEqual(ids([...index.all()]), ids(live));
  });
}
