import assert from "node:assert/strict";
import { freePort } from "../helpers/free_port.ts";
import { FrameScanner } from "./frame_scanner.ts";
import { buildPublishBatch, Publisher, publishFrameBytes, Subscriber } from "./load_generator.ts";
import { runPubSub } from "./pub_sub_workload.ts";
import { NATS_SERVER_BINARY, natsServerTarget } from "./targets.ts";

function natsServerMissing(): boolean {
  try {
    Deno.statSync(NATS_SERVER_BINARY);
    return false;
  } catch {
    if (Deno.env.get("CI")) return false; // Under CI the start itself fails loudly.
    console.error(`!!! SKIPPING: ${NATS_SERVER_BINARY} is missing (apt-get install nats-server)`);
    return true;
  }
}

Deno.test("load generator - a publish batch holds exactly the frames asked for", () => {
  const batch = buildPublishBatch("bench.x", 16, 7);
  const frameBytes = publishFrameBytes("bench.x", 16);
  assert.equal(frameBytes, "PUB bench.x 16\r\n".length + 16 + 2);
  assert.equal(batch.length, 7 * frameBytes);
  const scanner = new FrameScanner(() => assert.fail("no control line expected"));
  scanner.scan(batch);
  assert.equal(scanner.frames, 7);
});

Deno.test({
  name: "load generator - every message reaches the subscriber through nats-server",
  ignore: natsServerMissing(),
  async fn() {
    const port = freePort();
    const server = await natsServerTarget.start(port);
    try {
      const endpoint = { hostname: "127.0.0.1", port };
      const subscriber = await Subscriber.connect(endpoint, { subject: "t.x", messages: 50_001 });
      // Odd count and size: the last batch is partial and frames straddle reads.
      const publisher = await Publisher.connect(endpoint, {
        subject: "t.x",
        payloadBytes: 333,
        messages: 50_001,
        windowBytes: 64 * 1024,
      });
      const collecting = subscriber.collect({ timeoutMs: 10_000 });
      const published = await publisher.run();
      const received = await collecting;
      publisher.close();
      subscriber.close();
      assert.equal(published.messages, 50_001);
      assert.equal(received.received, 50_001);
      assert.equal(received.outcome, "complete");
      assert.ok(received.lastReceivedAt >= published.startedAt);
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "load generator - a short stream ends as drained, not by timeout",
  ignore: natsServerMissing(),
  async fn() {
    const port = freePort();
    const server = await natsServerTarget.start(port);
    try {
      const endpoint = { hostname: "127.0.0.1", port };
      const subscriber = await Subscriber.connect(endpoint, { subject: "t.y", messages: 100 });
      const publisher = await Publisher.connect(endpoint, {
        subject: "t.y",
        payloadBytes: 8,
        messages: 90,
      });
      let publisherDone: () => void = () => {};
      const collecting = subscriber.collect({
        timeoutMs: 20_000,
        quietMs: 50,
        publisherDone: new Promise((resolve) => publisherDone = resolve),
      });
      await publisher.run();
      publisherDone();
      const started = Date.now();
      const received = await collecting;
      publisher.close();
      subscriber.close();
      assert.equal(received.received, 90);
      assert.equal(received.outcome, "drained");
      assert.ok(Date.now() - started < 5_000);
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "pub/sub workload - separate generator processes lose nothing through nats-server",
  ignore: natsServerMissing(),
  async fn() {
    const port = freePort();
    const server = await natsServerTarget.start(port);
    try {
      const endpoint = { hostname: "127.0.0.1", port };
      const result = await runPubSub(
        { publisher: endpoint, subscriber: endpoint },
        { payloadBytes: 1024, messages: 20_000, timeoutMs: 20_000 },
      );
      assert.equal(result.received, 20_000);
      assert.equal(result.lost, 0);
      assert.ok(result.msgsPerSecond > 0);
      assert.equal(result.payloadMBPerSecond, (result.msgsPerSecond * 1024) / 1e6);
    } finally {
      await server.stop();
    }
  },
});
