import assert from "node:assert/strict";
import { InterestMap } from "../../protocol/leaf_interest.ts";

const decoder = new TextDecoder();

/** Applies one change and returns the line it produced (without CRLF), or "" for none. */
function apply(map: InterestMap, subject: string, queue: string | undefined, delta: number) {
  const line = map.update(subject, queue, delta);
  if (line === undefined) return "";
  const text = decoder.decode(line);
  assert.ok(text.endsWith("\r\n"), `line ${JSON.stringify(text)} must end with CRLF`);
  return text.slice(0, -2);
}

Deno.test("leaf interest - reproduces the hub's LS+/LS- sequence captured in spec 2.3", () => {
  // Hub client: SUB foo 1, SUB bar q1 2, SUB bar q1 3, SUB baz.* 4, SUB qq.> 5,
  // SUB foo 6, UNSUB 6, UNSUB 3, then the rest unsubscribed.
  const map = new InterestMap();
  const sent = [
    apply(map, "foo", undefined, 1),
    apply(map, "bar", "q1", 1),
    apply(map, "bar", "q1", 1),
    apply(map, "baz.*", undefined, 1),
    apply(map, "qq.>", undefined, 1),
    apply(map, "foo", undefined, 1),
    apply(map, "foo", undefined, -1),
    apply(map, "bar", "q1", -1),
    apply(map, "foo", undefined, -1),
    apply(map, "bar", "q1", -1),
    apply(map, "baz.*", undefined, -1),
    apply(map, "qq.>", undefined, -1),
  ].filter((line) => line !== "");
  assert.deepEqual(sent, [
    "LS+ foo",
    "LS+ bar q1 1",
    "LS+ bar q1 2",
    "LS+ baz.*",
    "LS+ qq.>",
    "LS+ bar q1 1",
    "LS- foo",
    "LS- bar q1",
    "LS- baz.*",
    "LS- qq.>",
  ]);
  assert.equal(map.size, 0);
});

Deno.test("leaf interest - reproduces the leaf's sequence captured in spec 2.3", () => {
  const map = new InterestMap();
  const sent = [
    apply(map, "leaf.sub", undefined, 1),
    apply(map, "leaf.q", "lq", 1),
    apply(map, "leaf.q", "lq", 1),
    apply(map, "leaf.q", "lq2", 1),
    // The client closes: its subscriptions go, queue groups as one aggregated change.
    apply(map, "leaf.sub", undefined, -1),
    apply(map, "leaf.q", "lq2", -1),
    apply(map, "leaf.q", "lq", -2),
  ].filter((line) => line !== "");
  assert.deepEqual(sent, [
    "LS+ leaf.sub",
    "LS+ leaf.q lq 1",
    "LS+ leaf.q lq 2",
    "LS+ leaf.q lq2 1",
    "LS- leaf.sub",
    "LS- leaf.q lq2",
    "LS- leaf.q lq",
  ]);
});

Deno.test("leaf interest - plain interest is announced only at 0->1 and ->0", () => {
  const map = new InterestMap();
  assert.equal(apply(map, "foo", undefined, 1), "LS+ foo");
  assert.equal(apply(map, "foo", undefined, 1), "");
  assert.equal(apply(map, "foo", undefined, 1), "");
  assert.equal(apply(map, "foo", undefined, -1), "");
  assert.equal(apply(map, "foo", undefined, -1), "");
  assert.ok(map.has("foo"));
  assert.equal(apply(map, "foo", undefined, -1), "LS- foo");
  assert.equal(map.has("foo"), false);
  // Back from zero it is new interest again.
  assert.equal(apply(map, "foo", undefined, 1), "LS+ foo");
});

Deno.test("leaf interest - queue weights are announced on every change as absolute values", () => {
  const map = new InterestMap();
  assert.equal(apply(map, "work", "g", 3), "LS+ work g 3");
  assert.equal(apply(map, "work", "g", 2), "LS+ work g 5");
  assert.equal(apply(map, "work", "g", -4), "LS+ work g 1");
  assert.ok(map.has("work", "g"));
  assert.equal(map.has("work"), false, "a queue key is not the plain key");
  assert.equal(apply(map, "work", "g", -1), "LS- work g");
  assert.equal(map.has("work", "g"), false);
  assert.equal(map.size, 0);
});

Deno.test("leaf interest - plain and queue keys on one subject are counted apart", () => {
  const map = new InterestMap();
  assert.equal(apply(map, "s", undefined, 1), "LS+ s");
  assert.equal(apply(map, "s", "q", 1), "LS+ s q 1");
  assert.equal(map.size, 2);
  assert.equal(apply(map, "s", "q", -1), "LS- s q");
  assert.ok(map.has("s"));
  assert.deepEqual([...map.entries()], [["s", 1]]);
});

Deno.test("leaf interest - a removal of a key never advertised is ignored", () => {
  const map = new InterestMap();
  assert.equal(apply(map, "ghost", undefined, -1), "");
  assert.equal(apply(map, "ghost", "q", -3), "");
  assert.equal(map.size, 0);
  // And it leaves no negative count behind: the next add is announced.
  assert.equal(apply(map, "ghost", undefined, 1), "LS+ ghost");
  assert.equal(apply(map, "ghost", "q", 1), "LS+ ghost q 1");
});

Deno.test("leaf interest - clear() forgets every key", () => {
  const map = new InterestMap();
  apply(map, "a", undefined, 1);
  apply(map, "b", "q", 2);
  map.clear();
  assert.equal(map.size, 0);
  assert.equal(apply(map, "a", undefined, -1), "");
  assert.equal(apply(map, "a", undefined, 1), "LS+ a");
});
