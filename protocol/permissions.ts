/**
 * Per-connection publish/subscribe permissions, response permissions (`allow_responses`), and
 * the exact `-ERR` texts nats-server sends for violations.
 *
 * Behaviour follows nats-server 2.9.10, probed on the binary, with two deliberate differences
 * that only ever refuse more, never less:
 * - A subscription must lie within an allow entry (`foo.*` under `foo.>`). nats-server 2.9.10
 *   also accepts `SUB foo.>` under an allow of `foo.*` and then delivers `foo.a.b` to it.
 * - A plain deny entry always wins. nats-server 2.9.10 lets a queue subscription through when
 *   the deny list holds both `dd` and `dd bad` and the queue is not `bad` (`SUB dd ok` passes).
 *
 * @module
 */

import type { PermissionsOptions, ResponsePermissionOptions } from "../config/options.ts";
import { subjectHasWildcard, subjectIsSubsetOf, subjectMatches } from "./subject.ts";
import { SubscriptionIndex } from "./sublist.ts";

/**
 * Queue group reserved for the system account. nats-server rejects `SUB <subject> _sys_` from
 * every client connection, with or without permissions, as a subscribe violation.
 */
export const SYSTEM_QUEUE_GROUP = "_sys_";

/** nats-server's `DEFAULT_ALLOW_RESPONSE_MAX_MSGS`, used when `maxMsgs` is 0. */
export const DEFAULT_RESPONSE_MAX_MSGS = 1;
/** nats-server's `DEFAULT_ALLOW_RESPONSE_EXPIRATION` (2 minutes), used when `expiresMs` is 0. */
export const DEFAULT_RESPONSE_EXPIRES_MS = 120_000;

/**
 * Tracked replies above which stale ones are swept (nats-server's `replyPermLimit`). Live
 * entries are never dropped, so a reply stays allowed however many requests arrive.
 */
const REPLY_SWEEP_THRESHOLD = 4096;
/**
 * Cached verdicts per connection. nats-server keeps 128; a little more keeps the hit rate up for
 * clients that publish over a few hundred subjects while staying small per connection.
 */
const VERDICT_CACHE_SIZE = 256;

/** Formats like Go's `%q` for the texts nats-server builds with `fmt.Sprintf`. */
function goQuote(value: string): string {
  let out = '"';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (char === '"' || char === "\\") out += "\\" + char;
    else if (code >= 0x20 && code < 0x7f) out += char;
    else if (code === 7) out += "\\a";
    else if (code === 8) out += "\\b";
    else if (code === 9) out += "\\t";
    else if (code === 10) out += "\\n";
    else if (code === 11) out += "\\v";
    else if (code === 12) out += "\\f";
    else if (code === 13) out += "\\r";
    else if (code < 0x20 || code === 0x7f) out += "\\x" + code.toString(16).padStart(2, "0");
    else if (code >= 0x80 && code < 0xa0) out += "\\u" + code.toString(16).padStart(4, "0");
    else out += char;
  }
  return out + '"';
}

/**
 * `-ERR` text for a refused publish (sent as `-ERR '<text>'`; the connection stays open).
 *
 * @example
 * ```ts
 * publishViolation("orders.new"); // 'Permissions Violation for Publish to "orders.new"'
 * ```
 */
export function publishViolation(subject: string): string {
  return `Permissions Violation for Publish to ${goQuote(subject)}`;
}

/**
 * `-ERR` text for a refused subscription, with nats-server's queue form when `queue` is set.
 *
 * @example
 * ```ts
 * subscribeViolation("jobs", "workers");
 * // 'Permissions Violation for Subscription to "jobs" using queue "workers"'
 * ```
 */
export function subscribeViolation(subject: string, queue?: string): string {
  const text = `Permissions Violation for Subscription to ${goQuote(subject)}`;
  return queue ? `${text} using queue ${goQuote(queue)}` : text;
}

/**
 * `-ERR` text nats-server sends when a client publishes with a reserved reply subject
 * (`_R_.` service import replies, `$JS.ACK.`, `$GNR.`).
 *
 * @example
 * ```ts
 * replyViolation("_R_.abc"); // 'Permissions Violation for Publish with Reply of "_R_.abc"'
 * ```
 */
export function replyViolation(reply: string): string {
  return `Permissions Violation for Publish with Reply of ${goQuote(reply)}`;
}

