import assert from "node:assert/strict";
import { Parser, type ParserRole } from "../../protocol/parser.ts";
import type { Op } from "../../protocol/ops.ts";
import { ErrText, ProtocolError } from "../../protocol/protocol_error.ts";

const te = new TextEncoder();
const bytes = (s: string): Uint8Array => te.encode(s);

interface Limits {
  maxControlLine?: number;
  maxPayload?: number;
}

function newParser(role: ParserRole, ops: Op[], limits: Limits = {}): Parser {
  return new Parser({
    role,
    maxControlLine: limits.maxControlLine ?? 4096,
    maxPayload: limits.maxPayload ?? 1048576,
    onOp: (op) => ops.push(op),
  });
}

/** Parses `chunks` in order with a fresh parser and returns the ops. */
function parseChunks(role: ParserRole, chunks: Uint8Array[], limits: Limits = {}): Op[] {
  const ops: Op[] = [];
  const parser = newParser(role, ops, limits);
  for (const chunk of chunks) parser.feed(chunk);
  return ops;
}

function parse(role: ParserRole, wire: string | Uint8Array, limits: Limits = {}): Op[] {
  return parseChunks(role, [typeof wire === "string" ? bytes(wire) : wire], limits);
}

/** Copies each chunk so no op can depend on chunks sharing one buffer. */
function split(data: Uint8Array, at: number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const to of [...at, data.length]) {
    chunks.push(data.slice(from, to));
    from = to;
  }
  return chunks;
}

/** Asserts the ops are the same for one chunk, every single split point, and byte by byte. */
function assertSplitInvariant(role: ParserRole, wire: string | Uint8Array, limits: Limits = {}) {
  const data = typeof wire === "string" ? bytes(wire) : wire;
  const whole = parseChunks(role, [data], limits);
  for (let k = 1; k < data.length; k++) {
    assert.deepEqual(parseChunks(role, split(data, [k]), limits), whole, `split at byte ${k}`);
  }
  const singles = Array.from({ length: data.length - 1 }, (_, k) => k + 1);
  assert.deepEqual(parseChunks(role, split(data, singles), limits), whole, "byte by byte");
  return whole;
}

/** Small deterministic PRNG so random splits are reproducible. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

function assertThrowsProtocol(
  fn: () => void,
  errText: string | undefined,
): ProtocolError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ProtocolError, `expected ProtocolError, got ${caught}`);
  assert.equal(caught.name, "ProtocolError");
  assert.equal(caught.errText, errText);
  assert.equal(caught.close, true);
  return caught;
}

/** Expects `wire` (fed whole) to fail with `errText`. */
function assertParseError(
  role: ParserRole,
  wire: string,
  errText: string | undefined,
  limits: Limits = {},
): ProtocolError {
  return assertThrowsProtocol(() => parse(role, wire, limits), errText);
}

const hdr = "NATS/1.0\r\nA: B\r\n\r\n"; // 18 bytes, as in the spec captures

