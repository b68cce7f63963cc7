/**
 * One NATS client connection as an actor: it parses what the client sends,
 * enforces auth, permissions and limits, hands publishes to its account and
 * writes deliveries into one coalesced output buffer.
 *
 * @module
 */
import { Actor, type StopReason, type Supervisor } from "./actor.ts";
import type { AccountActor } from "./account.ts";
import type { Clock, TimerId } from "./clock.ts";
import type { Logger } from "./logger.ts";
import { Outbound, type WriteFailure } from "./outbound.ts";
import { StallGate } from "./stall_gate.ts";
import { Backpressure, stallThreshold } from "./backpressure.ts";
import { readLoop } from "./read_loop.ts";
import type { ServerEvents } from "./server_events.ts";
import type {
  ConnectionSecurity,
  PeerCertificate,
  SecuredTransport,
} from "./connection_security.ts";
import type { ClientInbound, ClientTarget, DeliverMessage, Subscription } from "./subscription.ts";
import type { Transport } from "./transport.ts";
import type { ServerOptions } from "../config/options.ts";
import type {
  AuthIdentity,
  AuthVerdict,
  ClientAuthenticator,
  ConnectionKind,
  ConnectionLease,
} from "../protocol/client_auth.ts";
import { type ConnectOptions, parseConnect, type ServerInfo } from "../protocol/info.ts";
import { Parser } from "../protocol/parser.ts";
import type { Op } from "../protocol/ops.ts";
import { ErrText, ProtocolError } from "../protocol/protocol_error.ts";
import {
  encodeErr,
  encodeInfo,
  hmsgHeaderLength,
  msgHeaderLength,
  OK,
  PING,
  PONG,
  writeHmsgHeader,
  writeMsgHeader,
} from "../protocol/encoder.ts";
import {
  Permissions,
  publishViolation,
  subscribeViolation,
  SYSTEM_QUEUE_GROUP,
} from "../protocol/permissions.ts";
import { isValidQueueName, isValidSubject, publishSubjectError } from "../protocol/subject.ts";

export type ClientMessage =
  | { kind: "received"; data: Uint8Array }
  | { kind: "readEnded"; error?: unknown }
  | ClientInbound
  | { kind: "unstalled" }
  | { kind: "authenticated"; verdict: AuthVerdict }
  | { kind: "authTimeout" }
  | { kind: "pingTimer" }
  | { kind: "writeFailed"; failure: WriteFailure }
  | { kind: "close"; reason: string; errText?: string }
  /** A configuration reload: check this client again against the new users and rights. */
  | { kind: "reauthorize"; env: ClientEnvironment }
  | { kind: "reauthorized"; verdict: AuthVerdict }
  /** Server-originated protocol, such as the lame duck INFO. */
  | { kind: "send"; bytes: Uint8Array };

/** What a connection needs from the server around it. */
export interface ClientEnvironment {
  options: ServerOptions;
  clock: Clock;
  logger: Logger;
  authenticator: ClientAuthenticator;
  /** The server-wide INFO; the connection adds its own client fields. */
  info: Omit<ServerInfo, "client_id" | "client_ip" | "nonce">;
  /** Looks up an account actor by name. */
  account(name: string): AccountActor | undefined;
  /** Told once when the connection has fully closed. */
  closed(connection: ClientConnection, reason: string): void;
  supervisor: Supervisor;
  nonce(): string;
  /** Set when the client port requires TLS (INFO first, then the handshake). */
  security?: ConnectionSecurity;
  /** How clients of this listener arrive, for user JWTs' `allowed_connection_types`. */
  connectionKind?: ConnectionKind;
  events?: ServerEvents;
}

type State = "connecting" | "authenticating" | "open" | "closing";

/** How long a closing connection may take to flush its final `-ERR`. */
const CLOSE_FLUSH_MS = 500;

export class ClientConnection extends Actor<ClientMessage> implements ClientTarget {
  readonly kind = "client";
  readonly cid: number;
  echo = true;
  #transport: Transport;
  readonly startedAt: number;
  /** Set once the client is authenticated. */
  account?: AccountActor;
  user?: string;
  clientName?: string;
  inMsgs = 0;
  outMsgs = 0;
  /** Message bytes (headers and payload) received and sent, as nats-server counts them. */
  inBytes = 0;
  outBytes = 0;

