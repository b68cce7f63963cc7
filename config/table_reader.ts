/**
 * Reads one TOML table against its list of known keys: unknown keys are
 * reported (with a "did you mean" when one is close), nats-server's alias
 * spellings are accepted, and values are read by canonical key name while
 * errors still point at the key as the user wrote it.
 *
 * @module
 */

import type { ConfigIssues } from "./config_issues.ts";
import type { KeyPath } from "./key_path.ts";
import type { KeySpec } from "./schema.ts";
import { closestKey } from "./suggest.ts";
import { expected, isTable, type TomlTable, type ValueReader } from "./value_readers.ts";

/** Typed access to one table of the config document. */
export class TableReader {
  /** Key path of the table itself. */
  readonly path: KeyPath;
  readonly #issues: ConfigIssues;
  readonly #table: TomlTable;
  /** Canonical key name → key as written in the file. */
  readonly #written = new Map<string, string>();

  /** Checks the keys of `table` against `spec`, recording unknown and doubled keys. */
  constructor(issues: ConfigIssues, path: KeyPath, table: TomlTable, spec: KeySpec) {
    this.path = path;
    this.#issues = issues;
    this.#table = table;
    const canonicalOf = new Map<string, string>();
    for (const [canonical, aliases] of Object.entries(spec.keys)) {
      canonicalOf.set(canonical, canonical);
      for (const alias of aliases) canonicalOf.set(alias, canonical);
    }
    for (const key of Object.keys(table)) {
      const canonical = canonicalOf.get(key);
      if (canonical === undefined) {
        issues.add([...path, key], unknownFieldReason(key, spec));
        continue;
      }
      const earlier = this.#written.get(canonical);
      if (earlier !== undefined) {
        issues.add([...path, key], `"${key}" and "${earlier}" are the same option; set it once`);
        continue;
      }
      this.#written.set(canonical, key);
    }
  }

  /** A reader for `value` when it is a table, else records the problem and returns `undefined`. */
  static open(
    issues: ConfigIssues,
    path: KeyPath,
    value: unknown,
    spec: KeySpec,
  ): TableReader | undefined {
    if (isTable(value)) return new TableReader(issues, path, value, spec);
    issues.add(path, expected("a table", value));
    return undefined;
  }

  /** Whether the key (by canonical name) is present. */
  has(name: string): boolean {
    return this.#written.has(name);
  }

  /** Key path of `name` as written (or canonical, when absent). */
  pathOf(name: string): KeyPath {
    return [...this.path, this.#written.get(name) ?? name];
  }

  /** The raw value of `name`, `undefined` when absent. */
  raw(name: string): unknown {
    const key = this.#written.get(name);
    return key === undefined ? undefined : this.#table[key];
  }

  /** Reads `name` with `reader`; `undefined` when absent or unusable. */
  read<T>(name: string, reader: ValueReader<T>): T | undefined {
    if (!this.has(name)) return undefined;
    return reader(this.#issues, this.pathOf(name), this.raw(name));
  }

  /** A reader for the sub-table `name`, `undefined` when absent or not a table. */
  table(name: string, spec: KeySpec): TableReader | undefined {
    if (!this.has(name)) return undefined;
    return TableReader.open(this.#issues, this.pathOf(name), this.raw(name), spec);
  }

  /** Records a problem with the key `name` (or with the table itself when `name` is absent). */
  fail(name: string | undefined, reason: string): void {
    this.#issues.add(name === undefined ? this.path : this.pathOf(name), reason);
  }

  /** The issue list this reader reports to (for nested readers). */
  get issues(): ConfigIssues {
    return this.#issues;
  }
}

function unknownFieldReason(key: string, spec: KeySpec): string {
  const base = `unknown field "${key}"`;
  if (spec.unsupported?.includes(key)) {
    return `${base} (a nats-server option that Canopy does not support)`;
  }
  const suggestion = closestKey(key, Object.keys(spec.keys));
  return suggestion === undefined ? base : `${base}, did you mean "${suggestion}"?`;
}