/** One wire example per op and grammar variant, with the op it must give. */
const SINGLE_OPS: [ParserRole, string, Op][] = [
  ["server", 'CONNECT {"verbose":false}\r\n', { kind: "CONNECT", json: '{"verbose":false}' }],
  ["server", "PUB foo 5\r\nhello\r\n", { kind: "PUB", subject: "foo", payload: bytes("hello") }],
  ["server", "PUB foo bar 2\r\nhi\r\n", {
    kind: "PUB",
    subject: "foo",
    reply: "bar",
    payload: bytes("hi"),
  }],
  ["server", `HPUB foo 18 23\r\n${hdr}hello\r\n`, {
    kind: "HPUB",
    subject: "foo",
    headerSize: 18,
    message: bytes(`${hdr}hello`),
  }],
  ["server", `HPUB foo rep 18 18\r\n${hdr}\r\n`, {
    kind: "HPUB",
    subject: "foo",
    reply: "rep",
    headerSize: 18,
    message: bytes(hdr),
  }],
  ["server", "SUB foo 1\r\n", { kind: "SUB", subject: "foo", sid: "1" }],
  ["server", "SUB foo.* q1 22\r\n", { kind: "SUB", subject: "foo.*", queue: "q1", sid: "22" }],
  ["server", "UNSUB 1\r\n", { kind: "UNSUB", sid: "1" }],
  ["server", "UNSUB 1 10\r\n", { kind: "UNSUB", sid: "1", max: 10 }],
  ["server", "PING\r\n", { kind: "PING" }],
  ["server", "PONG\r\n", { kind: "PONG" }],
  ["server", "+OK\r\n", { kind: "OK" }],
  ["server", "-ERR 'Stale Connection'\r\n", { kind: "ERR", message: "Stale Connection" }],
  ["server", 'INFO {"a":1} \r\n', { kind: "INFO", json: '{"a":1}' }],
  ["client", 'INFO {"server_id":"X","max_payload":1048576} \r\n', {
    kind: "INFO",
    json: '{"server_id":"X","max_payload":1048576}',
  }],
  ["client", "MSG foo 1 5\r\nhello\r\n", {
    kind: "MSG",
    subject: "foo",
    sid: "1",
    payload: bytes("hello"),
  }],
  ["client", "MSG foo 1 _INBOX.x 0\r\n\r\n", {
    kind: "MSG",
    subject: "foo",
    sid: "1",
    reply: "_INBOX.x",
    payload: bytes(""),
  }],
  ["client", `HMSG foo 9 18 23\r\n${hdr}hello\r\n`, {
    kind: "HMSG",
    subject: "foo",
    sid: "9",
    headerSize: 18,
    message: bytes(`${hdr}hello`),
  }],
  ["client", `HMSG foo 9 r 18 23\r\n${hdr}hello\r\n`, {
    kind: "HMSG",
    subject: "foo",
    sid: "9",
    reply: "r",
    headerSize: 18,
    message: bytes(`${hdr}hello`),
  }],
  ["client", "PING\r\n", { kind: "PING" }],
  ["client", "PONG\r\n", { kind: "PONG" }],
  ["client", "+OK\r\n", { kind: "OK" }],
  ["client", "-ERR 'Authorization Violation'\r\n", {
    kind: "ERR",
    message: "Authorization Violation",
  }],
  ["leaf", 'INFO {"leafnode_urls":[]} \r\n', { kind: "INFO", json: '{"leafnode_urls":[]}' }],
  ["leaf", 'CONNECT {"name":"LEAF"}\r\n', { kind: "CONNECT", json: '{"name":"LEAF"}' }],
  ["leaf", "PING\r\n", { kind: "PING" }],
  ["leaf", "PONG\r\n", { kind: "PONG" }],
  ["leaf", "+OK\r\n", { kind: "OK" }],
  ["leaf", "-ERR 'Duplicate Remote LeafNode Connection'\r\n", {
    kind: "ERR",
    message: "Duplicate Remote LeafNode Connection",
  }],
  ["leaf", "LS+ foo\r\n", { kind: "LS+", subject: "foo" }],
  ["leaf", "LS+ bar q1 2\r\n", { kind: "LS+", subject: "bar", queue: "q1", weight: 2 }],
  ["leaf", "LS- foo\r\n", { kind: "LS-", subject: "foo" }],
  ["leaf", "LS- bar q1\r\n", { kind: "LS-", subject: "bar", queue: "q1" }],
  ["leaf", "LMSG leaf.sub 5\r\nhello\r\n", {
    kind: "LMSG",
    subject: "leaf.sub",
    queues: [],
    payload: bytes("hello"),
  }],
  ["leaf", "LMSG leaf.sub hub.reply 5\r\nhello\r\n", {
    kind: "LMSG",
    subject: "leaf.sub",
    reply: "hub.reply",
    queues: [],
    payload: bytes("hello"),
  }],
  ["leaf", "LMSG leaf.q | lq lq2 1\r\nx\r\n", {
    kind: "LMSG",
    subject: "leaf.q",
    queues: ["lq", "lq2"],
    payload: bytes("x"),
  }],
  ["leaf", "LMSG leaf.q + hub.reply2 lq lq2 1\r\ny\r\n", {
    kind: "LMSG",
    subject: "leaf.q",
    reply: "hub.reply2",
    queues: ["lq", "lq2"],
    payload: bytes("y"),
  }],
  ["leaf", "LMSG foo + r 1\r\nx\r\n", {
    kind: "LMSG",
    subject: "foo",
    reply: "r",
    queues: [],
    payload: bytes("x"),
  }],
  ["leaf", "LMSG baz.x 0\r\n\r\n", {
    kind: "LMSG",
    subject: "baz.x",
    queues: [],
    payload: bytes(""),
  }],
  ["leaf", `HMSG leaf.sub 18 23\r\n${hdr}hello\r\n`, {
    kind: "LHMSG",
    subject: "leaf.sub",
    queues: [],
    headerSize: 18,
    message: bytes(`${hdr}hello`),
  }],
  ["leaf", `HMSG foo leaf.reply 18 23\r\n${hdr}hello\r\n`, {
    kind: "LHMSG",
    subject: "foo",
    reply: "leaf.reply",
    queues: [],
    headerSize: 18,
    message: bytes(`${hdr}hello`),
  }],
  ["leaf", `HMSG leaf.q + hub.reply3 lq lq2 18 19\r\n${hdr}z\r\n`, {
    kind: "LHMSG",
    subject: "leaf.q",
    reply: "hub.reply3",
    queues: ["lq", "lq2"],
    headerSize: 18,
    message: bytes(`${hdr}z`),
  }],
  ["leaf", `HMSG bar | q1 18 21\r\n${hdr}abc\r\n`, {
    kind: "LHMSG",
    subject: "bar",
    queues: ["q1"],
    headerSize: 18,
    message: bytes(`${hdr}abc`),
  }],
];

