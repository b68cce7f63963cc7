import assert from "node:assert/strict";
import { FrameScanner, FrameScannerError } from "./frame_scanner.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A stream whose payloads contain CRLF and protocol words, which must not be parsed. */
const STREAM = 'INFO {"server_id":"X"}\r\n' +
  "MSG a.b 1 5\r\nhello\r\n" +
  "PING\r\n" +
  "MSG a.b 1 reply.to 13\r\nPING\r\nMSG x\r\n\r\n" +
  "HMSG a.b 1 12 17\r\nNATS/1.0\r\n\r\nhello\r\n" +
  "MSG a.b 1 0\r\n\r\n" +
  "-ERR 'Slow Consumer'\r\n";

function scanInPieces(bytes: Uint8Array, cuts: number[]): { frames: number; lines: string[] } {
  const lines: string[] = [];
  const scanner = new FrameScanner((line) => lines.push(decoder.decode(line)));
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    scanner.scan(bytes.subarray(start, cut));
    start = cut;
  }
  return { frames: scanner.frames, lines };
}

Deno.test("frame scanner - counts frames and control lines when the stream is split at every byte", () => {
  const bytes = encoder.encode(STREAM);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const { frames, lines } = scanInPieces(bytes, [cut]);
    assert.equal(frames, 4, `split at ${cut}`);
    assert.deepEqual(
      lines,
      ['INFO {"server_id":"X"}', "PING", "-ERR 'Slow Consumer'"],
      `split at ${cut}`,
    );
  }
});

Deno.test("frame scanner - survives one byte per chunk", () => {
  const bytes = encoder.encode(STREAM.repeat(3));
  const cuts = Array.from({ length: bytes.length - 1 }, (_, index) => index + 1);
  const { frames, lines } = scanInPieces(bytes, cuts);
  assert.equal(frames, 12);
  assert.equal(lines.length, 9);
});

Deno.test("frame scanner - counts PUB and HPUB but not PING or PONG", () => {
  const bytes = encoder.encode(
    "CONNECT {}\r\nPUB s 3\r\nabc\r\nHPUB s r 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPONG\r\nPING\r\n",
  );
  const { frames, lines } = scanInPieces(bytes, []);
  assert.equal(frames, 2);
  assert.deepEqual(lines, ["CONNECT {}", "PONG", "PING"]);
});

Deno.test("frame scanner - rejects a line longer than 1 MiB", () => {
  const scanner = new FrameScanner(() => {});
  const chunk = new Uint8Array(256 * 1024).fill(0x41);
  assert.throws(() => {
    for (let index = 0; index < 5; index++) scanner.scan(chunk);
  }, FrameScannerError);
});
