import assert from "node:assert/strict";
import { Actor, type Directive, type Supervisor } from "../../actors/actor.ts";
import { FakeClock } from "../../actors/clock.ts";

type Msg = { kind: "add"; n: number } | { kind: "boom" } | { kind: "later"; ms: number };

class Recorder extends Actor<Msg> {
  seen: number[] = [];
  batches: number[] = [];
  overflowed: Msg[] = [];
  restartedWith: unknown[] = [];
  stopReasons: string[] = [];
  #inBatch = 0;
  clock?: FakeClock;

  protected receive(msg: Msg): void {
    this.#inBatch++;
    if (msg.kind === "boom") throw new Error("boom");
    if (msg.kind === "later") {
      this.clock!.setTimeout(() => this.tell({ kind: "add", n: msg.ms }), msg.ms);
      return;
    }
    this.seen.push(msg.n);
  }
  protected override afterBatch(): void {
    this.batches.push(this.#inBatch);
    this.#inBatch = 0;
  }
  protected override onOverflow(msg: Msg): void {
    this.overflowed.push(msg);
  }
  protected override onRestart(error: unknown): void {
    this.restartedWith.push(error);
    this.seen = [];
  }
  protected override onStop(reason: { reason: string }): void {
    this.stopReasons.push(reason.reason);
  }
}

function policy(directive: Directive): Supervisor & { failures: unknown[] } {
  const failures: unknown[] = [];
  return {
    failures,
    childFailed(_child, error) {
      failures.push(error);
      return directive;
    },
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("actor - delivers messages FIFO in one batch", async () => {
  const a = new Recorder({ name: "r" });
  for (let i = 0; i < 100; i++) assert.equal(a.tell({ kind: "add", n: i }), "queued");
  assert.deepEqual(a.seen, [], "nothing is handled synchronously inside tell");
  await settle();
  assert.deepEqual(a.seen, Array.from({ length: 100 }, (_, i) => i));
  assert.deepEqual(a.batches, [100]);
});

Deno.test("actor - drains in bounded batches and yields between them", async () => {
  const a = new Recorder({ name: "r", batchSize: 10 });
  for (let i = 0; i < 25; i++) a.tell({ kind: "add", n: i });
  await Promise.resolve();
  assert.equal(a.seen.length, 10, "first batch ran in a microtask, the rest waits for a macrotask");
  for (let i = 0; i < 5; i++) await settle();
  assert.equal(a.seen.length, 25);
  assert.deepEqual(a.batches, [10, 10, 5]);
  assert.deepEqual(a.seen, Array.from({ length: 25 }, (_, i) => i));
});

Deno.test("actor - a full mailbox reports overflow and keeps what it had", async () => {
  const a = new Recorder({ name: "r", capacity: 3 });
  assert.equal(a.tell({ kind: "add", n: 1 }), "queued");
  assert.equal(a.tell({ kind: "add", n: 2 }), "queued");
  assert.equal(a.tell({ kind: "add", n: 3 }), "queued");
  assert.equal(a.tell({ kind: "add", n: 4 }), "overflow");
  assert.deepEqual(a.overflowed, [{ kind: "add", n: 4 }]);
  await settle();
  assert.deepEqual(a.seen, [1, 2, 3]);
  assert.equal(a.tell({ kind: "add", n: 5 }), "queued", "room again after draining");
});

Deno.test("actor - supervisor 'stop' stops a throwing actor and drops its mailbox", async () => {
  const sup = policy("stop");
  const a = new Recorder({ name: "r", supervisor: sup });
  a.tell({ kind: "add", n: 1 });
  a.tell({ kind: "boom" });
  a.tell({ kind: "add", n: 2 });
  const reason = await a.stopped;
  assert.equal(reason.reason, "crashed");
  assert.equal((reason.error as Error).message, "boom");
  assert.deepEqual(a.seen, [1]);
  assert.equal(sup.failures.length, 1);
  assert.equal(a.tell({ kind: "add", n: 3 }), "stopped");
  assert.deepEqual(a.stopReasons, ["crashed"]);
});

Deno.test("actor - supervisor 'restart' resets state and keeps serving", async () => {
  const a = new Recorder({ name: "r", supervisor: policy("restart") });
  a.tell({ kind: "add", n: 1 });
  a.tell({ kind: "boom" });
  a.tell({ kind: "add", n: 2 });
  await settle();
  assert.equal(a.isStopped, false);
  assert.equal(a.restarts, 1);
  assert.deepEqual(a.seen, [2], "state was reset by onRestart, later messages still handled");
});

Deno.test("actor - supervisor 'resume' skips the failing message only", async () => {
  const a = new Recorder({ name: "r", supervisor: policy("resume") });
  a.tell({ kind: "add", n: 1 });
  a.tell({ kind: "boom" });
  a.tell({ kind: "add", n: 2 });
  await settle();
  assert.deepEqual(a.seen, [1, 2]);
});

Deno.test("actor - no supervisor means a crash stops the actor", async () => {
  const a = new Recorder({ name: "r" });
  a.tell({ kind: "boom" });
  assert.equal((await a.stopped).reason, "crashed");
});

Deno.test("actor - timers through a fake clock fire only when time advances", async () => {
  const clock = new FakeClock();
  const a = new Recorder({ name: "r" });
  a.clock = clock;
  a.tell({ kind: "later", ms: 1000 });
  a.tell({ kind: "later", ms: 500 });
  await settle();
  assert.equal(clock.pending, 2);
  clock.advance(499);
  await settle();
  assert.deepEqual(a.seen, []);
  clock.advance(1);
  await settle();
  assert.deepEqual(a.seen, [500]);
  clock.advance(10_000);
  await settle();
  assert.deepEqual(a.seen, [500, 1000]);
  assert.equal(clock.pending, 0);
});

Deno.test("fake clock - fires in due order and honours clearTimeout", () => {
  const clock = new FakeClock(100);
  const order: string[] = [];
  clock.setTimeout(() => order.push("b"), 20);
  const id = clock.setTimeout(() => order.push("x"), 10);
  clock.setTimeout(() => {
    order.push("a");
    clock.setTimeout(() => order.push("c"), 5);
  }, 10);
  clock.clearTimeout(id);
  clock.advance(30);
  assert.deepEqual(order, ["a", "c", "b"]);
  assert.equal(clock.now(), 130);
});
