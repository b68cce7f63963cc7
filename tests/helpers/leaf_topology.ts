/**
 * Leafnode topologies for interop tests: a hub and leaves (and chains of them), each of which
 * can be Canopy or the reference nats-server, plus the traffic probes the tests use to learn
 * that a link is up or that interest has crossed it, without sleeping.
 *
 * The implementations come from `LEAF_TEST_HUB` and `LEAF_TEST_LEAF` (`canopy` or
 * `nats-server`, both `canopy` when unset); every `Topology` method takes an `impl` override.
 * `LEAF_TEST_HUB=nats-server LEAF_TEST_LEAF=nats-server deno test -A tests/interop/` checks the
 * expectations against the reference implementation.
 *
 * Probes rely on one ordering property both implementations share: what one connection sends
 * is processed in order by every server on the way, so once a probe published after X arrives,
 * X arrived before it (or was dropped).
 *
 * @example
 * ```ts
 * import { remoteTo, withTopology } from "./leaf_topology.ts";
 * await withTopology(async (topology) => {
 *   const hub = await topology.hub();
 *   const leaf = await topology.leaf([remoteTo(hub)]);
 *   const onLeaf = await topology.client(leaf);
 *   const onHub = await topology.client(hub);
 *   const inbox = topology.inbox(onLeaf, "orders");
 *   await inbox.awaitInterestFrom(onHub);
 *   onHub.publish("orders", "one");
 *   await inbox.waitForCount(1);
 * });
 * ```
 *
 * @module
 */

import { connect } from "@nats-io/transport-node";
import type { ConnectionOptions, Msg, NatsConnection, Subscription } from "@nats-io/nats-core";
import { AUTO_PORT, startServer, targetUnavailable } from "./server_process.ts";
import type { ServerHandle, ServerImpl } from "./server_process.ts";

/** Seconds between a remote's reconnect attempts: nats-server 2.9.10 only takes whole seconds. */
export const LEAF_RECONNECT_SECONDS = 1;

/** How long a probe keeps trying before it declares the path dead. */
const DEFAULT_PROBE_TIMEOUT_MS = 5_000;

/** Pause between two probe publications. */
const PROBE_INTERVAL_MS = 25;

/** Payloads starting with this are probes; `Inbox` keeps them out of `messages`. */
export const PROBE_PREFIX = "__probe__";

/** Raised when a probe or an expected delivery does not arrive in time. */
export class FlowTimeoutError extends Error {
  override name = "FlowTimeoutError";
}

function implFromEnv(variable: string): ServerImpl {
  const value = Deno.env.get(variable) ?? "canopy";
  if (value !== "canopy" && value !== "nats-server") {
    throw new RangeError(
      `Cannot select leaf test implementation: "${variable}" must be "canopy" or "nats-server", got "${value}"`,
    );
  }
  return value;
}

/** The hub implementation selected by `LEAF_TEST_HUB` (default `canopy`). */
export function hubImpl(): ServerImpl {
  return implFromEnv("LEAF_TEST_HUB");
}

/** The leaf implementation selected by `LEAF_TEST_LEAF` (default `canopy`). */
export function leafImpl(): ServerImpl {
  return implFromEnv("LEAF_TEST_LEAF");
}

/**
 * `Deno.test` options for a test that runs the given implementations (default: the selected
 * hub and leaf): ignored, loudly, when one of them cannot run here and `CI` is unset; the
 * sanitizers are off because NATS clients keep timers and sockets alive for a tick.
 *
 * @example
 * ```ts
 * import { hubImpl, leafTestOptions } from "./leaf_topology.ts";
 * Deno.test({ name: "wire - hub only", ...leafTestOptions(hubImpl()), fn: () => {} });
 * ```
 */
export function leafTestOptions(...impls: ServerImpl[]): {
  ignore: boolean;
  sanitizeOps: false;
  sanitizeResources: false;
} {
  const used = impls.length > 0 ? impls : [hubImpl(), leafImpl()];
  return {
    ignore: used.some((impl) => targetUnavailable(impl)),
    sanitizeOps: false,
    sanitizeResources: false,
  };
}

/** Options for one server of a topology. */
export interface NodeOptions {
  /** Implementation; defaults to `hubImpl()` for `hub()` and `leafImpl()` for `leaf()`. */
  impl?: ServerImpl;
  /** `server_name`; defaults to a unique `HUB`, `HUB2`, …, `LEAF1`, `LEAF2`, …. */
  name?: string;
}

/** Options for `remoteTo()`: the remote's credentials and any other remote keys. */
export interface RemoteToOptions {
  /** Put in the URL's userinfo, as nats-server and Canopy both read credentials from it. */
  user?: string;
  password?: string;
  /** Local account the remote binds (`remotes[].account`). */
  account?: string;
  /** Any other `remotes[]` keys (`deny_imports`, `deny_exports`, `hub`, …). */
  extra?: Record<string, unknown>;
}

/**
 * A `leafnodes.remotes` entry that dials `hub`'s leafnode port.
 *
 * @example
 * ```ts
 * import { remoteTo } from "./leaf_topology.ts";
 * import type { ServerHandle } from "./server_process.ts";
 * declare const hub: ServerHandle;
 * const remote = remoteTo(hub, { user: "leaf", password: "pw", account: "A" });
 * ```
 */
