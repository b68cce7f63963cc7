import assert from "node:assert/strict";
import { loadS2Kernel, s2Kernel } from "../../protocol/s2_kernel.ts";
import {
  decodeBlock,
  encodeBlock,
  maxEncodedLength,
  S2_MAX_BLOCK_SIZE,
  S2BlockEncoder,
} from "../../protocol/s2_block.ts";
import { S2_KERNEL_SOURCE_SHA256 } from "../../protocol/wasm/s2_kernel_wasm.ts";
import { sha256Hex } from "../../protocol/wasm/build.ts";
import { jsonText, natsText, randomBytes } from "../fixtures/s2/sample_data.ts";

Deno.test("s2 kernel - the committed module was built from the committed C source", async () => {
  const source = await Deno.readFile(new URL("../../protocol/wasm/s2_kernel.c", import.meta.url));
  assert.equal(await sha256Hex(source), S2_KERNEL_SOURCE_SHA256, "run deno task build:wasm");
});

Deno.test("s2 kernel - loads in this runtime and is the default engine", () => {
  assert.ok(s2Kernel !== undefined);
  assert.equal(new S2BlockEncoder("fast").engine, "wasm");
  assert.equal(new S2BlockEncoder("fast", "typescript").engine, "typescript");
});

Deno.test("s2 kernel - grows its memory for a 4 MiB block and keeps working after", () => {
  const kernel = loadS2Kernel()!;
  const big = new Uint8Array(S2_MAX_BLOCK_SIZE);
  for (let o = 0; o < big.length; o += 65536) big.set(natsText(65536, o), o);
  const out = new Uint8Array(maxEncodedLength(big.length));
  const n = kernel.encodeInto("fast", big, out, out.length);
  const block = out.slice(0, n);
  assert.deepEqual(block, encodeBlock(big, { level: "fast", engine: "typescript" }));
  const back = new Uint8Array(big.length);
  const header = 4; // uvarint of 4 MiB
  assert.ok(kernel.decodeInto(block, header, back, big.length));
  assert.deepEqual(back, big);
  // Small calls after the growth still see the new memory.
  const small = jsonText(3000);
  assert.deepEqual(decodeBlock(encodeBlock(small)), small);
});

Deno.test("s2 kernel - refuses what the TypeScript decoder refuses, with its error", () => {
  const block = encodeBlock(natsText(5000), { level: "better" });
  const cut = block.subarray(0, block.length - 3);
  assert.throws(() => decodeBlock(cut, { engine: "wasm" }), (err: Error) => {
    assert.equal(err.name, "S2Error");
    assert.throws(() => decodeBlock(cut, { engine: "typescript" }), { message: err.message });
    return true;
  });
});

Deno.test("s2 kernel - incompressible and tiny inputs match the TypeScript encoder", () => {
  for (const data of [randomBytes(70_000, 3), randomBytes(15, 4), new Uint8Array(0)]) {
    for (const level of ["fast", "better"] as const) {
      assert.deepEqual(
        encodeBlock(data, { level, engine: "wasm" }),
        encodeBlock(data, { level, engine: "typescript" }),
      );
    }
  }
});