Deno.test("parser - parses every op from a single chunk", () => {
  for (const [role, wire, expected] of SINGLE_OPS) {
    assert.deepEqual(parse(role, wire), [expected], `${role}: ${JSON.stringify(wire)}`);
  }
});

Deno.test("parser - splits every op at every byte boundary and byte by byte", () => {
  for (const [role, wire, expected] of SINGLE_OPS) {
    assert.deepEqual(assertSplitInvariant(role, wire), [expected], JSON.stringify(wire));
  }
});

function streamFor(role: ParserRole): string {
  return SINGLE_OPS.filter(([r]) => r === role).map(([, wire]) => wire).join("");
}

Deno.test("parser - a stream mixing all ops gives the same ops however it is split", () => {
  for (const role of ["server", "client", "leaf"] as const) {
    const wire = streamFor(role);
    const expected = SINGLE_OPS.filter(([r]) => r === role).map(([, , op]) => op);
    assert.deepEqual(assertSplitInvariant(role, wire), expected, role);
    const data = bytes(wire);
    const random = prng(7);
    for (let run = 0; run < 300; run++) {
      const cuts = new Set<number>();
      const count = 1 + Math.floor(random() * 12);
      for (let c = 0; c < count; c++) cuts.add(1 + Math.floor(random() * (data.length - 1)));
      const at = [...cuts].sort((a, b) => a - b);
      assert.deepEqual(parseChunks(role, split(data, at)), expected, `${role} cuts ${at}`);
    }
  }
});

Deno.test("parser - a realistic mixed stream parses to the expected sequence", () => {
  const wire = 'CONNECT {"verbose":false,"headers":true}\r\n' +
    "PING\r\n" +
    "SUB orders.> 1\r\n" +
    "SUB orders.eu workers 2\r\n" +
    "PUB orders.eu 11\r\nhello world\r\n" +
    `HPUB orders.eu _INBOX.1 18 20\r\n${hdr}ok\r\n` +
    "PUB orders.us 4\r\n\r\n\r\n\r\n" +
    "UNSUB 2 5\r\n" +
    "pong\r\n" +
    "UNSUB 1\r\n";
  const ops = assertSplitInvariant("server", wire);
  assert.deepEqual(ops.map((op) => op.kind), [
    "CONNECT",
    "PING",
    "SUB",
    "SUB",
    "PUB",
    "HPUB",
    "PUB",
    "UNSUB",
    "PONG",
    "UNSUB",
  ]);
  assert.deepEqual(ops[6], { kind: "PUB", subject: "orders.us", payload: bytes("\r\n\r\n") });
});

Deno.test("parser - payloads may contain CRLF", () => {
  assert.deepEqual(assertSplitInvariant("server", "PUB a 6\r\n\r\nPUB\n\r\n"), [
    { kind: "PUB", subject: "a", payload: bytes("\r\nPUB\n") },
  ]);
  assert.deepEqual(assertSplitInvariant("server", `HPUB a 18 22\r\n${hdr}\r\n\r\n\r\n`), [
    { kind: "HPUB", subject: "a", headerSize: 18, message: bytes(`${hdr}\r\n\r\n`) },
  ]);
});

Deno.test("parser - zero-length payloads", () => {
  assert.deepEqual(assertSplitInvariant("server", "PUB a 0\r\n\r\nHPUB a 0 0\r\n\r\n"), [
    { kind: "PUB", subject: "a", payload: new Uint8Array(0) },
    { kind: "HPUB", subject: "a", headerSize: 0, message: new Uint8Array(0) },
  ]);
  assert.deepEqual(assertSplitInvariant("client", "MSG a 1 0\r\n\r\n"), [
    { kind: "MSG", subject: "a", sid: "1", payload: new Uint8Array(0) },
  ]);
  assert.deepEqual(assertSplitInvariant("leaf", "LMSG a | q 0\r\n\r\n"), [
    { kind: "LMSG", subject: "a", queues: ["q"], payload: new Uint8Array(0) },
  ]);
});

