/**
 * Errors in command-line flags.
 *
 * @module
 */

/**
 * A flag is unknown, misses its value, or has a value of the wrong kind. The
 * message is meant to be printed as is, followed by a hint to use `--help`.
 *
 * @example
 * ```ts
 * throw new CliError('Invalid value for "--port": expected a port number, got "abc"');
 * ```
 */
export class CliError extends Error {
  override name = "CliError";

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}
