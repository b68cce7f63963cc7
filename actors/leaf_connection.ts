/**
 * One leafnode link as an actor, on either side: accepted on our leafnode
 * port (we are the hub unless the peer says `is_hub`) or solicited by a
 * remote (we are the spoke unless the remote says `hub`). It runs the
 * handshake, keeps the peer's interest as subscriptions in its account,
 * tells the peer about ours (LS+/LS-), and forwards messages both ways
 * through the link's filters.
 *
 * @module
 */
import { Actor, type StopReason, type Supervisor } from "./actor.ts";
import type { AccountActor } from "./account.ts";
import { Backpressure, stallThreshold } from "./backpressure.ts";
import type { Clock, TimerId } from "./clock.ts";
import type { Logger } from "./logger.ts";
import { Outbound, type WriteFailure } from "./outbound.ts";
import { readLoop } from "./read_loop.ts";
import type { LinkEvent, ServerEvents } from "./server_events.ts";
import { acceptCompression, localMode } from "./compression_negotiation.ts";
import type { S2Transport } from "./s2_transport.ts";
import { type CompressionMode, levelForRtt, usesS2 } from "../protocol/compression_mode.ts";
import type {
  ConnectionSecurity,
  PeerCertificate,
  SecuredTransport,
} from "./connection_security.ts";
import { StallGate } from "./stall_gate.ts";
import type {
  ForwardMessage,
  InterestChange,
  LeafInbound,
  LeafTarget,
  RegisteredMessage,
  Subscription,
} from "./subscription.ts";
import type { Transport } from "./transport.ts";
import type { CompressionOptions, RemoteOptions, ServerOptions } from "../config/options.ts";
import type { AuthIdentity, AuthVerdict, ConnectionLease } from "../protocol/client_auth.ts";
import {
  encodeConnect,
  encodeErr,
  encodeInfo,
  leafHmsgHeaderLength,
  lmsgHeaderLength,
  PING,
  PONG,
  writeLeafHmsgHeader,
  writeLmsgHeader,
} from "../protocol/encoder.ts";
import { InterestMap } from "../protocol/leaf_interest.ts";
import type { LeafAuthenticator } from "../protocol/leaf_auth.ts";
import {
  bypassesFilters,
  JETSTREAM_DENIES,
  type LeafConnect,
  type LeafInfo,
  loopDetectedText,
  parseJsonObject,
} from "../protocol/leaf_info.ts";
import type { Op } from "../protocol/ops.ts";
import { Parser } from "../protocol/parser.ts";
import { publishViolation, subscribeViolation } from "../protocol/permissions.ts";
import { ErrText, ProtocolError } from "../protocol/protocol_error.ts";
import { SubjectFilter } from "../protocol/subject_filter.ts";
import { subjectHasWildcard } from "../protocol/subject.ts";
import { NATS_COMPAT_VERSION } from "../protocol/info.ts";
import {
  LOOP_DETECTED_DELAY_MS,
  penaltyForError,
  PERMISSION_VIOLATION_DELAY_MS,
} from "../protocol/reconnect_policy.ts";

/** Credentials a solicited link puts in its CONNECT. */
export interface ConnectCredentials {
  jwt?: string;
  nkey?: string;
  sig?: string;
  user?: string;
  pass?: string;
}

/** What a solicited link needs from the remote actor that dialled it. */
export interface SolicitContext {
  remote: RemoteOptions;
  /** Signs the hub's nonce (creds file, nkey seed or callback) and adds URL credentials. */
  credentials(nonce: string | undefined): Promise<ConnectCredentials>;
  /** Hands gossiped `leafnode_urls` back to the remote's URL list. */
  gossip(urls: string[]): void;
  /** The hub's first INFO line, already read by the remote (it decides on TLS). */
  firstInfo?: string;
  /** The compression level negotiated before the link started (CONNECT `compress_mode`). */
  compressMode?: string;
  /** The S2 layer of the link, when compressing. */
  s2?: S2Transport;
}

/** What a leaf link needs from the server around it. */
export interface LeafEnvironment {
  options: ServerOptions;
  clock: Clock;
  logger: Logger;
  supervisor: Supervisor;
  serverId: string;
  serverName: string;
  /** Our cluster name as leafnode peers see it (the server name: we run no cluster). */
  clusterName: string;
  leafAuth: LeafAuthenticator;
  account(name: string): AccountActor | undefined;
  /** The leafnode INFO fields shared by every accepted link. */
  info(): Omit<LeafInfo, "client_id" | "nonce">;
  nonce(): string;
  /** An accepted link finished its handshake; the server replaces duplicates. */
  established(link: LeafConnection): void;
  /** Link up/down and auth-failure events for embedding programs. */
  events?: ServerEvents;
  /** Set when the leafnode port requires TLS (INFO first, then the handshake). */
  security?: ConnectionSecurity;
  /** Accept-side compression; absent means none is advertised (as over WebSocket). */
  compression?: CompressionOptions;
  /** `LEAFNODE_WS` for leaves that arrived over WebSocket (user JWT connection types). */
  connectionKind?: "LEAFNODE" | "LEAFNODE_WS";
  closed(link: LeafConnection, reason: string): void;
}

