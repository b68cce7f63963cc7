/**
 * Subject checks for permission and deny lists in the config.
 *
 * nats-server accepts a subject, or a subject followed by one queue group name
 * ("foo.* workers") so subscribe permissions can name a queue group.
 *
 * @module
 */

import { isValidSubject } from "../protocol/subject.ts";

/**
 * `undefined` when `entry` is a valid permission subject (optionally with a
 * queue group), else nats-server's reason text.
 *
 * @example
 * ```ts
 * permissionSubjectProblem("orders.* workers"); // undefined
 * permissionSubjectProblem("a..b"); // 'subject "a..b" is not a valid subject'
 * ```
 */
export function permissionSubjectProblem(entry: string): string | undefined {
  if (isValidSubject(entry)) return undefined;
  const fields = entry.trim().split(/\s+/);
  if (fields.length !== 2) return `subject "${entry}" is not a valid subject`;
  if (!isValidSubject(fields[0])) return `subject "${fields[0]}" is not a valid subject`;
  return undefined;
}
