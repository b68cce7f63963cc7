import assert from "node:assert/strict";
import {
  byteLength,
  encodeConnect,
  encodeErr,
  encodeHmsg,
  encodeHpub,
  encodeInfo,
  encodeLeafHmsg,
  encodeLmsg,
  encodeLsMinus,
  encodeLsPlus,
  encodeMsg,
  encodeOp,
  encodePub,
  encodeSub,
  encodeUnsub,
  hmsgHeaderLength,
  leafHmsgHeaderLength,
  lmsgHeaderLength,
  msgHeaderLength,
  OK,
  PING,
  PONG,
  writeHmsgHeader,
  writeLeafHmsgHeader,
  writeLmsgHeader,
  writeMsgHeader,
  writeString,
} from "../../protocol/encoder.ts";
import type { MsgHeaderFields } from "../../protocol/encoder.ts";
import { Parser, type ParserRole } from "../../protocol/parser.ts";
import type { Op } from "../../protocol/ops.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const bytes = (s: string): Uint8Array => te.encode(s);
const text = (b: Uint8Array): string => td.decode(b);

function parse(role: ParserRole, data: Uint8Array): Op[] {
  const ops: Op[] = [];
  new Parser({ role, maxControlLine: 1 << 20, maxPayload: -1, onOp: (op) => ops.push(op) })
    .feed(data);
  return ops;
}

const hdr = "NATS/1.0\r\nA: B\r\n\r\n"; // 18 bytes

Deno.test("encoder - constants are the exact protocol lines", () => {
  assert.equal(text(PING), "PING\r\n");
  assert.equal(text(PONG), "PONG\r\n");
  assert.equal(text(OK), "+OK\r\n");
});

Deno.test("encoder - encodeInfo puts a space before CRLF like nats-server", () => {
  assert.equal(
    text(encodeInfo({ server_id: "X", headers: true, max_payload: 1048576 })),
    'INFO {"server_id":"X","headers":true,"max_payload":1048576} \r\n',
  );
});

Deno.test("encoder - encodeConnect and encodeErr", () => {
  assert.equal(text(encodeConnect({ verbose: false })), 'CONNECT {"verbose":false}\r\n');
  assert.equal(
    text(encodeErr("Unknown Protocol Operation")),
    "-ERR 'Unknown Protocol Operation'\r\n",
  );
  assert.equal(
    text(encodeErr('Permissions Violation for Subscription to "é"')),
    "-ERR 'Permissions Violation for Subscription to \"é\"'\r\n",
  );
});

Deno.test("encoder - client ops", () => {
  assert.equal(text(encodePub({ subject: "foo", payload: bytes("hi") })), "PUB foo 2\r\nhi\r\n");
  assert.equal(
    text(encodePub({ subject: "foo", reply: "bar", payload: bytes("") })),
    "PUB foo bar 0\r\n\r\n",
  );
  assert.equal(
    text(encodeHpub({ subject: "foo", headerSize: 18, message: bytes(`${hdr}hello`) })),
    `HPUB foo 18 23\r\n${hdr}hello\r\n`,
  );
  assert.equal(
    text(encodeHpub({ subject: "foo", reply: "r", headerSize: 18, message: bytes(hdr) })),
    `HPUB foo r 18 18\r\n${hdr}\r\n`,
  );
  assert.equal(text(encodeSub({ subject: "foo", sid: "1" })), "SUB foo 1\r\n");
  assert.equal(text(encodeSub({ subject: "foo", queue: "q", sid: "1" })), "SUB foo q 1\r\n");
  assert.equal(text(encodeUnsub({ sid: "1" })), "UNSUB 1\r\n");
  assert.equal(text(encodeUnsub({ sid: "1", max: 0 })), "UNSUB 1 0\r\n");
});