Deno.test("parser - op names are case-insensitive", () => {
  assert.deepEqual(
    parse(
      "server",
      "pUb a 1\r\nx\r\nhpub a 0 0\r\n\r\nsub a 1\r\nUnSuB 1\r\npInG\r\nPoNg\r\n+ok\r\n",
    )
      .map((op) => op.kind),
    ["PUB", "HPUB", "SUB", "UNSUB", "PING", "PONG", "OK"],
  );
  assert.deepEqual(
    parse("server", "-err 'x'\r\nInfo {}\r\nconnect {}\r\n").map((op) => op.kind),
    ["ERR", "INFO", "CONNECT"],
  );
  assert.deepEqual(
    parse("leaf", "ls+ a\r\nLs- a\r\nlmsg a 1\r\nx\r\nhMsG a 0 0\r\n\r\n").map((op) => op.kind),
    ["LS+", "LS-", "LMSG", "LHMSG"],
  );
  assert.deepEqual(parse("client", "msg a 1 0\r\n\r\nHmsg a 1 0 0\r\n\r\n").map((op) => op.kind), [
    "MSG",
    "HMSG",
  ]);
});

Deno.test("parser - arguments are separated by runs of spaces and tabs", () => {
  assert.deepEqual(assertSplitInvariant("server", "PUB\t foo \t\tbar  2 \r\nhi\r\n"), [
    { kind: "PUB", subject: "foo", reply: "bar", payload: bytes("hi") },
  ]);
  assert.deepEqual(parse("server", "SUB\tfoo\t\tq  1\r\n"), [
    { kind: "SUB", subject: "foo", queue: "q", sid: "1" },
  ]);
  assert.deepEqual(parse("leaf", "LMSG\tfoo\t|\tq1 \t q2\t1\r\nx\r\n"), [
    { kind: "LMSG", subject: "foo", queues: ["q1", "q2"], payload: bytes("x") },
  ]);
});

Deno.test("parser - control lines may end with a bare LF", () => {
  assert.deepEqual(
    assertSplitInvariant("server", "PUB foo 2\nhi\r\nPING\nSUB a 1\nCONNECT {}\n"),
    [
      { kind: "PUB", subject: "foo", payload: bytes("hi") },
      { kind: "PING" },
      { kind: "SUB", subject: "a", sid: "1" },
      { kind: "CONNECT", json: "{}" },
    ],
  );
});

Deno.test("parser - PING, PONG and +OK ignore the rest of their line", () => {
  assert.deepEqual(
    assertSplitInvariant("server", "PING foo\r\nPINGX\r\nPONGjunk\n+OKjunk\r\n"),
    [{ kind: "PING" }, { kind: "PING" }, { kind: "PONG" }, { kind: "OK" }],
  );
  // The ignored tail is skipped without being stored, however long it is.
  const ops: Op[] = [];
  const parser = newParser("server", ops, { maxControlLine: 16 });
  parser.feed(bytes("PING"));
  for (let i = 0; i < 100; i++) parser.feed(new Uint8Array(1000).fill(0x61));
  parser.feed(bytes("\r\nPONG\r\n"));
  assert.deepEqual(ops, [{ kind: "PING" }, { kind: "PONG" }]);
});

Deno.test("parser - INFO and CONNECT need no space and keep their JSON text", () => {
  assert.deepEqual(parse("server", 'CONNECT{"a":1}\r\nINFO\t {"b":"é"}  \r\nCONNECT\r\n'), [
    { kind: "CONNECT", json: '{"a":1}' },
    { kind: "INFO", json: '{"b":"é"}' },
    { kind: "CONNECT", json: "" },
  ]);
});

Deno.test("parser - -ERR keeps text that is not quoted", () => {
  assert.deepEqual(parse("client", "-ERR boom\r\n-ERR 'a 'b' c'\r\n"), [
    { kind: "ERR", message: "boom" },
    { kind: "ERR", message: "a 'b' c" },
  ]);
});

Deno.test("parser - UTF-8 subjects decode correctly, repeatedly", () => {
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(assertSplitInvariant("server", "PUB préférés.Ω.🚀 r.é 1\r\nx\r\n"), [
      { kind: "PUB", subject: "préférés.Ω.🚀", reply: "r.é", payload: bytes("x") },
    ]);
  }
  assert.deepEqual(parse("leaf", "LS+ ü.> grüppe 3\r\n"), [
    { kind: "LS+", subject: "ü.>", queue: "grüppe", weight: 3 },
  ]);
});

