/**
 * The normalized, validated server options every actor reads. The TOML loader
 * (`config/load.ts`) and the embedding API both produce this shape; nothing
 * downstream ever sees raw TOML. Durations are milliseconds, sizes are bytes.
 *
 * @module
 */

/** One allow/deny pair, as in nats-server's `permissions.publish` / `.subscribe`. */
export interface SubjectPermissionOptions {
  allow?: string[];
  deny?: string[];
}

/** nats-server's `allow_responses`: reply permission for request handlers. */
export interface ResponsePermissionOptions {
  /** Number of replies allowed per request (nats-server default 1). */
  maxMsgs: number;
  /** How long the reply permission lives (nats-server default 2 minutes). */
  expiresMs: number;
}

export interface PermissionsOptions {
  publish?: SubjectPermissionOptions;
  subscribe?: SubjectPermissionOptions;
  allowResponses?: ResponsePermissionOptions;
}

/** A user that may authenticate, bound to one account. */
export interface UserOptions {
  /** Set for user/password users. */
  user?: string;
  /** Plain text or a bcrypt hash (`$2a$`, `$2b$`, `$2y$`). */
  password?: string;
  /** Public user nkey (starts with `U`) for nkey users. */
  nkey?: string;
  /** Account name the user binds to (`$G` unless declared under an account). */
  account: string;
  permissions?: PermissionsOptions;
}

export interface AccountOptions {
  name: string;
  users: UserOptions[];
}

/** Client authorization for the default account (`[authorization]`). */
export interface AuthorizationOptions {
  token?: string;
  /** Users from `users = [...]` plus the singleton `user`/`password` pair. */
  users: UserOptions[];
  /** Permissions applied to users that have none of their own. */
  defaultPermissions?: PermissionsOptions;
  timeoutMs?: number;
}

export interface TlsOptions {
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  insecure?: boolean;
  verify?: boolean;
  verifyAndMap?: boolean;
  timeoutMs?: number;
  handshakeFirst?: boolean;
  cipherSuites?: string[];
  curvePreferences?: string[];
}

export interface CompressionOptions {
  mode: string;
  rttThresholdsMs?: number[];
}

export interface LeafAuthorizationOptions {
  user?: string;
  password?: string;
  account?: string;
  nkey?: string;
  timeoutMs?: number;
  users: { user: string; password: string; account?: string }[];
}

/** Signs a hub's nonce for a remote (embedding only), like nats-server's `SignatureCB`. */
export type RemoteSignatureCallback = (
  nonce: Uint8Array,
) => Promise<{ jwt: string; sig: Uint8Array | string }>;

export interface RemoteOptions {
  urls: string[];
  /** Embedding only: overrides `credentials` and `nkey`. */
  signatureCallback?: RemoteSignatureCallback;
  account?: string;
  noRandomize: boolean;
  denyImports: string[];
  denyExports: string[];
  credentials?: string;
  nkey?: string;
  firstInfoTimeoutMs: number;
  hub: boolean;
  wsCompression: boolean;
  wsNoMasking: boolean;
  compression?: CompressionOptions;
  tls?: TlsOptions;
}

export interface LeafnodeOptions {
  host: string;
  port: number;
  advertise?: string;
  noAdvertise: boolean;
  reconnectMs: number;
  compression?: CompressionOptions;
  tls?: TlsOptions;
  authorization?: LeafAuthorizationOptions;
  remotes: RemoteOptions[];
}

export interface WebsocketOptions {
  host: string;
  port: number;
  noTls: boolean;
  compression: boolean;
  sameOrigin: boolean;
  allowedOrigins: string[];
  tls?: TlsOptions;
}

/**
 * Operator mode (decentralized auth): clients and leaves authenticate with user JWTs issued by
 * accounts that a trusted operator signed. Accounts are named by their public keys.
 */
export interface OperatorOptions {
  /** Operator JWTs (decoded and checked at load), from files or inline. Empty with `trusted_keys`. */
  operators: string[];
  /**
   * Public operator keys whose signature on an account JWT is trusted: each operator's own key
   * (unless it asks for strict signing key usage) and its signing keys, or `trusted_keys`.
   */
  trustedKeys: string[];
  /** Public key of the system account (`system_account`, or the operator JWT's). */
  systemAccount?: string;
  /** Where account JWTs come from; only the in-memory resolver is supported. */
  resolver: "MEMORY";
  /** `resolver_preload`: account public key → account JWT. */
  preload: Record<string, string>;
}

export interface ServerOptions {
  /** Path of the config file these options came from, if any. */
  configFile?: string;
  serverName: string;
  host: string;
  port: number;
  httpPort?: number;
  maxPayload: number;
  maxControlLine: number;
  maxConnections: number;
  /** Outbound bytes a connection may have queued before it is a slow consumer. */
  maxPending: number;
  pingIntervalMs: number;
  pingMax: number;
  writeDeadlineMs: number;
  /** Auth timeout for clients (nats-server: 2s, or the authorization block's `timeout`). */
  authTimeoutMs: number;
  noAuthUser?: string;
  authorization?: AuthorizationOptions;
  /** Declared accounts by name; `$G` is always present implicitly. */
  accounts: Record<string, AccountOptions>;
  leafnodes: LeafnodeOptions;
  websocket?: WebsocketOptions;
  tls?: TlsOptions;
  /** Set in operator mode; `accounts` then holds `$G`, every preloaded account and the system account. */
  operator?: OperatorOptions;
  debug: boolean;
  trace: boolean;
  /** Lame duck mode: how long clients are given to move away (nats-server default 2m). */
  lameDuckDurationMs?: number;
  /** Lame duck mode: the wait before the first client is closed (nats-server default 10s). */
  lameDuckGracePeriodMs?: number;
}