Deno.test("encoder - server MSG/HMSG", () => {
  assert.equal(
    text(encodeMsg({ subject: "foo", sid: "7", payload: bytes("hello") })),
    "MSG foo 7 5\r\nhello\r\n",
  );
  assert.equal(
    text(encodeMsg({ subject: "foo", sid: "7", reply: "_INBOX.1", payload: bytes("") })),
    "MSG foo 7 _INBOX.1 0\r\n\r\n",
  );
  assert.equal(
    text(encodeHmsg({ subject: "foo", sid: "7", headerSize: 18, message: bytes(`${hdr}x`) })),
    `HMSG foo 7 18 19\r\n${hdr}x\r\n`,
  );
});

Deno.test("encoder - leaf ops match the spec captures byte for byte", () => {
  assert.equal(text(encodeLsPlus({ subject: "foo" })), "LS+ foo\r\n");
  assert.equal(text(encodeLsPlus({ subject: "bar", queue: "q1", weight: 2 })), "LS+ bar q1 2\r\n");
  assert.equal(text(encodeLsPlus({ subject: "bar", queue: "q1" })), "LS+ bar q1 1\r\n");
  assert.equal(text(encodeLsMinus({ subject: "foo" })), "LS- foo\r\n");
  assert.equal(text(encodeLsMinus({ subject: "bar", queue: "q1" })), "LS- bar q1\r\n");
  assert.equal(
    text(encodeLmsg({ subject: "leaf.sub", payload: bytes("hello") })),
    "LMSG leaf.sub 5\r\nhello\r\n",
  );
  assert.equal(
    text(
      encodeLmsg({ subject: "leaf.sub", reply: "hub.reply", queues: [], payload: bytes("hello") }),
    ),
    "LMSG leaf.sub hub.reply 5\r\nhello\r\n",
  );
  assert.equal(
    text(encodeLmsg({ subject: "leaf.q", queues: ["lq", "lq2"], payload: bytes("x") })),
    "LMSG leaf.q | lq lq2 1\r\nx\r\n",
  );
  assert.equal(
    text(
      encodeLmsg({
        subject: "leaf.q",
        reply: "hub.reply2",
        queues: ["lq", "lq2"],
        payload: bytes("y"),
      }),
    ),
    "LMSG leaf.q + hub.reply2 lq lq2 1\r\ny\r\n",
  );
  assert.equal(
    text(encodeLeafHmsg({ subject: "leaf.sub", headerSize: 18, message: bytes(`${hdr}hello`) })),
    `HMSG leaf.sub 18 23\r\n${hdr}hello\r\n`,
  );
  assert.equal(
    text(
      encodeLeafHmsg({
        subject: "leaf.q",
        reply: "hub.reply3",
        queues: ["lq", "lq2"],
        headerSize: 18,
        message: bytes(`${hdr}z`),
      }),
    ),
    `HMSG leaf.q + hub.reply3 lq lq2 18 19\r\n${hdr}z\r\n`,
  );
  assert.equal(
    text(
      encodeLeafHmsg({
        subject: "bar",
        queues: ["q1"],
        headerSize: 18,
        message: bytes(`${hdr}abc`),
      }),
    ),
    `HMSG bar | q1 18 21\r\n${hdr}abc\r\n`,
  );
  assert.equal(
    text(
      encodeLeafHmsg({
        subject: "foo",
        reply: "leaf.reply",
        headerSize: 18,
        message: bytes(`${hdr}hello`),
      }),
    ),
    `HMSG foo leaf.reply 18 23\r\n${hdr}hello\r\n`,
  );
});

Deno.test("encoder - header writers fill a caller's buffer at an offset", () => {
  const buf = new Uint8Array(256).fill(0x2e);
  const fields: MsgHeaderFields = {
    subject: "orders.eu",
    sid: "42",
    reply: "_INBOX.a",
    size: 1234567,
  };
  const end = writeMsgHeader(buf, 10, fields);
  assert.equal(end - 10, msgHeaderLength(fields));
  assert.equal(text(buf.subarray(0, end + 1)), "..........MSG orders.eu 42 _INBOX.a 1234567\r\n.");
  // The same fields object is reusable for the next target.
  fields.sid = "7";
  fields.reply = undefined;
  const next = writeMsgHeader(buf, end, fields);
  assert.equal(text(buf.subarray(end, next)), "MSG orders.eu 7 1234567\r\n");
  assert.equal(next - end, msgHeaderLength(fields));
});

