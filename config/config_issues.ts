/**
 * Collects every problem found while reading a config document, so the user
 * sees all of them at once instead of fixing one per run.
 *
 * @module
 */

import { ConfigError } from "./config_error.ts";
import { formatKeyPath, type KeyPath } from "./key_path.ts";
import type { SourcePosition } from "./key_locator.ts";

interface Issue {
  path: KeyPath;
  reason: string;
}

/** A list of problems, each tied to the key path it is about. */
export class ConfigIssues {
  readonly #issues: Issue[] = [];

  /** Records a problem with the value at `path`. */
  add(path: KeyPath, reason: string): void {
    this.#issues.push({ path: [...path], reason });
  }

  /** How many problems were recorded. */
  get count(): number {
    return this.#issues.length;
  }

  /**
   * One `ConfigError` for all problems (first in file order in its fields,
   * the rest in `related`), or `undefined` when there are none.
   */
  toError(file: string, locate: (path: KeyPath) => SourcePosition): ConfigError | undefined {
    if (this.#issues.length === 0) return undefined;
    const errors = this.#issues
      .map((issue, order) => ({ issue, order, at: locate(issue.path) }))
      .sort((a, b) => a.at.line - b.at.line || a.at.column - b.at.column || a.order - b.order)
      .map(({ issue, at }) =>
        new ConfigError({
          file,
          line: at.line,
          column: at.column,
          key: formatKeyPath(issue.path),
          reason: issue.reason,
        })
      );
    const [first, ...related] = errors;
    return new ConfigError(first, { related });
  }
}
