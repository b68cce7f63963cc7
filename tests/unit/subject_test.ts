import assert from "node:assert/strict";
import {
  INVALID_PUBLISH_SUBJECT_ERROR,
  isValidLiteralSubject,
  isValidPublishSubject,
  isValidQueueName,
  isValidSubject,
  isValidSubscribeSubject,
  publishSubjectError,
  subjectHasWildcard,
  subjectIsSubsetOf,
  subjectMatches,
  subjectsCollide,
} from "../../protocol/subject.ts";

Deno.test("subject - isValidSubject follows nats-server's IsValidSubject", () => {
  const valid = [
    "foo",
    "foo.bar",
    "*",
    ">",
    "foo.*",
    "foo.>",
    "*.*.>",
    "foo*",
    "f>o",
    "foo.*bar",
    "$SYS.>",
  ];
  const invalid = [
    "",
    ".",
    "foo.",
    ".foo",
    "foo..bar",
    "foo.>.bar",
    ">.foo",
    "foo bar",
    "foo\tbar",
    "foo\nbar",
    "foo\rbar",
    "foo\fbar",
    " ",
    "foo. ",
  ];
  for (const subject of valid) assert.equal(isValidSubject(subject), true, subject);
  for (const subject of invalid) {
    assert.equal(isValidSubject(subject), false, JSON.stringify(subject));
  }
});

Deno.test("subject - literal and publish subjects have no wildcard tokens", () => {
  for (const check of [isValidLiteralSubject, isValidPublishSubject]) {
    assert.equal(check("foo.bar"), true);
    assert.equal(check("foo*.b>r"), true);
    assert.equal(check("foo.*"), false);
    assert.equal(check(">"), false);
    assert.equal(check("foo..bar"), false);
    assert.equal(check("foo bar"), false);
    assert.equal(check(""), false);
  }
});

Deno.test("subject - SUB accepts what the index accepts, whitespace unchecked", () => {
  assert.equal(isValidSubscribeSubject("foo.>"), true);
  assert.equal(isValidSubscribeSubject("foo*"), true);
  assert.equal(isValidSubscribeSubject("foo\fbar"), true);
  assert.equal(isValidSubscribeSubject("foo..bar"), false);
  assert.equal(isValidSubscribeSubject("foo.>.bar"), false);
  assert.equal(isValidSubscribeSubject("."), false);
  assert.equal(isValidSubscribeSubject("foo."), false);
  assert.equal(isValidSubscribeSubject(""), false);
});

Deno.test("subject - publishSubjectError only complains to pedantic clients", () => {
  for (const subject of ["foo.*", "foo..bar", ">", "foo."]) {
    assert.equal(publishSubjectError(subject, { pedantic: true }), INVALID_PUBLISH_SUBJECT_ERROR);
    assert.equal(publishSubjectError(subject, { pedantic: false }), undefined);
  }
  assert.equal(INVALID_PUBLISH_SUBJECT_ERROR, "Invalid Publish Subject");
  assert.equal(publishSubjectError("foo.bar", { pedantic: true }), undefined);
  assert.equal(publishSubjectError("foo*", { pedantic: true }), undefined);
});

Deno.test("subject - queue names are non-empty without whitespace", () => {
  assert.equal(isValidQueueName("workers"), true);
  assert.equal(isValidQueueName("v1.*"), true);
  assert.equal(isValidQueueName(""), false);
  assert.equal(isValidQueueName("a b"), false);
  assert.equal(isValidQueueName("a\tb"), false);
});

Deno.test("subject - subjectHasWildcard sees only whole-token wildcards", () => {
  assert.equal(subjectHasWildcard("*"), true);
  assert.equal(subjectHasWildcard("foo.>"), true);
  assert.equal(subjectHasWildcard("a.*.c"), true);
  assert.equal(subjectHasWildcard("foo*"), false);
  assert.equal(subjectHasWildcard("foo.b>"), false);
  assert.equal(subjectHasWildcard("foo"), false);
});

Deno.test("subject - subjectMatches handles * and >", () => {
  const cases: [string, string, boolean][] = [
    ["foo", "foo", true],
    ["foo", "bar", false],
    ["foo", "foo.bar", false],
    ["foo.bar", "foo", false],
    ["*", "foo", true],
    ["*", "foo.bar", false],
    ["foo.*", "foo.bar", true],
    ["foo.*", "foo", false],
    ["foo.*.baz", "foo.bar.baz", true],
    ["foo.*.baz", "foo.bar.bax", false],
    [">", "foo", true],
    [">", "foo.bar.baz", true],
    ["foo.>", "foo", false],
    ["foo.>", "foo.bar", true],
    ["foo.>", "foo.bar.baz", true],
    ["*.>", "foo.bar", true],
    ["*.>", "foo", false],
    ["foo*", "foox", false],
    ["foo*", "foo*", true],
    // Published wildcard tokens are plain tokens.
    ["foo.*", "foo.*", true],
    ["foo.*", "foo.>", true],
    ["foo.bar", "foo.*", false],
    // Empty tokens reach nobody.
    ["foo.*.bar", "foo..bar", false],
    [">", "foo.", false],
    [">", "", false],
  ];
  for (const [pattern, subject, expected] of cases) {
    assert.equal(subjectMatches(pattern, subject), expected, `${pattern} ~ ${subject}`);
  }
});