export function remoteTo(
  hub: ServerHandle,
  options: RemoteToOptions = {},
): Record<string, unknown> {
  return {
    url: leafUrl(hub, options),
    ...(options.account === undefined ? {} : { account: options.account }),
    ...options.extra,
  };
}

/** `nats-leaf://[user:password@]127.0.0.1:<leafPort>` for `hub`. */
export function leafUrl(hub: ServerHandle, options: { user?: string; password?: string } = {}) {
  if (hub.leafPort === undefined) {
    throw new TypeError(`Cannot build a leaf URL: server "${hub.url}" has no leafnode port`);
  }
  const userInfo = options.user === undefined
    ? ""
    : `${encodeURIComponent(options.user)}${
      options.password === undefined ? "" : `:${encodeURIComponent(options.password)}`
    }@`;
  return `nats-leaf://${userInfo}127.0.0.1:${hub.leafPort}`;
}

function asTable(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Record<string, unknown>
    : {};
}

/**
 * The servers, clients and subscriptions of one test, all stopped by `close()`. Every server
 * gets a leafnode listener on a free port: nats-server has none unless one is configured,
 * while Canopy would otherwise take 7422.
 */
export class Topology {
  #servers = new Set<ServerHandle>();
  #clients = new Set<NatsConnection>();
  #usedNames = new Set<string>();

  #uniqueName(base: string, first: number | undefined): string {
    for (let n = first ?? 1;; n++) {
      const name = n === 1 && first === undefined ? base : `${base}${n}`;
      if (!this.#usedNames.has(name)) {
        this.#usedNames.add(name);
        return name;
      }
    }
  }

  async #start(
    config: Record<string, unknown>,
    impl: ServerImpl,
    name: string,
  ): Promise<ServerHandle> {
    const leafnodes = asTable(config.leafnodes);
    const server = await startServer({
      server_name: name,
      ...config,
      leafnodes: {
        host: "127.0.0.1",
        port: AUTO_PORT,
        ...leafnodes,
      },
    }, { impl });
    this.#servers.add(server);
    return server;
  }

  /** Starts a hub (no remotes unless `config.leafnodes.remotes` has some). */
  hub(config: Record<string, unknown> = {}, options: NodeOptions = {}): Promise<ServerHandle> {
    const name = options.name ?? this.#uniqueName("HUB", undefined);
    return this.#start(config, options.impl ?? hubImpl(), name);
  }

  /** Starts a leaf soliciting `remotes`, with a short reconnect interval. */
  leaf(
    remotes: Record<string, unknown>[],
    config: Record<string, unknown> = {},
    options: NodeOptions = {},
  ): Promise<ServerHandle> {
    const name = options.name ?? this.#uniqueName("LEAF", 1);
    const leafnodes = asTable(config.leafnodes);
    return this.#start(
      {
        ...config,
        leafnodes: { reconnect: LEAF_RECONNECT_SECONDS, ...leafnodes, remotes },
      },
      options.impl ?? leafImpl(),
      name,
    );
  }

  /** Stops `server` and starts the same implementation with the same config and ports. */
  async restart(server: ServerHandle): Promise<ServerHandle> {
    await this.stop(server);
    const restarted = await startServer(server.config, { impl: server.impl });
    this.#servers.add(restarted);
    return restarted;
  }

  /** Stops one server of the topology (its clients see a disconnect). */
  async stop(server: ServerHandle): Promise<void> {
    this.#servers.delete(server);
    await server.stop();
  }

  /** Connects a NATS client to `server`, closed by `close()`. No reconnect unless asked. */
  async client(
    server: ServerHandle,
    options: Partial<ConnectionOptions> = {},
  ): Promise<NatsConnection> {
    const nc = await connect({ servers: server.url, reconnect: false, ...options });
    this.#clients.add(nc);
    return nc;
  }

  /** Subscribes `nc` to `subject` and records what arrives (see `Inbox`). */
  inbox(nc: NatsConnection, subject: string, options: { queue?: string } = {}): Inbox {
    return new Inbox(nc, subject, options);
  }

  /** Closes every client, then stops every server still running. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#clients].map((nc) => nc.close()));
    this.#clients.clear();
    await Promise.allSettled([...this.#servers].map((server) => server.stop()));
    this.#servers.clear();
  }
}

/** Runs `body` with a fresh `Topology` and always closes it afterwards. */
export async function withTopology<T>(body: (topology: Topology) => Promise<T>): Promise<T> {
  const topology = new Topology();
  try {
    return await body(topology);
  } finally {
    await topology.close();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

let probeCounter = 0;

/**
 * One subscription and everything it received. Probe messages (payloads starting with
 * `PROBE_PREFIX`) are counted in `probes` and kept out of `messages`.
 */
export class Inbox {
  readonly subject: string;
  readonly messages: Msg[] = [];
  probes = 0;
  #nc: NatsConnection;
  #subscription: Subscription;
  #waiters = new Set<() => void>();

  constructor(nc: NatsConnection, subject: string, options: { queue?: string } = {}) {
    this.subject = subject;
    this.#nc = nc;
    this.#subscription = nc.subscribe(subject, {
      queue: options.queue,
      callback: (_error, msg) => {
        if (msg.string().startsWith(PROBE_PREFIX)) this.probes++;
        else this.messages.push(msg);
        for (const wake of this.#waiters) wake();
      },
    });
  }

  /** The payloads of `messages`, as text. */
  get payloads(): string[] {
    return this.messages.map((msg) => msg.string());
  }

  /**
   * Resolves once `check()` holds, checked after every arrival on THIS inbox (so `check` must
   * depend on this inbox only; poll with `eventually()` across several); rejects after
   * `timeoutMs`.
   */
  waitFor(check: () => boolean, what: string, timeoutMs = DEFAULT_PROBE_TIMEOUT_MS): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const wake = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(wake);
        reject(
          new FlowTimeoutError(
            `Cannot receive ${what} on "${this.subject}" within ${timeoutMs} ms ` +
              `(got ${this.messages.length} messages, ${this.probes} probes)`,
          ),
        );
      }, timeoutMs);
      this.#waiters.add(wake);
    });
  }

  /** Waits until at least `count` (non-probe) messages arrived. */
  waitForCount(count: number, timeoutMs?: number): Promise<void> {
    return this.waitFor(() => this.messages.length >= count, `${count} messages`, timeoutMs);
  }

  /**
   * Publishes probes on this inbox's subject from `publisher` until one arrives: afterwards
   * the subscription's interest has reached the publisher's server, and so has every
   * subscription the subscriber made before this one.
   */
  async awaitInterestFrom(
    publisher: NatsConnection,
    timeoutMs = DEFAULT_PROBE_TIMEOUT_MS,
  ): Promise<void> {
    // Only a head start: a client riding out a server restart fails its flush, and the probe
    // loop below is the real check.
    await this.#nc.flush().catch(() => {});
    const before = this.probes;
    let arrived = false;
    const waiting = this.waitFor(() => this.probes > before, "a probe", timeoutMs).then(
      () => (arrived = true),
    );
    waiting.catch(() => {});
    const id = ++probeCounter;
    for (let n = 0; !arrived; n++) {
      publisher.publish(this.subject, `${PROBE_PREFIX}${id}.${n}`);
      await Promise.race([waiting, delay(PROBE_INTERVAL_MS)]);
    }
    await waiting;
  }

  /**
   * Proves that messages sent so far by `publisher` on other subjects have all arrived (or
   * will never arrive): publishes one probe on this inbox's subject, which the servers keep
   * behind them, and waits for it. Call `awaitInterestFrom()` once before.
   */
  async drainFrom(publisher: NatsConnection, timeoutMs = DEFAULT_PROBE_TIMEOUT_MS): Promise<void> {
    const before = this.probes;
    publisher.publish(this.subject, `${PROBE_PREFIX}drain.${++probeCounter}`);
    await publisher.flush();
    await this.waitFor(() => this.probes > before, "the drain probe", timeoutMs);
  }

  /** Stops the subscription. */
  unsubscribe(): void {
    this.#subscription.unsubscribe();
  }
}

