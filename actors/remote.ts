/**
 * One `[[leafnodes.remotes]]` entry as an actor: its behaviour is the solicit
 * loop. It picks the next URL, dials, hands the socket to a leaf link, and
 * when the link ends waits the reconnect interval plus any penalty the link
 * earned before dialling again. Its state is visible in logs and monitoring.
 *
 * @module
 */
import { Actor, type Supervisor } from "./actor.ts";
import type { Clock, TimerId } from "./clock.ts";
import type { LeafConnection, SolicitContext } from "./leaf_connection.ts";
import type { Logger } from "./logger.ts";
import { TcpTransport, type Transport } from "./transport.ts";
import { readFirstLine } from "./first_info.ts";
import type { S2Transport } from "./s2_transport.ts";
import { PrefixedTransport } from "./tls_transport.ts";
import type { RemoteOptions } from "../config/options.ts";
import { leafConnectCredentials } from "../protocol/connect_credentials.ts";
import { nextDelay, type ReconnectCause } from "../protocol/reconnect_policy.ts";
import { hostPort, RemoteUrlList } from "../protocol/remote_urls.ts";

export type RemoteMessage =
  | { kind: "connect" }
  | { kind: "dialed"; url: URL; prepared: PreparedLink }
  | { kind: "dialFailed"; error: unknown; url: URL }
  /** Connected, but no usable first INFO (or TLS failed): retried like a closed link. */
  | { kind: "preludeFailed"; error: unknown; url: URL }
  | { kind: "linkClosed"; link: LeafConnection }
  | { kind: "gossip"; urls: string[] }
  | { kind: "stop" };

export type RemoteState = "idle" | "dialing" | "connected" | "backoff" | "stopped";

export interface RemoteEnvironment {
  clock: Clock;
  logger: Logger;
  supervisor: Supervisor;
  reconnectMs: number;
  /** Creates (but does not start) the leaf link for a dialled socket. */
  createLink(transport: Transport, context: SolicitContext): LeafConnection;
  /** Opens a socket; replaceable in tests. */
  dial?(url: URL): Promise<Transport>;
  /**
   * Turns a dialled socket into the link's transport: reads the hub's first
   * INFO (within `first_info_timeout`) and runs TLS when the INFO or the
   * remote asks for it. Returns the transport and the INFO line.
   */
  prepare?(
    raw: Transport,
    url: URL,
    remote: RemoteOptions,
    servername: string | undefined,
  ): Promise<PreparedLink>;
}

export interface PreparedLink {
  transport: Transport;
  firstInfo: string;
  /** The compression level this side writes with, when negotiated (CONNECT `compress_mode`). */
  compressMode?: string;
  /** The S2 layer under `transport`, when compressing. */
  s2?: S2Transport;
}

/** Dial failures between two error-level reports (about a minute at the default interval). */
const ERROR_REPORT_EVERY = 60;

/** nats-server's default dial timeout for leafnode remotes. */
const DIAL_TIMEOUT_MS = 1000;

export class RemoteActor extends Actor<RemoteMessage> {
  readonly index: number;
  readonly remote: RemoteOptions;
  readonly urls: RemoteUrlList;
  state: RemoteState = "idle";
  /** Connect attempts since the last successful link. */
  attempts = 0;
  lastError?: string;
  lastCloseReason?: string;
  /** When the current backoff ends, for monitoring. */
  nextAttemptAt?: number;
  link?: LeafConnection;
  #env: RemoteEnvironment;
  #timer?: TimerId;

  constructor(index: number, remote: RemoteOptions, env: RemoteEnvironment) {
    super({ name: `remote ${index}`, supervisor: env.supervisor });
    this.index = index;
    this.remote = remote;
    this.#env = env;
    this.urls = new RemoteUrlList(remote.urls, { noRandomize: remote.noRandomize });
  }

  /** Starts soliciting right away. */
  start(): void {
    this.tell({ kind: "connect" });
  }