/** Thrown by {@link Permissions.compile} for an entry nats-server's config loader rejects. */
export class InvalidPermissionError extends RangeError {
  override name = "InvalidPermissionError";
  constructor(entry: string, options?: ErrorOptions) {
    // nats-server: `subject %q is not a valid subject`
    super(`Cannot compile permissions: subject ${goQuote(entry)} is not a valid subject`, options);
  }
}

interface PermissionEntry {
  subject: string;
  queue?: string;
}

/** Parses "subject" or "subject queue" the way nats-server's config loader checks them. */
function parseEntry(entry: string): PermissionEntry {
  const fields = entry.trim().split(/\s+/);
  const valid = (subject: string) => isIndexable(subject) && !/[\t\n\f\r ]/.test(subject);
  if (fields.length === 1 && valid(fields[0])) return { subject: fields[0] };
  if (fields.length === 2 && valid(fields[0])) return { subject: fields[0], queue: fields[1] };
  throw new InvalidPermissionError(entry);
}

function isIndexable(subject: string): boolean {
  const tokens = subject.split(".");
  return tokens.every((token, i) => token.length > 0 && (token !== ">" || i === tokens.length - 1));
}

/** True when `queue` is named by a permission entry's queue, literally or as a wildcard pattern. */
function queueMatches(queue: string, entryQueue: string): boolean {
  return queue === entryQueue ||
    (subjectHasWildcard(entryQueue) && subjectIsSubsetOf(queue, entryQueue));
}

/** Bounded memo of boolean verdicts; the oldest go first. */
class VerdictCache {
  #verdicts = new Map<string, boolean>();
  get(key: string): boolean | undefined {
    return this.#verdicts.get(key);
  }
  set(key: string, verdict: boolean): void {
    if (this.#verdicts.size >= VERDICT_CACHE_SIZE) {
      // Drop the oldest quarter in one pass: one delete per insert would leave deleted slots
      // at the front of the Map for every later eviction to scan.
      let drop = VERDICT_CACHE_SIZE >> 2;
      for (const old of this.#verdicts.keys()) {
        this.#verdicts.delete(old);
        if (--drop === 0) break;
      }
    }
    this.#verdicts.set(key, verdict);
  }
}

/** A list of publish subjects, matched through an uncached index (the verdicts are cached). */
function publishIndex(subjects: string[]): SubscriptionIndex<PermissionEntry> {
  const index = new SubscriptionIndex<PermissionEntry>({ cacheSize: 0 });
  for (const raw of subjects) {
    const entry = parseEntry(raw);
    // nats-server indexes "subject queue" publish entries as one odd literal that no published
    // subject can equal (subjects carry no spaces), so they never match: skip them.
    if (entry.queue === undefined) index.insert(entry);
  }
  return index;
}

/**
 * Reply subjects this connection may answer although its publish permissions do not list them
 * (nats-server's `allow_responses`). Time comes from `now` (milliseconds), so tests need no
 * timers.
 *
 * @example
 * ```ts
 * let t = 0;
 * const responses = new ResponsePermissions({ maxMsgs: 1, expiresMs: 1000 }, () => t);
 * responses.track("_INBOX.a"); // a request with reply _INBOX.a was delivered
 * responses.consume("_INBOX.a"); // true: the one reply
 * responses.consume("_INBOX.a"); // false
 * ```
 */
export class ResponsePermissions {
  #replies = new Map<string, { trackedAt: number; sent: number }>();
  #maxMsgs: number;
  #expiresMs: number;
  #now: () => number;
  #sweepAbove = REPLY_SWEEP_THRESHOLD;

  /**
   * `maxMsgs`/`expiresMs` of 0 take nats-server's defaults (1 reply, 2 minutes); negative
   * values mean no limit.
   */
  constructor(options: ResponsePermissionOptions, now: () => number) {
    this.#maxMsgs = options.maxMsgs === 0 ? DEFAULT_RESPONSE_MAX_MSGS : options.maxMsgs;
    this.#expiresMs = options.expiresMs === 0 ? DEFAULT_RESPONSE_EXPIRES_MS : options.expiresMs;
    this.#now = now;
  }

  /** Replies currently tracked (including stale ones not yet swept). */
  get size(): number {
    return this.#replies.size;
  }

