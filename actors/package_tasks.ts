/**
 * `deno task compile` and `deno task bundle`: Canopy as one executable, or as one JavaScript
 * file for `deno run`. Both wrap the Deno command and, when it fails for a reason outside our
 * control (a download), say what is missing and what to do instead.
 *
 * ```sh
 * deno run --allow-run --allow-read actors/package_tasks.ts compile [output]   # default ./canopy
 * deno run --allow-run --allow-read actors/package_tasks.ts bundle [output]    # default dist/canopy.js
 * ```
 *
 * @module
 */

/** The permissions the compiled binary runs with: those of `deno task start`. */
export const RUNTIME_PERMISSIONS: readonly string[] = [
  "--allow-net",
  "--allow-read",
  "--allow-env",
  "--allow-sys",
];

export const DEFAULT_BINARY = "canopy";
export const DEFAULT_BUNDLE = "dist/canopy.js";

const ENTRY = new URL("../mod.ts", import.meta.url).pathname;
const ROOT = new URL("../", import.meta.url).pathname;

/** What `deno compile` prints when it cannot fetch or find its runtime (denort). */
const RUNTIME_UNAVAILABLE =
  /denort|dl\.deno\.land|Setting up base binary|error sending request|dns error/i;

/** What `deno bundle` prints when it cannot fetch esbuild from npm. */
const BUNDLER_UNAVAILABLE = /esbuild|error sending request|dns error/i;

/**
 * Builds the `deno compile` arguments for `output`.
 *
 * @example
 * ```ts
 * import { compileArgs } from "./package_tasks.ts";
 * console.log(compileArgs("canopy").join(" "));
 * // compile --allow-net --allow-read --allow-env --allow-sys -o canopy <repo>/mod.ts
 * ```
 */
export function compileArgs(output: string): string[] {
  return ["compile", ...RUNTIME_PERMISSIONS, "-o", output, ENTRY];
}

/**
 * Builds the `deno bundle` arguments for `output`.
 *
 * @example
 * ```ts
 * import { bundleArgs } from "./package_tasks.ts";
 * console.log(bundleArgs("dist/canopy.js").join(" "));
 * // bundle --platform deno -o dist/canopy.js <repo>/mod.ts
 * ```
 */
export function bundleArgs(output: string): string[] {
  return ["bundle", "--platform", "deno", "-o", output, ENTRY];
}

/**
 * The explanation printed when `deno compile` cannot get Deno's runtime, or `undefined` when
 * `stderr` shows some other failure (which Deno's own message already explains).
 *
 * @example
 * ```ts
 * import { compileFailureHelp } from "./package_tasks.ts";
 * console.log(compileFailureHelp("Download https://dl.deno.land/...: dns error") !== undefined); // true
 * ```
 */
export function compileFailureHelp(stderr: string): string | undefined {
  if (!RUNTIME_UNAVAILABLE.test(stderr)) return undefined;
  const target = `denort ${Deno.version.deno} (${Deno.build.target})`;
  return [
    `Cannot compile a single binary: \`deno compile\` needs Deno's runtime, ${target},`,
    `which it downloads from https://dl.deno.land on first use, and it could not get it (see above).`,
    `  - On a machine that can reach dl.deno.land, run \`deno task compile\` again (the download`,
    `    is cached afterwards).`,
    `  - Offline: fetch denort-${Deno.build.target}.zip for Deno ${Deno.version.deno} elsewhere,`,
    `    unzip it and run \`DENORT_BIN=/path/to/denort deno task compile\`. (Pointing DENORT_BIN at`,
    `    the \`deno\` executable does not work: the result starts a plain Deno CLI.)`,
    `  - Or run \`deno task bundle\`: dist/canopy.js is one file that runs with`,
    `    \`deno run ${RUNTIME_PERMISSIONS.join(" ")} dist/canopy.js\`.`,
  ].join("\n");
}

/**
 * The explanation printed when `deno bundle` cannot get esbuild, or `undefined` for other
 * failures.
 *
 * @example
 * ```ts
 * import { bundleFailureHelp } from "./package_tasks.ts";
 * console.log(bundleFailureHelp("error: Type error") === undefined); // true
 * ```
 */
export function bundleFailureHelp(stderr: string): string | undefined {
  if (!BUNDLER_UNAVAILABLE.test(stderr)) return undefined;
  return [
    "Cannot bundle: `deno bundle` runs esbuild, which it downloads from the npm registry on",
    "first use, and it could not get it (see above). Run it once where the registry is",
    "reachable (or through your npm mirror, NPM_CONFIG_REGISTRY); it is cached",
    "afterwards. `deno run -A mod.ts` needs no bundle.",
  ].join("\n");
}

/** Runs `deno <args>` with output passed through; returns its exit code and stderr text. */
async function runDeno(args: string[]): Promise<{ code: number; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "inherit",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  let stderr = "";
  for await (const chunk of child.stderr) {
    await Deno.stderr.write(chunk);
    stderr += decoder.decode(chunk, { stream: true });
  }
  const { code } = await child.status;
  return { code, stderr };
}

async function main(args: string[]): Promise<number> {
  const [task, output] = args;
  if (task === "compile") {
    const result = await runDeno(compileArgs(output ?? DEFAULT_BINARY));
    if (result.code === 0) return 0;
    const help = compileFailureHelp(result.stderr);
    if (help) console.error(`\n${help}`);
    return result.code;
  }
  if (task === "bundle") {
    const result = await runDeno(bundleArgs(output ?? DEFAULT_BUNDLE));
    if (result.code === 0) return 0;
    const help = bundleFailureHelp(result.stderr);
    if (help) console.error(`\n${help}`);
    return result.code;
  }
  console.error(`Usage: package_tasks.ts compile [output] | bundle [output]`);
  return 2;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
