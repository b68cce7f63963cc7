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
import { Logger } from "./logger.ts";
import type { Transport } from "./transport.ts";
import type { ServerOptions } from "../config/options.ts";
import { ClientAuthenticator } from "../protocol/client_auth.ts";
import { GLOBAL_ACCOUNT } from "../config/defaults.ts";
import { encodeErr, encodeInfo } from "../protocol/encoder.ts";
import { ErrText } from "../protocol/protocol_error.ts";
import { CANOPY_VERSION, NATS_COMPAT_VERSION, PROTOCOL_LEVEL } from "../protocol/info.ts";
import { generateNonce } from "../protocol/nonce.ts";

export type ServerMessage =
  | { kind: "accepted"; transport: Transport }
  | { kind: "connectionClosed"; connection: ClientConnection; reason: string }
  | { kind: "shutdown"; done: () => void };

export interface ServerDependencies {
  clock?: Clock;
  logger?: Logger;
}

/** Longest time shutdown waits for connections to flush and close. */
const SHUTDOWN_GRACE_MS = 2000;

export class ServerActor extends Actor<ServerMessage> implements Supervisor {
  readonly options: ServerOptions;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly serverId: string;
  readonly startedAt: Date;
  readonly accounts = new Map<string, AccountActor>();
  readonly connections = new Map<number, ClientConnection>();
  #clientListener?: ListenerActor;
  #nextCid = 1;
  #env: ClientEnvironment;
  #shuttingDown = false;
  #allClosed?: () => void;
  totalConnections = 0;

  constructor(options: ServerOptions, deps: ServerDependencies = {}) {
    super({ name: "server" });
    this.options = options;
    this.clock = deps.clock ?? new SystemClock();
    this.logger = deps.logger ?? new Logger({ debug: options.debug, trace: options.trace });
    this.serverId = options.serverName;
    this.startedAt = new Date();
    this.#addAccount(GLOBAL_ACCOUNT);
    for (const name of Object.keys(options.accounts)) this.#addAccount(name);
    const info: ClientEnvironment["info"] = {
      server_id: this.serverId,
      server_name: options.serverName,
      version: NATS_COMPAT_VERSION,
      proto: PROTOCOL_LEVEL,
      go: `deno ${Deno.version.deno}`,
      host: options.host,
      port: options.port,
      headers: true,
      max_payload: options.maxPayload,
      canopy_version: CANOPY_VERSION,
    };
    this.#env = {
      options,
      clock: this.clock,
      logger: this.logger,
      authenticator: new ClientAuthenticator(options),
      info,
      account: (name) => this.accounts.get(name),
      closed: (connection, reason) => this.tell({ kind: "connectionClosed", connection, reason }),
      supervisor: this,
      nonce: generateNonce,
    };
  }

  /** Opens the listeners. Throws (before anything is served) if a port is unavailable. */
  listen(): void {
    const { options, logger } = this;
    logger.info(`Starting canopy`);
    logger.info(
      `  Version:  ${CANOPY_VERSION} (NATS protocol of nats-server ${NATS_COMPAT_VERSION})`,
    );
    logger.info(`  Name:     ${options.serverName}`);
    if (options.configFile) logger.info(`Using configuration file: ${options.configFile}`);
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
    logger.info("Server is ready");
  }

  /** The bound client port (useful when the configured port was 0). */
  get clientPort(): number {
    return this.#clientListener?.port ?? this.options.port;
  }

  /** Supervision policy: connections are stopped, everything else resumes. */
  childFailed(child: Actor<never>, error: unknown): Directive {
    if (child instanceof ClientConnection) {
      this.logger.error(`${child.name}: crashed, closing it: ${errorText(error)}`);
      return "stop";
    }
    this.logger.error(`${child.name}: failed handling a message, resuming: ${errorText(error)}`);
    return "resume";
  }

  protected receive(msg: ServerMessage): void {
    switch (msg.kind) {
      case "accepted":
        return this.#admit(msg.transport);
      case "connectionClosed":
        this.connections.delete(msg.connection.cid);
        if (this.#shuttingDown && this.connections.size === 0) this.#allClosed?.();
        return;
      case "shutdown":
        return this.#shutdown(msg.done);
    }
  }

  #admit(transport: Transport): void {
    if (this.#shuttingDown) {
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
    const cid = this.#nextCid++;
    const connection = new ClientConnection(cid, transport, this.#env);
    this.connections.set(cid, connection);
    this.totalConnections++;
    connection.start();
  }

  #shutdown(done: () => void): void {
    if (this.#shuttingDown) return done();
    this.#shuttingDown = true;
    this.logger.info("Initiating Shutdown...");
    this.#clientListener?.tell({ kind: "stop" });
    const finish = () => {
      for (const account of this.accounts.values()) account.stop({ reason: "shutdown" });
      this.logger.info("Server Exiting..");
      done();
      this.stop({ reason: "shutdown" });
    };
    if (this.connections.size === 0) return finish();
    const timer = this.clock.setTimeout(finish, SHUTDOWN_GRACE_MS);
    this.#allClosed = () => {
      this.clock.clearTimeout(timer);
      finish();
    };
    for (const c of this.connections.values()) c.tell({ kind: "close", reason: "Server Shutdown" });
  }

  #addAccount(name: string): void {
    this.accounts.set(name, new AccountActor(name, { supervisor: this }));
  }
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

function errorText(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