  /** Call when a message with reply subject `reply` is delivered to this connection. */
  track(reply: string): void {
    this.#replies.set(reply, { trackedAt: this.#now(), sent: 0 });
    if (this.#replies.size > this.#sweepAbove) this.#sweep();
  }

  /**
   * Call when the connection publishes to `subject` that its publish permissions refuse.
   * Counts one reply and returns whether it is allowed.
   */
  consume(subject: string): boolean {
    const entry = this.#replies.get(subject);
    if (entry === undefined) return false;
    entry.sent++;
    if (this.#maxMsgs > 0 && entry.sent > this.#maxMsgs) {
      this.#replies.delete(subject);
      return false;
    }
    if (this.#expiresMs > 0 && this.#now() - entry.trackedAt > this.#expiresMs) {
      this.#replies.delete(subject);
      return false;
    }
    // Used up: forget it now rather than on the next, refused, attempt.
    if (entry.sent === this.#maxMsgs) this.#replies.delete(subject);
    return true;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [reply, entry] of this.#replies) {
      const usedUp = this.#maxMsgs > 0 && entry.sent >= this.#maxMsgs;
      const expired = this.#expiresMs > 0 && now - entry.trackedAt > this.#expiresMs;
      if (usedUp || expired) this.#replies.delete(reply);
    }
    // Sweep again only after as many new entries, so tracking stays O(1) amortised when most
    // entries are live.
    this.#sweepAbove = Math.max(REPLY_SWEEP_THRESHOLD, this.#replies.size * 2);
  }
}

/** Options for {@link Permissions.compile}. */
export interface PermissionsCompileOptions {
  /** Clock for response permissions, in milliseconds. Default `Date.now`. */
  now?: () => number;
  /**
   * For leafnode connections: a wildcard subscription broader than the allow list is accepted
   * (as nats-server does), because deliveries to a leaf are filtered by publish permissions.
   */
  leaf?: boolean;
}

/**
 * Compiled permissions of one connection.
 *
 * @example
 * ```ts
 * const perms = Permissions.compile({
 *   publish: { allow: ["orders.>"] },
 *   subscribe: { allow: ["orders.*"], deny: ["orders.secret"] },
 * })!;
 * perms.canPublish("orders.new"); // true
 * perms.canSubscribe("orders.*"); // true
 * perms.deliveryDenied("orders.secret"); // true: filtered at delivery
 * ```
 */
export class Permissions {
  #publishAllow: SubscriptionIndex<PermissionEntry> | undefined;
  #publishDeny: SubscriptionIndex<PermissionEntry> | undefined;
  #publishVerdicts = new VerdictCache();
  #subscribeAllow: PermissionEntry[] | undefined;
  #subscribeDeny: PermissionEntry[] | undefined;
  #deliveryDeny: SubscriptionIndex<PermissionEntry> | undefined;
  #deliveryVerdicts = new VerdictCache();
  #responses: ResponsePermissions | undefined;
  #leaf: boolean;