Deno.test("parser - repeated and colliding subjects still decode to the right text", () => {
  const subjects = Array.from({ length: 10000 }, (_, i) => `s.${i % 5000}.${"x".repeat(i % 70)}`);
  const wire = subjects.map((s) => `PUB ${s} 0\r\n\r\n`).join("");
  const ops = parse("server", wire);
  assert.deepEqual(ops.map((op) => op.kind === "PUB" ? op.subject : ""), subjects);
});

Deno.test("parser - UNSUB with a max that is not a number has no max", () => {
  assert.deepEqual(parse("server", "UNSUB 1 abc\r\nUNSUB 2 0\r\n"), [
    { kind: "UNSUB", sid: "1" },
    { kind: "UNSUB", sid: "2", max: 0 },
  ]);
});

Deno.test("parser - LS- forms that nats-server ignores", () => {
  assert.deepEqual(parse("leaf", "LS- \r\nLS- foo q 1\r\nPING\r\n"), [
    { kind: "LS-", subject: "foo", queue: "q 1" },
    { kind: "PING" },
  ]);
});

Deno.test("parser - LMSG with one middle token takes it as the reply, even '|'", () => {
  assert.deepEqual(parse("leaf", "LMSG foo | 1\r\nx\r\n"), [
    { kind: "LMSG", subject: "foo", reply: "|", queues: [], payload: bytes("x") },
  ]);
});

Deno.test("parser - sizes accept leading zeros and up to 9 digits", () => {
  assert.deepEqual(parse("server", "PUB a 000000001\r\nx\r\n", { maxPayload: -1 }), [
    { kind: "PUB", subject: "a", payload: bytes("x") },
  ]);
});

Deno.test("parser - a payload inside one chunk is a view of that chunk", () => {
  const ops: Op[] = [];
  const parser = newParser("server", ops);
  const chunk = bytes("PUB a 5\r\nhello\r\n");
  parser.feed(chunk);
  const op = ops[0];
  assert.ok(op.kind === "PUB");
  assert.equal(op.payload.buffer, chunk.buffer);
  assert.equal(op.payload.byteOffset, 9);
});

Deno.test("parser - a payload in the chunk after its control line is still a view", () => {
  const ops: Op[] = [];
  const parser = newParser("leaf", ops);
  parser.feed(bytes("LMSG a 5\r\n"));
  const chunk = bytes("hello\r\n");
  parser.feed(chunk);
  const op = ops[0];
  assert.ok(op.kind === "LMSG");
  assert.equal(op.payload.buffer, chunk.buffer);
});

Deno.test("parser - a payload spanning chunks is copied and survives chunk reuse", () => {
  const ops: Op[] = [];
  const parser = newParser("server", ops);
  const first = bytes("PUB a 5\r\nhel");
  parser.feed(first);
  first.fill(0x21);
  const second = bytes("lo\r");
  parser.feed(second);
  second.fill(0x21);
  parser.feed(bytes("\n"));
  assert.deepEqual(ops, [{ kind: "PUB", subject: "a", payload: bytes("hello") }]);
  // Payload complete but terminator split: also copied.
  const ops2: Op[] = [];
  const parser2 = newParser("server", ops2);
  const whole = bytes("PUB a 5\r\nhello");
  parser2.feed(whole);
  whole.fill(0x21);
  parser2.feed(bytes("\r\n"));
  assert.deepEqual(ops2, [{ kind: "PUB", subject: "a", payload: bytes("hello") }]);
});

Deno.test("parser - large payloads across many chunks arrive intact", () => {
  const size = 3 * 1024 * 1024 + 17; // larger than the eager allocation, so the buffer grows
  const payload = new Uint8Array(size);
  for (let i = 0; i < size; i++) payload[i] = (i * 31) & 0xff;
  const head = bytes(`LMSG big | q ${size}\r\n`);
  const data = new Uint8Array(head.length + size + 2);
  data.set(head);
  data.set(payload, head.length);
  data.set(bytes("\r\n"), head.length + size);
  const chunks: Uint8Array[] = [];
  for (let o = 0; o < data.length; o += 65536) chunks.push(data.slice(o, o + 65536));
  const ops = parseChunks("leaf", chunks);
  assert.equal(ops.length, 1);
  const op = ops[0];
  assert.ok(op.kind === "LMSG");
  assert.deepEqual(op.queues, ["q"]);
  assert.equal(op.payload.length, size);
  // Index of the first differing byte (-1 if none): a cheap check, unlike a 3 MiB diff.
  assert.equal(op.payload.findIndex((b, i) => b !== payload[i]), -1);
});

// ---- errors -------------------------------------------------------------------------------

