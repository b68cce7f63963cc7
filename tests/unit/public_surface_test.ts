/**
 * Pins the public API: what `mod.ts` exports at runtime, and which types it exports. A change
 * here is a change for every embedding program, so it must be deliberate: update the lists
 * below in the same change.
 */

import assert from "node:assert/strict";
import * as mod from "../../mod.ts";

const MOD_URL = new URL("../../mod.ts", import.meta.url);

/** Runtime exports, sorted with the default sort (capitals first). */
const RUNTIME_EXPORTS = [
  "ConfigError",
  "InputOverflowError",
  "WebSocketObjectTransport",
  "createEdgeHandler",
  "edgeServer",
  "loadConfigFile",
  "parseConfigText",
  "startServer",
];

/** Type-only exports named in `mod.ts` itself (the config option types are checked apart). */
const TYPE_EXPORTS = [
  "AuthFailureEvent",
  "CanopyServer",
  "EdgeHandler",
  "EdgeHandlerOptions",
  "EdgeRequestInfo",
  "EdgeServer",
  "LinkDownEvent",
  "LinkEvent",
  "ServerDependencies",
  "ServerEventMap",
  "ServerEventName",
  "ServerStats",
  "Transport",
  "WebSocketObjectTransportOptions",
];

/**
 * Option types an embedding program needs by name; `config/options.ts` is re-exported whole,
 * so new option types may join these without touching this test.
 */
const REQUIRED_OPTION_TYPES = [
  "LeafnodeOptions",
  "RemoteOptions",
  "RemoteSignatureCallback",
  "ServerOptions",
];

interface DocSymbol {
  name: string;
  declarations: {
    kind: string;
    location: { filename: string };
    jsDoc?: { doc?: string; tags?: { kind: string }[] };
  }[];
}

/** Every symbol `mod.ts` exports, types included, as `deno doc` sees it. */
async function documentedSymbols(): Promise<DocSymbol[]> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", MOD_URL.pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const doc = JSON.parse(new TextDecoder().decode(output.stdout));
  return doc.nodes[MOD_URL.href].symbols;
}

Deno.test("public surface - mod.ts runtime exports are exactly the pinned list", () => {
  const names = Object.keys(mod).sort();
  assert.deepEqual(names, RUNTIME_EXPORTS);
  assert.equal(names.length, 8);
});

Deno.test("public surface - mod.ts type exports are exactly the pinned list", async () => {
  const symbols = await documentedSymbols();
  const fromOptions = (symbol: DocSymbol) =>
    symbol.declarations.some((d) => d.location.filename.endsWith("/config/options.ts"));
  const runtime = new Set(RUNTIME_EXPORTS);
  const types = symbols
    .filter((symbol) => !fromOptions(symbol) && !runtime.has(symbol.name))
    .map((symbol) => symbol.name)
    .sort();
  assert.deepEqual(types, TYPE_EXPORTS);
  assert.equal(types.length, 14);
  const optionTypes = new Set(symbols.filter(fromOptions).map((symbol) => symbol.name));
  for (const name of REQUIRED_OPTION_TYPES) {
    assert.ok(optionTypes.has(name), `mod.ts must export the option type ${name}`);
  }
});

Deno.test("public surface - every runtime export has JSDoc with an @example", async () => {
  const symbols = await documentedSymbols();
  for (const name of RUNTIME_EXPORTS) {
    const symbol = symbols.find((candidate) => candidate.name === name);
    const jsDoc = symbol?.declarations[0].jsDoc;
    assert.ok(jsDoc?.doc?.trim(), `${name} has no JSDoc text`);
    assert.ok(jsDoc?.tags?.some((tag) => tag.kind === "example"), `${name} has no @example`);
  }
});
