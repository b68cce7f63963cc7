/**
 * URL helpers for `leafnodes.remotes[].urls`. nats-server accepts any scheme
 * (`nats-leaf://`, `nats://`, `tls://`...) and only treats `ws://`/`wss://`
 * specially, so these work on the text instead of relying on WHATWG URL rules
 * for "special" schemes (which hide a default port such as `ws://h:80`).
 *
 * @module
 */

const URL_PARTS = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/is;

/** Splits a URL's authority into userinfo and host:port, `undefined` if it has none. */
function authorityOf(
  url: string,
): { prefix: string; userinfo: string; hostPort: string; rest: string } | undefined {
  const match = URL_PARTS.exec(url);
  if (match === null) return undefined;
  const authority = match[2];
  const at = authority.lastIndexOf("@");
  return {
    prefix: match[1],
    userinfo: at === -1 ? "" : authority.slice(0, at + 1),
    hostPort: authority.slice(at + 1),
    rest: match[3],
  };
}

function hasPort(hostPort: string): boolean {
  return hostPort.startsWith("[") ? /\]:\d+$/.test(hostPort) : /:\d+$/.test(hostPort);
}

function hostOf(hostPort: string): string {
  if (hostPort.startsWith("[")) return hostPort.slice(1, hostPort.indexOf("]"));
  const colon = hostPort.lastIndexOf(":");
  return colon === -1 ? hostPort : hostPort.slice(0, colon);
}

/** True when `url` has a scheme, a host, and parses as a URL. */
export function isUsableRemoteUrl(url: string): boolean {
  const parts = authorityOf(url);
  return parts !== undefined && hostOf(parts.hostPort) !== "" && URL.canParse(url);
}

/** `ws://` and `wss://` remotes speak websocket; every other scheme is plain TCP (or TLS). */
export function isWebsocketUrl(url: string): boolean {
  return /^wss?:\/\//i.test(url);
}

/**
 * Adds `:port` when the URL names none, as nats-server does with 7422 for
 * every remote URL, websocket ones included.
 *
 * @example
 * ```ts
 * withDefaultPort("nats-leaf://u:p@hub", 7422); // "nats-leaf://u:p@hub:7422"
 * ```
 */
export function withDefaultPort(url: string, port: number): string {
  const parts = authorityOf(url);
  if (parts === undefined || hasPort(parts.hostPort)) return url;
  return `${parts.prefix}${parts.userinfo}${parts.hostPort}:${port}${parts.rest}`;
}

/** The URL with its password replaced by `xxxxx` (Go's `URL.Redacted`), for messages. */
export function redactUrl(url: string): string {
  const parts = authorityOf(url);
  if (parts === undefined || parts.userinfo === "") return url;
  const colon = parts.userinfo.indexOf(":");
  if (colon === -1) return url;
  return `${parts.prefix}${parts.userinfo.slice(0, colon)}:xxxxx@${parts.hostPort}${parts.rest}`;
}

/** Go's `%q` of a list: `["a" "b"]`. */
export function quoteList(items: readonly string[]): string {
  return `[${items.map((item) => JSON.stringify(item)).join(" ")}]`;
}