Deno.test("parser - unknown ops fail with Unknown Protocol Operation", () => {
  assertParseError("server", "XYZ\r\n", ErrText.unknownProtocol);
  assertParseError("server", "PUX foo 1\r\n", ErrText.unknownProtocol);
  assertParseError("server", "PUBX foo 1\r\n", ErrText.unknownProtocol);
  assertParseError("server", " PING\r\n", ErrText.unknownProtocol);
  assertParseError("server", "\x0bOK\r\n", ErrText.unknownProtocol);
  assertParseError("server", "\rERR 'x'\r\n", ErrText.unknownProtocol);
});

Deno.test("parser - ops of another role fail with Unknown Protocol Operation", () => {
  assertParseError("server", "MSG foo 1 2\r\nhi\r\n", ErrText.unknownProtocol);
  assertParseError("server", "LS+ foo\r\n", ErrText.unknownProtocol);
  assertParseError("server", "HMSG foo 1 0 0\r\n\r\n", ErrText.unknownProtocol);
  assertParseError("client", "PUB foo 1\r\nx\r\n", ErrText.unknownProtocol);
  assertParseError("client", "CONNECT {}\r\n", ErrText.unknownProtocol);
  assertParseError("leaf", "MSG foo 1 2\r\nhi\r\n", ErrText.unknownProtocol);
  assertParseError("leaf", "SUB foo 1\r\n", ErrText.unknownProtocol);
  assertParseError("leaf", "PUB foo 1\r\nx\r\n", ErrText.unknownProtocol);
});

Deno.test("parser - empty lines fail with Unknown Protocol Operation", () => {
  assertParseError("server", "\r\n", ErrText.unknownProtocol);
  assertParseError("server", "\n", ErrText.unknownProtocol);
  assertParseError("leaf", "PING\r\n\r\n", ErrText.unknownProtocol);
});

Deno.test("parser - ops with arguments need a blank after the name", () => {
  assertParseError("server", "PUB\r\n", ErrText.unknownProtocol);
  assertParseError("server", "SUB\r\n", ErrText.unknownProtocol);
  assertParseError("server", "UNSUB\r\n", ErrText.unknownProtocol);
  assertParseError("server", "-ERR\r\n", ErrText.unknownProtocol);
  assertParseError("leaf", "LS+\r\n", ErrText.unknownProtocol);
});

Deno.test("parser - an unknown op is reported before its line ends", () => {
  const parser = newParser("server", []);
  assertThrowsProtocol(() => parser.feed(bytes("XY")), ErrText.unknownProtocol);
  const parser2 = newParser("server", []);
  parser2.feed(bytes("PU"));
  assertThrowsProtocol(() => parser2.feed(bytes("BX")), ErrText.unknownProtocol);
});

Deno.test("parser - bad payload terminator fails with Unknown Protocol Operation", () => {
  assertParseError("server", "PUB foo 2\r\nhiXX\r\n", ErrText.unknownProtocol);
  assertParseError("server", "PUB foo 2\r\nhi\n", ErrText.unknownProtocol);
  assertParseError("server", "PUB foo 2\r\nhi\rX", ErrText.unknownProtocol);
  assertParseError("leaf", "LMSG foo 2\r\nhiXX\r\n", ErrText.unknownProtocol);
  // Split right before the terminator, too.
  const parser = newParser("server", []);
  parser.feed(bytes("PUB foo 2\r\nhi"));
  assertThrowsProtocol(() => parser.feed(bytes("X")), ErrText.unknownProtocol);
});

Deno.test("parser - PUB/HPUB over max_payload fail with Maximum Payload Violation", () => {
  const limits = { maxPayload: 10 };
  assertParseError("server", "PUB foo 11\r\n", ErrText.maxPayload, limits);
  assertParseError("server", "PUB foo bar 999999999\r\n", ErrText.maxPayload, limits);
  assertParseError("server", "HPUB foo 1 11\r\n", ErrText.maxPayload, limits);
  assert.deepEqual(parse("server", "PUB foo 10\r\n0123456789\r\n", limits).length, 1);
  // Messages a server sends are not limited by the parser.
  assert.deepEqual(parse("client", "MSG foo 1 11\r\n01234567890\r\n", limits).length, 1);
  assert.deepEqual(parse("leaf", "LMSG foo 11\r\n01234567890\r\n", limits).length, 1);
  // A negative max_payload means no limit.
  assert.deepEqual(parse("server", "PUB foo 11\r\n01234567890\r\n", { maxPayload: -1 }).length, 1);
});