Deno.test("encoder - header lengths equal the bytes written, for all header writers", () => {
  const subjects = ["a", "orders.eu.created", "préférés.Ω", "emoji.🚀", "lone.\ud800.x"];
  const sizes = [0, 9, 10, 99, 100, 999999999];
  const buf = new Uint8Array(1024);
  for (const subject of subjects) {
    for (const size of sizes) {
      for (const reply of [undefined, "r", "rép"]) {
        const m = { subject, sid: "1", reply, size };
        assert.equal(writeMsgHeader(buf, 3, m) - 3, msgHeaderLength(m));
        const h = { subject, sid: "12", reply, headerSize: size >> 1, totalSize: size };
        assert.equal(writeHmsgHeader(buf, 0, h), hmsgHeaderLength(h));
        for (const queues of [undefined, [], ["q"], ["q1", "grüppe"]]) {
          const l = { subject, reply, queues, size };
          assert.equal(writeLmsgHeader(buf, 5, l) - 5, lmsgHeaderLength(l));
          const lh = { subject, reply, queues, headerSize: size >> 1, totalSize: size };
          assert.equal(writeLeafHmsgHeader(buf, 1, lh) - 1, leafHmsgHeaderLength(lh));
        }
      }
    }
  }
});

Deno.test("encoder - the documented 3-bytes-per-unit bound covers every header", () => {
  for (const subject of ["a", "é.é", "🚀🚀", "\u0800\u0800\u0800"]) {
    const fields = { subject, sid: "999", reply: subject, queues: [subject], size: 999999999 };
    const units = subject.length * 2 + 3;
    assert.ok(msgHeaderLength(fields) <= 3 * units + 32);
    const h = { ...fields, headerSize: 999999999, totalSize: 999999999 };
    assert.ok(hmsgHeaderLength(h) <= 3 * units + 32);
    assert.ok(lmsgHeaderLength(fields) <= 3 * (units + subject.length) + 32);
    assert.ok(leafHmsgHeaderLength(h) <= 3 * (units + subject.length) + 32);
  }
});

Deno.test("encoder - byteLength and writeString agree with TextEncoder", () => {
  const samples = [
    "",
    "abc",
    "é",
    "Ω.x",
    "€",
    "🚀",
    "a🚀b",
    "\ud800",
    "\udc00x",
    "\ud800\ud800",
    "x\u07ff\u0800",
  ];
  for (const s of samples) {
    const expected = te.encode(s);
    assert.equal(byteLength(s), expected.length, JSON.stringify(s));
    const buf = new Uint8Array(expected.length + 4);
    assert.equal(writeString(buf, 2, s), 2 + expected.length);
    assert.deepEqual(buf.subarray(2, 2 + expected.length), expected, JSON.stringify(s));
  }
});