  #env: ClientEnvironment;
  #parser: Parser;
  #out: Outbound;
  #state: State = "connecting";
  #connected = false;
  /** The CONNECT we were given, so that a reload can check the same credentials again. */
  #connectJson = "{}";
  /** Publishes handed to the account since direct output last went through it. */
  #routedSinceSync = false;
  /** Barriers told to the account and not yet relayed back. */
  #barriers = 0;
  /** Unsubscribed, but deliveries routed before the UNSUB may still arrive. */
  #ending = new Set<Subscription>();
  /** nats-server serves ops sent before CONNECT as verbose and pedantic. */
  #verbose = true;
  #pedantic = true;
  #headers = false;
  #noResponders = false;
  #nonce?: string;
  #subs = new Map<string, Subscription>();
  #perms?: Permissions;
  /** Ops that arrived after CONNECT while credentials were still being checked. */
  #heldOps: Op[] = [];
  #authTimer?: TimerId;
  #pingTimer?: TimerId;
  #pingsOut = 0;
  #closeReason = "";
  /** Operator mode: this connection's place in its account's connection count. */
  #lease?: ConnectionLease;
  #expiryTimer?: TimerId;
  #discardOutput = false;
  #peerCertificate?: PeerCertificate;
  /** Where this connection's read loop waits while receivers it feeds are congested. */
  #gate: StallGate;
  #backpressure: Backpressure;

