/**
 * The subscription index: a token trie with `*`/`>` wildcards and queue groups, plus a bounded
 * cache of match results per published subject. This sits on the per-message hot path: a cache
 * hit is one `Map.get`.
 *
 * @module
 */

import { subjectMatches } from "./subject.ts";

/** What the index needs from a subscription. Subject and queue must not change while indexed. */
export interface IndexedSubscription {
  subject: string;
  /** Queue group; undefined or `""` means a plain subscription. */
  queue?: string;
}

/**
 * Everything a published subject reaches: every plain subscription gets the message, and each
 * queue group gets it once (pick a member with {@link pickQueueMember}).
 *
 * Results are frozen and shared between callers and the cache: never mutate them. A result
 * stays a consistent snapshot; call `match()` again after the index changes.
 */
export interface MatchResult<S> {
  readonly plain: readonly S[];
  /** One non-empty array per queue group name. */
  readonly queues: readonly (readonly S[])[];
}

/** Options for {@link SubscriptionIndex}. */
export interface SubscriptionIndexOptions {
  /**
   * How many published subjects keep a cached result (default 1024, as nats-server's
   * `slCacheMax`). 0 turns the cache off, for indexes with their own cache in front.
   */
  cacheSize?: number;
}

/** Thrown by {@link SubscriptionIndex.insert} for subjects nats-server answers with `-ERR 'Invalid Subject'`. */
export class InvalidSubjectError extends RangeError {
  override name = "InvalidSubjectError";
  constructor(subject: string, options?: ErrorOptions) {
    super(`Cannot index subscription: subject "${subject}" is not valid`, options);
  }
}

const EMPTY_LIST: readonly never[] = Object.freeze([]);
const EMPTY_RESULT: MatchResult<never> = Object.freeze({ plain: EMPTY_LIST, queues: EMPTY_LIST });
const DEFAULT_CACHE_SIZE = 1024;

/** Members of one queue group on one trie node, with a frozen snapshot rebuilt after changes. */
class QueueGroup<S> {
  readonly members = new Set<S>();
  #list: readonly S[] | undefined;
  get list(): readonly S[] {
    return this.#list ??= Object.freeze([...this.members]);
  }
  changed(): void {
    this.#list = undefined;
  }
}

class TrieNode<S> {
  next: TrieLevel<S> | undefined;
  plain: QueueGroup<S> | undefined;
  queues: Map<string, QueueGroup<S>> | undefined;
  isEmpty(): boolean {
    return this.plain === undefined && this.queues === undefined &&
      (this.next === undefined || this.next.isEmpty());
  }
}

class TrieLevel<S> {
  readonly literal = new Map<string, TrieNode<S>>();
  /** The `*` child. */
  anyOne: TrieNode<S> | undefined;
  /** The `>` child; never has a `next`. */
  rest: TrieNode<S> | undefined;
  isEmpty(): boolean {
    return this.literal.size === 0 && this.anyOne === undefined && this.rest === undefined;
  }
}

/**
 * Gathers the matching nodes' subscriptions for one match, sharing frozen lists when it can.
 * One builder per index is reused: matching never calls out, so it cannot re-enter.
 */
class ResultBuilder<S> {
  #plainLists: (readonly S[])[] = [];
  #queueNames: string[] = [];
  #queueLists: (readonly S[])[][] = [];

  add(node: TrieNode<S>): void {
    if (node.plain !== undefined) this.#plainLists.push(node.plain.list);
    if (node.queues === undefined) return;
    for (const [name, group] of node.queues) {
      const slot = this.#queueNames.indexOf(name);
      if (slot < 0) {
        this.#queueNames.push(name);
        this.#queueLists.push([group.list]);
      } else {
        this.#queueLists[slot].push(group.list);
      }
    }
  }

