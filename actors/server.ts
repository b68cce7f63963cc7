/**
 * The server actor: owns the listeners, the accounts and the registry of
 * connections, admits new sockets and supervises every other actor so that
 * one crash never takes the server down.
 *
 * @module
 */
import { Actor, type Directive, type Supervisor } from "./actor.ts";
import { AccountActor } from "./account.ts";
import { ClientConnection, type ClientEnvironment } from "./client_connection.ts";
import { type Clock, SystemClock } from "./clock.ts";
import { ListenerActor } from "./listener.ts";
import { LeafConnection, type LeafEnvironment, type SolicitContext } from "./leaf_connection.ts";
import { type PreparedLink, RemoteActor } from "./remote.ts";
import { ServerEvents } from "./server_events.ts";
import { solicitCompression } from "./compression_negotiation.ts";
import type { ConnectionSecurity } from "./connection_security.ts";
import { checkTlsOptions, listenerSecurity, prepareRemoteLink } from "./tls_security.ts";
import { acceptWebsocketConnection, prepareWebsocketRemote } from "./ws_security.ts";
import { LeafAuthenticator } from "../protocol/leaf_auth.ts";
import type { LeafInfo } from "../protocol/leaf_info.ts";
import { Logger } from "./logger.ts";
import type { Transport } from "./transport.ts";
import type { RemoteOptions, ServerOptions } from "../config/options.ts";
import { ClientAuthenticator } from "../protocol/client_auth.ts";
import { GLOBAL_ACCOUNT } from "../config/defaults.ts";
import { generateServerId } from "../config/server_id.ts";
import { encodeErr, encodeInfo } from "../protocol/encoder.ts";
import { ErrText } from "../protocol/protocol_error.ts";
import { CANOPY_VERSION, NATS_COMPAT_VERSION, PROTOCOL_LEVEL } from "../protocol/info.ts";
import { generateNonce } from "../protocol/nonce.ts";

export type ServerMessage =
  | { kind: "accepted"; transport: Transport; secured?: boolean; websocket?: boolean }
  | { kind: "leafAccepted"; transport: Transport; secured?: boolean; websocket?: boolean }
  | { kind: "websocketAccepted"; transport: Transport }
  | { kind: "connectionClosed"; connection: ClientConnection; reason: string }
  | { kind: "leafEstablished"; link: LeafConnection }
  | { kind: "leafClosed"; link: LeafConnection }
  | { kind: "shutdown"; done: () => void }
  | { kind: "reload"; options: ServerOptions; done: (error?: Error) => void }
  | { kind: "lameDuck"; done: () => void }
  | { kind: "lameDuckNext" };

export interface ServerDependencies {
  clock?: Clock;
  logger?: Logger;
  /**
   * False for edge isolates: open no TCP listener at all; clients and leaves
   * arrive through {@linkcode ServerActor.accept} (e.g. from `Deno.serve`),
   * while remotes still dial out.
   */
  listeners?: boolean;
}

/** A reload that cannot be applied; the running configuration stays. */
export class ReloadError extends Error {
  override name = "ReloadError";
}

/** nats-server's lame duck defaults. */
const LAME_DUCK_DURATION_MS = 120_000;
const LAME_DUCK_GRACE_MS = 10_000;
const LAME_DUCK_MAX_STEP_MS = 1000;

/** Longest time shutdown waits for connections to flush and close. */
const SHUTDOWN_GRACE_MS = 2000;

export class ServerActor extends Actor<ServerMessage> implements Supervisor {
  options!: ServerOptions;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly serverId: string;
  readonly startedAt: Date;
  readonly accounts = new Map<string, AccountActor>();
  readonly connections = new Map<number, ClientConnection>();
  readonly leafs = new Map<number, LeafConnection>();
  readonly remotes: RemoteActor[] = [];
  #clientListener?: ListenerActor;
  #leafListener?: ListenerActor;
  #wsListener?: ListenerActor;
  /** Environments for connections that arrived over WebSocket: TLS was done at the HTTP layer. */
  #wsClientEnv!: ClientEnvironment;
  #wsLeafEnv!: LeafEnvironment;
  #leafEnv!: LeafEnvironment;
  #nextCid = 1;
  #env!: ClientEnvironment;
  #shuttingDown = false;
  #listeners: boolean;
  #allClosed?: () => void;
  totalConnections = 0;
  /** Link and auth events for embedding programs. */
  readonly events = new ServerEvents();

