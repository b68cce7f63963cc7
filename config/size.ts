/**
 * Byte sizes in the config: an integer number of bytes or a string with a
 * suffix, with nats-server's meaning for each suffix (its config lexer):
 * `k`/`m`/`g`/`t`/`p`/`e` are powers of 1000, `kb`/`ki`/`kib` (and so on for
 * the other letters) are powers of 1024. Case does not matter.
 *
 * @module
 */

const SUFFIX_FACTOR: Readonly<Record<string, number>> = (() => {
  const table: Record<string, number> = { "": 1 };
  const letters = ["k", "m", "g", "t", "p", "e"];
  letters.forEach((letter, n) => {
    table[letter] = 1000 ** (n + 1);
    for (const binary of [`${letter}b`, `${letter}i`, `${letter}ib`]) {
      table[binary] = 1024 ** (n + 1);
    }
  });
  return table;
})();

/**
 * Parses `"64KB"` (65536), `"1MB"` (1048576), `"1k"` (1000) or `"123"` into bytes.
 * Throws `RangeError` when the text is not a size or does not fit exactly.
 *
 * @example
 * ```ts
 * parseSizeText("1MB"); // 1048576
 * ```
 */
export function parseSizeText(text: string): number {
  const match = /^(\d+)\s*([a-z]*)$/i.exec(text.trim());
  const factor = match === null ? undefined : SUFFIX_FACTOR[match[2].toLowerCase()];
  if (match === null || factor === undefined) {
    throw new RangeError(
      `Invalid size "${text}" (use bytes or a suffix like "64KB", "1MB", "1GB")`,
    );
  }
  const bytes = Number(match[1]) * factor;
  if (!Number.isSafeInteger(bytes)) throw new RangeError(`Size "${text}" is out of range`);
  return bytes;
}
