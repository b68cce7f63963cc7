import assert from "node:assert/strict";
import { MessageReader, MessageReaderError, parseMessageLine } from "./message_reader.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Payloads hold CRLF and protocol words, which must not be parsed as frames. */
const STREAM = 'INFO {"server_id":"X"}\r\n' +
  "MSG svc 1 _INBOX.a.1 13\r\nPING\r\nMSG x\r\n\r\n" +
  "PING\r\n" +
  "MSG bench.leaf 22 5\r\nhello\r\n" +
  "HMSG svc 1 _INBOX.a.2 12 17\r\nNATS/1.0\r\n\r\nhello\r\n" +
  "MSG  empty\t3   0\r\n\r\n" +
  "-ERR 'Slow Consumer'\r\n";

interface Seen {
  messages: string[];
  lines: string[];
}

function readInPieces(bytes: Uint8Array, cuts: number[]): Seen {
  const seen: Seen = { messages: [], lines: [] };
  const reader = new MessageReader({
    onMessage: (message) =>
      seen.messages.push(
        `${message.subject}|${message.sid}|${message.reply ?? "-"}|${message.headerBytes}|${
          decoder.decode(message.payload)
        }`,
      ),
    onControlLine: (line) => seen.lines.push(line),
  });
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    // A reused read buffer: the reader must copy whatever it keeps.
    const chunk = bytes.slice(start, cut);
    reader.push(chunk);
    chunk.fill(0x58);
    start = cut;
  }
  return seen;
}

const EXPECTED_MESSAGES = [
  "svc|1|_INBOX.a.1|0|PING\r\nMSG x\r\n",
  "bench.leaf|22|-|0|hello",
  "svc|1|_INBOX.a.2|12|NATS/1.0\r\n\r\nhello",
  "empty|3|-|0|",
];
const EXPECTED_LINES = ['INFO {"server_id":"X"}', "PING", "-ERR 'Slow Consumer'"];

Deno.test("message reader - reads subjects, replies and payloads when split at every byte", () => {
  const bytes = encoder.encode(STREAM);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const seen = readInPieces(bytes, [cut]);
    assert.deepEqual(seen.messages, EXPECTED_MESSAGES, `split at ${cut}`);
    assert.deepEqual(seen.lines, EXPECTED_LINES, `split at ${cut}`);
  }
});

Deno.test("message reader - survives one byte per chunk and a payload larger than its buffer", () => {
  const big = "z".repeat(200 * 1024);
  const bytes = encoder.encode(`${STREAM}MSG big 9 ${big.length}\r\n${big}\r\nPONG\r\n`);
  const cuts = Array.from({ length: bytes.length - 1 }, (_, index) => index + 1);
  const seen = readInPieces(bytes, cuts);
  assert.deepEqual(seen.messages.slice(0, 4), EXPECTED_MESSAGES);
  assert.equal(seen.messages[4], `big|9|-|0|${big}`);
  assert.deepEqual(seen.lines, [...EXPECTED_LINES, "PONG"]);
});

Deno.test("message reader - rejects malformed message lines", () => {
  assert.throws(() => parseMessageLine("MSG a"), MessageReaderError);
  assert.throws(() => parseMessageLine("MSG a 1 r x 5"), MessageReaderError);
  assert.throws(() => parseMessageLine("MSG a 1 -5"), MessageReaderError);
  assert.throws(() => parseMessageLine("HMSG a 1 10 5"), MessageReaderError);
  assert.deepEqual(parseMessageLine("HMSG a 1 r 5 10"), {
    subject: "a",
    sid: "1",
    reply: "r",
    headerBytes: 5,
    totalBytes: 10,
  });
  const reader = new MessageReader({ onMessage: () => {}, onControlLine: () => {} });
  assert.throws(() => reader.push(encoder.encode("MSG a 1 zz\r\n")), MessageReaderError);
});