  constructor(options: ServerOptions, deps: ServerDependencies = {}) {
    super({ name: "server" });
    this.#listeners = deps.listeners ?? true;
    this.clock = deps.clock ?? new SystemClock();
    this.logger = deps.logger ?? new Logger({ debug: options.debug, trace: options.trace });
    // The id is new each start, as in nats-server; the name is the operator's (or the id).
    this.serverId = generateServerId();
    this.startedAt = new Date();
    this.#addAccount(GLOBAL_ACCOUNT);
    this.#apply(options);
  }

  /**
   * Builds what connections see of the configuration: authenticators, TLS,
   * limits. Runs at start and on every reload; connections made afterwards
   * get the new environment, existing ones are told to re-check themselves.
   */
  #apply(options: ServerOptions): void {
    this.options = options;
    for (const name of Object.keys(options.accounts)) {
      if (!this.accounts.has(name)) this.#addAccount(name);
    }
    const info: ClientEnvironment["info"] = {
      server_id: this.serverId,
      server_name: options.serverName,
      version: NATS_COMPAT_VERSION,
      proto: PROTOCOL_LEVEL,
      go: `deno ${Deno.version.deno}`,
      host: options.host,
      port: this.#clientListener?.port ?? options.port,
      headers: true,
      max_payload: options.maxPayload,
      canopy_version: CANOPY_VERSION,
    };
    this.#env = {
      options,
      clock: this.clock,
      logger: this.logger,
      // A reload keeps counting the connections already admitted to each account.
      authenticator: new ClientAuthenticator(options, {
        accountLimits: this.#env?.authenticator.jwt?.limits,
      }),
      info,
      account: (name) => this.accounts.get(name),
      closed: (connection, reason) => this.tell({ kind: "connectionClosed", connection, reason }),
      supervisor: this,
      nonce: generateNonce,
      security: listenerSecurity(options.tls),
      events: this.events,
    };
    this.#leafEnv = {
      options,
      clock: this.clock,
      logger: this.logger,
      supervisor: this,
      serverId: this.serverId,
      serverName: options.serverName,
      // Without a cluster block nats-server names its cluster after the server.
      clusterName: options.serverName,
      leafAuth: new LeafAuthenticator(options.leafnodes.authorization, this.#env.authenticator, {
        verifyAndMap: options.leafnodes.tls?.verifyAndMap,
      }),
      account: (name) => this.accounts.get(name),
      info: () => this.#leafInfo(),
      nonce: generateNonce,
      established: (link) => this.tell({ kind: "leafEstablished", link }),
      closed: (link) => this.tell({ kind: "leafClosed", link }),
      security: listenerSecurity(options.leafnodes.tls),
      compression: options.leafnodes.compression ?? { mode: "s2_auto" },
      events: this.events,
    };
    this.#wsClientEnv = { ...this.#env, security: undefined, connectionKind: "WEBSOCKET" };
    // Over WebSocket the frames carry the bytes (and may deflate them): no S2 on top.
    this.#wsLeafEnv = {
      ...this.#leafEnv,
      security: undefined,
      compression: undefined,
      connectionKind: "LEAFNODE_WS",
    };
  }

  /** Opens the listeners. Throws (before anything is served) if a port is unavailable. */
  listen(): void {
    const { options, logger } = this;
    checkTlsOptions(options);
    logger.info(`Starting canopy`);
    logger.info(
      `  Version:  ${CANOPY_VERSION} (NATS protocol of nats-server ${NATS_COMPAT_VERSION})`,
    );
    logger.info(`  Name:     ${options.serverName}`);
    if (options.configFile) logger.info(`Using configuration file: ${options.configFile}`);
    if (!this.#listeners) {
      logger.info("No listeners: connections arrive through the embedding program");
      logger.info("Server is ready");
      this.options.leafnodes.remotes.forEach((remote, i) =>
        this.remotes.push(this.#startRemote(i, remote))
      );
      return;
    }
    this.#clientListener = new ListenerActor({
      label: "client",
      host: options.host,
      port: options.port,
      logger,
      supervisor: this,
      accepted: (transport) => this.tell({ kind: "accepted", transport }),
    });
    this.#env.info.port = this.#clientListener.port;
    logger.info(
      `Listening for client connections on ${hostPort(options.host, this.#clientListener.port)}`,
    );
    const leaf = options.leafnodes;
    this.#leafListener = new ListenerActor({
      label: "leafnode",
      host: leaf.host,
      port: leaf.port,
      logger,
      supervisor: this,
      accepted: (transport) => this.tell({ kind: "leafAccepted", transport }),
    });
    logger.info(
      `Listening for leafnode connections on ${hostPort(leaf.host, this.#leafListener.port)}`,
    );
    const ws = options.websocket;
    if (ws) {
      this.#wsListener = new ListenerActor({
        label: "websocket",
        host: ws.host,
        port: ws.port,
        logger,
        supervisor: this,
        accepted: (transport) => this.tell({ kind: "websocketAccepted", transport }),
      });
      logger.info(
        `Listening for websocket clients on ${ws.noTls ? "ws" : "wss"}://${
          hostPort(ws.host, this.#wsListener.port)
        }`,
      );
    }
    logger.info("Server is ready");
    leaf.remotes.forEach((remote, i) => this.remotes.push(this.#startRemote(i, remote)));
  }

  #startRemote(index: number, remote: RemoteOptions): RemoteActor {
    const actor = new RemoteActor(index, remote, {
      clock: this.clock,
      logger: this.logger,
      supervisor: this,
      reconnectMs: this.options.leafnodes.reconnectMs,
      createLink: (transport, context) => this.#createLink(transport, context),
      prepare: (raw, url, remote, servername) => this.#prepareRemote(raw, url, remote, servername),
    });
    actor.start();
    return actor;
  }

  /** The bound leafnode port (useful when the configured port was 0). */
  get leafPort(): number {
    return this.#leafListener?.port ?? this.options.leafnodes.port;
  }

  #leafInfo(): Omit<LeafInfo, "client_id" | "nonce"> {
    const leaf = this.options.leafnodes;
    // What leaves are told to dial: `advertise` when set (a NAT or proxy in front of us).
    let host = leaf.host;
    let port = this.leafPort;
    if (leaf.advertise) {
      const at = leaf.advertise.lastIndexOf(":");
      if (at > 0) {
        host = leaf.advertise.slice(0, at).replace(/^\[|\]$/g, "");
        port = Number(leaf.advertise.slice(at + 1)) || port;
      } else host = leaf.advertise;
    }
    const url = hostPort(host, port);
    const urls = leaf.advertise ? [url] : listenUrls(host, port);
    const info: Omit<LeafInfo, "client_id" | "nonce"> = {
      server_id: this.serverId,
      server_name: this.options.serverName,
      version: NATS_COMPAT_VERSION,
      proto: PROTOCOL_LEVEL,
      go: `deno ${Deno.version.deno}`,
      host,
      port,
      headers: true,
      auth_required: true,
      max_payload: this.options.maxPayload,
      ip: url,
      info_on_connect: true,
      // `no_advertise` only keeps cluster peers from gossiping our URL; we run no
      // cluster, so like a lone nats-server we always list ourselves.
      leafnode_urls: urls,
    };
    if (leaf.remotes.length > 0) info.cluster = this.options.serverName;
    if (leaf.tls) {
      info.tls_required = true;
      if (leaf.tls.verify || leaf.tls.verifyAndMap) info.tls_verify = true;
    }
    return info;
  }

  /** TLS (and WebSocket) first, then the compression exchange on plain TCP links. */
  async #prepareRemote(
    raw: Transport,
    url: URL,
    remote: RemoteOptions,
    servername: string | undefined,
  ): Promise<PreparedLink> {
    if (url.protocol === "ws:" || url.protocol === "wss:") {
      return await prepareWebsocketRemote(raw, url, remote, this.clock, servername);
    }
    const prepared = await prepareRemoteLink(raw, url, remote, this.clock, servername);
    const negotiated = await solicitCompression(prepared.transport, prepared.firstInfo, {
      compression: remote.compression,
      clock: this.clock,
      timeoutMs: remote.firstInfoTimeoutMs,
      info: () => ({ ...this.#leafInfo() }),
    });
    return {
      transport: negotiated.transport,
      firstInfo: negotiated.firstInfo,
      compressMode: negotiated.mode,
      s2: negotiated.s2,
    };
  }

  #createLink(transport: Transport, context: SolicitContext): LeafConnection {
    const link = new LeafConnection(this.#nextCid++, transport, this.#leafEnv, context);
    this.leafs.set(link.cid, link);
    return link;
  }

  /**
   * Hands over a connection that arrived some other way (an edge platform's
   * WebSocket): it is served like one from the websocket listener, TLS and
   * framing already done by the host.
   */
  accept(transport: Transport, kind: "client" | "leafnode"): void {
    if (kind === "leafnode") {
      this.tell({ kind: "leafAccepted", transport, secured: true, websocket: true });
    } else this.tell({ kind: "accepted", transport, secured: true, websocket: true });
  }

  /** The bound client port (useful when the configured port was 0). */
  get clientPort(): number {
    return this.#clientListener?.port ?? this.options.port;
  }

  /** Supervision policy: connections are stopped, everything else resumes. */
  childFailed(child: Actor<never>, error: unknown): Directive {
    if (child instanceof ClientConnection || child instanceof LeafConnection) {
      this.logger.error(`${child.name}: crashed, closing it: ${errorText(error)}`);
      return "stop";
    }
    if (child instanceof RemoteActor) {
      this.logger.error(`${child.name}: crashed, restarting it: ${errorText(error)}`);
      return "restart";
    }
    this.logger.error(`${child.name}: failed handling a message, resuming: ${errorText(error)}`);
    return "resume";
  }

  protected receive(msg: ServerMessage): void {
    switch (msg.kind) {
      case "accepted":
        return this.#admit(msg.transport, msg.secured, msg.websocket);
      case "leafAccepted":
        return this.#admitLeaf(msg.transport, msg.secured, msg.websocket);
      case "websocketAccepted":
        return this.#admitWebsocket(msg.transport);
      case "connectionClosed":
        this.connections.delete(msg.connection.cid);
        this.#maybeAllClosed();
        return;
      case "leafEstablished":
        return this.#replaceDuplicate(msg.link);
      case "leafClosed":
        this.leafs.delete(msg.link.cid);
        this.#maybeAllClosed();
        return;
      case "shutdown":
        return this.#shutdown(msg.done);
      case "reload":
        return this.#reload(msg.options, msg.done);
      case "lameDuck":
        return this.#lameDuck(msg.done);
      case "lameDuckNext":
        return this.#lameDuckNext();
    }
  }

  #admit(transport: Transport, secured = false, websocket = false): void {
    if (this.#shuttingDown || this.#inLameDuck) {
      transport.close();
      return;
    }
    if (this.connections.size >= this.options.maxConnections) {
      this.logger.error(
        `${transport.remoteHost}:${transport.remotePort} - ${ErrText.maxConnections}`,
      );
      // nats-server greets the extra client with INFO before refusing it.
      const info = encodeInfo({ ...this.#env.info, client_id: this.#nextCid++ });
      const err = encodeErr(ErrText.maxConnections);
      const bytes = new Uint8Array(info.length + err.length);
      bytes.set(info);
      bytes.set(err, info.length);
      transport.write(bytes).catch(() => {}).finally(() => transport.close());
      return;
    }
    const security = this.#env.security;
    if (security?.handshakeFirst && !secured) {
      this.#handshakeFirst(
        transport,
        security,
        (secured) => this.tell({ kind: "accepted", transport: secured, secured: true }),
      );
      return;
    }
    const cid = this.#nextCid++;
    const connection = new ClientConnection(
      cid,
      transport,
      websocket ? this.#wsClientEnv : this.#env,
    );
    this.connections.set(cid, connection);
    this.totalConnections++;
    connection.start();
  }

  /** `handshake_first`: TLS runs before the connection exists; failures only cost a log line. */
  #handshakeFirst(
    raw: Transport,
    security: ConnectionSecurity,
    secured: (transport: Transport) => void,
  ): void {
    security.acceptFirst(raw).then(secured, (error) => {
      this.logger.error(
        `${raw.remoteHost}:${raw.remotePort} - TLS handshake error: ${errorMessage(error)}`,
      );
      raw.close();
    });
  }

  /** TLS and the HTTP upgrade run before the connection exists; the path picks client or leaf. */
  #admitWebsocket(raw: Transport): void {
    if (this.#shuttingDown) return raw.close();
    acceptWebsocketConnection(raw, this.options.websocket!, this.clock).then(
      ({ transport, kind }) => {
        if (kind === "leafnode") {
          this.tell({ kind: "leafAccepted", transport, secured: true, websocket: true });
        } else if (kind === "client") {
          this.tell({ kind: "accepted", transport, secured: true, websocket: true });
        } else {
          this.logger.error(
            `${raw.remoteHost}:${raw.remotePort} - MQTT over websocket is not supported`,
          );
          transport.close();
        }
      },
      (error) => {
        this.logger.error(
          `${raw.remoteHost}:${raw.remotePort} - websocket handshake error: ${errorMessage(error)}`,
        );
        raw.close();
      },
    );
  }

  #admitLeaf(transport: Transport, secured = false, websocket = false): void {
    if (this.#shuttingDown || this.#inLameDuck) {
      transport.close();
      return;
    }
    if (websocket) {
      const link = new LeafConnection(this.#nextCid++, transport, this.#wsLeafEnv);
      this.leafs.set(link.cid, link);
      link.start();
      return;
    }
    const security = this.#leafEnv.security;
    if (security?.handshakeFirst && !secured) {
      this.#handshakeFirst(
        transport,
        security,
        (t) => this.tell({ kind: "leafAccepted", transport: t, secured: true }),
      );
      return;
    }
    const link = new LeafConnection(this.#nextCid++, transport, this.#leafEnv);
    this.leafs.set(link.cid, link);
    link.start();
  }

  /** An older inbound link from the same peer and account is replaced by the new one (spec 3.11). */
  #replaceDuplicate(link: LeafConnection): void {
    if (!link.peerName) return;
    for (const other of this.leafs.values()) {
      if (
        other !== link && other.side === "accept" && other.peerName === link.peerName &&
        other.peerCluster === link.peerCluster && other.account === link.account &&
        other.peerRemoteAccount === link.peerRemoteAccount
      ) {
        this.logger.warn(`${other.label} - Replacing duplicate leafnode connection`);
        other.tell({
          kind: "close",
          reason: "Duplicate Remote LeafNode Connection",
          errText: "Duplicate Remote LeafNode Connection",
        });
      }
    }
  }

  #maybeAllClosed(): void {
    if (this.#shuttingDown && this.connections.size === 0 && this.leafs.size === 0) {
      this.#allClosed?.();
    }
  }

  /**
   * Live reload: users, permissions, accounts, remotes and deny lists change
   * without a restart; links whose remote did not change stay up. A config
   * that cannot be applied is refused whole and the old one keeps running.
   */
  #reload(next: ServerOptions, done: (error?: Error) => void): void {
    const old = this.options;
    // nats-server's option names, as its refusal text uses them.
    const fixed: [string, unknown, unknown][] = [
      ["Host", old.host, next.host],
      ["Port", old.port, next.port],
      ["LeafNode.Host", old.leafnodes.host, next.leafnodes.host],
      ["LeafNode.Port", old.leafnodes.port, next.leafnodes.port],
      ["Websocket", JSON.stringify(old.websocket ?? null), JSON.stringify(next.websocket ?? null)],
      ["HTTPPort", old.httpPort, next.httpPort],
    ];
    for (const [key, a, b] of fixed) {
      if (a !== b) {
        return done(new ReloadError(`config reload not supported for ${key}: old=${a}, new=${b}`));
      }
    }
    try {
      checkTlsOptions(next);
    } catch (error) {
      return done(error as Error);
    }
    this.#apply(next);
    for (const c of this.connections.values()) c.tell({ kind: "reauthorize", env: this.#env });
    this.#reloadRemotes(next);
    this.logger.info(
      `Reloaded server configuration${next.configFile ? ` ${next.configFile}` : ""}`,
    );
    done();
  }

  /** Remotes are matched by their whole configuration: unchanged ones keep their links. */
  #reloadRemotes(next: ServerOptions): void {
    const keyOf = (r: RemoteOptions) => JSON.stringify(r);
    const kept = new Map<string, RemoteActor[]>();
    for (const actor of this.remotes) {
      const key = keyOf(actor.remote);
      kept.set(key, [...(kept.get(key) ?? []), actor]);
    }
    const remotes: RemoteActor[] = [];
    next.leafnodes.remotes.forEach((remote, i) => {
      const same = kept.get(keyOf(remote))?.shift();
      if (same) remotes.push(same);
      else {
        this.logger.info(`Reload: starting remote ${i} (${remote.urls.join(", ")})`);
        remotes.push(this.#startRemote(i, remote));
      }
    });
    for (const leftover of kept.values()) {
      for (const actor of leftover) {
        this.logger.info(
          `Reload: stopping remote ${actor.index} (${actor.remote.urls.join(", ")})`,
        );
        actor.tell({ kind: "stop" });
      }
    }
    this.remotes.splice(0, this.remotes.length, ...remotes);
  }

  /**
   * Lame duck mode (nats-server's SIGUSR2 behaviour, our signal too): stop
   * accepting, tell clients (INFO `ldm`) so they reconnect elsewhere, close
   * them one by one over the lame duck duration after a grace period, then
   * shut down.
   */
  #lameDuck(done: () => void): void {
    this.#exitWaiters.push(done);
    if (this.#shuttingDown || this.#inLameDuck) return;
    this.#inLameDuck = true;
    // Lame duck must finish even in a program with nothing else to do: our clock's
    // timers never keep the process alive, so hold it open until we exit.
    this.#keepAlive = setInterval(() => {}, 1000);
    const duration = this.options.lameDuckDurationMs ?? LAME_DUCK_DURATION_MS;
    const grace = Math.min(this.options.lameDuckGracePeriodMs ?? LAME_DUCK_GRACE_MS, duration);
    this.logger.info(`Entering lame duck mode, stop accepting new clients`);
    this.#clientListener?.tell({ kind: "stop" });
    this.#wsListener?.tell({ kind: "stop" });
    this.#leafListener?.tell({ kind: "stop" });
    const clients = this.connections.size;
    if (clients === 0) return this.#shutdown();
    const info = encodeInfo({ ...this.#env.info, ldm: true });
    for (const c of this.connections.values()) c.tell({ kind: "send", bytes: info });
    // As nats-server: spread the closes over the duration, never more than 1s apart.
    this.#lameDuckStep = Math.min(LAME_DUCK_MAX_STEP_MS, Math.max(1, (duration - grace) / clients));
    this.clock.setTimeout(() => this.tell({ kind: "lameDuckNext" }), grace);
  }

  #lameDuckNext(): void {
    if (this.#shuttingDown) return;
    const next = this.connections.values().next();
    if (next.done || this.connections.size === 1) return this.#shutdown();
    next.value.tell({ kind: "close", reason: "Lame Duck Mode" });
    const step = this.#lameDuckStep * (0.5 + Math.random() / 2);
    this.clock.setTimeout(() => this.tell({ kind: "lameDuckNext" }), step);
  }

  #inLameDuck = false;
  #lameDuckStep = 0;
  #keepAlive?: ReturnType<typeof setInterval>;
  /** Everyone waiting for the server to finish (shutdown and lame duck callers). */
  #exitWaiters: (() => void)[] = [];

  #shutdown(done?: () => void): void {
    if (done) this.#exitWaiters.push(done);
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    this.logger.info("Initiating Shutdown...");
    this.#clientListener?.tell({ kind: "stop" });
    this.#leafListener?.tell({ kind: "stop" });
    this.#wsListener?.tell({ kind: "stop" });
    for (const remote of this.remotes) remote.tell({ kind: "stop" });
    const finish = () => {
      for (const account of this.accounts.values()) account.stop({ reason: "shutdown" });
      this.logger.info("Server Exiting..");
      if (this.#keepAlive !== undefined) clearInterval(this.#keepAlive);
      for (const waiter of this.#exitWaiters.splice(0)) waiter();
      this.stop({ reason: "shutdown" });
    };
    if (this.connections.size === 0 && this.leafs.size === 0) return finish();
    const timer = this.clock.setTimeout(finish, SHUTDOWN_GRACE_MS);
    this.#allClosed = () => {
      this.clock.clearTimeout(timer);
      finish();
    };
    for (const c of this.connections.values()) c.tell({ kind: "close", reason: "Server Shutdown" });
    for (const l of this.leafs.values()) l.tell({ kind: "close", reason: "Server Shutdown" });
  }

  #addAccount(name: string): void {
    this.accounts.set(name, new AccountActor(name, { supervisor: this }));
  }
}

/**
 * What leaves should dial when we listen on every interface: our interface
 * addresses (as nats-server lists them), never the unroutable 0.0.0.0.
 */
function listenUrls(host: string, port: number): string[] {
  if (host !== "0.0.0.0" && host !== "::") return [hostPort(host, port)];
  try {
    return Deno.networkInterfaces()
      .filter((i) => (host === "::" || i.family === "IPv4") && !isLoopback(i.address))
      .map((i) => hostPort(i.address, port));
  } catch {
    return []; // no --allow-sys: leaves keep their configured URLs
  }
}

function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1" || address.startsWith("fe80:");
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** One line for peers' mistakes; stack traces are for our own crashes. */
function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function errorText(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
