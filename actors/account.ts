/**
 * An account: an isolated subject space. It owns the subscription index,
 * routes each published message to the chosen subscriptions (all plain
 * subscribers, one member per queue group, local members first), and tells
 * every leaf link bound to it how interest changes.
 *
 * @module
 */
import { Actor, type ActorOptions } from "./actor.ts";
import { SubscriptionIndex } from "../protocol/sublist.ts";
import { nuid } from "../protocol/nuid.ts";
import {
  type ClientTarget,
  type InterestChange,
  type LeafTarget,
  ownerOf,
  type Subscription,
  type Target,
} from "./subscription.ts";

export type AccountMessage =
  | { kind: "subscribe"; sub: Subscription }
  | { kind: "unsubscribe"; sub: Subscription; max?: number }
  /** A leaf link's new absolute weight for one of its queue subscriptions. */
  | { kind: "reweigh"; sub: Subscription; weight: number }
  | Publish
  | { kind: "forget"; subs: Subscription[] }
  /** Answered with `relay` once everything told before it has been routed. */
  | { kind: "barrier"; from: ClientTarget; bytes: Uint8Array }
  /**
   * A leaf link joins. `inboundCluster` records an accepted (spoke) peer's
   * cluster for loop detection; `hubCluster` asks whether our own spokes
   * already include that cluster, which means this new uplink closes a loop.
   */
  | { kind: "registerLeaf"; leaf: LeafTarget; inboundCluster?: string; hubCluster?: string }
  | { kind: "unregisterLeaf"; leaf: LeafTarget; inboundCluster?: string };

export interface Publish {
  kind: "publish";
  from: Target;
  subject: string;
  reply?: string;
  headerSize: number;
  message: Uint8Array;
  /** Publisher asked for a 503 status when nobody is listening (CONNECT no_responders). */
  noResponders?: boolean;
  /** For messages from a leaf link: the groups the sender chose us to serve (spec 2.4). */
  queues?: readonly string[];
  /** For messages from a leaf link: the peer's cluster. */
  origin?: string;
}

/** The status message nats-server sends for a request with no responders. */
const NO_RESPONDERS = new TextEncoder().encode("NATS/1.0 503\r\n\r\n");
const NO_QUEUES: readonly string[] = Object.freeze([]);

export class AccountActor extends Actor<AccountMessage> {
  readonly accountName: string;
  readonly index = new SubscriptionIndex<Subscription>();
  /** This account's loop-detection subject, stable for the server's lifetime. */
  readonly lds = `$LDS.${nuid()}`;
  readonly leafs = new Set<LeafTarget>();
  #inboundClusters = new Map<string, number>();

  constructor(accountName: string, options: Omit<ActorOptions, "name">) {
    super({ ...options, name: `account ${accountName}` });
    this.accountName = accountName;
  }

  /** Number of subscriptions in this account. */
  get subscriptionCount(): number {
    return this.index.size;
  }

  protected receive(msg: AccountMessage): void {
    switch (msg.kind) {
      case "subscribe":
        this.index.insert(msg.sub);
        this.#announce(msg.sub, msg.sub.queue ? msg.sub.weight : 1);
        return;
      case "unsubscribe":
        if (msg.max !== undefined && msg.max > msg.sub.delivered) {
          msg.sub.max = msg.max;
        } else {
          this.#remove(msg.sub);
          msg.sub.target.tell({ kind: "subscriptionEnded", sub: msg.sub });
        }
        return;
      case "reweigh": {
        const delta = msg.weight - msg.sub.weight;
        msg.sub.weight = msg.weight;
        if (delta !== 0) this.#announce(msg.sub, delta);
        return;
      }
      case "forget":
        return this.#forget(msg.subs);
      case "publish":
        this.#route(msg);
        return;
      case "barrier":
        msg.from.tell({ kind: "relay", bytes: msg.bytes });
        return;
      case "registerLeaf":
        return this.#registerLeaf(msg.leaf, msg.inboundCluster, msg.hubCluster);
      case "unregisterLeaf":
        this.leafs.delete(msg.leaf);
        if (msg.inboundCluster !== undefined) {
          const n = (this.#inboundClusters.get(msg.inboundCluster) ?? 1) - 1;
          if (n > 0) this.#inboundClusters.set(msg.inboundCluster, n);
          else this.#inboundClusters.delete(msg.inboundCluster);
        }
        return;
    }
  }

  /**
   * A connection went away with all its subscriptions: each key's interest is
   * withdrawn in one change (one LS- per queue group, not one LS+ per member).
   */
  #forget(subs: Subscription[]): void {
    const changes = new Map<string, InterestChange>();
    for (const sub of subs) {
      if (!this.index.remove(sub)) continue;
      if (this.leafs.size === 0) continue;
      const key = sub.queue ? `${sub.subject} ${sub.queue}` : sub.subject;
      const change = changes.get(key);
      const delta = sub.queue ? -sub.weight : -1;
      if (change) change.delta += delta;
      else changes.set(key, { ...this.#changeOf(sub), delta });
    }
    for (const change of changes.values()) this.#tellLeafs(change, subs[0].target);
  }

  #changeOf(sub: Subscription): InterestChange {
    return {
      subject: sub.subject,
      queue: sub.queue,
      delta: sub.queue ? sub.weight : 1,
      owner: ownerOf(sub.target),
      origin: sub.origin,
    };
  }

  #tellLeafs(change: InterestChange, owner: Target): void {
    for (const leaf of this.leafs) {
      if (leaf !== owner) leaf.tell({ kind: "interest", change });
    }
  }

