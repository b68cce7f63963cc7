import assert from "node:assert/strict";
import {
  LOOP_DETECTED_DELAY_MS,
  MIN_VERSION_DELAY_MS,
  nextDelay,
  penaltyFor,
  penaltyForError,
  PERMISSION_VIOLATION_DELAY_MS,
  SAME_CLUSTER_NAME_DELAY_MS,
  SYSTEM_ACCOUNT_FIRST_CONNECT_DELAY_MS,
} from "../../protocol/reconnect_policy.ts";

Deno.test("reconnect policy - constants match nats-server", () => {
  assert.equal(LOOP_DETECTED_DELAY_MS, 30_000);
  assert.equal(SAME_CLUSTER_NAME_DELAY_MS, 30_000);
  assert.equal(PERMISSION_VIOLATION_DELAY_MS, 30_000);
  assert.equal(MIN_VERSION_DELAY_MS, 5_000);
  assert.equal(SYSTEM_ACCOUNT_FIRST_CONNECT_DELAY_MS, 250);
});

Deno.test("reconnect policy - a closed connection waits the interval, no jitter", () => {
  const random = () => assert.fail("no jitter after a close");
  assert.equal(nextDelay({ reconnectMs: 1000, lastFailure: "closed", random }), 1000);
  assert.equal(
    nextDelay({ reconnectMs: 1000, lastFailure: "closed", penaltyMs: 30_000, random }),
    31_000,
  );
});

Deno.test("reconnect policy - a dial failure adds jitter in [0, interval)", () => {
  const at = (r: number) => nextDelay({ reconnectMs: 1000, lastFailure: "dial", random: () => r });
  assert.equal(at(0), 1000);
  assert.equal(at(0.5), 1500);
  assert.equal(at(0.9999999), 1999);
  // A misbehaving source returning 1 still stays below twice the interval.
  assert.equal(at(1), 1999);
  for (let i = 0; i < 200; i++) {
    const delay = nextDelay({ reconnectMs: 1000, lastFailure: "dial" });
    assert.ok(delay >= 1000 && delay < 2000, `delay ${delay} out of range`);
  }
});

Deno.test("reconnect policy - the first attempt waits only for a pending penalty", () => {
  assert.equal(nextDelay({ reconnectMs: 1000, lastFailure: "first" }), 0);
  assert.equal(
    nextDelay({
      reconnectMs: 1000,
      lastFailure: "first",
      penaltyMs: SYSTEM_ACCOUNT_FIRST_CONNECT_DELAY_MS,
    }),
    250,
  );
});

Deno.test("reconnect policy - a zero interval means no wait and no jitter", () => {
  assert.equal(nextDelay({ reconnectMs: 0, lastFailure: "dial", random: () => 0.7 }), 0);
});

Deno.test("reconnect policy - received -ERR texts map to penalties", () => {
  assert.deepEqual(
    penaltyForError(
      'Loop detected for leafnode account="$G". Delaying attempt to reconnect for 30s',
    ),
    { penaltyMs: 30_000, reason: "loop-detected" },
  );
  assert.deepEqual(penaltyForError("remote leafnode has same cluster name"), {
    penaltyMs: 30_000,
    reason: "same-cluster-name",
  });
  assert.deepEqual(
    penaltyForError(`-ERR 'connection rejected since minimum version required is "2.9.11"'\r\n`),
    { penaltyMs: 5_000, reason: "min-version" },
  );
});

Deno.test("reconnect policy - other -ERR texts carry no penalty", () => {
  for (
    const text of [
      "Authorization Violation",
      "Stale Connection",
      'Permissions Violation for Subscription to "$JS.API.INFO"',
      "Duplicate Remote LeafNode Connection",
      "loop detected", // nats-server matches case-sensitively
    ]
  ) {
    assert.equal(penaltyForError(text), undefined, text);
  }
});

Deno.test("reconnect policy - penaltyFor covers locally detected conditions", () => {
  assert.deepEqual(penaltyFor("permission-violation"), {
    penaltyMs: 30_000,
    reason: "permission-violation",
  });
  assert.equal(penaltyFor("loop-detected").penaltyMs, LOOP_DETECTED_DELAY_MS);
});
