import assert from "node:assert/strict";
import { FakeClock } from "../../actors/clock.ts";
import { Logger } from "../../actors/logger.ts";
import { ServerActor } from "../../actors/server.ts";
import { defaultOptions } from "../../config/mod.ts";
import type { ServerOptions } from "../../config/options.ts";
import { MemoryTransport } from "../helpers/memory_transport.ts";

/** Lets every queued actor message and microtask run. */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
};

function setup(overrides: Partial<ServerOptions> = {}) {
  const clock = new FakeClock();
  const lines: string[] = [];
  const logger = new Logger({ debug: true, sink: (l) => lines.push(l) });
  const server = new ServerActor({ ...defaultOptions(), ...overrides }, { clock, logger });
  const connect = () => {
    const transport = new MemoryTransport();
    server.tell({ kind: "accepted", transport });
    return transport;
  };
  return { clock, lines, server, connect };
}

Deno.test("client connection - auth timeout fires on the injected clock only", async () => {
  const { clock, connect } = setup({
    authTimeoutMs: 2000,
    authorization: { users: [{ user: "a", password: "b", account: "$G" }] },
  });
  const t = connect();
  await settle();
  assert.match(t.text(), /^INFO \{.*"auth_required":true.*\} \r\n$/);
  clock.advance(1999);
  await settle();
  assert.equal(t.closed, false);
  clock.advance(1);
  await settle();
  assert.match(t.text(), /-ERR 'Authentication Timeout'\r\n$/);
  assert.equal(t.closed, true);
});

Deno.test("client connection - unanswered PINGs end in 'Stale Connection'", async () => {
  const { clock, connect } = setup({ pingIntervalMs: 1000, pingMax: 2 });
  const t = connect();
  t.push('CONNECT {"verbose":false}\r\n');
  await settle();
  clock.advance(1000);
  await settle();
  clock.advance(1000);
  await settle();
  assert.equal(t.text().match(/PING\r\n/g)?.length, 2);
  assert.equal(t.closed, false);
  clock.advance(1000);
  await settle();
  assert.match(t.text(), /PING\r\nPING\r\n-ERR 'Stale Connection'\r\n$/);
  assert.equal(t.closed, true);
});

Deno.test("client connection - a PONG resets the outstanding PING count", async () => {
  const { clock, connect } = setup({ pingIntervalMs: 1000, pingMax: 1 });
  const t = connect();
  t.push('CONNECT {"verbose":false}\r\n');
  await settle();
  for (let i = 0; i < 5; i++) {
    clock.advance(1000);
    await settle();
    t.push("PONG\r\n");
    await settle();
  }
  assert.equal(t.closed, false);
  assert.equal(t.text().match(/PING\r\n/g)?.length, 5);
});

Deno.test("client connection - a write stuck past write_deadline cuts the slow consumer off", async () => {
  const { clock, connect, lines } = setup({ writeDeadlineMs: 500 });
  const slow = connect();
  const fast = connect();
  const publisher = connect();
  slow.push('CONNECT {"verbose":false}\r\nSUB x 1\r\n');
  fast.push('CONNECT {"verbose":false}\r\nSUB x 1\r\n');
  publisher.push('CONNECT {"verbose":false}\r\n');
  await settle();
  slow.stallWrites = true;
  publisher.push("PUB x 2\r\nhi\r\n");
  await settle();
  clock.advance(499);
  await settle();
  assert.equal(slow.closed, false);
  clock.advance(1);
  await settle();
  assert.equal(slow.closed, true);
  assert.ok(lines.some((l) => l.includes("Slow Consumer Detected: WriteDeadline")));
  publisher.push("PUB x 5\r\nagain\r\n");
  await settle();
  assert.match(fast.text(), /MSG x 1 2\r\nhi\r\nMSG x 1 5\r\nagain\r\n$/);
  assert.equal(fast.closed, false);
});

Deno.test("client connection - output beyond max_pending cuts the receiver off, others unaffected", async () => {
  const { connect, lines } = setup({ maxPending: 4096, maxPayload: 4096 });
  const slow = connect();
  const other = connect();
  const publisher = connect();
  slow.push('CONNECT {"verbose":false}\r\nSUB big 1\r\n');
  other.push('CONNECT {"verbose":false}\r\nSUB small 1\r\n');
  publisher.push('CONNECT {"verbose":false}\r\n');
  await settle();
  slow.stallWrites = true;
  const payload = "x".repeat(1000);
  for (let i = 0; i < 6; i++) publisher.push(`PUB big 1000\r\n${payload}\r\n`);
  publisher.push("PUB small 2\r\nok\r\n");
  await settle();
  assert.equal(slow.closed, true);
  assert.ok(lines.some((l) => l.includes("MaxPending of 4096 Exceeded")));
  assert.match(other.text(), /MSG small 1 2\r\nok\r\n$/);
  assert.equal(publisher.closed, false);
});

Deno.test("client connection - the server keeps serving after a connection crashes", async () => {
  const { connect, lines, server } = setup();
  const victim = connect();
  await settle();
  const [connection] = server.connections.values();
  // Sabotage one actor so that its next message throws inside receive().
  Object.defineProperty(connection, "receive", {
    value: () => {
      throw new Error("sabotaged");
    },
  });
  victim.push('CONNECT {"verbose":false}\r\nFOO\r\n');
  await settle();
  assert.ok(lines.some((l) => l.includes("crashed")), lines.join("\n"));
  assert.equal(server.connections.size, 0, "the crashed connection was removed");
  const healthy = connect();
  healthy.push('CONNECT {"verbose":false}\r\nSUB a 1\r\nPUB a 2\r\nok\r\nPING\r\n');
  await settle();
  assert.match(healthy.text(), /MSG a 1 2\r\nok\r\nPONG\r\n$/);
});

Deno.test("client connection - a violation is logged once, naming the peer, user and account", async () => {
  const { connect, lines } = setup({
    authorization: {
      users: [{
        user: "app",
        password: "pw",
        account: "$G",
        permissions: { publish: { deny: ["secret.>"] } },
      }],
    },
  });
  const t = connect();
  t.push('CONNECT {"verbose":false,"user":"app","pass":"pw"}\r\nPUB secret.x 1\r\nx\r\nPING\r\n');
  for (let i = 0; i < 20 && !t.text().includes("PONG"); i++) await settle();
  const violations = lines.filter((l) => l.includes("Permissions Violation"));
  assert.equal(violations.length, 1, lines.join("\n"));
  assert.match(violations[0], /127\.0\.0\.1:50000 - cid:\d+ - user "app" account \$G - /);
});
