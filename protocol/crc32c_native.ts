/**
 * Loads the hardware CRC-32C from `@node-rs/crc32` (a Node-API addon with prebuilt binaries for
 * the common platforms) and installs it in `crc32c.ts`. Optional by design: without `--allow-ffi`
 * (which Deno requires for native addons), on an edge isolate, or on a platform without a
 * prebuilt binary, the table code keeps running and only the speed differs.
 *
 * @module
 */

import { type Crc32cFunction, useCrc32cAccelerator } from "./crc32c.ts";

/** Which CRC-32C the S2 framing uses, and why, for a debug log line. */
export interface Crc32cChoice {
  readonly native: boolean;
  readonly detail: string;
}

/**
 * Held in a variable so that bundlers leave the import to run time: `deno bundle` would
 * otherwise try to inline the addon's platform binaries. Resolved through `deno.json`'s imports.
 */
const ADDON: string = "@node-rs/crc32";

/** How long startup waits for the addon (normally milliseconds, from the local cache). */
const LOAD_TIMEOUT_MS = 5000;

let loading: Promise<Crc32cChoice> | undefined;
let loaded: Crc32cFunction | undefined;

/** The native CRC-32C once {@linkcode loadNativeCrc32c} has installed it (for benchmarks). */
export function nativeCrc32c(): Crc32cFunction | undefined {
  return loaded;
}

/** Installs the native CRC-32C once per isolate; later calls return the first outcome. */
export function loadNativeCrc32c(): Promise<Crc32cChoice> {
  loading ??= load();
  return loading;
}

async function load(): Promise<Crc32cChoice> {
  // Asking first keeps an interactive terminal from prompting for a permission we can do
  // without.
  const state = Deno.permissions?.querySync?.({ name: "ffi" }).state;
  if (state !== "granted") {
    return { native: false, detail: "table-driven (no --allow-ffi for the native addon)" };
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    // A first run may have to download the addon; a server must not wait long for a speed-up.
    const addon = await Promise.race([
      import(ADDON) as Promise<{ crc32c: Crc32cFunction }>,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`not loaded within ${LOAD_TIMEOUT_MS} ms`)),
          LOAD_TIMEOUT_MS,
        );
      }),
    ]);
    if (!useCrc32cAccelerator(addon.crc32c)) {
      return { native: false, detail: "table-driven (the native addon gave wrong checksums)" };
    }
    loaded = addon.crc32c;
    return { native: true, detail: "native (@node-rs/crc32)" };
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    return { native: false, detail: `table-driven (native addon unavailable: ${reason})` };
  } finally {
    clearTimeout(timer);
  }
}
