/**
 * Subject grammar: validation, wildcard matching, subset and overlap tests.
 *
 * A subject is a list of tokens separated by `.`. A token that is exactly `*` matches any one
 * token; a token that is exactly `>` matches one or more tokens and must be last. Anywhere else
 * `*` and `>` are ordinary characters (`foo*` is a literal token), as in nats-server.
 *
 * Behaviour verified against nats-server 2.9.10:
 * - `SUB` accepts any subject whose tokens are non-empty and where nothing follows `>`; otherwise
 *   it answers `-ERR 'Invalid Subject'` and keeps the connection ({@link isValidSubscribeSubject}).
 * - `PUB` subjects are not checked unless the client sent `"pedantic": true` in CONNECT. Then a
 *   subject with an empty or wildcard token gets `-ERR 'Invalid Publish Subject'`, but the
 *   message is still routed ({@link publishSubjectError}).
 * - When a subject that contains `*` or `>` tokens is published (non-pedantic), those tokens are
 *   routed as plain tokens: `PUB foo.>` reaches subscriptions `foo.*`, `foo.>` and `>`, never
 *   `foo.bar`. A subject with an empty token reaches nobody.
 *
 * @module
 */

const DOT = 46; // "."
const STAR = 42; // "*"
const GT = 62; // ">"

/** `-ERR` text nats-server sends when `SUB` carries a subject it cannot index. */
export const INVALID_SUBJECT_ERROR = "Invalid Subject";
/** `-ERR` text nats-server sends to pedantic clients that publish to a non-literal subject. */
export const INVALID_PUBLISH_SUBJECT_ERROR = "Invalid Publish Subject";

/** Where nats-server's checks depend on the client's CONNECT options. */
export interface SubjectCheckOptions {
  /**
   * The client's CONNECT `pedantic` flag. Most clients send `false`, and then nats-server does
   * not check published subjects at all.
   */
  pedantic: boolean;
}

/** The whitespace nats-server rejects inside subjects (note: not `\v`). */
function isSubjectWhitespace(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 12 || code === 13;
}

/** True when the token `subject[start, end)` is exactly one wildcard character. */
function isWildcardToken(subject: string, start: number, end: number): boolean {
  if (end - start !== 1) return false;
  const code = subject.charCodeAt(start);
  return code === STAR || code === GT;
}

/**
 * Shared scan for the validity checks. Returns false on an empty subject or token, on anything
 * after a `>` token, on whitespace when `rejectWhitespace`, and on wildcard tokens when
 * `rejectWildcards`.
 */
function scanSubject(
  subject: string,
  rejectWhitespace: boolean,
  rejectWildcards: boolean,
): boolean {
  const length = subject.length;
  if (length === 0) return false;
  let tokenStart = 0;
  let afterFullWildcard = false;
  for (let i = 0; i <= length; i++) {
    const code = i < length ? subject.charCodeAt(i) : DOT;
    if (code === DOT) {
      if (i === tokenStart || afterFullWildcard) return false;
      if (isWildcardToken(subject, tokenStart, i)) {
        if (rejectWildcards) return false;
        if (subject.charCodeAt(tokenStart) === GT) afterFullWildcard = true;
      }
      tokenStart = i + 1;
    } else if (rejectWhitespace && isSubjectWhitespace(code)) {
      return false;
    }
  }
  return true;
}

/**
 * nats-server's `IsValidSubject`: non-empty tokens, no whitespace (space, `\t`, `\n`, `\f`,
 * `\r`), `>` only as the last token. Wildcards are allowed.
 *
 * @example
 * ```ts
 * isValidSubject("orders.*.created"); // true
 * isValidSubject("orders.>.x"); // false
 * ```
 */
export function isValidSubject(subject: string): boolean {
  return scanSubject(subject, true, false);
}

/**
 * A valid subject without wildcard tokens (strict: whitespace is rejected too; nats-server's
 * own `IsValidLiteralSubject` skips the whitespace check, which {@link publishSubjectError}
 * reproduces for the wire).
 *
 * @example
 * ```ts
 * isValidLiteralSubject("orders.42"); // true
 * isValidLiteralSubject("orders.*"); // false
 * ```
 */
export function isValidLiteralSubject(subject: string): boolean {
  return scanSubject(subject, true, true);
}

/**
 * nats-server's `IsValidPublishSubject`: a valid literal subject. Use it to validate subjects
 * from configuration; for `PUB` on the wire use {@link publishSubjectError}.
 *
 * @example
 * ```ts
 * isValidPublishSubject("_INBOX.abc"); // true
 * ```
 */
export function isValidPublishSubject(subject: string): boolean {
  return scanSubject(subject, true, true);
}

/**
 * What `SUB` (and the subscription index) accepts, identical in pedantic and non-pedantic mode:
 * non-empty tokens and nothing after `>`. Whitespace is not checked because the protocol
 * parser never leaves space or tab in a subject.
 *
 * @example
 * ```ts
 * isValidSubscribeSubject("foo.>"); // true
 * isValidSubscribeSubject("foo..bar"); // false
 * ```
 */
export function isValidSubscribeSubject(subject: string): boolean {
  return scanSubject(subject, false, false);
}

/**
 * The `-ERR` text nats-server 2.9.10 sends for a `PUB`/`HPUB` subject, or undefined when it
 * sends none. Non-pedantic clients are never told; pedantic clients are told about empty and
 * wildcard tokens. Either way nats-server still routes the message.
 *
 * @example
 * ```ts
 * publishSubjectError("foo.*", { pedantic: true }); // "Invalid Publish Subject"
 * publishSubjectError("foo.*", { pedantic: false }); // undefined
 * ```
 */
