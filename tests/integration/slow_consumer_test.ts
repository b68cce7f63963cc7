/**
 * Slow consumers: a subscriber that stops reading is cut off once its pending bytes pass
 * max_pending, while a subscriber that keeps up on the same subject loses nothing and the
 * server goes on serving.
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { deadline } from "@nats-io/nats-core";
import type { NatsConnection } from "@nats-io/nats-core";
import { serverTestOptions, withServer } from "../helpers/server_process.ts";
import { connectRaw } from "../helpers/raw_client.ts";

const MAX_PENDING = 64 * 1024;
/**
 * One 60 KB message per round, drained by the fast reader before the next round, so the fast
 * reader's backlog never exceeds one message (still under MAX_PENDING). Once the stalled
 * reader's socket buffers (several MB on loopback) are full, almost any leftover plus one more
 * message passes MAX_PENDING at once. Many small messages would work too, but nats-server
 * stalls the producer (100 ms to 1 s per message) while a consumer is above half of
 * max_pending, which drags detection out for seconds.
 */
const PAYLOAD = new Uint8Array(60 * 1024).fill(0x61);
const SMALL_PAYLOAD = new Uint8Array(1024).fill(0x62);
/** Loopback socket buffers absorb a few MB first; 64 MB means something is wrong. */
const GIVE_UP_AFTER_BYTES = 64 * 1024 * 1024;

/** Counts what a subscriber received and lets the test wait for a given total. */
class ArrivalCounter {
  #count = 0;
  #waiting: { target: number; resolve: () => void } | undefined;

  get count(): number {
    return this.#count;
  }

  onMessage = (): void => {
    this.#count++;
    if (this.#waiting && this.#count >= this.#waiting.target) {
      this.#waiting.resolve();
      this.#waiting = undefined;
    }
  };

  reach(target: number, timeoutMs = 2_000): Promise<void> {
    if (this.#count >= target) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waiting = { target, resolve };
    return deadline(promise, timeoutMs);
  }
}

Deno.test({
  name: "slow consumer - a stalled reader is disconnected while a fast reader gets everything",
  ...serverTestOptions(),
  fn: () =>
    withServer({ max_pending: MAX_PENDING, max_payload: MAX_PENDING }, async (server) => {
      const slow = await connectRaw(server.port);
      const connections: NatsConnection[] = [];
      try {
        await slow.handshake();
        await slow.send("SUB data 1\r\nPING\r\n");
        await slow.readUntil("PONG\r\n");
        slow.pause();

        const fast = await connect({ servers: server.url, reconnect: false });
        const publisher = await connect({ servers: server.url, reconnect: false });
        connections.push(fast, publisher);
        const fastArrivals = new ArrivalCounter();
        fast.subscribe("data", { callback: fastArrivals.onMessage });
        await fast.flush();

        // One message at a time, each drained by the fast reader before the next, until the
        // server gives up on the stalled one.
        let sent = 0;
        while (!server.logs().includes("Slow Consumer Detected")) {
          assert.ok(sent * PAYLOAD.length < GIVE_UP_AFTER_BYTES, "no slow consumer detected");
          publisher.publish("data", PAYLOAD);
          sent++;
          await fastArrivals.reach(sent, 3_000);
        }
        // Reading again lets the cut-off socket drain to its end. nats-server only finishes
        // tearing the connection down (and stops stalling producers for it) once its blocked
        // write returns, so this comes before the traffic below.
        await slow.expectClosed(3_000);
        assert.ok(slow.bytesRead < sent * PAYLOAD.length, "the slow reader missed some");
        assert.match(server.logs(), /Slow Consumer Detected/);

        // Traffic after the disconnect still reaches the fast reader.
        for (let i = 0; i < 3; i++) {
          publisher.publish("data", PAYLOAD);
          sent++;
          await fastArrivals.reach(sent);
        }
        await fast.flush();
        assert.equal(fastArrivals.count, sent, "the fast subscriber got every message once");

        // The server keeps serving new clients.
        const late = await connect({ servers: server.url, reconnect: false });
        connections.push(late);
        const sub = late.subscribe("after", { max: 1 });
        late.publish("after", "still here");
        for await (const msg of sub) assert.equal(msg.string(), "still here");
      } finally {
        await slow.dispose();
        await Promise.all(connections.map((nc) => nc.close()));
      }
    }),
});

Deno.test({
  name: "slow consumer - a reader that catches up in time is not disconnected",
  ...serverTestOptions(),
  fn: () =>
    withServer({ max_pending: MAX_PENDING, max_payload: MAX_PENDING }, async (server) => {
      const reader = await connectRaw(server.port);
      const publisher = await connect({ servers: server.url, reconnect: false });
      try {
        await reader.handshake();
        await reader.send("SUB data 1\r\nPING\r\n");
        await reader.readUntil("PONG\r\n");
        // 32 KB in all: well under what the socket buffers hold while the reader does not read.
        reader.pause();
        for (let i = 0; i < 32; i++) publisher.publish("data", SMALL_PAYLOAD);
        await publisher.flush();
        await new Promise((resolve) => setTimeout(resolve, 100));
        reader.resume();
        await reader.send("PING\r\n");
        const text = await reader.readUntil((received) => received.endsWith("PONG\r\n"));
        assert.equal(text.match(/^MSG data 1 1024\r\n/gm)?.length, 32);
        assert.equal(reader.closed, false);
        assert.doesNotMatch(server.logs(), /Slow Consumer/);
      } finally {
        await reader.dispose();
        await publisher.close();
      }
    }),
});