Deno.test("parser - control lines over max_control_line fail", () => {
  const limits = { maxControlLine: 64 };
  // The limit counts the arguments only (not the op name and its blanks, not the final CR).
  const exact = `PUB ${"a".repeat(62)} 1\r\nx\r\n`;
  assert.equal(parse("server", exact, limits).length, 1);
  assert.equal(parse("server", `PUB    ${"a".repeat(62)} 1\r\nx\r\n`, limits).length, 1);
  assertParseError("server", `PUB ${"a".repeat(63)} 1\r\nx\r\n`, ErrText.maxControlLine, limits);
  assertParseError("server", `SUB ${"a".repeat(200)} 1\r\n`, ErrText.maxControlLine, limits);
  assertParseError(
    "server",
    `CONNECT {"name":"${"a".repeat(200)}"}\r\n`,
    ErrText.maxControlLine,
    limits,
  );
  assertParseError("leaf", `LS+ ${"a".repeat(65)}\r\n`, ErrText.maxControlLine, limits);
  // Same answer at every split of the exact-limit line.
  assertSplitInvariant("server", exact, limits);
});

Deno.test("parser - a long control line fails before its newline arrives", () => {
  const parser = newParser("server", [], { maxControlLine: 64 });
  parser.feed(bytes(`PUB ${"a".repeat(60)}`));
  assertThrowsProtocol(() => parser.feed(bytes("a".repeat(10))), ErrText.maxControlLine);
  // Exactly the limit plus a pending CR is still fine.
  const ops: Op[] = [];
  const parser2 = newParser("server", ops, { maxControlLine: 8 });
  parser2.feed(bytes("PUB abcd 1\r"));
  parser2.feed(bytes("\nx\r\n"));
  assert.equal(ops.length, 1);
  // A flood of blanks between the op and its arguments is accepted.
  const ops3: Op[] = [];
  const parser3 = newParser("server", ops3, { maxControlLine: 8 });
  parser3.feed(bytes("SUB"));
  for (let i = 0; i < 50; i++) parser3.feed(new Uint8Array(1000).fill(0x20));
  parser3.feed(bytes("a 1\r\n"));
  assert.deepEqual(ops3, [{ kind: "SUB", subject: "a", sid: "1" }]);
});

Deno.test("parser - bad sizes close without -ERR", () => {
  assertParseError("server", "PUB foo abc\r\n", undefined);
  assertParseError("server", "PUB foo 1234567890\r\n", undefined);
  assertParseError("server", "PUB foo -1\r\n", undefined);
  assertParseError("server", "PUB foo +1\r\n", undefined);
  assertParseError("server", "HPUB foo x 5\r\n", undefined);
  assertParseError("server", "HPUB foo 10 5\r\n", undefined);
  assertParseError("client", "MSG foo 1 x\r\n", undefined);
  assertParseError("client", "HMSG foo 1 6 5\r\n", undefined);
  assertParseError("leaf", "LMSG foo x\r\n", undefined);
  assertParseError("leaf", "HMSG foo 5 2\r\n", undefined);
  assertParseError("leaf", "LS+ foo q x\r\n", undefined);
});

Deno.test("parser - missing or extra arguments close without -ERR", () => {
  assertParseError("server", "PUB \r\n", undefined);
  assertParseError("server", "PUB foo\r\n", undefined);
  assertParseError("server", "PUB a b c 1\r\n", undefined);
  assertParseError("server", "HPUB foo 5\r\n", undefined);
  assertParseError("server", "SUB foo\r\n", undefined);
  assertParseError("server", "SUB a b c d\r\n", undefined);
  assertParseError("server", "UNSUB \r\n", undefined);
  assertParseError("server", "UNSUB 1 2 3\r\n", undefined);
  assertParseError("client", "MSG foo 1\r\n", undefined);
  assertParseError("client", "HMSG foo 1 5\r\n", undefined);
  assertParseError("leaf", "LS+ foo q\r\n", undefined);
  assertParseError("leaf", "LS+ foo q 1 2\r\n", undefined);
  assertParseError("leaf", "LMSG foo\r\n", undefined);
  assertParseError("leaf", "LMSG foo x q 1\r\n", undefined);
  assertParseError("leaf", "LMSG foo ++ q 1\r\n", undefined);
  assertParseError("leaf", "HMSG foo 5\r\n", undefined);
  assertParseError("leaf", "HMSG foo x r q 1 2\r\n", undefined);
});

