/**
 * Finds where a key path is written in TOML source text.
 *
 * smol-toml gives positions only for syntax errors, not for values, so this
 * walks the (already validated) text once, following `[table]` and
 * `[[array]]` headers, dotted keys, inline tables and arrays, and remembers
 * the offset of every key and list element it meets. A lookup for a path that
 * was never written (a missing key) falls back to the nearest written
 * ancestor, usually the table header.
 *
 * @module
 */

import { formatKeyPath, type KeyPath } from "./key_path.ts";

/** A 1-based line and column. */
export interface SourcePosition {
  line: number;
  column: number;
}

/**
 * Index of key positions in one TOML text.
 *
 * @example
 * ```ts
 * const locator = new KeyLocator('port = 1\n[leafnodes]\nport = 2\n');
 * locator.locate(["leafnodes", "port"]); // { line: 3, column: 1 }
 * ```
 */
export class KeyLocator {
  readonly #text: string;
  readonly #offsets = new Map<string, number>();
  /** Length of each array of tables seen so far, by formatted path. */
  readonly #arrayTables = new Map<string, number>();
  #lineStarts: number[] | undefined;
  #i = 0;

  constructor(text: string) {
    this.#text = text;
    try {
      this.#scanDocument();
    } catch {
      // Best effort: whatever was recorded before a surprise stays usable.
    }
  }

  /** Position of `path`, or of its nearest ancestor that is written in the text. */
  locate(path: KeyPath): SourcePosition {
    for (let n = path.length; n > 0; n--) {
      const offset = this.#offsets.get(formatKeyPath(path.slice(0, n)));
      if (offset !== undefined) return this.#position(offset);
    }
    return { line: 1, column: 1 };
  }