export type LeafMessage =
  | LeafInbound
  | { kind: "received"; data: Uint8Array }
  | { kind: "readEnded"; error?: unknown }
  | { kind: "writeFailed"; failure: WriteFailure }
  | { kind: "timer"; which: "auth" | "firstInfo" | "connectInfo" | "ping" }
  | { kind: "authenticated"; verdict: AuthVerdict }
  | { kind: "credentials"; credentials?: ConnectCredentials; error?: unknown }
  | { kind: "unstalled" }
  | { kind: "close"; reason: string; errText?: string };

type State =
  | "awaitConnect"
  | "authenticating"
  | "awaitInfo"
  | "signing"
  | "awaitConnectInfo"
  | "registering"
  | "open"
  | "closing";

/** The peer must answer our CONNECT with its `connect_info` INFO within this (spec 1.3 step 5.9). */
const CONNECT_INFO_WAIT_MS = 2000;
/** First PING goes out after about a second (plus up to 20% jitter), then every ping_interval. */
const FIRST_PING_MS = 1000;
const CLOSE_FLUSH_MS = 500;
/** Output still queued above which a PING's round trip is not a usable RTT sample. */
const RTT_SAMPLE_MAX_PENDING = 64 * 1024;

export class LeafConnection extends Actor<LeafMessage> implements LeafTarget {
  readonly kind = "leaf";
  readonly cid: number;
  readonly side: "accept" | "solicit";
  #transport: Transport;
  readonly startedAt: number;
  role: "hub" | "spoke";
  peerCluster?: string;
  peerName?: string;
  peerServerId?: string;
  /** The peer's local account name from CONNECT `remote_account` (accept side, 2.10+ peers). */
  peerRemoteAccount?: string;
  account?: AccountActor;
  /** The compression this side writes with: a level, "off" or "not supported" (logs, /leafz). */
  compression = "not supported";
  /** Latest PING/PONG round trip, in ms (drives `s2_auto`). */
  rttMs?: number;
  #pingSentAt?: number;
  /** The S2 layer under the transport, when this side negotiated compression (accept side). */
  #s2?: S2Transport;
  /** Set once the handshake completed and the link carried traffic. */
  established = false;
  /** Reconnect penalty this link earned (loop, same cluster name), for the remote's backoff. */
  penaltyMs = 0;
  closeReason = "";
  inMsgs = 0;
  outMsgs = 0;
  inBytes = 0;
  outBytes = 0;

  #env: LeafEnvironment;
  #solicit?: SolicitContext;
  #parser: Parser;
  #out: Outbound;
  #gate: StallGate;
  #backpressure: Backpressure;
  #state: State;
  #nonce?: string;
  /** Operator mode: this link's place in its account's connection count. */
  #lease?: ConnectionLease;
  #peerHeaders = false;
  #peerInfo?: LeafInfo;
  /** The peer's CONNECT (accept side). */
  #connect?: LeafConnect;
  /** Interest the peer told us of, by key (`subject` or `subject queue`). */
  #subs = new Map<string, Subscription>();
  /** Interest we told the peer of. */
  #advertised = new InterestMap();
  /** Messages we may send to the peer, and interest the peer may claim. */
  #toPeer = new SubjectFilter();
  /** Messages we accept from the peer, and interest we advertise to it. */
  #fromPeer = new SubjectFilter();
  /** Who the peer authenticated as (accept side). */
  identity?: AuthIdentity;
  #heldOps: Op[] = [];
  #timers = new Map<string, TimerId>();
  #pingsOut = 0;
  #registered = false;
  #discardOutput = false;