Deno.test("parser - requireConnect refuses anything but CONNECT first", () => {
  const err = assertThrowsProtocol(() => {
    const parser = newParser("server", []);
    parser.requireConnect = true;
    parser.feed(bytes("PING\r\n"));
  }, ErrText.authorization);
  assert.match(err.message, /CONNECT/);
  // Refused at the first byte, before the line ends; also for an empty line.
  for (const wire of ["X", "\r\n", "LS+ foo\r\n"]) {
    const parser = newParser("leaf", []);
    parser.requireConnect = true;
    assertThrowsProtocol(() => parser.feed(bytes(wire)), ErrText.authorization);
  }
  // A C that is not CONNECT is an unknown op, as in nats-server.
  const parser = newParser("server", []);
  parser.requireConnect = true;
  assertThrowsProtocol(() => parser.feed(bytes("CXYZ\r\n")), ErrText.unknownProtocol);
});

Deno.test("parser - requireConnect can be cleared from onOp", () => {
  const ops: Op[] = [];
  const parser: Parser = new Parser({
    role: "leaf",
    maxControlLine: 4096,
    maxPayload: 1048576,
    onOp: (op) => {
      ops.push(op);
      if (op.kind === "CONNECT") parser.requireConnect = false;
    },
  });
  parser.requireConnect = true;
  assert.equal(parser.requireConnect, true);
  parser.feed(bytes("CONNECT {}\r\nLS+ foo\r\nPING\r\n"));
  assert.deepEqual(ops.map((op) => op.kind), ["CONNECT", "LS+", "PING"]);
});

Deno.test("parser - refuses input after an error", () => {
  const ops: Op[] = [];
  const parser = newParser("server", ops);
  assertThrowsProtocol(() => parser.feed(bytes("PING\r\nXYZ\r\n")), ErrText.unknownProtocol);
  assert.equal(parser.failed, true);
  assert.deepEqual(ops, [{ kind: "PING" }]);
  const again = assertThrowsProtocol(() => parser.feed(bytes("PING\r\n")), ErrText.unknownProtocol);
  assert.ok(again.cause instanceof ProtocolError);
  assert.deepEqual(ops, [{ kind: "PING" }]);
});

Deno.test("parser - an onOp that throws stops the parser", () => {
  const parser = new Parser({
    role: "server",
    maxControlLine: 4096,
    maxPayload: 1024,
    onOp: () => {
      throw new RangeError("boom");
    },
  });
  assert.throws(() => parser.feed(bytes("PING\r\n")), RangeError);
  assert.equal(parser.failed, true);
  assertThrowsProtocol(() => parser.feed(bytes("PING\r\n")), undefined);
});

Deno.test("parser - errors are the same however the input is split", () => {
  const cases: [ParserRole, string, string | undefined][] = [
    ["server", "PING\r\nXYZ\r\n", ErrText.unknownProtocol],
    ["server", "PUB foo 2\r\nhiXX\r\n", ErrText.unknownProtocol],
    ["server", "PUB foo 2000\r\n", ErrText.maxPayload],
    ["server", "PUB foo\r\n", undefined],
    ["leaf", "LMSG foo x q 1\r\n", undefined],
  ];
  for (const [role, wire, errText] of cases) {
    const data = bytes(wire);
    for (let k = 1; k < data.length; k++) {
      assertThrowsProtocol(
        () => parseChunks(role, split(data, [k]), { maxPayload: 1000 }),
        errText,
      );
    }
  }
});

Deno.test("protocol error - parse reads a peer's -ERR line", () => {
  const stale = ProtocolError.parse("-ERR 'Stale Connection'\r\n");
  assert.equal(stale.errText, "Stale Connection");
  assert.equal(stale.close, true);
  assert.equal(stale.name, "ProtocolError");
  const loop = ProtocolError.parse(
    "'Loop detected for leafnode account=\"$G\". Delaying attempt to reconnect for 30s'",
  );
  assert.equal(loop.close, true);
  const perm = ProtocolError.parse('-err Permissions Violation for Publish to "foo"');
  assert.equal(perm.errText, 'Permissions Violation for Publish to "foo"');
  assert.equal(perm.close, false);
});

Deno.test("parser - invalid UTF-8 in names decodes like TextDecoder", () => {
  const td = new TextDecoder();
  for (
    const bad of [[0xff, 0x61], [0x61, 0xc3], [
      0xc0,
      0xaf,
      0x61,
      0x62,
      0x63,
      0x64,
      0x65,
      0x66,
      0x67,
    ]]
  ) {
    const subject = new Uint8Array(bad);
    const wire = new Uint8Array([...bytes("SUB "), ...subject, ...bytes(" 1\r\n")]);
    assert.deepEqual(parse("server", wire), [{
      kind: "SUB",
      subject: td.decode(subject),
      sid: "1",
    }]);
  }
});