  /** Returns the result and empties the builder for the next match. */
  build(): MatchResult<S> {
    if (this.#plainLists.length === 0 && this.#queueNames.length === 0) return EMPTY_RESULT;
    const result = Object.freeze({
      plain: joinFrozen(this.#plainLists),
      queues: this.#queueLists.length === 0
        ? EMPTY_LIST
        : Object.freeze(this.#queueLists.map(joinFrozen)),
    });
    this.#plainLists.length = 0;
    this.#queueNames.length = 0;
    this.#queueLists.length = 0;
    return result;
  }
}

function joinFrozen<S>(lists: (readonly S[])[]): readonly S[] {
  if (lists.length === 0) return EMPTY_LIST;
  if (lists.length === 1) return lists[0];
  const joined: S[] = [];
  for (const list of lists) {
    for (let i = 0; i < list.length; i++) joined.push(list[i]);
  }
  return Object.freeze(joined);
}

/** `subject.split(".")`, several times faster in V8 for the short strings subjects are. */
function tokenize(subject: string): string[] {
  const tokens: string[] = [];
  let start = 0;
  for (;;) {
    const dot = subject.indexOf(".", start);
    if (dot < 0) {
      tokens.push(subject.substring(start));
      return tokens;
    }
    tokens.push(subject.substring(start, dot));
    start = dot + 1;
  }
}

function isWildcardToken(token: string): boolean {
  return token === "*" || token === ">";
}

/**
 * Adds the subscriptions matching `tokens[index..]` under `level`. Tokens of the published
 * subject are plain strings: a published `*` only meets `*`/`>` subscriptions.
 */
function collect<S>(
  level: TrieLevel<S>,
  tokens: string[],
  index: number,
  builder: ResultBuilder<S>,
): void {
  const last = tokens.length - 1;
  for (;;) {
    if (level.rest !== undefined) builder.add(level.rest);
    const node = level.literal.get(tokens[index]);
    if (index === last) {
      if (level.anyOne !== undefined) builder.add(level.anyOne);
      if (node !== undefined) builder.add(node);
      return;
    }
    const anyNext = level.anyOne?.next;
    if (anyNext !== undefined) collect(anyNext, tokens, index + 1, builder);
    if (node?.next === undefined) return;
    level = node.next;
    index++;
  }
}

/**
 * Subscriptions of one account, indexed by subject for matching published subjects.
 *
 * @example
 * ```ts
 * const index = new SubscriptionIndex<{ subject: string; queue?: string }>();
 * const sub = { subject: "orders.*" };
 * index.insert(sub);
 * index.match("orders.42").plain; // [sub]
 * ```
 */
export class SubscriptionIndex<S extends IndexedSubscription> {
  #root = new TrieLevel<S>();
  #size = 0;
  #cache = new Map<string, MatchResult<S>>();
  #cacheSize: number;
  #builder = new ResultBuilder<S>();

  constructor(options: SubscriptionIndexOptions = {}) {
    const cacheSize = options.cacheSize ?? DEFAULT_CACHE_SIZE;
    if (!Number.isInteger(cacheSize) || cacheSize < 0) {
      throw new RangeError(
        `Cannot create index: cacheSize must be a non-negative integer, got ${cacheSize}`,
      );
    }
    this.#cacheSize = cacheSize;
  }

  /** Number of subscriptions indexed. */
  get size(): number {
    return this.#size;
  }

  /**
   * Adds `sub`. Inserting the same object twice is a no-op.
   * @throws {InvalidSubjectError} on an empty token or a token after `>`
   */
  insert(sub: S): void {
    const subject = sub.subject;
    const tokens = tokenize(subject);
    let wildcard = false;
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i];
      if (token.length === 0 || (token === ">" && i !== tokens.length - 1)) {
        throw new InvalidSubjectError(subject);
      }
      if (isWildcardToken(token)) wildcard = true;
    }
    let level = this.#root;
    let node: TrieNode<S> | undefined;
    for (let i = 0; i < tokens.length; i++) {
      if (node !== undefined) level = node.next ??= new TrieLevel<S>();
      const token = tokens[i];
      if (token === "*") node = level.anyOne ??= new TrieNode<S>();
      else if (token === ">") node = level.rest ??= new TrieNode<S>();
      else {
        node = level.literal.get(token);
        if (node === undefined) {
          node = new TrieNode<S>();
          level.literal.set(token, node);
        }
      }
    }
    const group = groupFor(node!, sub.queue, true)!;
    if (group.members.has(sub)) return;
    group.members.add(sub);
    group.changed();
    this.#size++;
    this.#invalidate(subject, wildcard);
  }

  /** Removes `sub` (by identity). Returns false when it was not indexed. */
  remove(sub: S): boolean {
    const subject = sub.subject;
    const tokens = tokenize(subject);
    const levels: TrieLevel<S>[] = [];
    const nodes: TrieNode<S>[] = [];
    let level: TrieLevel<S> | undefined = this.#root;
    let wildcard = false;
    for (const token of tokens) {
      if (level === undefined) return false;
      let node: TrieNode<S> | undefined;
      if (token === "*") node = level.anyOne;
      else if (token === ">") node = level.rest;
      else node = level.literal.get(token);
      if (node === undefined) return false;
      if (isWildcardToken(token)) wildcard = true;
      levels.push(level);
      nodes.push(node);
      level = node.next;
    }
    const node = nodes[nodes.length - 1];
    const queue = sub.queue;
    const group = groupFor(node, queue, false);
    if (group === undefined || !group.members.delete(sub)) return false;
    group.changed();
    if (group.members.size === 0) {
      if (queue) {
        node.queues!.delete(queue);
        if (node.queues!.size === 0) node.queues = undefined;
      } else {
        node.plain = undefined;
      }
    }
    this.#size--;
    this.#prune(levels, nodes, tokens);
    this.#invalidate(subject, wildcard);
    return true;
  }

  /**
   * Subscriptions that a message published on `subject` reaches. The result is frozen and may
   * be shared with other callers; never mutate it.
   */
  match(subject: string): MatchResult<S> {
    const cached = this.#cache.get(subject);
    if (cached !== undefined) return cached;
    return this.#matchAndCache(subject);
  }

  /** True when a message on `subject` would reach at least one subscription. */
  hasInterest(subject: string): boolean {
    return this.match(subject) !== EMPTY_RESULT;
  }

  /** Every indexed subscription, in no particular order. */
  *all(): Iterable<S> {
    yield* allUnder(this.#root);
  }

  #matchAndCache(subject: string): MatchResult<S> {
    const tokens = tokenize(subject);
    for (let i = 0; i < tokens.length; i++) {
      // An empty token reaches nobody (as in nats-server); not worth a cache slot.
      if (tokens[i].length === 0) return EMPTY_RESULT;
    }
    collect(this.#root, tokens, 0, this.#builder);
    const result = this.#builder.build();
    if (this.#cacheSize > 0) {
      if (this.#cache.size >= this.#cacheSize) evictOldest(this.#cache, this.#cacheSize);
      this.#cache.set(subject, result);
    }
    return result;
  }

  /** Drops every cached result a change on `subject` could affect, so none is ever stale. */
  #invalidate(subject: string, wildcard: boolean): void {
    if (this.#cache.size === 0) return;
    if (!wildcard) {
      this.#cache.delete(subject);
      return;
    }
    for (const key of this.#cache.keys()) {
      if (subjectMatches(subject, key)) this.#cache.delete(key);
    }
  }

  /** Removes nodes left empty along the path of a removed subscription, deepest first. */
  #prune(levels: TrieLevel<S>[], nodes: TrieNode<S>[], tokens: string[]): void {
    for (let i = nodes.length - 1; i >= 0; i--) {
      const node = nodes[i];
      if (node.next !== undefined && node.next.isEmpty()) node.next = undefined;
      if (!node.isEmpty()) return;
      const level = levels[i];
      const token = tokens[i];
      if (token === "*") level.anyOne = undefined;
      else if (token === ">") level.rest = undefined;
      else level.literal.delete(token);
    }
  }
}

/**
 * Drops the oldest quarter of a full cache in one pass. Evicting one entry per insert would
 * make every miss scan the deleted slots V8 keeps at the front of a Map until it rehashes.
 * A hot subject evicted by mistake comes straight back on its next message.
 */
function evictOldest(cache: Map<string, unknown>, capacity: number): void {
  let drop = Math.max(1, capacity >> 2);
  for (const key of cache.keys()) {
    cache.delete(key);
    if (--drop === 0) return;
  }
}

/** The plain or queue group of `node` a subscription with `queue` belongs to. */
function groupFor<S>(
  node: TrieNode<S>,
  queue: string | undefined,
  create: boolean,
): QueueGroup<S> | undefined {
  if (!queue) return create ? node.plain ??= new QueueGroup<S>() : node.plain;
  let group = node.queues?.get(queue);
  if (group === undefined && create) {
    group = new QueueGroup<S>();
    (node.queues ??= new Map()).set(queue, group);
  }
  return group;
}

function* allUnder<S>(level: TrieLevel<S>): Generator<S> {
  for (const node of level.literal.values()) yield* allInNode(node);
  if (level.anyOne !== undefined) yield* allInNode(level.anyOne);
  if (level.rest !== undefined) yield* allInNode(level.rest);
}

function* allInNode<S>(node: TrieNode<S>): Generator<S> {
  if (node.plain !== undefined) yield* node.plain.members;
  if (node.queues !== undefined) {
    for (const group of node.queues.values()) yield* group.members;
  }
  if (node.next !== undefined) yield* allUnder(node.next);
}

/**
 * One member of a queue group, chosen uniformly with `Math.random`.
 *
 * @example
 * ```ts
 * const group = [{ subject: "jobs", queue: "w" }, { subject: "jobs", queue: "w" }];
 * pickQueueMember(group); // one of the two
 * ```
 */
export function pickQueueMember<S>(group: readonly S[]): S {
  const length = group.length;
  if (length === 1) return group[0];
  if (length === 0) throw new RangeError("Cannot pick a queue member: the group is empty");
  return group[Math.floor(Math.random() * length)];
}