/**
 * Waits until messages published by `publisher` reach a fresh subscription on `subscriber`:
 * the path between their servers is up. Returns the probe subject.
 */
export async function awaitFlow(
  publisher: NatsConnection,
  subscriber: NatsConnection,
  timeoutMs = DEFAULT_PROBE_TIMEOUT_MS,
): Promise<string> {
  const subject = `probe.flow.${++probeCounter}.${crypto.randomUUID().slice(0, 8)}`;
  const inbox = new Inbox(subscriber, subject);
  try {
    await inbox.awaitInterestFrom(publisher, timeoutMs);
  } finally {
    inbox.unsubscribe();
  }
  return subject;
}

/**
 * True when no message published by `publisher` reaches a fresh subscription on `subscriber`
 * within `windowMs`. Use it for links expected to stay down; `awaitFlow()` for links up.
 */
export async function flowStaysDown(
  publisher: NatsConnection,
  subscriber: NatsConnection,
  windowMs: number,
): Promise<boolean> {
  try {
    await awaitFlow(publisher, subscriber, windowMs);
    return false;
  } catch (error) {
    if (error instanceof FlowTimeoutError) return true;
    throw error;
  }
}

/** Counts the occurrences of `text` in `logs`. */
export function countOccurrences(logs: string, text: string | RegExp): number {
  if (typeof text === "string") return logs.split(text).length - 1;
  const flags = text.flags.includes("g") ? text.flags : `${text.flags}g`;
  return logs.match(new RegExp(text.source, flags))?.length ?? 0;
}

/** Polls `check` every 25 ms until it returns true; false once `timeoutMs` has passed. */
export async function eventually(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await delay(PROBE_INTERVAL_MS);
  }
  return true;
}

/** Resolves after `ms` milliseconds. For windows in which something must NOT happen. */
export function quietPeriod(ms: number): Promise<void> {
  return delay(ms);
}
