/**
 * Typed readers for single config values. Each takes the issue list, the key
 * path of the value and the raw parsed TOML value; it returns the converted
 * value, or `undefined` after recording why the value is unusable.
 *
 * @module
 */

import type { ConfigIssues } from "./config_issues.ts";
import { durationToMs } from "./duration.ts";
import type { KeyPath } from "./key_path.ts";
import { permissionSubjectProblem } from "./permission_subject.ts";
import { parseSizeText } from "./size.ts";

/** Reads one value; `undefined` means a problem was recorded. */
export type ValueReader<T> = (issues: ConfigIssues, path: KeyPath, value: unknown) => T | undefined;

/** A parsed TOML table (smol-toml builds them without a prototype). */
export type TomlTable = Record<string, unknown>;

/** True for TOML tables (not lists, not dates). */
export function isTable(value: unknown): value is TomlTable {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Date);
}

/** "a string", "a number", "a list", ... for "expected X, got Y" messages. */
export function describeType(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (value instanceof Date) return "a date";
  if (isTable(value)) return "a table";
  if (typeof value === "number") return "a number";
  if (typeof value === "boolean") return "a boolean";
  if (typeof value === "string") return "a string";
  return `a ${typeof value}`;
}

/** `expected <what>, got <type of value>`. */
export function expected(what: string, value: unknown): string {
  return `expected ${what}, got ${describeType(value)}`;
}

export const readString: ValueReader<string> = (issues, path, value) => {
  if (typeof value === "string") return value;
  issues.add(path, expected("a string", value));
  return undefined;
};

/** A string that must not be empty (names, paths, passwords). */
export const readNonEmptyString: ValueReader<string> = (issues, path, value) => {
  const text = readString(issues, path, value);
  if (text === "") {
    issues.add(path, "expected a non-empty string");
    return undefined;
  }
  return text;
};

export const readBoolean: ValueReader<boolean> = (issues, path, value) => {
  if (typeof value === "boolean") return value;
  issues.add(path, expected("a boolean (true or false)", value));
  return undefined;
};

/** An integer in `[min, max]`. */
export function integerReader(min: number, max: number): ValueReader<number> {
  return (issues, path, value) => {
    if (typeof value !== "number" || !Number.isInteger(value)) {
      issues.add(path, expected("an integer", value));
      return undefined;
    }
    if (value < min || value > max) {
      issues.add(path, `expected an integer between ${min} and ${max}, got ${value}`);
      return undefined;
    }
    return value;
  };
}

/**
 * A port: 0..65535, or nats-server's `-1` ("any free port"), which becomes 0
 * because that is how Deno's listeners ask the OS for a free port.
 */
export const readPort: ValueReader<number> = (issues, path, value) => {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    issues.add(path, expected("a port number", value));
    return undefined;
  }
  if (value === -1) return 0;
  if (value < 0 || value > 65535) {
    issues.add(
      path,
      `expected a port number between 0 and 65535 (or -1 for any free port), got ${value}`,
    );
    return undefined;
  }
  return value;
};

/** Options for {@link durationReader}. */
export interface DurationBounds {
  /** Allow negative values (nats-server uses them for "never expires"). */
  allowNegative?: boolean;
  /** Reject zero (intervals that must tick). */
  positive?: boolean;
}

/** A duration in milliseconds: number of seconds or a string like "2s". */
export function durationReader(bounds: DurationBounds = {}): ValueReader<number> {
  return (issues, path, value) => {
    if (typeof value !== "number" && typeof value !== "string") {
      issues.add(
        path,
        expected('a duration (seconds, or a string like "500ms", "2s", "1m")', value),
      );
      return undefined;
    }
    let ms: number;
    try {
      ms = durationToMs(value);
    } catch (error) {
      issues.add(path, (error as Error).message);
      return undefined;
    }
    if (ms < 0 && !bounds.allowNegative) {
      issues.add(path, `expected a duration that is not negative, got ${JSON.stringify(value)}`);
      return undefined;
    }
    if (ms === 0 && bounds.positive) {
      issues.add(path, "expected a duration greater than zero");
      return undefined;
    }
    return ms;
  };
}

/** A size in bytes, at least 1: integer or a string like "1MB" (nats-server suffixes). */
export const readSize: ValueReader<number> = (issues, path, value) => {
  let bytes: number;
  if (typeof value === "number" && Number.isInteger(value)) {
    bytes = value;
  } else if (typeof value === "string") {
    try {
      bytes = parseSizeText(value);
    } catch (error) {
      issues.add(path, (error as Error).message);
      return undefined;
    }
  } else {
    issues.add(path, expected('a size (bytes, or a string like "64KB", "1MB")', value));
    return undefined;
  }
  if (bytes < 1) {
    issues.add(path, `expected a size of at least 1 byte, got ${bytes}`);
    return undefined;
  }
  return bytes;
};

/** A string or a list of strings (nats-server accepts a single string for lists). */
export function stringListReader(what: string): ValueReader<string[]> {
  return (issues, path, value) => {
    if (typeof value === "string") return [value];
    if (!Array.isArray(value)) {
      issues.add(path, expected(`a list of ${what}`, value));
      return undefined;
    }
    const out: string[] = [];
    let ok = true;
    value.forEach((item, index) => {
      if (typeof item === "string") out.push(item);
      else {
        issues.add([...path, index], expected(`a list of ${what}`, item));
        ok = false;
      }
    });
    return ok ? out : undefined;
  };
}

const readSubjectStrings = stringListReader("subjects");

/** A subject or list of subjects, each checked as nats-server checks permission subjects. */
export const readSubjectList: ValueReader<string[]> = (issues, path, value) => {
  const subjects = readSubjectStrings(issues, path, value);
  if (subjects === undefined) return undefined;
  let ok = true;
  subjects.forEach((subject, index) => {
    const problem = permissionSubjectProblem(subject);
    if (problem !== undefined) {
      issues.add(typeof value === "string" ? path : [...path, index], problem);
      ok = false;
    }
  });
  return ok ? subjects : undefined;
};

/** A list whose elements are tables; returns each element with its path. */
export function readTableList(
  issues: ConfigIssues,
  path: KeyPath,
  value: unknown,
  what: string,
): { path: KeyPath; table: TomlTable }[] {
  if (!Array.isArray(value)) {
    issues.add(path, expected(`a list of ${what}`, value));
    return [];
  }
  const out: { path: KeyPath; table: TomlTable }[] = [];
  value.forEach((item, index) => {
    const itemPath = [...path, index];
    if (isTable(item)) out.push({ path: itemPath, table: item });
    else issues.add(itemPath, expected(`a table for each of the ${what}`, item));
  });
  return out;
}

/** Removes keys whose value is `undefined`, so optional fields are absent rather than present-but-empty. */
export function dropUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] === undefined) delete value[key];
  }
  return value;
}
