import assert from "node:assert/strict";
import {
  crc32c,
  crc32cAccelerated,
  crc32cTable,
  maskCrc,
  maskedCrc32c,
  useCrc32cAccelerator,
} from "../../protocol/crc32c.ts";
import { loadNativeCrc32c } from "../../protocol/crc32c_native.ts";
import { randomBytes } from "../fixtures/s2/sample_data.ts";

const te = new TextEncoder();

/** Bit-at-a-time CRC-32C, the definition the table-driven version must agree with. */
function slowCrc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

Deno.test("crc32c - matches the published check values (RFC 3720 B.4 and 123456789)", () => {
  assert.equal(crc32c(te.encode("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

Deno.test("crc32c - agrees with the bitwise definition at every length 0..100", () => {
  const data = randomBytes(100, 42);
  for (let n = 0; n <= 100; n++) {
    const part = data.subarray(0, n);
    assert.equal(crc32c(part), slowCrc32c(part), `length ${n}`);
  }
});

Deno.test("crc32c - continues across pieces split anywhere", () => {
  const data = randomBytes(300, 9);
  const whole = crc32c(data);
  for (let cut = 0; cut <= data.length; cut += 7) {
    assert.equal(crc32c(data.subarray(cut), crc32c(data.subarray(0, cut))), whole, `cut ${cut}`);
  }
});

Deno.test("crc32c - masked form matches the spec's S2 stream examples", () => {
  // Spec 5.4: "PING\r\n" chunk carries ab 90 cc 24, "PONG\r\n" carries f5 6f 1b e4.
  assert.equal(maskedCrc32c(te.encode("PING\r\n")), 0x24cc90ab);
  assert.equal(maskedCrc32c(te.encode("PONG\r\n")), 0xe41b6ff5);
  assert.equal(maskCrc(0), 0xa282ead8);
  assert.equal(maskCrc(0xffffffff), (0xffffffff + 0xa282ead8) % 2 ** 32);
});

Deno.test("crc32c - the native addon loads under -A, agrees, and serves large inputs", async () => {
  const choice = await loadNativeCrc32c();
  assert.equal(choice.native, true, choice.detail);
  assert.ok(crc32cAccelerated());
  const data = randomBytes(70_000, 5);
  for (const n of [0, 255, 256, 1000, 70_000]) {
    const part = data.subarray(3, 3 + n);
    assert.equal(crc32c(part, 0x1234), crc32cTable(part, 0x1234), `length ${n}`);
  }
});

Deno.test("crc32c - an accelerator that disagrees is refused and changes nothing", () => {
  const before = crc32cAccelerated();
  const wrongPastOneKiB = (data: Uint8Array, crc: number) =>
    data.length > 900 ? 1 : crc32cTable(data, crc);
  assert.equal(useCrc32cAccelerator(wrongPastOneKiB), false);
  assert.equal(useCrc32cAccelerator(() => 0), false);
  assert.equal(crc32cAccelerated(), before);
  assert.equal(crc32c(randomBytes(2000, 6)), slowCrc32c(randomBytes(2000, 6)));
});

Deno.test("crc32c - an accelerator is used only from 256 bytes and can be removed", () => {
  const seen: number[] = [];
  const counting = (data: Uint8Array, crc: number) => {
    seen.push(data.length);
    return crc32cTable(data, crc);
  };
  try {
    assert.ok(useCrc32cAccelerator(counting));
    seen.length = 0;
    crc32c(new Uint8Array(255));
    crc32c(new Uint8Array(256));
    assert.deepEqual(seen, [256]);
  } finally {
    useCrc32cAccelerator(undefined);
  }
  assert.equal(crc32cAccelerated(), false);
  seen.length = 0;
  crc32c(new Uint8Array(4000));
  assert.deepEqual(seen, []);
});

Deno.test("crc32c - without --allow-ffi the table code runs and says why", async () => {
  const module = new URL("../../protocol/crc32c_native.ts", import.meta.url).href;
  const script = `const { loadNativeCrc32c } = await import(${JSON.stringify(module)});
    console.log(JSON.stringify(await loadNativeCrc32c()));`;
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(file, script);
  // `deno eval` would grant everything; `deno run` grants only what is listed.
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--allow-read", "--allow-env", file],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output().finally(() => Deno.remove(file));
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  const choice = JSON.parse(new TextDecoder().decode(output.stdout));
  assert.deepEqual(choice, {
    native: false,
    detail: "table-driven (no --allow-ffi for the native addon)",
  });
});