Deno.test("subject - subjectIsSubsetOf", () => {
  const cases: [string, string, boolean][] = [
    ["foo.bar", "foo.bar", true],
    ["foo.bar", "foo.*", true],
    ["foo.bar", "foo.>", true],
    ["foo.*", "foo.>", true],
    ["foo.*", "foo.*", true],
    ["foo.*", ">", true],
    ["foo.>", "foo.>", true],
    ["foo.>", ">", true],
    ["foo.*", "foo.bar", false],
    ["foo.>", "foo.*", false],
    [">", "foo.>", false],
    ["foo.*.baz", "foo.*.*", true],
    ["foo.*.*", "foo.*.baz", false],
    ["foo", "foo.>", false],
    ["foo.bar.baz", "foo.*", false],
    ["foo.bar", "foo.bar.baz", false],
  ];
  for (const [subject, pattern, expected] of cases) {
    assert.equal(subjectIsSubsetOf(subject, pattern), expected, `${subject} ⊆ ${pattern}`);
  }
});

Deno.test("subject - subjectsCollide", () => {
  const cases: [string, string, boolean][] = [
    ["foo.bar", "foo.bar", true],
    ["foo.bar", "foo.baz", false],
    ["foo.*", "*.bar", true],
    ["foo.*", "bar.*", false],
    ["foo.>", "foo", false],
    ["foo.>", "*.bar.>", true],
    ["*.b", "a.*.>", false],
    ["foo.*", "foo.>", true],
    [">", "a", true],
    ["a.*", "a.b.c", false],
    ["*.*", "a.>", true],
  ];
  for (const [a, b, expected] of cases) {
    assert.equal(subjectsCollide(a, b), expected, `${a} ∩ ${b}`);
    assert.equal(subjectsCollide(b, a), expected, `${b} ∩ ${a}`);
  }
});

// Brute force: a pattern's language, enumerated over a small alphabet.
const ALPHABET = ["a", "b", "z"];

function referenceMatches(pattern: string[], subject: string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === ">") return subject.length > i;
    if (i >= subject.length) return false;
    if (pattern[i] !== "*" && pattern[i] !== subject[i]) return false;
  }
  return pattern.length === subject.length;
}

function allLiterals(maxTokens: number): string[][] {
  const out: string[][] = [];
  let layer: string[][] = [[]];
  for (let n = 1; n <= maxTokens; n++) {
    layer = layer.flatMap((prefix) => ALPHABET.map((token) => [...prefix, token]));
    out.push(...layer);
  }
  return out;
}

function randomPattern(random: () => number): string {
  const length = 1 + Math.floor(random() * 3);
  const tokens: string[] = [];
  for (let i = 0; i < length; i++) {
    const r = random();
    tokens.push(r < 0.3 ? "*" : ALPHABET[Math.floor(random() * 2)]);
  }
  if (random() < 0.3) tokens[length - 1] = ">";
  return tokens.join(".");
}

function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("subject - subset, collide and match agree with brute force", () => {
  const random = seeded(7);
  const literals = allLiterals(5);
  for (let n = 0; n < 400; n++) {
    const a = randomPattern(random);
    const b = randomPattern(random);
    const aTokens = a.split(".");
    const bTokens = b.split(".");
    const inA = literals.filter((s) => referenceMatches(aTokens, s));
    const inB = literals.filter((s) => referenceMatches(bTokens, s));
    const subset = inA.every((s) => referenceMatches(bTokens, s));
    const collide = inA.some((s) => referenceMatches(bTokens, s));
    assert.equal(subjectIsSubsetOf(a, b), subset, `${a} ⊆ ${b}`);
    assert.equal(subjectsCollide(a, b), collide, `${a} ∩ ${b}`);
    for (const s of inB.slice(0, 20)) assert.equal(subjectMatches(b, s.join(".")), true);
    for (const s of literals.slice(0, 60)) {
      assert.equal(subjectMatches(a, s.join(".")), referenceMatches(aTokens, s), `${a} ~ ${s}`);
    }
  }
});