  private constructor(opts: PermissionsOptions, options: PermissionsCompileOptions) {
    const publish = opts.publish;
    const responses = opts.allowResponses;
    // As nats-server: an empty list is no list, except that allow_responses without a publish
    // allow list turns the blanket publish allow off.
    if ((publish?.allow?.length ?? 0) > 0 || responses !== undefined) {
      this.#publishAllow = publishIndex(publish?.allow ?? []);
    }
    if ((publish?.deny?.length ?? 0) > 0) this.#publishDeny = publishIndex(publish!.deny!);
    const subscribe = opts.subscribe;
    if ((subscribe?.allow?.length ?? 0) > 0) {
      this.#subscribeAllow = subscribe!.allow!.map(parseEntry);
    }
    if ((subscribe?.deny?.length ?? 0) > 0) {
      this.#subscribeDeny = subscribe!.deny!.map(parseEntry);
      this.#deliveryDeny = new SubscriptionIndex<PermissionEntry>({ cacheSize: 0 });
      for (const entry of this.#subscribeDeny) this.#deliveryDeny.insert(entry);
    }
    if (responses !== undefined) {
      this.#responses = new ResponsePermissions(responses, options.now ?? Date.now);
    }
    this.#leaf = options.leaf ?? false;
  }

  /**
   * Compiles `opts`; undefined means everything is allowed (no options, or only empty lists).
   * @throws {InvalidPermissionError} for an entry that is neither a subject nor "subject queue"
   */
  static compile(
    opts?: PermissionsOptions,
    options: PermissionsCompileOptions = {},
  ): Permissions | undefined {
    if (opts === undefined) return undefined;
    const permissions = new Permissions(opts, options);
    if (
      permissions.#publishAllow === undefined && permissions.#publishDeny === undefined &&
      permissions.#subscribeAllow === undefined && permissions.#subscribeDeny === undefined
    ) return undefined;
    return permissions;
  }

  /** Response bookkeeping when `allowResponses` is set: `track()` replies on delivery. */
  get responses(): ResponsePermissions | undefined {
    return this.#responses;
  }

  /** Whether {@link deliveryDenied} can ever return true (a subscribe deny list exists). */
  get filtersDeliveries(): boolean {
    return this.#deliveryDeny !== undefined;
  }

  /**
   * Whether the connection may publish to `subject`. Static verdicts are cached; when they
   * refuse and `allowResponses` is set, the publish counts against a tracked reply instead.
   */
  canPublish(subject: string): boolean {
    const cached = this.#publishVerdicts.get(subject);
    if (cached === true) return true;
    if (cached === undefined) {
      const allowed =
        (this.#publishAllow === undefined || this.#publishAllow.hasInterest(subject)) &&
        (this.#publishDeny === undefined || !this.#publishDeny.hasInterest(subject));
      this.#publishVerdicts.set(subject, allowed);
      if (allowed) return true;
    }
    return this.#responses !== undefined && this.#responses.consume(subject);
  }

  /**
   * Whether `SUB subject [queue]` is allowed:
   * - with an allow list, the subject must lie within a plain allow entry; if queue-qualified
   *   entries ("subject queue") cover the subject, a queue subscription must name one of their
   *   queues (wildcard queue patterns allowed), and a plain entry is then not enough;
   * - a plain deny entry that matches the subject refuses it (`foo.>` is refused by `foo.*`,
   *   as in nats-server); a queue-qualified deny entry refuses that queue.
   *
   * A wildcard subscription that merely overlaps a deny entry is allowed; those subjects are
   * filtered per message with {@link deliveryDenied}.
   */
  canSubscribe(subject: string, queue?: string): boolean {
    return this.#allowedBySubscribeAllow(subject, queue) &&
      !this.#refusedBySubscribeDeny(subject, queue);
  }

  /**
   * Whether a message on the literal `subject` must not be delivered to this connection
   * (subscription `queue`, if any), because a subscribe deny entry covers it. Needed because
   * an allowed wildcard subscription can overlap deny entries. Cached per subject.
   */
  deliveryDenied(subject: string, queue?: string): boolean {
    const index = this.#deliveryDeny;
    if (index === undefined) return false;
    const key = queue ? `${subject} ${queue}` : subject;
    const cached = this.#deliveryVerdicts.get(key);
    if (cached !== undefined) return cached;
    const result = index.match(subject);
    let denied = result.plain.length > 0;
    if (!denied && queue) {
      denied = result.queues.some((group) => queueMatches(queue, group[0].queue!));
    }
    this.#deliveryVerdicts.set(key, denied);
    return denied;
  }

  #allowedBySubscribeAllow(subject: string, queue: string | undefined): boolean {
    const allow = this.#subscribeAllow;
    if (allow === undefined) return true;
    let allowed = false;
    let queueEntries = false;
    let queueAllowed = false;
    for (const entry of allow) {
      if (!subjectIsSubsetOf(subject, entry.subject)) continue;
      if (entry.queue === undefined) allowed = true;
      else {
        queueEntries = true;
        if (queue && queueMatches(queue, entry.queue)) queueAllowed = true;
      }
    }
    if (queue && queueEntries) allowed = queueAllowed;
    if (!allowed && this.#leaf && subjectHasWildcard(subject)) {
      allowed = allow.some((entry) =>
        entry.queue === undefined && subjectIsSubsetOf(entry.subject, subject)
      );
    }
    return allowed;
  }

  #refusedBySubscribeDeny(subject: string, queue: string | undefined): boolean {
    const deny = this.#subscribeDeny;
    if (deny === undefined) return false;
    for (const entry of deny) {
      // A subscription subject is matched like a published one: its `*`/`>` tokens are plain
      // tokens that only a wildcard deny entry covers.
      if (!subjectMatches(entry.subject, subject)) continue;
      if (entry.queue === undefined) return true;
      if (queue && queueMatches(queue, entry.queue)) return true;
    }
    return false;
  }
}
