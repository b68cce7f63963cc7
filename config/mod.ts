/**
 * Configuration: TOML loading and validation, defaults, and command-line
 * flags. Everything downstream reads `ServerOptions`, never raw TOML.
 *
 * @example
 * ```ts
 * import { loadConfigFile, parseCli } from "./config/mod.ts";
 * const command = parseCli(Deno.args);
 * if (command.kind === "run" && command.configFile) {
 *   const options = await loadConfigFile(command.configFile, command.overrides);
 * }
 * ```
 *
 * @module
 */

export { defaultOptions, loadConfigFile, parseConfigText } from "./load.ts";
export { ConfigError, type ConfigErrorDetails } from "./config_error.ts";
export { type CliCommand, CliError, HELP_TEXT, parseCli } from "./cli.ts";
export { applyCliOverrides, type CliOverrides } from "./cli_overrides.ts";
export { generateServerId } from "./server_id.ts";
export { durationToMs, parseDurationText } from "./duration.ts";
export { parseSizeText } from "./size.ts";
export {
  createOperatorSetup,
  type GeneratedOperatorSetup,
  generateOperatorSetup,
  operatorConfigToml,
  type OperatorSetup,
  OperatorSetupExistsError,
  type OperatorSetupOptions,
  UNLIMITED_ACCOUNT_LIMITS,
} from "./nsc_lite.ts";
export type * from "./options.ts";
