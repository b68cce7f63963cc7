/**
 * The keys each table of a Canopy config may contain. Names are nats-server's
 * so that a config moves between the two; the aliases are the other spellings
 * nats-server accepts for the same option.
 *
 * @module
 */

/** Known keys of one table: canonical name → alias spellings. */
export interface KeySpec {
  readonly keys: Readonly<Record<string, readonly string[]>>;
  /** nats-server options Canopy knows about but does not implement (better error text). */
  readonly unsupported?: readonly string[];
}

/** Top level of the document. */
export const SERVER_KEYS: KeySpec = {
  keys: {
    server_name: [],
    host: ["net"],
    port: [],
    listen: [],
    http_port: ["monitor_port"],
    max_payload: [],
    max_control_line: [],
    max_connections: ["max_conn"],
    max_pending: [],
    ping_interval: [],
    ping_max: [],
    write_deadline: [],
    lame_duck_duration: [],
    lame_duck_grace_period: [],
    no_auth_user: [],
    debug: [],
    trace: [],
    authorization: [],
    accounts: [],
    leafnodes: ["leaf"],
    websocket: ["ws"],
    tls: [],
    operator: ["operators", "root", "roots", "root_operator", "root_operators"],
    system_account: ["system"],
    resolver: ["account_resolver", "accounts_resolver"],
    resolver_preload: [],
    trusted_keys: ["trusted"],
  },
  unsupported: [
    "cluster",
    "gateway",
    "jetstream",
    "mqtt",
    "resolver_tls",
    "resolver_pinned_accounts",
    "no_system_account",
    "mappings",
    "http",
    "https",
    "https_port",
    "client_advertise",
    "logfile",
    "log_file",
    "pidfile",
    "pid_file",
    "ports_file_dir",
    "max_subscriptions",
    "max_subs",
  ],
};

/** `[authorization]`: client auth for the default account `$G`. */
export const AUTHORIZATION_KEYS: KeySpec = {
  keys: {
    user: ["username"],
    password: ["pass"],
    token: [],
    timeout: [],
    users: [],
    default_permissions: ["default_permission", "permissions"],
  },
};

/** One entry of a `users = [...]` list. */
export const USER_KEYS: KeySpec = {
  keys: {
    user: ["username"],
    password: ["pass"],
    nkey: [],
    permissions: ["permission", "authorization"],
  },
};

/** A `permissions = {...}` table. */
export const PERMISSIONS_KEYS: KeySpec = {
  keys: {
    publish: ["pub", "import"],
    subscribe: ["sub", "export"],
    allow_responses: ["publish_allow_responses"],
  },
};

/** The table form of `publish` / `subscribe`. */
export const SUBJECT_PERMISSION_KEYS: KeySpec = { keys: { allow: [], deny: [] } };

/** The table form of `allow_responses`. */
export const ALLOW_RESPONSES_KEYS: KeySpec = {
  keys: {
    max: ["max_msgs", "max_messages", "max_responses"],
    expires: ["expiration", "ttl"],
  },
};

/** `[accounts.NAME]`. */
export const ACCOUNT_KEYS: KeySpec = {
  keys: { users: [], default_permissions: [] },
  unsupported: ["nkey", "imports", "exports", "jetstream", "mappings", "maps", "limits"],
};

/** `[leafnodes]`. */
export const LEAFNODES_KEYS: KeySpec = {
  keys: {
    host: ["net"],
    port: [],
    listen: [],
    advertise: ["leafnode_advertise"],
    no_advertise: [],
    reconnect: ["reconnect_delay", "reconnect_interval"],
    compression: [],
    tls: [],
    authorization: [],
    remotes: [],
  },
  unsupported: ["min_version", "minimum_version", "isolate_leafnode_interest", "isolate"],
};

/** `[leafnodes.authorization]`. */
export const LEAF_AUTHORIZATION_KEYS: KeySpec = {
  keys: {
    user: ["username"],
    password: ["pass"],
    account: [],
    nkey: [],
    timeout: [],
    users: [],
  },
};

/** One entry of `leafnodes.authorization.users`. */
export const LEAF_USER_KEYS: KeySpec = {
  keys: { user: ["username"], password: ["pass"], account: [] },
};

/** `[[leafnodes.remotes]]`. */
export const REMOTE_KEYS: KeySpec = {
  keys: {
    url: [],
    urls: [],
    account: ["local"],
    no_randomize: ["dont_randomize"],
    deny_imports: ["deny_import"],
    deny_exports: ["deny_export"],
    credentials: ["creds"],
    nkey: ["seed"],
    first_info_timeout: [],
    hub: [],
    ws_compression: ["ws_compress", "websocket_compress", "websocket_compression"],
    ws_no_masking: ["websocket_no_masking"],
    compression: [],
    tls: [],
  },
  unsupported: [
    "jetstream_cluster_migrate",
    "js_cluster_migrate",
    "isolate_leafnode_interest",
    "isolate",
    "request_isolation",
    "disabled",
    "proxy",
    "ignore_discovered_servers",
    "dial_timeout",
  ],
};

/** The table form of `compression`. */
export const COMPRESSION_KEYS: KeySpec = {
  keys: { mode: [], rtt_thresholds: ["thresholds", "rtts", "rtt"] },
};

/** `[websocket]`. */
export const WEBSOCKET_KEYS: KeySpec = {
  keys: {
    host: ["net"],
    port: [],
    listen: [],
    no_tls: [],
    compression: ["compress"],
    same_origin: [],
    allowed_origins: ["allowed_origin", "allow_origins", "allow_origin", "origins", "origin"],
    tls: [],
  },
  unsupported: ["advertise", "handshake_timeout", "authorization", "jwt_cookie", "no_auth_user"],
};

/** Any `tls` table. */
export const TLS_KEYS: KeySpec = {
  keys: {
    cert_file: [],
    key_file: [],
    ca_file: [],
    insecure: [],
    verify: [],
    verify_and_map: [],
    timeout: [],
    handshake_first: [],
    cipher_suites: [],
    curve_preferences: [],
  },
  unsupported: [
    "pinned_certs",
    "connection_rate_limit",
    "verify_cert_and_check_known_urls",
    "ocsp_peer",
  ],
};
