/**
 * A Markdown-style text table with padded columns, as the benchmark prints its results.
 *
 * @example
 * ```ts
 * import { formatTable } from "./text_table.ts";
 * const lines = formatTable(["target", "msgs/s"], [["canopy", "1,000"]], { leftColumns: 1 });
 * console.log(lines.join("\n"));
 * // | target | msgs/s |
 * // |--------|--------|
 * // | canopy |  1,000 |
 * ```
 *
 * @module
 */

/** Options for `formatTable()`. */
export interface TableOptions {
  /** How many leading columns hold text (left-aligned); the rest are numbers (right-aligned). */
  leftColumns: number;
}

function tableRow(cells: readonly string[], widths: readonly number[], leftColumns: number) {
  const padded = cells.map((cell, index) =>
    index < leftColumns ? cell.padEnd(widths[index]) : cell.padStart(widths[index])
  );
  return `| ${padded.join(" | ")} |`;
}

/** Renders a header row, a rule and `rows`, each column as wide as its widest cell. */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  options: TableOptions,
): string[] {
  const widths = headers.map((title, index) =>
    Math.max(title.length, ...rows.map((row) => (row[index] ?? "").length))
  );
  return [
    tableRow(headers, widths, options.leftColumns),
    `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`,
    ...rows.map((row) => tableRow(row, widths, options.leftColumns)),
  ];
}
