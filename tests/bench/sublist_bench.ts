/**
 * Micro-benchmarks for the subscription index and permission checks on the message path.
 * Run with `deno bench tests/bench/sublist_bench.ts`.
 */
import { Permissions } from "../../protocol/permissions.ts";
import { pickQueueMember, SubscriptionIndex } from "../../protocol/sublist.ts";

interface Sub {
  subject: string;
  queue?: string;
}

function populated(): SubscriptionIndex<Sub> {
  const index = new SubscriptionIndex<Sub>();
  for (let i = 0; i < 1000; i++) index.insert({ subject: `orders.${i}.created` });
  for (let i = 0; i < 100; i++) index.insert({ subject: `orders.${i}.*` });
  index.insert({ subject: "orders.>" });
  for (let i = 0; i < 10; i++) index.insert({ subject: "jobs.run", queue: "workers" });
  return index;
}

const hot = populated();
const hotSubjects = Array.from({ length: 256 }, (_, i) => `orders.${i}.created`);
let cursor = 0;

Deno.bench("sublist - match, cache hit", { group: "match", baseline: true }, () => {
  hot.match(hotSubjects[cursor++ & 255]);
});

const cold = populated();
let unique = 0;
Deno.bench("sublist - match, unique subjects (cache miss)", { group: "match" }, () => {
  cold.match(`orders.${unique++ % 1000}.x${unique}`);
});

Deno.bench("sublist - match queue group and pick a member", { group: "match" }, () => {
  const result = hot.match("jobs.run");
  pickQueueMember(result.queues[0]);
});

const churn = populated();
let inbox = 0;
Deno.bench("sublist - insert + remove a literal inbox subscription", () => {
  const sub = { subject: `_INBOX.abc.${inbox++}` };
  churn.insert(sub);
  churn.remove(sub);
});

const perms = Permissions.compile({
  publish: { allow: ["orders.>", "_INBOX.>"], deny: ["orders.secret.>"] },
})!;
Deno.bench("permissions - canPublish, cached verdict", () => {
  perms.canPublish(hotSubjects[cursor++ & 255]);
});