  constructor(
    cid: number,
    transport: Transport,
    env: LeafEnvironment,
    solicit?: SolicitContext,
  ) {
    super({ name: `lid:${cid}`, supervisor: env.supervisor });
    this.cid = cid;
    this.#transport = transport;
    this.#env = env;
    this.#solicit = solicit;
    this.side = solicit ? "solicit" : "accept";
    this.role = solicit ? (solicit.remote.hub ? "hub" : "spoke") : "hub";
    this.#state = solicit ? "awaitInfo" : "awaitConnect";
    this.startedAt = env.clock.now();
    this.#parser = new Parser({
      role: "leaf",
      // 2.9.10 applies no control-line limit to leaf links; current releases allow 16x.
      maxControlLine: env.options.maxControlLine * 16,
      maxPayload: -1,
      onOp: (op) => this.#onOp(op),
    });
    this.#parser.requireConnect = !solicit;
    this.#gate = new StallGate(env.clock);
    this.#out = new Outbound({
      transport,
      clock: env.clock,
      writeDeadlineMs: env.options.writeDeadlineMs,
      onFailure: (failure) => this.tell({ kind: "writeFailed", failure }),
    });
    this.#backpressure = new Backpressure(
      this.#out,
      stallThreshold(env.options.maxPending),
      this,
      () => this.tell({ kind: "unstalled" }),
    );
  }

  /** Accept side: send INFO. Solicit side: wait for the hub's INFO. Then read. */
  start(): void {
    if (this.side === "accept") {
      this.#nonce = this.#env.nonce();
      const info: LeafInfo = { ...this.#env.info(), client_id: this.cid, nonce: this.#nonce };
      const security = this.#env.security;
      if (security) {
        info.tls_required = true;
        if (security.verify) info.tls_verify = true;
      }
      const compress = this.#acceptCompressionMode();
      if (compress !== "not supported") info.compression = compress;
      this.#out.append(encodeInfo(info));
      this.#out.flush();
      const auth = this.#env.options.leafnodes.authorization?.timeoutMs ??
        this.#env.options.authTimeoutMs;
      this.#arm("auth", auth);
      this.peerCertificate = (this.#transport as SecuredTransport).peerCertificate?.();
      const upgrade = security && !security.handshakeFirst ? security : undefined;
      if (upgrade || usesS2(compress) || compress === "accept") {
        return void this.#prepareThenRead(upgrade, compress);
      }
    } else if (this.#solicit!.firstInfo !== undefined) {
      // The remote read it before handing us the socket; it goes through the parser like any op.
      this.tell({ kind: "received", data: encoder.encode(`${this.#solicit!.firstInfo}\r\n`) });
    } else {
      this.#arm("firstInfo", this.#solicit!.remote.firstInfoTimeoutMs);
    }
    this.#read();
  }

  /** The socket (after TLS, the TLS stream). */
  get transport(): Transport {
    return this.#transport;
  }

  /** Peer certificate of a TLS link, for `verify_and_map` and monitoring. */
  peerCertificate?: PeerCertificate;

  #acceptCompressionMode(): CompressionMode {
    const configured = this.#env.compression;
    return configured ? localMode(configured) : "not supported";
  }

  /** TLS after our INFO, then the compression exchange, then the read loop. */
  async #prepareThenRead(
    security: ConnectionSecurity | undefined,
    compress: CompressionMode,
  ): Promise<void> {
    await this.#out.drained();
    if (security) {
      try {
        const secured = await security.upgrade(this.#transport);
        if (this.isStopped) return secured.close();
        this.#transport = secured;
        this.peerCertificate = secured.peerCertificate?.();
        this.#out.retarget(secured);
      } catch (error) {
        this.#env.logger.error(`${this.label} - TLS handshake error: ${errorMessage(error)}`);
        this.tell({ kind: "close", reason: "TLS Handshake Error" });
        return;
      }
    }
    if (usesS2(compress) || compress === "accept") {
      try {
        const negotiated = await acceptCompression(this.#transport, {
          compression: this.#env.compression,
          clock: this.#env.clock,
          timeoutMs: this.#env.options.authTimeoutMs + 1000,
          info: () => ({ ...this.#env.info(), client_id: this.cid, nonce: this.#nonce }),
        });
        if (this.isStopped) return;
        this.#transport = negotiated.transport;
        this.#out.retarget(negotiated.transport);
        this.compression = negotiated.mode;
        this.#s2 = negotiated.s2;
      } catch (error) {
        if (this.isStopped) return;
        this.#env.logger.error(
          `${this.label} - compression negotiation failed: ${errorMessage(error)}`,
        );
        this.tell({ kind: "close", reason: "Compression Negotiation Error" });
        return;
      }
    }
    this.#read();
  }

  #read(): void {
    readLoop({
      transport: this.#transport,
      gate: this.#gate,
      received: (data) => this.tell({ kind: "received", data }),
      ended: (error) => this.tell({ kind: "readEnded", error }),
      stopped: () => this.isStopped,
    });
  }

  get state(): string {
    return this.#state;
  }

  get subscriptionCount(): number {
    return this.#subs.size;
  }

  get pendingBytes(): number {
    return this.#out.pending;
  }

  /** The peer's interest, for monitoring. */
  peerInterest(): Iterable<Subscription> {
    return this.#subs.values();
  }

  /** The effective filters of this link, for monitoring and `--check`. */
  filters(): { toPeer: SubjectFilter; fromPeer: SubjectFilter } {
    return { toPeer: this.#toPeer, fromPeer: this.#fromPeer };
  }

  protected receive(msg: LeafMessage): void {
    switch (msg.kind) {
      case "received":
        return this.#received(msg.data);
      case "readEnded":
        return this.#close(msg.error ? "Read Error" : "Client Closed");
      case "writeFailed":
        if (msg.failure.kind === "deadline") {
          this.#env.logger.warn(`${this.label} - Slow Consumer Detected: WriteDeadline exceeded`);
          this.#discardOutput = true;
          return this.#close("Slow Consumer (Write Deadline)");
        }
        return this.#close("Write Error");
      case "timer":
        return this.#timerFired(msg.which);
      case "authenticated":
        return this.#authenticated(msg.verdict);
      case "credentials":
        return this.#sendConnect(msg.credentials, msg.error);
      case "registered":
        return this.#registeredWithAccount(msg);
      case "interest":
        if (this.#state === "open") this.#advertise(msg.change);
        return;
      case "forward":
        return this.#forward(msg);
      case "stall":
        this.#gate.hold(msg.until);
        return;
      case "unstalled":
        this.#backpressure.reset();
        return;
      case "subscriptionEnded":
        return;
      case "close":
        return this.#close(msg.reason, msg.errText);
    }
  }

  protected override afterBatch(): void {
    this.#out.flush();
  }

  /** As nats-server: address and link id; the peer's name and account are in the lines that matter. */
  get label(): string {
    return `${this.transport.remoteHost}:${this.transport.remotePort} - lid:${this.cid}`;
  }

  #received(data: Uint8Array): void {
    if (this.#state === "closing") return;
    // Liveness is judged by anything the peer sends, not only by PONGs.
    this.#pingsOut = 0;
    try {
      this.#parser.feed(data);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.#env.logger.error(`${this.label} - Leafnode parser ERROR: ${error.message}`);
      this.#close("Protocol Violation", error.errText);
    }
  }

  #onOp(op: Op): void {
    if (this.#state === "closing") return;
    if (
      this.#state === "authenticating" || this.#state === "signing" ||
      this.#state === "registering"
    ) {
      this.#heldOps.push(op);
      return;
    }
    switch (op.kind) {
      case "CONNECT":
        return this.#onConnect(op.json);
      case "INFO":
        return this.#onInfo(op.json);
      case "PING":
        this.#out.append(PONG);
        return;
      case "PONG":
        return this.#onPong();
      case "OK":
        return;
      case "ERR":
        return this.#onErr(op.message);
      case "LS+":
        return this.#onInterest(op.subject, op.queue, op.weight);
      case "LS-":
        return this.#onInterestGone(op.subject, op.queue);
      case "LMSG":
        return this.#onMessage(op.subject, op.reply, op.queues, 0, op.payload);
      case "LHMSG":
        return this.#onMessage(op.subject, op.reply, op.queues, op.headerSize, op.message);
      default:
        return this.#close("Protocol Violation", ErrText.unknownProtocol);
    }
  }

  // ---- accept side ---------------------------------------------------------

  #onConnect(json: string): void {
    if (this.side !== "accept" || this.#state !== "awaitConnect") return;
    let connect: LeafConnect;
    try {
      connect = parseJsonObject<LeafConnect>(json);
    } catch {
      return this.#close("Protocol Violation");
    }
    this.#parser.requireConnect = false;
    this.#state = "authenticating";
    this.#env.leafAuth.authenticate(
      connect,
      this.#nonce!,
      this.peerCertificate,
      this.#env.connectionKind,
    ).then(
      (verdict) => this.tell({ kind: "authenticated", verdict }),
      (error) =>
        this.tell({ kind: "authenticated", verdict: { ok: false, reason: String(error) } }),
    );
    this.#connect = connect;
  }

  #authenticated(verdict: AuthVerdict): void {
    if (this.#state !== "authenticating") {
      if (verdict.ok) verdict.identity.lease?.release();
      return;
    }
    // Held from here on: every close below (and any later) gives the place back in onStop.
    if (verdict.ok) this.#lease = verdict.identity.lease;
    if (!verdict.ok && verdict.wireError) {
      this.#env.logger.error(`${this.label} - authentication error: ${verdict.reason}`);
      return this.#close("Maximum Account Connections Exceeded", verdict.wireError);
    }
    const connect = this.#connect!;
    const logger = this.#env.logger;
    if (!verdict.ok || connect.account !== undefined || connect.new_account !== undefined) {
      logger.error(
        `${this.label} - authentication error: ${
          verdict.ok ? "account in CONNECT" : verdict.reason
        }`,
      );
      return this.#close("Authentication Failure", ErrText.authorization);
    }
    if (connect.lang) return this.#close("Client On Leaf Port", ErrText.attemptedLeafPort);
    if (connect.cluster?.includes(" ")) {
      return this.#close("Bad Cluster Name", "cluster name cannot contain spaces");
    }
    if (connect.cluster !== undefined && connect.cluster === this.#env.clusterName) {
      logger.error(`${this.label} - remote leafnode has same cluster name "${connect.cluster}"`);
      return this.#close("Same Cluster Name", "remote leafnode has same cluster name");
    }
    if (connect.gateway) {
      return this.#close(
        "Gateway On Leaf Port",
        `Rejecting connection from gateway "${connect.gateway}" on the leafnode port`,
      );
    }
    const account = this.#env.account(verdict.identity.account);
    if (!account) {
      logger.error(`${this.label} - account "${verdict.identity.account}" does not exist`);
      return this.#close("Missing Account", ErrText.authorization);
    }
    this.#clearTimer("auth");
    this.identity = verdict.identity;
    this.account = account;
    this.peerName = connect.name || connect.server_id;
    this.peerServerId = connect.server_id;
    this.peerCluster = connect.cluster || undefined;
    this.peerRemoteAccount = connect.remote_account || undefined;
    if (!this.#s2) {
      // No S2 exchange: as nats-server, show what the peer settled on in CONNECT.
      const local = this.#acceptCompressionMode();
      this.compression = local === "not supported" || !connect.compress_mode
        ? "not supported"
        : local === "off"
        ? "off"
        : connect.compress_mode;
    }
    this.#peerHeaders = connect.headers === true;
    if (connect.is_hub) this.role = "spoke";
    // The user's rights, seen from the leaf: publish = what it may send us,
    // subscribe = what we may deliver to it (spec 3.8).
    const perms = verdict.identity.permissions;
    const jsDenies = this.#jetStreamDenies(account.accountName);
    this.#fromPeer = new SubjectFilter(perms?.publish).withDenied(jsDenies);
    this.#toPeer = new SubjectFilter(perms?.subscribe)
      .withDenied(connect.deny_pub ?? [])
      .withDenied(jsDenies);
    this.#env.established(this);
    const info: LeafInfo = {
      ...this.#env.info(),
      client_id: this.cid,
      connect_info: true,
      remote_account: account.accountName,
    };
    if (perms?.subscribe) info.import = { ...perms.subscribe };
    if (perms?.publish) info.export = { ...perms.publish };
    this.#out.append(encodeInfo(info));
    this.#register(this.role === "hub" ? this.peerCluster : undefined, undefined);
  }

  // ---- solicit side --------------------------------------------------------

  #onInfo(json: string): void {
    let info: LeafInfo;
    try {
      info = parseJsonObject<LeafInfo>(json);
    } catch {
      return this.#close("Protocol Violation");
    }
    if (this.side === "accept") return; // only the compression exchange sends INFO this way
    if (this.#state === "awaitInfo") return this.#firstInfo(info);
    if (info.connect_info && this.#state === "awaitConnectInfo") return this.#connectInfo(info);
    // An async INFO: the hub cluster's leafnode URLs (and rights) changed.
    if (info.leafnode_urls) this.#solicit!.gossip(info.leafnode_urls);
    if (info.import || info.export) this.#applyHubPermissions(info);
  }

  #firstInfo(info: LeafInfo): void {
    this.#clearTimer("firstInfo");
    const logger = this.#env.logger;
    if (!info.client_id || !Array.isArray(info.leafnode_urls)) {
      logger.error(`${this.label} - attempted to connect to wrong port`);
      return this.#close("Incorrect Port");
    }
    if (info.cluster?.includes(" ")) {
      return this.#close("Bad Cluster Name", "cluster name cannot contain spaces");
    }
    this.#peerInfo = info;
    this.#nonce = info.nonce;
    this.#peerHeaders = info.headers === true;
    this.peerName = info.server_name || info.server_id;
    this.peerServerId = info.server_id;
    this.peerCluster = info.cluster || undefined;
    this.#solicit!.gossip(info.leafnode_urls);
    this.#state = "signing";
    this.#solicit!.credentials(info.nonce).then(
      (credentials) => this.tell({ kind: "credentials", credentials }),
      (error) => this.tell({ kind: "credentials", error }),
    );
  }

  #sendConnect(credentials: ConnectCredentials | undefined, error: unknown): void {
    if (this.#state !== "signing") return;
    if (!credentials) {
      this.#env.logger.error(`${this.label} - Error signing the nonce: ${errorMessage(error)}`);
      return this.#close("Credentials Error");
    }
    const remote = this.#solicit!.remote;
    const connect: LeafConnect = {
      version: NATS_COMPAT_VERSION,
      ...credentials,
      // 2.9.10 always sends it; true once the remote's prelude ran TLS.
      tls_required: "peerCertificate" in this.#transport,
      server_id: this.#env.serverId,
      name: this.#env.serverName,
      cluster: this.#env.clusterName,
      // We support headers; the link has them only if the hub does too.
      headers: this.#peerHeaders,
    };
    if (remote.hub) connect.is_hub = true;
    if (this.#solicit!.compressMode !== undefined) {
      connect.compress_mode = this.compression = this.#solicit!.compressMode;
    }
    // Lets a 2.10+ hub tell our remotes apart when several bind to one of its accounts.
    connect.remote_account = remote.account ?? "$G";
    if (remote.denyImports.length > 0) connect.deny_pub = [...remote.denyImports];
    this.#out.append(encodeConnect(connect));
    if (this.#peerInfo?.info_on_connect) {
      this.#state = "awaitConnectInfo";
      this.#arm("connectInfo", CONNECT_INFO_WAIT_MS);
      this.#replayHeld();
    } else {
      this.#connectInfo(this.#peerInfo!);
    }
  }

  #connectInfo(info: LeafInfo): void {
    this.#clearTimer("connectInfo");
    const remote = this.#solicit!.remote;
    const account = this.#env.account(remote.account ?? "$G");
    if (!account) return this.#close("Missing Account");
    this.account = account;
    this.#applyHubPermissions(info);
    this.#register(undefined, this.peerCluster);
  }

  /** Hub-sent rights merged with the remote's own deny lists and the JetStream denies. */
  #applyHubPermissions(info: LeafInfo): void {
    const remote = this.#solicit!.remote;
    const jsDenies = this.#jetStreamDenies(this.account?.accountName ?? "$G");
    this.#fromPeer = new SubjectFilter(info.import).withDenied(remote.denyImports).withDenied(
      jsDenies,
    );
    this.#toPeer = new SubjectFilter(info.export).withDenied(remote.denyExports).withDenied(
      jsDenies,
    );
  }

  // ---- both sides ----------------------------------------------------------

  #jetStreamDenies(account: string): readonly string[] {
    this.#env.logger.debug(
      `${this.label} - JetStream Not Extended, adding deny [${
        JETSTREAM_DENIES.join(" ")
      }] for account "${account}"`,
    );
    return JETSTREAM_DENIES;
  }

  #register(inboundCluster: string | undefined, hubCluster: string | undefined): void {
    this.#state = "registering";
    this.account!.tell({ kind: "registerLeaf", leaf: this, inboundCluster, hubCluster });
  }

  #registeredWithAccount(msg: RegisteredMessage): void {
    if (this.#state !== "registering") return;
    const account = this.account!;
    if (msg.loop) {
      const text = loopDetectedText(account.accountName);
      this.#env.logger.error(`${this.label} - ${text}`);
      this.penaltyMs = LOOP_DETECTED_DELAY_MS;
      return this.#close("Loop Detected", text);
    }
    this.#registered = true;
    this.established = true;
    this.#state = "open";
    this.#env.logger.info(
      `${this.label} - Leafnode connection created for account: ${account.accountName} ` +
        `(${this.role} role, peer ${this.peerName ?? "?"}, compression ${this.compression})`,
    );
    this.#env.events?.emit("linkUp", this.#linkEvent());
    // The initial dump: our loop-detection subject, then the account's interest.
    this.#dump(msg.lds, msg.interest);
    this.#arm("ping", FIRST_PING_MS * (1 + Math.random() * 0.2));
    this.#replayHeld();
  }

  #linkEvent(): LinkEvent {
    return {
      lid: this.cid,
      side: this.side,
      role: this.role,
      account: this.account?.accountName ?? "",
      peer: this.peerName,
      peerCluster: this.peerCluster,
      compression: this.compression,
    };
  }

  #replayHeld(): void {
    const held = this.#heldOps;
    this.#heldOps = [];
    for (const op of held) {
      if (this.#state === "closing") return;
      this.#onOp(op);
    }
  }

  /**
   * Decides whether the peer hears of a change of interest (spec 3.2, 3.3),
   * with nats-server 2.9.10's rules for loop-detection subjects: in the
   * initial dump they are filtered like any interest; later they pass the
   * origin-cluster and permission checks, while a spoke still forwards only
   * local interest. A cycle is then found where a server meets its own `$LDS`
   * on the newest link, and the links that already worked stay up.
   */
  #admits(change: InterestChange, inDump: boolean): boolean {
    const special = !inDump && bypassesFilters(change.subject);
    if (!special && change.origin !== undefined && change.origin === this.peerCluster) {
      return false;
    }
    if (this.role === "spoke" && change.owner === "spoke-link") return false;
    return change.delta <= 0 || special || this.#fromPeer.allowsInterest(change.subject);
  }

  #advertise(change: InterestChange): void {
    if (!this.#admits(change, false)) return;
    const line = this.#advertised.update(change.subject, change.queue, change.delta);
    if (line) this.#out.append(line);
  }

  /**
   * The initial dump: our own `$LDS` subject unconditionally, then the
   * account's interest; counts are aggregated, then each key announced once.
   */
  #dump(lds: string, changes: InterestChange[]): void {
    this.#advertised.update(lds, undefined, 1);
    for (const change of changes) {
      if (this.#admits(change, true)) {
        this.#advertised.update(change.subject, change.queue, change.delta);
      }
    }
    for (const line of this.#advertised.announceAll()) this.#out.append(line);
  }

  #onInterest(subject: string, queue: string | undefined, weight: number | undefined): void {
    if (this.#state !== "open") {
      if (this.side === "accept") {
        return this.#close("Authorization Violation", ErrText.authorization);
      }
      return;
    }
    const account = this.account!;
    if (subject === account.lds) {
      const text = loopDetectedText(account.accountName);
      this.#env.logger.error(`${this.label} - ${text}`);
      if (this.side === "solicit") this.penaltyMs = LOOP_DETECTED_DELAY_MS;
      return this.#close("Loop Detected", text);
    }
    if (
      !bypassesFilters(subject) && !subjectHasWildcard(subject) &&
      !this.#toPeer.allowsMessage(subject)
    ) {
      if (this.role === "spoke") return; // a hub's interest we may not serve is ignored
      const text = subscribeViolation(subject);
      this.#env.logger.error(`${this.label} - ${text}`);
      if (this.side === "solicit") this.penaltyMs = PERMISSION_VIOLATION_DELAY_MS;
      return this.#close("Permissions Violation", text);
    }
    const key = queue ? `${subject} ${queue}` : subject;
    const existing = this.#subs.get(key);
    const w = queue ? Math.max(1, weight ?? 1) : 1;
    if (existing) {
      if (queue && existing.weight !== w) {
        account.tell({ kind: "reweigh", sub: existing, weight: w });
      }
      return;
    }
    const sub: Subscription = {
      subject,
      queue,
      sid: key,
      target: this,
      weight: w,
      origin: this.peerCluster,
      delivered: 0,
    };
    this.#subs.set(key, sub);
    account.tell({ kind: "subscribe", sub });
  }

  #onInterestGone(subject: string, queue: string | undefined): void {
    if (this.#state !== "open") return;
    const key = queue ? `${subject} ${queue}` : subject;
    const sub = this.#subs.get(key);
    if (!sub) return;
    this.#subs.delete(key);
    this.account!.tell({ kind: "unsubscribe", sub });
  }

  #onMessage(
    subject: string,
    reply: string | undefined,
    queues: readonly string[],
    headerSize: number,
    message: Uint8Array,
  ): void {
    if (this.#state !== "open") return;
    if (!this.#fromPeer.allowsMessage(subject) && !exemptFromInboundCheck(subject)) {
      if (this.role === "spoke") return;
      const text = publishViolation(subject);
      this.#env.logger.error(`${this.label} - ${text}`);
      return this.#close("Permissions Violation", text);
    }
    this.inMsgs++;
    this.inBytes += message.length;
    this.account!.tell({
      kind: "publish",
      from: this,
      subject,
      reply,
      headerSize,
      message,
      queues,
      origin: this.peerCluster,
    });
  }

  #forward(msg: ForwardMessage): void {
    if (this.#state !== "open") return;
    if (!this.#toPeer.allowsMessage(msg.subject)) return;
    let { headerSize, message } = msg;
    if (headerSize > 0 && !this.#peerHeaders) {
      message = message.subarray(headerSize);
      headerSize = 0;
    }
    const queues = msg.queues.length > 0 ? msg.queues : undefined;
    const out = this.#out;
    if (headerSize > 0) {
      const fields = {
        subject: msg.subject,
        reply: msg.reply,
        queues,
        headerSize,
        totalSize: message.length,
      };
      out.appendMessage(fields, leafHmsgHeaderLength, writeLeafHmsgHeader, message);
    } else {
      const fields = { subject: msg.subject, reply: msg.reply, queues, size: message.length };
      out.appendMessage(fields, lmsgHeaderLength, writeLmsgHeader, message);
    }
    this.outMsgs++;
    this.outBytes += message.length;
    this.#backpressure.check(msg.producer);
    if (out.pending > this.#env.options.maxPending) {
      this.#env.logger.warn(
        `${this.label} - Slow Consumer Detected: MaxPending of ${this.#env.options.maxPending} Exceeded`,
      );
      this.#discardOutput = true;
      this.#close("Slow Consumer (Pending Bytes)");
    }
  }

  /** A PONG measures the RTT; `s2_auto` links move to the level it calls for. */
  #onPong(): void {
    if (this.#pingSentAt === undefined) return;
    this.rttMs = this.#env.clock.now() - this.#pingSentAt;
    this.#pingSentAt = undefined;
    const configured = this.side === "accept"
      ? this.#env.compression
      : this.#solicit!.remote.compression;
    const s2 = this.#s2 ?? this.#solicit?.s2;
    if (!s2 || localMode(configured) !== "s2_auto") return;
    const level = levelForRtt(this.rttMs, configured?.rttThresholdsMs);
    if (level !== s2.level) {
      this.#env.logger.debug(`${this.label} - RTT ${this.rttMs}ms: compression now ${level}`);
      s2.setLevel(level);
      this.compression = level;
    }
  }

  #onErr(text: string): void {
    this.#env.logger.error(`${this.label} - Leafnode peer sent -ERR: '${text}'`);
    const penalty = penaltyForError(text);
    if (penalty && this.side === "solicit") this.penaltyMs = penalty.penaltyMs;
    // A loop closes the link here; otherwise the peer closes if it means to:
    // an -ERR alone never closes a leaf link (spec 1.10).
    if (penalty?.reason === "loop-detected") this.#close("Loop Detected");
  }

  // ---- timers and closing --------------------------------------------------

  #arm(which: "auth" | "firstInfo" | "connectInfo" | "ping", ms: number): void {
    this.#clearTimer(which);
    this.#timers.set(
      which,
      this.#env.clock.setTimeout(() => this.tell({ kind: "timer", which }), ms),
    );
  }

  #clearTimer(which: string): void {
    const id = this.#timers.get(which);
    if (id !== undefined) this.#env.clock.clearTimeout(id);
    this.#timers.delete(which);
  }

  #timerFired(which: "auth" | "firstInfo" | "connectInfo" | "ping"): void {
    this.#timers.delete(which);
    switch (which) {
      case "auth":
        if (this.#state === "awaitConnect" || this.#state === "authenticating") {
          this.#close("Authentication Timeout", ErrText.authTimeout);
        }
        return;
      case "firstInfo":
        if (this.#state === "awaitInfo") {
          this.#env.logger.error(`${this.label} - no INFO from the hub in time`);
          this.#close("First INFO Timeout");
        }
        return;
      case "connectInfo":
        if (this.#state === "awaitConnectInfo") {
          this.#close("Stale Connection", "Stale Leaf Node Connection - Closing");
        }
        return;
      case "ping":
        if (this.#state !== "open") return;
        if (this.#pingsOut + 1 > this.#env.options.pingMax) {
          return this.#close("Stale Connection", ErrText.staleConnection);
        }
        this.#pingsOut++;
        // A PING queued behind a backlog measures the backlog, not the path: such
        // samples do not steer s2_auto.
        this.#pingSentAt = this.#out.pending > RTT_SAMPLE_MAX_PENDING
          ? undefined
          : this.#env.clock.now();
        this.#out.append(PING);
        this.#out.flush();
        this.#arm("ping", this.#env.options.pingIntervalMs);
        return;
    }
  }

  #close(reason: string, errText?: string): void {
    if (this.#state === "closing") return;
    this.#state = "closing";
    this.closeReason = reason;
    if (errText) this.#out.append(encodeErr(errText));
    this.stop({ reason });
  }

  protected override onStop(stop: StopReason): void {
    const reason = this.closeReason || stop.reason;
    if (stop.error) {
      this.#env.logger.error(`${this.label} - leafnode actor crashed: ${errorMessage(stop.error)}`);
    }
    this.#state = "closing";
    for (const id of this.#timers.values()) this.#env.clock.clearTimeout(id);
    this.#timers.clear();
    this.#lease?.release();
    const account = this.account;
    if (account && this.#registered) {
      account.tell({
        kind: "unregisterLeaf",
        leaf: this,
        inboundCluster: this.side === "accept" && this.role === "hub"
          ? this.peerCluster
          : undefined,
      });
      if (this.#subs.size > 0) account.tell({ kind: "forget", subs: [...this.#subs.values()] });
    }
    this.#subs.clear();
    // The server hears of the close once the socket is flushed and shut, so that a
    // graceful shutdown never exits with acknowledged data still unwritten.
    const flushed = this.#out.closeAfterFlush(this.#discardOutput, CLOSE_FLUSH_MS);
    this.#env.logger.info(
      `${this.label} - Leafnode connection closed: ${reason}${
        account ? ` account: ${account.accountName}` : ""
      }`,
    );
    if (this.established) this.#env.events?.emit("linkDown", { ...this.#linkEvent(), reason });
    flushed.then(() => this.#env.closed(this, reason));
  }
}

const encoder = new TextEncoder();

/** Replies and JetStream acks pass the inbound check, as in nats-server. */
function exemptFromInboundCheck(subject: string): boolean {
  return subject.startsWith("_R_.") || subject.startsWith("$JS.ACK.");
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