  #position(offset: number): SourcePosition {
    const starts = this.#lineStarts ??= lineStarts(this.#text);
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid] <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: offset - starts[low] + 1 };
  }

  #record(path: KeyPath, offset: number, overwrite: boolean): void {
    const key = formatKeyPath(path);
    if (overwrite || !this.#offsets.has(key)) this.#offsets.set(key, offset);
  }

  #scanDocument(): void {
    const text = this.#text;
    let table: KeyPath = [];
    while (this.#i < text.length) {
      this.#skipBlank(true);
      if (this.#i >= text.length) break;
      const start = this.#i;
      if (text[this.#i] === "[") {
        const isArray = text[this.#i + 1] === "[";
        this.#i += isArray ? 2 : 1;
        const keys = this.#readKey();
        this.#i += isArray ? 2 : 1;
        table = this.#enterHeader(keys.map((k) => k.name), start, isArray);
      } else {
        this.#readKeyValue(table);
      }
      this.#skipToLineEnd();
    }
  }

  /** Resolves a header to a concrete path (indexes for arrays of tables) and records it. */
  #enterHeader(names: string[], offset: number, isArray: boolean): KeyPath {
    const path: (string | number)[] = [];
    for (let n = 0; n < names.length; n++) {
      path.push(names[n]);
      const last = n === names.length - 1;
      const count = this.#arrayTables.get(formatKeyPath(path));
      if (last && isArray) {
        this.#record(path, offset, false);
        const index = count ?? 0;
        this.#arrayTables.set(formatKeyPath(path), index + 1);
        path.push(index);
        this.#record(path, offset, true);
      } else {
        if (count !== undefined) path.push(count - 1);
        this.#record(path, offset, last);
      }
    }
    return path;
  }

  #readKeyValue(table: KeyPath): void {
    const keys = this.#readKey();
    const path = [...table];
    for (const key of keys) {
      path.push(key.name);
      this.#record(path, key.offset, false);
    }
    this.#skipSpaces();
    if (this.#text[this.#i] === "=") this.#i++;
    this.#skipSpaces();
    this.#readValue(path);
  }

  /** Reads `a."b".'c'` and returns each part with its offset. */
  #readKey(): { name: string; offset: number }[] {
    const text = this.#text;
    const parts: { name: string; offset: number }[] = [];
    for (;;) {
      this.#skipSpaces();
      const offset = this.#i;
      const c = text[this.#i];
      let name: string;
      if (c === '"') {
        const end = this.#endOfBasicString(this.#i + 1);
        name = decodeBasicString(text.slice(this.#i, end));
        this.#i = end;
      } else if (c === "'") {
        const end = text.indexOf("'", this.#i + 1);
        name = text.slice(this.#i + 1, end);
        this.#i = end + 1;
      } else {
        const start = this.#i;
        while (this.#i < text.length && /[A-Za-z0-9_-]/.test(text[this.#i])) this.#i++;
        name = text.slice(start, this.#i);
      }
      parts.push({ name, offset });
      this.#skipSpaces();
      if (text[this.#i] !== ".") return parts;
      this.#i++;
    }
  }

  #readValue(path: KeyPath): void {
    const text = this.#text;
    const c = text[this.#i];
    if (c === "{") {
      this.#i++;
      for (;;) {
        this.#skipBlank(true);
        if (this.#i >= text.length || text[this.#i] === "}") break;
        this.#readKeyValue(path);
        this.#skipBlank(true);
        if (text[this.#i] === ",") this.#i++;
      }
      this.#i++;
    } else if (c === "[") {
      this.#i++;
      for (let index = 0;; index++) {
        this.#skipBlank(true);
        if (this.#i >= text.length || text[this.#i] === "]") break;
        const element = [...path, index];
        this.#record(element, this.#i, false);
        this.#readValue(element);
        this.#skipBlank(true);
        if (text[this.#i] === ",") this.#i++;
      }
      this.#i++;
    } else if (text.startsWith('"""', this.#i)) {
      this.#i = this.#endOfMultiline('"""', this.#i + 3, true);
    } else if (text.startsWith("'''", this.#i)) {
      this.#i = this.#endOfMultiline("'''", this.#i + 3, false);
    } else if (c === '"') {
      this.#i = this.#endOfBasicString(this.#i + 1);
    } else if (c === "'") {
      this.#i = text.indexOf("'", this.#i + 1) + 1;
    } else {
      while (this.#i < text.length && !",]}#\r\n".includes(text[this.#i])) this.#i++;
    }
  }

  /** Offset just after the closing quote of a `"..."` string whose body starts at `from`. */
  #endOfBasicString(from: number): number {
    const text = this.#text;
    let i = from;
    while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    return i + 1;
  }

  #endOfMultiline(delimiter: string, from: number, escapes: boolean): number {
    const text = this.#text;
    let i = from;
    while (i < text.length && !text.startsWith(delimiter, i)) {
      i += escapes && text[i] === "\\" ? 2 : 1;
    }
    i += 3;
    // Up to two quotes right before the delimiter belong to the content.
    for (let extra = 0; extra < 2 && text[i] === delimiter[0]; extra++) i++;
    return i;
  }

  #skipSpaces(): void {
    while (this.#text[this.#i] === " " || this.#text[this.#i] === "\t") this.#i++;
  }

  /** Skips spaces, comments and (when `newlines`) line breaks. */
  #skipBlank(newlines: boolean): void {
    const text = this.#text;
    while (this.#i < text.length) {
      const c = text[this.#i];
      if (c === " " || c === "\t") this.#i++;
      else if (newlines && (c === "\n" || c === "\r")) this.#i++;
      else if (c === "#") this.#skipToLineEnd();
      else return;
    }
  }

  #skipToLineEnd(): void {
    const end = this.#text.indexOf("\n", this.#i);
    this.#i = end === -1 ? this.#text.length : end + 1;
  }
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

function decodeBasicString(quoted: string): string {
  try {
    return JSON.parse(quoted);
  } catch {
    return quoted.slice(1, -1);
  }
}
