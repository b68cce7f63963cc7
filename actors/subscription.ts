/**
 * A client's subscription as the account's index holds it.
 *
 * Ownership: the connection creates it and owns membership in its sid map;
 * after `subscribe` is told, only the account actor touches `delivered` and
 * `max`. No field is written by two actors.
 *
 * @module
 */

/** What a subscription delivers to: any actor that accepts `deliver` messages. */
export interface DeliveryTarget {
  /** Connection id, for logs and for echo suppression. */
  readonly cid: number;
  /** When false, messages this target publishes are not delivered back to it. */
  readonly echo: boolean;
  tell(
    message: DeliverMessage | SubscriptionEndedMessage | RelayMessage | StallMessage,
  ): unknown;
}

export interface Subscription {
  readonly subject: string;
  readonly queue?: string;
  readonly sid: string;
  readonly target: DeliveryTarget;
  /** Messages delivered so far (account-owned). */
  delivered: number;
  /** Auto-unsubscribe limit set by `UNSUB <sid> <max>` (account-owned). */
  max?: number;
}

/** One message on its way to one subscription. */
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
  producer?: DeliveryTarget;
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
