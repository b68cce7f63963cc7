/**
 * Waits until messages published on one server reach a subscriber on another, across a
 * leafnode link, without sleeping a fixed time.
 *
 * Used after a workload's subscriber is registered and before anything is published. The
 * probe subscribes to its own subject on the subscriber's server, then publishes on the
 * publisher's server until a probe arrives. Both implementations send interest over a link in
 * the order the subscriptions were made, so once the probe's interest has crossed, the
 * workload subscriber's (made earlier) has crossed too, and the link is up. The probe uses a
 * subject of its own so the workload subscriber never sees a probe message.
 *
 * @example
 * ```ts
 * import { awaitInterest } from "./interest_probe.ts";
 * const leaf = { hostname: "127.0.0.1", port: 4223 };
 * const hub = { hostname: "127.0.0.1", port: 4222 };
 * const waitedMs = await awaitInterest({ publisher: leaf, subscriber: hub }, { timeoutMs: 10_000 });
 * ```
 *
 * @module
 */

import { type Endpoint, WireConnection } from "./wire_connection.ts";

/** Raised when no probe crossed in time. */
export class InterestTimeoutError extends Error {
  override name = "InterestTimeoutError";
}

/** Options for `awaitInterest()`. */
export interface InterestProbeOptions {
  timeoutMs: number;
  /** Pause between two probe publications. */
  intervalMs?: number;
}

const encoder = new TextEncoder();

function probeSubject(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return `bench.probe.${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Resolves with the milliseconds it took for a probe published at `endpoints.publisher` to
 * reach a subscription at `endpoints.subscriber`.
 *
 * @throws {InterestTimeoutError} when none arrives within `options.timeoutMs`
 */
export async function awaitInterest(
  endpoints: { publisher: Endpoint; subscriber: Endpoint },
  options: InterestProbeOptions,
): Promise<number> {
  const started = performance.now();
  const subject = probeSubject();
  let arrived = false;
  const listener = await WireConnection.open(endpoints.subscriber, {
    name: "bench-probe-subscriber",
    onFrames: () => {
      arrived = true;
    },
  });
  let sender: WireConnection | undefined;
  try {
    await listener.ping(`SUB ${subject} 1\r\n`);
    sender = await WireConnection.open(endpoints.publisher, { name: "bench-probe-publisher" });
    const probe = encoder.encode(`PUB ${subject} 0\r\n\r\n`);
    const deadline = started + options.timeoutMs;
    while (!arrived) {
      if (performance.now() >= deadline) {
        throw new InterestTimeoutError(
          `Cannot see interest cross from the subscriber's server (port ` +
            `${endpoints.subscriber.port}) to the publisher's (port ${endpoints.publisher.port}): ` +
            `no probe arrived in ${options.timeoutMs} ms`,
        );
      }
      await sender.write(probe);
      await sender.ping();
      // A probe already routed by the publisher's server may still be on the link.
      await delay(options.intervalMs ?? 10);
    }
    return performance.now() - started;
  } finally {
    sender?.close();
    listener.close();
  }
}
