/**
 * Loading a Canopy config: TOML text → validated `ServerOptions`, or one
 * `ConfigError` that lists every problem with file, line and key.
 *
 * @module
 */

import { parse, TomlError } from "smol-toml";
import { buildServerOptions } from "./build_server_options.ts";
import { applyCliOverrides, type CliOverrides } from "./cli_overrides.ts";
import { ConfigError } from "./config_error.ts";
import { ConfigIssues } from "./config_issues.ts";
import { KeyLocator } from "./key_locator.ts";
import type { ServerOptions } from "./options.ts";

export { defaultOptions } from "./defaults.ts";

/**
 * Parses and validates config text. `file` names the source in error messages
 * and becomes `configFile`. Throws `ConfigError`.
 *
 * @example
 * ```ts
 * const options = parseConfigText("port = 4333\n", "inline.toml");
 * console.log(options.port); // 4333
 * ```
 */
export function parseConfigText(text: string, file: string): ServerOptions {
  let document: Record<string, unknown>;
  try {
    document = parse(text, { unsafeKeyBehaviour: "throw" });
  } catch (error) {
    if (error instanceof TomlError) throw syntaxError(error, file);
    throw error;
  }
  const issues = new ConfigIssues();
  const options = buildServerOptions(issues, document);
  if (issues.count > 0) {
    // Only a broken file pays for the position scan.
    const locator = new KeyLocator(text);
    throw issues.toError(file, (path) => locator.locate(path));
  }
  return { configFile: file, ...options };
}

/**
 * Reads, parses and validates a config file, then applies command-line
 * overrides. Throws `ConfigError` (also when the file cannot be read).
 *
 * @example
 * ```ts
 * const options = await loadConfigFile("canopy.toml", { port: 5222 });
 * ```
 */
export async function loadConfigFile(
  path: string,
  overrides: Partial<CliOverrides> = {},
): Promise<ServerOptions> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "Cannot read config file: no such file"
      : `Cannot read config file: ${(error as Error).message}`;
    throw new ConfigError({ file: path, line: 0, column: 0, key: "", reason }, { cause: error });
  }
  return applyCliOverrides(parseConfigText(text, path), overrides);
}

/** smol-toml's message minus its prefix and code excerpt, at its line and column. */
function syntaxError(error: TomlError, file: string): ConfigError {
  const firstLine = error.message.split("\n", 1)[0].replace(/^Invalid TOML document: /, "");
  return new ConfigError(
    { file, line: error.line, column: error.column, key: "", reason: `invalid TOML: ${firstLine}` },
    { cause: error },
  );
}