  constructor(cid: number, transport: Transport, env: ClientEnvironment) {
    super({ name: `cid:${cid}`, supervisor: env.supervisor });
    this.cid = cid;
    this.#transport = transport;
    this.#env = env;
    this.startedAt = env.clock.now();
    const { options } = env;
    this.#parser = new Parser({
      role: "server",
      maxControlLine: options.maxControlLine,
      maxPayload: options.maxPayload,
      onOp: (op) => this.#onOp(op),
    });
    this.#gate = new StallGate(env.clock);
    // Without a way in for anonymous clients, anything but CONNECT first is refused.
    this.#parser.requireConnect = !env.authenticator.anonymousIdentity();
    this.#out = new Outbound({
      transport,
      clock: env.clock,
      writeDeadlineMs: options.writeDeadlineMs,
      onFailure: (failure) => this.tell({ kind: "writeFailed", failure }),
    });
    this.#backpressure = new Backpressure(
      this.#out,
      stallThreshold(options.maxPending),
      this,
      () => this.tell({ kind: "unstalled" }),
    );
  }

  /** The socket (after TLS, the TLS stream). */
  get transport(): Transport {
    return this.#transport;
  }

  /** Sends INFO, arms the auth timer, runs TLS if required, then reads. */
  start(): void {
    const { authenticator, clock, options } = this.#env;
    // With handshake_first the listener already ran TLS.
    this.#peerCertificate = (this.#transport as SecuredTransport).peerCertificate?.();
    const info: ServerInfo = {
      ...this.#env.info,
      client_id: this.cid,
      client_ip: this.transport.remoteHost,
    };
    if (authenticator.authRequired) info.auth_required = true;
    if (authenticator.nonceRequired) info.nonce = this.#nonce = this.#env.nonce();
    const security = this.#env.security;
    if (security) {
      info.tls_required = true;
      if (security.verify) info.tls_verify = true;
    }
    this.#out.append(encodeInfo(info));
    this.#out.flush();
    this.#authTimer = clock.setTimeout(
      () => this.tell({ kind: "authTimeout" }),
      options.authTimeoutMs,
    );
    this.#armPing();
    this.#secureThenRead(security?.handshakeFirst ? undefined : security);
  }

  async #secureThenRead(security: ConnectionSecurity | undefined): Promise<void> {
    if (security) {
      await this.#out.drained();
      try {
        const secured = await security.upgrade(this.#transport);
        if (this.isStopped) return secured.close();
        this.#transport = secured;
        this.#peerCertificate = secured.peerCertificate?.();
        this.#out.retarget(secured);
      } catch (error) {
        this.#env.logger.error(
          `${this.#label()} - TLS handshake error: ${
            error instanceof Error ? error.message : error
          }`,
        );
        this.tell({ kind: "close", reason: "TLS Handshake Error" });
        return;
      }
    }
    readLoop({
      transport: this.#transport,
      gate: this.#gate,
      received: (data) => this.tell({ kind: "received", data }),
      ended: (error) => this.tell({ kind: "readEnded", error }),
      stopped: () => this.isStopped,
    });
  }

  get subscriptionCount(): number {
    return this.#subs.size;
  }

  get pendingBytes(): number {
    return this.#out.pending;
  }

  /** The subscriptions of this connection, for monitoring. */
  subscriptions(): Iterable<Subscription> {
    return this.#subs.values();
  }

  protected receive(msg: ClientMessage): void {
    switch (msg.kind) {
      case "received":
        return this.#received(msg.data);
      case "deliver":
        return this.#deliver(msg);
      case "stall":
        this.#gate.hold(msg.until);
        return;
      case "unstalled":
        this.#backpressure.reset();
        return;
      case "relay":
        this.#barriers--;
        if (this.#state !== "closing") this.#out.append(msg.bytes);
        return;
      case "subscriptionEnded":
        if (this.#subs.get(msg.sub.sid) === msg.sub) this.#subs.delete(msg.sub.sid);
        this.#ending.delete(msg.sub);
        return;
      case "authenticated":
        return this.#authenticated(msg.verdict);
      case "authTimeout":
        if (this.#state === "connecting" || this.#state === "authenticating") {
          this.#close("Authentication Timeout", ErrText.authTimeout);
        }
        return;
      case "pingTimer":
        return this.#pingTimerFired();
      case "readEnded":
        return this.#close(msg.error ? "Read Error" : "Client Closed");
      case "writeFailed":
        if (msg.failure.kind === "deadline") {
          this.#env.logger.warn(
            `${this.#label()} - Slow Consumer Detected: WriteDeadline of ${this.#env.options.writeDeadlineMs}ms exceeded`,
          );
          return this.#cutOff("Slow Consumer (Write Deadline)");
        }
        return this.#close("Write Error");
      case "close":
        return this.#close(msg.reason, msg.errText);
      case "reauthorize":
        return this.#reauthorize(msg.env);
      case "reauthorized":
        return this.#reauthorized(msg.verdict);
      case "send":
        if (this.#state === "open") this.#out.append(msg.bytes);
        return;
    }
  }

  protected override afterBatch(): void {
    this.#out.flush();
  }

  protected override onOverflow(): void {
    // The mailbox bound is the connection's inbound queue limit: treat it like
    // a slow consumer rather than queue without end.
    queueMicrotask(() => this.#cutOff("Slow Consumer (Mailbox Full)"));
  }

  #received(data: Uint8Array): void {
    if (this.#state === "closing") return;
    try {
      this.#parser.feed(data);
    } catch (error) {
      if (error instanceof ProtocolError) {
        this.#env.logger.error(`${this.#label()} - Client parser ERROR: ${error.message}`);
        if (error.close) return this.#close("Protocol Violation", error.errText);
        if (error.errText) this.#sendErr(error.errText);
        return;
      }
      throw error;
    }
  }

  #onOp(op: Op): void {
    if (this.#state === "closing") return;
    if (this.#state === "authenticating") {
      this.#heldOps.push(op);
      return;
    }
    if (this.#state === "connecting" && op.kind !== "CONNECT" && !this.#bindAnonymous()) {
      return this.#close("Authorization Violation", ErrText.authorization);
    }
    switch (op.kind) {
      case "CONNECT":
        return this.#onConnect(op.json);
      case "PUB":
        return this.#onPub(op.subject, op.reply, 0, op.payload);
      case "HPUB":
        // nats-server closes without an -ERR here ("message headers not supported").
        if (!this.#headers) return this.#close("Message Headers Not Supported");
        return this.#onPub(op.subject, op.reply, op.headerSize, op.message);
      case "SUB":
        return this.#onSub(op.subject, op.queue, op.sid);
      case "UNSUB":
        return this.#onUnsub(op.sid, op.max);
      case "PING":
        this.#reply(PONG);
        return;
      case "PONG":
        this.#pingsOut = 0;
        return;
      case "OK":
      case "ERR":
      case "INFO":
        return;
      default:
        return this.#close("Protocol Violation", ErrText.unknownProtocol);
    }
  }

  /**
   * Ops before CONNECT are served when the server would let a client in
   * without credentials (no auth, or a `no_auth_user`).
   */
  #bindAnonymous(): boolean {
    const identity = this.#env.authenticator.anonymousIdentity();
    if (!identity) return false;
    this.#bind(identity);
    return this.#state === "open";
  }

  #onConnect(json: string): void {
    if (this.#state !== "connecting" && this.#state !== "open") return;
    if (this.#connected) return; // a second CONNECT changes nothing, as in nats-server
    this.#connected = true;
    this.#connectJson = json;
    this.#parser.requireConnect = false;
    if (this.#state === "open") {
      // Already bound anonymously by earlier ops; CONNECT only sets options now.
      this.#applyConnect(json);
      if (this.#verbose && this.#state === "open") this.#reply(OK);
      return;
    }
    const connect = this.#applyConnect(json);
    if (!connect) return;
    this.#state = "authenticating";
    this.#env.authenticator.authenticate(
      connect,
      this.#nonce,
      this.#peerCertificate,
      this.#env.connectionKind,
    ).then(
      (verdict) => this.tell({ kind: "authenticated", verdict }),
      (error) =>
        this.tell({ kind: "authenticated", verdict: { ok: false, reason: String(error) } }),
    );
  }

  /**
   * After a reload the same credentials are checked against the new
   * configuration: a client whose user is gone, or now lives in another
   * account, is disconnected; otherwise its new rights apply at once.
   */
  get #connectOptions(): ConnectOptions {
    return parseConnect(this.#connectJson);
  }

  #reauthorize(env: ClientEnvironment): void {
    this.#env = env;
    if (this.#state !== "open") return;
    // Operator mode: re-admitted below against the (possibly new) account limits.
    this.#lease?.release();
    this.#lease = undefined;
    const verdict: Promise<AuthVerdict> = this.#connected
      ? env.authenticator.authenticate(
        this.#connectOptions,
        this.#nonce,
        this.#peerCertificate,
        env.connectionKind,
      )
      : Promise.resolve(
        env.authenticator.anonymousIdentity() === undefined
          ? { ok: false, reason: "credentials are now required" }
          : { ok: true, identity: env.authenticator.anonymousIdentity()! },
      );
    verdict.then(
      (v) => this.tell({ kind: "reauthorized", verdict: v }),
      (error) => this.tell({ kind: "reauthorized", verdict: { ok: false, reason: String(error) } }),
    );
  }

  #reauthorized(verdict: AuthVerdict): void {
    if (this.#state !== "open") {
      if (verdict.ok) verdict.identity.lease?.release();
      return;
    }
    if (verdict.ok) this.#lease = verdict.identity.lease;
    if (!verdict.ok || verdict.identity.account !== this.account?.accountName) {
      const why = verdict.ok ? "its account changed" : verdict.reason;
      this.#env.logger.error(`${this.#label()} - disconnected by a configuration reload: ${why}`);
      return this.#close(
        "Authentication Failure",
        verdict.ok ? ErrText.authorization : verdict.wireError ?? ErrText.authorization,
      );
    }
    const clock = this.#env.clock;
    this.#perms = Permissions.compile(verdict.identity.permissions, { now: () => clock.now() });
  }

  /** Reads CONNECT's options; closes the connection and returns undefined if they are unusable. */
  #applyConnect(json: string): ConnectOptions | undefined {
    let connect: ConnectOptions;
    try {
      connect = parseConnect(json);
    } catch {
      // Broken CONNECT JSON: nats-server closes without an -ERR.
      this.#close("Protocol Violation");
      return undefined;
    }
    // nats-server's defaults when a field is absent: verbose and pedantic on.
    this.#verbose = connect.verbose !== false;
    this.#pedantic = connect.pedantic !== false;
    this.#headers = connect.headers === true;
    if (connect.no_responders === true && !this.#headers) {
      this.#close("Protocol Violation", ErrText.noRespondersRequiresHeaders);
      return undefined;
    }
    this.#noResponders = connect.no_responders === true;
    this.echo = connect.echo !== false;
    this.clientName = connect.name;
    return connect;
  }

  #authenticated(verdict: AuthVerdict): void {
    if (this.#state !== "authenticating") {
      // Closed while the verdict was on its way: give its place back.
      if (verdict.ok) verdict.identity.lease?.release();
      return;
    }
    if (!verdict.ok) {
      this.#env.logger.error(`${this.#label()} - authentication error: ${verdict.reason}`);
      this.#env.events?.emit("authFailure", {
        kind: "client",
        remote: this.#label(),
        reason: verdict.reason,
      });
      return verdict.wireError
        ? this.#close("Maximum Account Connections Exceeded", verdict.wireError)
        : this.#close("Authentication Failure", ErrText.authorization);
    }
    this.#lease = verdict.identity.lease;
    this.#armExpiry(verdict.identity);
    this.#bind(verdict.identity);
    if (this.#state as State !== "open") return;
    if (this.#verbose) this.#reply(OK);
    const held = this.#heldOps;
    this.#heldOps = [];
    for (const op of held) this.#onOp(op);
  }

  /** Operator mode: a user JWT that expires closes the connection then, as nats-server does. */
  #armExpiry(identity: AuthIdentity): void {
    if (identity.expiresAtMs === undefined) return;
    const { clock } = this.#env;
    const delay = Math.max(0, identity.expiresAtMs - clock.now());
    this.#expiryTimer = clock.setTimeout(
      () =>
        this.tell({
          kind: "close",
          reason: "Authentication Expired",
          errText: "User Authentication Expired",
        }),
      delay,
    );
  }

  /** Binds the connection to its account and rights; the connection is open afterwards. */
  #bind(identity: AuthIdentity): void {
    const account = this.#env.account(identity.account);
    if (!account) {
      this.#env.logger.error(`${this.#label()} - account "${identity.account}" does not exist`);
      return this.#close("Authentication Failure", ErrText.authorization);
    }
    this.account = account;
    this.user = identity.user;
    const clock = this.#env.clock;
    this.#perms = Permissions.compile(identity.permissions, { now: () => clock.now() });
    if (this.#authTimer !== undefined) clock.clearTimeout(this.#authTimer);
    this.#state = "open";
    this.#env.logger.debug(
      `${this.#label()} - Client connection created (account ${account.accountName}${
        this.user ? `, user ${this.user}` : ""
      })`,
    );
  }

  #onPub(subject: string, reply: string | undefined, headerSize: number, message: Uint8Array) {
    const account = this.account!;
    if (this.#pedantic) {
      // nats-server reports a bad subject to a pedantic client yet still routes the message.
      const problem = publishSubjectError(subject, { pedantic: true });
      if (problem) this.#sendErr(problem);
    }
    if (this.#perms && !this.#perms.canPublish(subject)) {
      this.#env.logger.error(`${this.#label()} - ${publishViolation(subject)}`);
      this.#sendErr(publishViolation(subject));
      return;
    }
    // nats-server acknowledges a verbose PUB before it routes the message.
    if (this.#verbose) this.#reply(OK);
    this.inMsgs++;
    this.inBytes += message.length;
    this.#routedSinceSync = true;
    account.tell({
      kind: "publish",
      from: this,
      subject,
      reply,
      headerSize,
      message,
      noResponders: this.#noResponders,
    });
  }

  #onSub(subject: string, queue: string | undefined, sid: string): void {
    const account = this.account!;
    if (!isValidSubject(subject) || (queue !== undefined && !isValidQueueName(queue))) {
      this.#sendErr(ErrText.invalidSubject);
      return;
    }
    if (
      queue === SYSTEM_QUEUE_GROUP || (this.#perms && !this.#perms.canSubscribe(subject, queue))
    ) {
      const text = subscribeViolation(subject, queue);
      this.#env.logger.error(`${this.#label()} - ${text}`);
      this.#sendErr(text);
      return;
    }
    if (!this.#subs.has(sid)) {
      const sub: Subscription = { subject, queue, sid, target: this, weight: 1, delivered: 0 };
      this.#subs.set(sid, sub);
      account.tell({ kind: "subscribe", sub });
    }
    if (this.#verbose) this.#reply(OK);
  }

  #onUnsub(sid: string, max: number | undefined): void {
    const account = this.account!;
    const sub = this.#subs.get(sid);
    if (sub) {
      if (max !== undefined && max > 0) {
        account.tell({ kind: "unsubscribe", sub, max });
      } else {
        this.#subs.delete(sid);
        this.#ending.add(sub);
        account.tell({ kind: "unsubscribe", sub });
      }
    }
    if (this.#verbose) this.#reply(OK);
  }

  #deliver(msg: DeliverMessage): void {
    if (this.#state !== "open") return;
    if (this.#subs.get(msg.sub.sid) !== msg.sub && !this.#ending.has(msg.sub)) return;
    const perms = this.#perms;
    if (perms) {
      if (perms.filtersDeliveries && perms.deliveryDenied(msg.subject, msg.sub.queue)) return;
      if (msg.reply !== undefined) perms.responses?.track(msg.reply);
    }
    const { sub, subject, reply } = msg;
    let { headerSize, message } = msg;
    if (headerSize > 0 && !this.#headers) {
      // Clients that did not negotiate headers get the payload alone.
      message = message.subarray(headerSize);
      headerSize = 0;
    }
    const out = this.#out;
    if (headerSize > 0) {
      const fields = { subject, sid: sub.sid, reply, headerSize, totalSize: message.length };
      out.appendMessage(fields, hmsgHeaderLength, writeHmsgHeader, message);
    } else {
      const fields = { subject, sid: sub.sid, reply, size: message.length };
      out.appendMessage(fields, msgHeaderLength, writeMsgHeader, message);
    }
    this.outMsgs++;
    this.outBytes += message.length;
    this.#backpressure.check(msg.producer);
    if (out.pending > this.#env.options.maxPending) {
      this.#env.logger.warn(
        `${this.#label()} - Slow Consumer Detected: MaxPending of ${this.#env.options.maxPending} Exceeded`,
      );
      this.#cutOff("Slow Consumer (Pending Bytes)");
    }
  }

  #armPing(): void {
    this.#pingTimer = this.#env.clock.setTimeout(
      () => this.tell({ kind: "pingTimer" }),
      this.#env.options.pingIntervalMs,
    );
  }

  #pingTimerFired(): void {
    if (this.#state === "closing") return;
    if (this.#pingsOut + 1 > this.#env.options.pingMax) {
      return this.#close("Stale Connection", ErrText.staleConnection);
    }
    this.#pingsOut++;
    this.#out.append(PING);
    this.#out.flush();
    this.#armPing();
  }

  #sendErr(text: string): void {
    this.#reply(encodeErr(text));
  }

  /**
   * Direct answers (+OK, -ERR, PONG) must not overtake the deliveries of this
   * client's earlier publishes, as a PONG promises everything before the PING
   * was processed. Once something was routed, answers queue behind it in the
   * account and come back as `relay`.
   */
  #reply(bytes: Uint8Array): void {
    const account = this.account;
    if (account && (this.#routedSinceSync || this.#barriers > 0)) {
      this.#barriers++;
      this.#routedSinceSync = false;
      account.tell({ kind: "barrier", from: this, bytes });
      return;
    }
    this.#out.append(bytes);
  }

  /** Both identities in every line: the peer's address and, once known, its user and account. */
  #label(): string {
    const who = this.account
      ? ` - ${this.user ? `user "${this.user}" ` : ""}account ${this.account.accountName}`
      : "";
    return `${this.transport.remoteHost}:${this.transport.remotePort} - cid:${this.cid}${who}`;
  }

  /** Closes the connection: final `-ERR` if any, subscriptions forgotten, server told. */
  #close(reason: string, errText?: string): void {
    if (this.#state === "closing") return;
    this.#state = "closing";
    this.#closeReason = reason;
    if (errText) this.#out.append(encodeErr(errText));
    this.stop({ reason });
  }

  /** A slow consumer is cut off at once: what it has not read is dropped, as in nats-server. */
  #cutOff(reason: string): void {
    this.#discardOutput = true;
    this.#close(reason);
  }

  protected override onStop(stop: StopReason): void {
    const reason = this.#closeReason || stop.reason;
    if (stop.error) {
      this.#env.logger.error(`${this.#label()} - connection actor crashed: ${stop.error}`);
    }
    this.#state = "closing";
    const { clock } = this.#env;
    if (this.#authTimer !== undefined) clock.clearTimeout(this.#authTimer);
    if (this.#pingTimer !== undefined) clock.clearTimeout(this.#pingTimer);
    if (this.#expiryTimer !== undefined) clock.clearTimeout(this.#expiryTimer);
    this.#lease?.release();
    if (this.account && this.#subs.size > 0) {
      this.account.tell({ kind: "forget", subs: [...this.#subs.values()] });
    }
    this.#subs.clear();
    this.#ending.clear();
    // The server hears of the close once the socket is flushed and shut, so that a
    // graceful shutdown never exits with acknowledged data still unwritten.
    const flushed = this.#out.closeAfterFlush(this.#discardOutput, CLOSE_FLUSH_MS);
    this.#env.logger.debug(`${this.#label()} - Client connection closed: ${reason}`);
    const env = this.#env;
    flushed.then(() => env.closed(this, reason));
  }
}