export function publishSubjectError(
  subject: string,
  options: SubjectCheckOptions,
): string | undefined {
  if (!options.pedantic || scanSubject(subject, false, true)) return undefined;
  return INVALID_PUBLISH_SUBJECT_ERROR;
}

/**
 * A queue group name that can travel in `SUB`/`LS+`: non-empty, no whitespace. nats-server
 * itself never validates queue names (its parser splits on whitespace); `.`, `*` and `>` are
 * allowed and are plain characters here. Permission entries may use wildcard queue names as
 * patterns.
 *
 * @example
 * ```ts
 * isValidQueueName("workers"); // true
 * isValidQueueName("bad name"); // false
 * ```
 */
export function isValidQueueName(queue: string): boolean {
  if (queue.length === 0) return false;
  for (let i = 0; i < queue.length; i++) {
    const code = queue.charCodeAt(i);
    if (isSubjectWhitespace(code) || code === 11) return false;
  }
  return true;
}

/**
 * True when some token is exactly `*` or `>`. Does not validate.
 *
 * @example
 * ```ts
 * subjectHasWildcard("foo.*"); // true
 * subjectHasWildcard("foo*"); // false
 * ```
 */
export function subjectHasWildcard(subject: string): boolean {
  const length = subject.length;
  let tokenStart = 0;
  for (let i = 0; i <= length; i++) {
    if (i === length || subject.charCodeAt(i) === DOT) {
      if (isWildcardToken(subject, tokenStart, i)) return true;
      tokenStart = i + 1;
    }
  }
  return false;
}

/** True when `subject` starts or ends with `.` or has `..`: such subjects reach no one. */
function hasEmptyToken(subject: string): boolean {
  const length = subject.length;
  if (length === 0) return true;
  if (subject.charCodeAt(0) === DOT || subject.charCodeAt(length - 1) === DOT) return true;
  return subject.includes("..");
}

/**
 * Whether a message published on `literalSubject` reaches a subscription on `pattern`, exactly
 * as the subscription index routes it: wildcard tokens in `literalSubject` are plain tokens
 * (matched only by a `*`/`>` in the pattern), and a subject with an empty token matches nothing.
 *
 * @example
 * ```ts
 * subjectMatches("orders.*", "orders.42"); // true
 * subjectMatches("orders.>", "orders"); // false
 * ```
 */
export function subjectMatches(pattern: string, literalSubject: string): boolean {
  if (hasEmptyToken(literalSubject)) return false;
  const patternLength = pattern.length;
  const literalLength = literalSubject.length;
  let p = 0;
  let l = 0;
  for (;;) {
    let patternEnd = pattern.indexOf(".", p);
    if (patternEnd < 0) patternEnd = patternLength;
    let literalEnd = literalSubject.indexOf(".", l);
    if (literalEnd < 0) literalEnd = literalLength;
    const tokenLength = patternEnd - p;
    if (tokenLength === 1 && pattern.charCodeAt(p) === GT && patternEnd === patternLength) {
      return true; // `>` takes this token and all that follow; at least one is left here
    }
    if (!(tokenLength === 1 && pattern.charCodeAt(p) === STAR)) {
      if (literalEnd - l !== tokenLength) return false;
      for (let i = 0; i < tokenLength; i++) {
        if (pattern.charCodeAt(p + i) !== literalSubject.charCodeAt(l + i)) return false;
      }
    }
    const patternDone = patternEnd === patternLength;
    const literalDone = literalEnd === literalLength;
    if (patternDone || literalDone) return patternDone && literalDone;
    p = patternEnd + 1;
    l = literalEnd + 1;
  }
}

/**
 * True when every literal subject `subject` matches is also matched by `pattern`, as used for
 * permission checks of wildcard subscriptions. Both may contain wildcards; the result equals
 * nats-server's `isSubsetMatch`.
 *
 * @example
 * ```ts
 * subjectIsSubsetOf("foo.*", "foo.>"); // true
 * subjectIsSubsetOf("foo.>", "foo.*"); // false
 * ```
 */
export function subjectIsSubsetOf(subject: string, pattern: string): boolean {
  const inner = subject.split(".");
  const outer = pattern.split(".");
  for (let i = 0; i < outer.length; i++) {
    const outerToken = outer[i];
    if (i >= inner.length || outerToken.length === 0) return false;
    const innerToken = inner[i];
    if (innerToken.length === 0) return false;
    if (outerToken === ">") return true; // the rest of `subject` covers one or more tokens
    if (innerToken === ">") return false; // unbounded inside bounded
    if (outerToken === "*") continue;
    if (innerToken === "*" || innerToken !== outerToken) return false;
  }
  return inner.length === outer.length;
}

/**
 * True when at least one literal subject matches both `a` and `b` (nats-server's
 * `SubjectsCollide`). Used to decide whether a wildcard subscription overlaps a deny entry.
 *
 * @example
 * ```ts
 * subjectsCollide("foo.*", "*.bar"); // true (foo.bar)
 * subjectsCollide("foo.>", "foo"); // false
 * ```
 */
export function subjectsCollide(a: string, b: string): boolean {
  const left = a.split(".");
  const right = b.split(".");
  const shorter = Math.min(left.length, right.length);
  for (let i = 0; i < shorter; i++) {
    const l = left[i];
    const r = right[i];
    if (l.length === 0 || r.length === 0) return false;
    // `>` is last in a valid subject and matches any non-empty tail, which the other side has.
    if (l === ">" || r === ">") return true;
    if (l !== "*" && r !== "*" && l !== r) return false;
  }
  return left.length === right.length;
}