  protected receive(msg: RemoteMessage): void {
    switch (msg.kind) {
      case "connect":
        return this.#connect();
      case "dialed":
        return this.#dialed(msg.prepared, msg.url);
      case "dialFailed":
        this.lastError = errorMessage(msg.error);
        // Like nats-server's connect_error_reports: the first failure and then one
        // a minute or so at error level, the rest at debug, so a dead hub cannot flood logs.
        this.#env.logger.log(
          this.attempts % ERROR_REPORT_EVERY === 1 ? "ERR" : "DBG",
          `Error trying to connect as leafnode to remote server ${hostPort(msg.url)} ` +
            `(attempt ${this.attempts}): ${this.lastError}`,
        );
        return this.#backoff("dial", 0);
      case "preludeFailed":
        this.lastError = errorMessage(msg.error);
        this.#env.logger.error(
          `Leafnode connection to ${hostPort(msg.url)} failed: ${this.lastError}`,
        );
        return this.#backoff("closed", 0);
      case "linkClosed":
        if (msg.link !== this.link) return;
        this.link = undefined;
        this.lastCloseReason = msg.link.closeReason;
        this.#env.logger.info(
          `Remote ${this.index}: leafnode link to ${msg.link.peerName ?? "hub"} ended ` +
            `(${msg.link.closeReason || "closed"}), reconnecting`,
        );
        if (msg.link.established) {
          this.attempts = 0;
          this.lastError = undefined;
        }
        return this.#backoff("closed", msg.link.penaltyMs);
      case "gossip":
        this.urls.mergeGossip(msg.urls);
        return;
      case "stop":
        this.state = "stopped";
        if (this.#timer !== undefined) this.#env.clock.clearTimeout(this.#timer);
        this.link?.tell({ kind: "close", reason: "Server Shutdown" });
        this.stop({ reason: "shutdown" });
        return;
    }
  }

  protected override onRestart(): void {
    // A crash in the solicit loop is answered with a fresh attempt after the usual wait.
    this.link?.tell({ kind: "close", reason: "Remote Restarted" });
    this.link = undefined;
    this.#backoff("closed", 0);
  }

  #connect(): void {
    if (this.state === "stopped") return;
    this.#timer = undefined;
    this.state = "dialing";
    this.attempts++;
    const url = this.urls.next();
    this.#env.logger.debug(`Trying to connect as leafnode to remote server on ${hostPort(url)}`);
    const dial = this.#env.dial ?? dialTcp;
    const clock = this.#env.clock;
    let timedOut = false;
    const timer = clock.setTimeout(() => {
      timedOut = true;
      this.tell({ kind: "dialFailed", url, error: new Error("dial timeout") });
    }, DIAL_TIMEOUT_MS);
    const prepare = this.#env.prepare ?? this.#plainPrelude;
    dial(url).then(
      (raw) => {
        clock.clearTimeout(timer);
        if (timedOut) return raw.close();
        prepare(raw, url, this.remote, this.urls.tlsServerName).then(
          (prepared) => this.tell({ kind: "dialed", url, prepared }),
          (error) => {
            raw.close();
            this.tell({ kind: "preludeFailed", url, error });
          },
        );
      },
      (error) => {
        clock.clearTimeout(timer);
        if (!timedOut) this.tell({ kind: "dialFailed", url, error });
      },
    );
  }

  /** Without TLS support wired in: read the first INFO, refuse hubs that need TLS. */
  #plainPrelude = async (
    raw: Transport,
    _url: URL,
    remote: RemoteOptions,
  ): Promise<PreparedLink> => {
    const { line, rest } = await readFirstLine(raw, this.#env.clock, remote.firstInfoTimeoutMs);
    const transport = rest.length > 0 ? new PrefixedTransport(raw, rest) : raw;
    return { transport, firstInfo: line };
  };

  #dialed({ transport, firstInfo, compressMode, s2 }: PreparedLink, url: URL): void {
    if (this.state !== "dialing") {
      transport.close();
      return;
    }
    this.lastError = undefined;
    this.state = "connected";
    const remote = this.remote;
    const link = this.#env.createLink(transport, {
      remote,
      credentials: (nonce) =>
        leafConnectCredentials(
          {
            credentials: remote.credentials,
            nkey: remote.nkey,
            urls: remote.urls,
            signatureCallback: remote.signatureCallback,
          },
          url,
          nonce,
        ),
      gossip: (urls) => this.tell({ kind: "gossip", urls }),
      firstInfo,
      compressMode,
      s2,
    });
    this.link = link;
    link.stopped.then(() => this.tell({ kind: "linkClosed", link }));
    link.start();
  }

  #backoff(cause: ReconnectCause, penaltyMs: number): void {
    if (this.state === "stopped") return;
    const delay = nextDelay({ reconnectMs: this.#env.reconnectMs, lastFailure: cause, penaltyMs });
    this.state = "backoff";
    this.nextAttemptAt = this.#env.clock.now() + delay;
    if (penaltyMs > 0) {
      this.#env.logger.warn(
        `Remote ${this.index}: waiting ${delay}ms before reconnecting (penalty ${penaltyMs}ms)`,
      );
    }
    this.#timer = this.#env.clock.setTimeout(() => this.tell({ kind: "connect" }), delay);
  }
}

async function dialTcp(url: URL): Promise<Transport> {
  const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const conn = await Deno.connect({ hostname, port: Number(url.port || 7422) });
  return new TcpTransport(conn);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
