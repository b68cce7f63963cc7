/**
 * Subscriptions as the account's index holds them, and the messages the
 * account sends to the connections that own them.
 *
 * Ownership: a connection creates its subscriptions and owns its own map of
 * them; after `subscribe` is told, only the account actor writes `delivered`,
 * `max` and `weight`. No field is written by two actors.
 *
 * @module
 */

/** A client connection, as the account sees it. */
export interface ClientTarget {
  readonly kind: "client";
  /** Connection id, for logs. */
  readonly cid: number;
  /** When false, messages this client publishes are not delivered back to it. */
  readonly echo: boolean;
  tell(message: ClientInbound): unknown;
}

/** A leafnode connection, as the account sees it. */
export interface LeafTarget {
  readonly kind: "leaf";
  readonly cid: number;
  /** Our role on this link: "hub" when the peer is our spoke. */
  readonly role: "hub" | "spoke";
  /** The peer's cluster name; messages and interest never go back to it. */
  readonly peerCluster?: string;
  tell(message: LeafInbound): unknown;
}

export type Target = ClientTarget | LeafTarget;

export interface Subscription {
  readonly subject: string;
  readonly queue?: string;
  readonly sid: string;
  readonly target: Target;
  /** Queue weight: 1 for clients, the advertised member count for leaf interest (account-owned). */
  weight: number;
  /** Cluster the interest came from, for subscriptions learned over a leaf link. */
  readonly origin?: string;
  /** Messages delivered so far (account-owned). */
  delivered: number;
  /** Auto-unsubscribe limit set by `UNSUB <sid> <max>` (account-owned). */
  max?: number;
}

/** One message on its way to one client subscription. */
export interface DeliverMessage {
  kind: "deliver";
  sub: Subscription;
  subject: string;
  reply?: string;
  /** 0 when the message has no headers. */
  headerSize: number;
  /** Headers followed by the payload. */
  message: Uint8Array;
  /** The publisher, so that a congested receiver can ask it to back off. */
  producer?: Target;
}

/** One message on its way over a leaf link, with the queue groups the peer must serve. */
export interface ForwardMessage {
  kind: "forward";
  subject: string;
  reply?: string;
  headerSize: number;
  message: Uint8Array;
  queues: readonly string[];
  producer?: Target;
}

/** Told to a connection once the account has removed one of its subscriptions (UNSUB or max reached). */
export interface SubscriptionEndedMessage {
  kind: "subscriptionEnded";
  sub: Subscription;
}

/**
 * The account's answer to a barrier: every message the connection published
 * before has been handed to its targets, so these bytes may go out now.
 */
export interface RelayMessage {
  kind: "relay";
  bytes: Uint8Array;
}

/**
 * Told to a publisher by a receiver whose unsent output passed its stall
 * threshold: read nothing more from the socket until `until` settles (or a
 * bounded wait passes), as nats-server stalls fast producers.
 */
export interface StallMessage {
  kind: "stall";
  until: Promise<void>;
}

/** Where a subscription came from, which decides which leaf links may hear of it (spec 3.3). */
export type InterestOwner = "client" | "hub-link" | "spoke-link";

/** One change of interest in an account, as leaf links are told of it. */
export interface InterestChange {
  subject: string;
  queue?: string;
  /** Change of the key's count: +1/-1 for plain interest, the weight change for queues. */
  delta: number;
  owner: InterestOwner;
  origin?: string;
}

export interface InterestMessage {
  kind: "interest";
  change: InterestChange;
}

/** The account's answer to a leaf link registering: the loop verdict and the interest to dump. */
export interface RegisteredMessage {
  kind: "registered";
  /** Set when the registration revealed a loop (spec 3.6, cluster registration). */
  loop: boolean;
  /** The account's own `$LDS.` subject. */
  lds: string;
  interest: InterestChange[];
}

export type ClientInbound =
  | DeliverMessage
  | SubscriptionEndedMessage
  | RelayMessage
  | StallMessage;

export type LeafInbound =
  | ForwardMessage
  | SubscriptionEndedMessage
  | StallMessage
  | InterestMessage
  | RegisteredMessage;

export function ownerOf(target: Target): InterestOwner {
  if (target.kind === "client") return "client";
  return target.role === "hub" ? "hub-link" : "spoke-link";
}
