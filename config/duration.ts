/**
 * Duration values in the config: a number of seconds (fractions allowed) or a
 * Go-style string such as `"500ms"`, `"2s"`, `"1m30s"`, the form nats-server
 * accepts (Go's `time.ParseDuration`).
 *
 * @module
 */

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3, // U+00B5 micro sign
  "μs": 1e-3, // U+03BC Greek mu, both accepted by Go
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /(\d+(?:\.\d*)?|\.\d+)([a-zµμ]*)/y;

/**
 * Parses a Go-style duration string into milliseconds (fractional below 1 ms).
 * Throws `RangeError` with a readable reason when the text is not a duration.
 *
 * @example
 * ```ts
 * parseDurationText("1m30s"); // 90000
 * parseDurationText("500ms"); // 500
 * ```
 */
export function parseDurationText(text: string): number {
  let i = 0;
  let sign = 1;
  if (text[0] === "-" || text[0] === "+") {
    sign = text[0] === "-" ? -1 : 1;
    i = 1;
  }
  // Go allows a bare zero without a unit, and nothing else without one.
  if (text.slice(i) === "0") return 0;
  if (i === text.length) throw new RangeError(`Invalid duration "${text}"`);
  let total = 0;
  while (i < text.length) {
    PART.lastIndex = i;
    const match = PART.exec(text);
    if (match === null) throw new RangeError(`Invalid duration "${text}"`);
    const [whole, amount, unit] = match;
    if (unit === "") {
      throw new RangeError(`Invalid duration "${text}": missing unit (use ns, us, ms, s, m or h)`);
    }
    const scale = UNIT_MS[unit];
    if (scale === undefined) {
      throw new RangeError(
        `Invalid duration "${text}": unknown unit "${unit}" (use ns, us, ms, s, m or h)`,
      );
    }
    total += Number(amount) * scale;
    i += whole.length;
  }
  return sign * total;
}

/**
 * A config duration (number of seconds or duration string) in milliseconds.
 * Throws `TypeError` for other types and `RangeError` for bad strings.
 *
 * @example
 * ```ts
 * durationToMs(1.5); // 1500
 * durationToMs("2m"); // 120000
 * ```
 */
export function durationToMs(value: unknown): number {
  if (typeof value === "number" && Number.isFinite(value)) return value * 1000;
  if (typeof value === "string") return parseDurationText(value.trim());
  throw new TypeError("Expected a duration");
}