  #remove(sub: Subscription): void {
    if (this.index.remove(sub)) this.#announce(sub, sub.queue ? -sub.weight : -1);
  }

  /** Tells every other leaf link of a change; each decides what its peer hears. */
  #announce(sub: Subscription, delta: number): void {
    if (this.leafs.size === 0) return;
    this.#tellLeafs({ ...this.#changeOf(sub), delta }, sub.target);
  }

  #registerLeaf(leaf: LeafTarget, inboundCluster?: string, hubCluster?: string): void {
    const loop = hubCluster !== undefined && this.#inboundClusters.has(hubCluster);
    if (!loop) {
      this.leafs.add(leaf);
      if (inboundCluster !== undefined) {
        this.#inboundClusters.set(
          inboundCluster,
          (this.#inboundClusters.get(inboundCluster) ?? 0) + 1,
        );
      }
    }
    const interest: InterestChange[] = [];
    if (!loop) {
      for (const sub of this.index.all()) {
        if (sub.target !== leaf) interest.push(this.#changeOf(sub));
      }
    }
    leaf.tell({ kind: "registered", loop, lds: this.lds, interest });
  }

  #route(msg: Publish): void {
    const result = this.index.match(msg.subject);
    const from = msg.from;
    const fromLeaf = from.kind === "leaf";
    let delivered = 0;
    let links: Map<LeafTarget, string[]> | undefined;
    for (const sub of result.plain) {
      const target = sub.target;
      if (target.kind === "client") {
        if (target === from && !target.echo) continue;
        this.#deliver(sub, target, msg);
        delivered++;
      } else if (this.#mayForward(target, msg)) {
        links ??= new Map();
        if (!links.has(target)) links.set(target, []);
      }
    }
    // A message from a leaf link serves only the groups its sender named.
    const named = fromLeaf ? (msg.queues ?? NO_QUEUES) : undefined;
    if (named === undefined || named.length > 0) {
      for (const group of result.queues) {
        if (named !== undefined && !named.includes(group[0].queue!)) continue;
        const chosen = this.#chooseMember(group, msg);
        if (!chosen) continue;
        if (chosen.target.kind === "client") {
          this.#deliver(chosen, chosen.target, msg);
          delivered++;
        } else {
          links ??= new Map();
          const queues = links.get(chosen.target);
          if (queues) queues.push(chosen.queue!);
          else links.set(chosen.target, [chosen.queue!]);
        }
      }
    }
    if (links) {
      for (const [leaf, queues] of links) {
        leaf.tell({
          kind: "forward",
          subject: msg.subject,
          reply: msg.reply,
          headerSize: msg.headerSize,
          message: msg.message,
          queues,
          producer: from,
        });
        delivered++;
      }
    }
    if (delivered === 0 && msg.noResponders && msg.reply && from.kind === "client") {
      this.#noResponders(from, msg.reply);
    }
  }

  /** Never back to the link it came from, nor to the cluster it came from (spec 3.5). */
  #mayForward(leaf: LeafTarget, msg: Publish): boolean {
    if (leaf === msg.from) return false;
    return msg.origin === undefined || leaf.peerCluster !== msg.origin;
  }

  /**
   * One member per group: a random local member when there is one, otherwise
   * a leaf link weighted by the members it advertised.
   */
  #chooseMember(group: readonly Subscription[], msg: Publish): Subscription | undefined {
    // A publisher with echo off is never its own group's member (nats-server skips it too).
    const self = msg.from.kind === "client" && !msg.from.echo ? msg.from : undefined;
    let locals = 0;
    let remoteWeight = 0;
    for (const sub of group) {
      if (sub.target.kind === "client") {
        if (sub.target !== self) locals++;
      } else if (this.#mayForward(sub.target, msg)) remoteWeight += sub.weight;
    }
    if (locals > 0) {
      let pick = Math.floor(Math.random() * locals);
      for (const sub of group) {
        if (sub.target.kind === "client" && sub.target !== self && pick-- === 0) return sub;
      }
    }
    if (remoteWeight === 0) return undefined;
    let pick = Math.random() * remoteWeight;
    for (const sub of group) {
      if (sub.target.kind === "client" || !this.#mayForward(sub.target, msg)) continue;
      pick -= sub.weight;
      if (pick < 0) return sub;
    }
    return undefined;
  }

  #deliver(sub: Subscription, target: ClientTarget, msg: Omit<Publish, "kind">): void {
    target.tell({
      kind: "deliver",
      sub,
      subject: msg.subject,
      reply: msg.reply,
      headerSize: msg.headerSize,
      message: msg.message,
      producer: msg.from,
    });
    sub.delivered++;
    if (sub.max !== undefined && sub.delivered >= sub.max) {
      this.#remove(sub);
      target.tell({ kind: "subscriptionEnded", sub });
    }
  }

  /** Answers the requester itself on its reply subject, as nats-server does. */
  #noResponders(requester: ClientTarget, reply: string): void {
    for (const sub of this.index.match(reply).plain) {
      if (sub.target !== requester) continue;
      this.#deliver(sub, requester, {
        from: requester,
        subject: reply,
        headerSize: NO_RESPONDERS.length,
        message: NO_RESPONDERS,
      });
    }
  }
}
