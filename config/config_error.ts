/**
 * The one error type the config loader throws. It always names the file and,
 * when the problem belongs to a key, the dotted key path and the line where
 * that key is written, so a user can jump straight to it.
 *
 * @module
 */

/** Where and why a configuration is wrong. */
export interface ConfigErrorDetails {
  /** The config file as the user named it (or a label for in-memory text). */
  file: string;
  /** 1-based line; 0 when the problem has no place in the text (unreadable file). */
  line: number;
  /** 1-based column; 0 when `line` is 0. */
  column: number;
  /** Dotted key path such as `accounts.ACME.users[0].password`; `""` for the whole file. */
  key: string;
  /** What is wrong, without the location prefix. */
  reason: string;
}

/**
 * A configuration problem, formatted as
 * `canopy.toml:12:3: accounts.ACME.users[0].permissions.publish: expected a list of subjects, got a number`.
 *
 * The loader reports every problem it finds in one go: the fields describe the
 * first one (in file order) and `related` holds the rest. The message lists
 * all of them, one per line, so printing it shows the whole picture.
 *
 * @example
 * ```ts
 * import { ConfigError } from "./config_error.ts";
 * const err = new ConfigError({ file: "c.toml", line: 2, column: 1, key: "port", reason: "expected an integer, got a string" });
 * console.log(err.message); // c.toml:2:1: port: expected an integer, got a string
 * ```
 */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly key: string;
  readonly reason: string;
  /** Further problems found in the same file, in file order. */
  readonly related: readonly ConfigError[];

  constructor(
    details: ConfigErrorDetails,
    options: { cause?: unknown; related?: readonly ConfigError[] } = {},
  ) {
    const related = options.related ?? [];
    const lines = [formatConfigProblem(details), ...related.map((e) => formatConfigProblem(e))];
    super(lines.join("\n"), options.cause === undefined ? undefined : { cause: options.cause });
    this.file = details.file;
    this.line = details.line;
    this.column = details.column;
    this.key = details.key;
    this.reason = details.reason;
    this.related = related;
  }
}

/** `file:line:col: key: reason`, leaving out the parts that are unknown. */
export function formatConfigProblem(details: ConfigErrorDetails): string {
  const where = details.line > 0
    ? `${details.file}:${details.line}:${details.column}`
    : details.file;
  const key = details.key === "" ? "" : `${details.key}: `;
  return `${where}: ${key}${details.reason}`;
}