const ROUND_TRIP: [ParserRole, Op][] = [
  ["server", { kind: "CONNECT", json: '{"verbose":false,"name":"é"}' }],
  ["server", { kind: "PUB", subject: "foo", payload: bytes("hello") }],
  ["server", { kind: "PUB", subject: "fö.o", reply: "_INBOX.1", payload: bytes("a\r\nb") }],
  ["server", { kind: "HPUB", subject: "foo", headerSize: 18, message: bytes(`${hdr}body`) }],
  ["server", { kind: "HPUB", subject: "foo", reply: "r", headerSize: 18, message: bytes(hdr) }],
  ["server", { kind: "SUB", subject: "foo.>", sid: "1" }],
  ["server", { kind: "SUB", subject: "foo.*", queue: "workers", sid: "99" }],
  ["server", { kind: "UNSUB", sid: "1" }],
  ["server", { kind: "UNSUB", sid: "1", max: 5 }],
  ["server", { kind: "PING" }],
  ["server", { kind: "PONG" }],
  ["server", { kind: "OK" }],
  ["server", { kind: "ERR", message: "Unknown Protocol Operation" }],
  ["client", { kind: "INFO", json: '{"server_id":"X"}' }],
  ["client", { kind: "MSG", subject: "foo", sid: "1", payload: bytes("x") }],
  ["client", { kind: "MSG", subject: "foo", sid: "1", reply: "r", payload: bytes("") }],
  ["client", { kind: "HMSG", subject: "foo", sid: "2", headerSize: 18, message: bytes(`${hdr}x`) }],
  ["client", {
    kind: "HMSG",
    subject: "foo",
    sid: "2",
    reply: "r",
    headerSize: 18,
    message: bytes(hdr),
  }],
  ["leaf", { kind: "LS+", subject: "foo" }],
  ["leaf", { kind: "LS+", subject: "foo", queue: "q", weight: 3 }],
  ["leaf", { kind: "LS-", subject: "foo" }],
  ["leaf", { kind: "LS-", subject: "foo", queue: "q" }],
  ["leaf", { kind: "LMSG", subject: "foo", queues: [], payload: bytes("x") }],
  ["leaf", { kind: "LMSG", subject: "foo", reply: "r", queues: [], payload: bytes("x") }],
  ["leaf", { kind: "LMSG", subject: "foo", queues: ["a", "b"], payload: bytes("") }],
  ["leaf", { kind: "LMSG", subject: "foo", reply: "r", queues: ["a"], payload: bytes("xy") }],
  ["leaf", { kind: "LHMSG", subject: "foo", queues: [], headerSize: 18, message: bytes(hdr) }],
  ["leaf", {
    kind: "LHMSG",
    subject: "foo",
    reply: "r",
    queues: ["a", "b"],
    headerSize: 18,
    message: bytes(`${hdr}!`),
  }],
  ["leaf", { kind: "LHMSG", subject: "foo", queues: ["a"], headerSize: 0, message: bytes("") }],
];

Deno.test("encoder - every op survives encodeOp then parse", () => {
  for (const [role, op] of ROUND_TRIP) {
    assert.deepEqual(parse(role, encodeOp(op)), [op], JSON.stringify(op));
  }
  // And all of one role as one stream.
  for (const role of ["server", "client", "leaf"] as const) {
    const ops = ROUND_TRIP.filter(([r]) => r === role).map(([, op]) => op);
    const parts = ops.map(encodeOp);
    const stream = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      stream.set(p, o);
      o += p.length;
    }
    assert.deepEqual(parse(role, stream), ops, role);
  }
});

Deno.test("encoder - encodeOp returns copies of the shared constants", () => {
  const ping = encodeOp({ kind: "PING" });
  ping[0] = 0;
  assert.equal(text(PING), "PING\r\n");
});

Deno.test("encoder - written MSG headers parse back with the client parser", () => {
  const buf = new Uint8Array(4096);
  let o = 0;
  const expected: Op[] = [];
  const fields: MsgHeaderFields = { subject: "", sid: "", size: 0 };
  for (let i = 0; i < 20; i++) {
    fields.subject = `s.${i}.ü`;
    fields.sid = String(i);
    fields.reply = i % 3 === 0 ? `r.${i}` : undefined;
    const payload = bytes("p".repeat(i));
    fields.size = payload.length;
    o = writeMsgHeader(buf, o, fields);
    buf.set(payload, o);
    o += payload.length;
    buf[o++] = 0x0d;
    buf[o++] = 0x0a;
    expected.push(
      fields.reply === undefined
        ? { kind: "MSG", subject: fields.subject, sid: fields.sid, payload }
        : { kind: "MSG", subject: fields.subject, sid: fields.sid, reply: fields.reply, payload },
    );
  }
  assert.deepEqual(parse("client", buf.subarray(0, o)), expected);
});
