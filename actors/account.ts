/**
 * An account: an isolated subject space. It owns the subscription index and
 * routes each published message to the chosen subscriptions (all plain
 * subscribers, one random member per queue group).
 *
 * @module
 */
import { Actor, type ActorOptions } from "./actor.ts";
import { pickQueueMember, SubscriptionIndex } from "../protocol/sublist.ts";
import type { DeliveryTarget, Subscription } from "./subscription.ts";

export type AccountMessage =
  | { kind: "subscribe"; sub: Subscription }
  | { kind: "unsubscribe"; sub: Subscription; max?: number }
  | {
    kind: "publish";
    from: DeliveryTarget;
    subject: string;
    reply?: string;
    headerSize: number;
    message: Uint8Array;
    /** Publisher asked for a 503 status when nobody is listening (CONNECT no_responders). */
    noResponders: boolean;
  }
  | { kind: "forget"; subs: Subscription[] }
  /** Answered with `relay` once everything told before it has been routed. */
  | { kind: "barrier"; from: DeliveryTarget; bytes: Uint8Array };

type Publish = AccountMessage & { kind: "publish" };

/** The status message nats-server sends for a request with no responders. */
const NO_RESPONDERS = new TextEncoder().encode("NATS/1.0 503\r\n\r\n");

export class AccountActor extends Actor<AccountMessage> {
  readonly accountName: string;
  readonly index = new SubscriptionIndex<Subscription>();

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
        return;
      case "unsubscribe":
        if (msg.max !== undefined && msg.max > msg.sub.delivered) {
          msg.sub.max = msg.max;
        } else {
          this.index.remove(msg.sub);
          msg.sub.target.tell({ kind: "subscriptionEnded", sub: msg.sub });
        }
        return;
      case "forget":
        for (const sub of msg.subs) this.index.remove(sub);
        return;
      case "publish":
        this.#route(msg);
        return;
      case "barrier":
        msg.from.tell({ kind: "relay", bytes: msg.bytes });
        return;
    }
  }

  #route(msg: Publish): void {
    const result = this.index.match(msg.subject);
    let delivered = 0;
    for (const sub of result.plain) {
      if (!msg.from.echo && sub.target === msg.from) continue;
      this.#deliver(sub, msg);
      delivered++;
    }
    for (const group of result.queues) {
      this.#deliver(pickQueueMember(group), msg);
      delivered++;
    }
    if (delivered === 0 && msg.noResponders && msg.reply) this.#noResponders(msg.from, msg.reply);
  }

  #deliver(
    sub: Subscription,
    { subject, reply, headerSize, message, from }: Omit<Publish, "kind" | "noResponders">,
  ): void {
    sub.target.tell({ kind: "deliver", sub, subject, reply, headerSize, message, producer: from });
    sub.delivered++;
    if (sub.max !== undefined && sub.delivered >= sub.max) {
      this.index.remove(sub);
      sub.target.tell({ kind: "subscriptionEnded", sub });
    }
  }

  /** Answers the requester itself on its reply subject, as nats-server does. */
  #noResponders(requester: DeliveryTarget, reply: string): void {
    for (const sub of this.index.match(reply).plain) {
      if (sub.target !== requester) continue;
      this.#deliver(sub, {
        from: requester,
        subject: reply,
        headerSize: NO_RESPONDERS.length,
        message: NO_RESPONDERS,
      });
    }
  }
}
