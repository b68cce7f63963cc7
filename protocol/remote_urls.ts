/**
 * The URL rotation of one leafnode remote (spec 4.2 and 4.3), as nats-server does it:
 *
 * - the configured URLs are copied once and, unless `no_randomize`, shuffled once;
 * - each attempt takes the head of the list, after moving the URL used last time to the tail
 *   when it is still the head, so consecutive attempts walk the whole list;
 * - every INFO with `leafnode_urls` (or `ws_connect_urls` for websocket remotes) rebuilds the
 *   list as the gossiped URLs, minus those naming a configured host:port, then the configured
 *   URLs in their written order.
 *
 * Any scheme is accepted and behaves as plain TCP (`nats-leaf`, `nats`, `tls`, even `foo`);
 * only `ws`/`wss` mean websocket. A URL without a port gets 7422.
 *
 * @module
 */

import { isIP } from "node:net";
import { DEFAULT_LEAFNODE_PORT } from "../config/defaults.ts";
import { isWebsocketUrl, withDefaultPort } from "../config/remote_url.ts";

/** A remote URL that cannot be used: unparsable, or ws and non-ws mixed in one remote. */
export class RemoteUrlError extends TypeError {
  override name = "RemoteUrlError";
}

/** Options for {@linkcode RemoteUrlList}. */
export interface RemoteUrlListOptions {
  /** Keep the configured order instead of shuffling it once (`no_randomize`). */
  noRandomize?: boolean;
  /** Source of randomness in [0, 1) for the shuffle; `Math.random` by default. */
  random?: () => number;
  /** The remote has a `tls` block: gossiped websocket URLs then use `wss://`. */
  tls?: boolean;
}

/** The INFO fields that carry gossiped URLs (`null` is what Go sends for an absent list). */
export interface GossipInfo {
  leafnode_urls?: readonly string[] | null;
  ws_connect_urls?: readonly string[] | null;
}

// WHATWG URLs hide the port when it is the scheme's default (`ws://h:80` has `port === ""`).
// The configured text always gets an explicit port first, so an empty port means one of these.
const SPECIAL_DEFAULT_PORTS: Readonly<Record<string, number>> = {
  "ws:": 80,
  "wss:": 443,
  "http:": 80,
  "https:": 443,
  "ftp:": 21,
};

/**
 * The `host:port` a URL dials, with IPv6 hosts in brackets (`[::1]:7422`) and the port always
 * written. Host names are compared case-insensitively, so the host is lower-cased.
 *
 * @example
 * ```ts
 * import { hostPort } from "./remote_urls.ts";
 * hostPort(new URL("nats-leaf://u:p@Hub.example.com:7422")); // "hub.example.com:7422"
 * hostPort(new URL("wss://hub.example.com")); // "hub.example.com:443"
 * ```
 */
export function hostPort(url: URL): string {
  const port = url.port !== ""
    ? url.port
    : String(SPECIAL_DEFAULT_PORTS[url.protocol] ?? DEFAULT_LEAFNODE_PORT);
  return `${url.hostname.toLowerCase()}:${port}`;
}

/**
 * Splits `host:port` (`[v6]:port` for IPv6) into a dialable host (no brackets) and a port.
 * A missing port gives `defaultPort`. Throws {@linkcode RemoteUrlError} on a bad port.
 *
 * @example
 * ```ts
 * import { splitHostPort } from "./remote_urls.ts";
 * splitHostPort("[::1]:7422"); // { host: "::1", port: 7422 }
 * splitHostPort("hub"); // { host: "hub", port: 7422 }
 * ```
 */
export function splitHostPort(
  text: string,
  defaultPort: number = DEFAULT_LEAFNODE_PORT,
): { host: string; port: number } {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close === -1) throw new RemoteUrlError(`Cannot parse address "${text}": missing "]"`);
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) {
        throw new RemoteUrlError(`Cannot parse address "${text}": unexpected text after "]"`);
      }
      portText = rest.slice(1);
    }
  } else {
    const colon = text.lastIndexOf(":");
    // A bare IPv6 address has several colons and no brackets: it has no port.
    if (colon !== -1 && text.indexOf(":") === colon) {
      host = text.slice(0, colon);
      portText = text.slice(colon + 1);
    } else {
      host = text;
    }
  }
  if (portText === undefined) return { host, port: defaultPort };
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 0 && port <= 65535)) {
    throw new RemoteUrlError(`Cannot parse address "${text}": invalid port "${portText}"`);
  }
  return { host, port };
}

function bareHost(url: URL): string {
  const name = url.hostname;
  return name.startsWith("[") && name.endsWith("]") ? name.slice(1, -1) : name;
}

/** The host name to use for TLS SNI/verification, or `undefined` for an IP address. */
function tlsNameOf(url: URL): string | undefined {
  const host = bareHost(url);
  return host === "" || isIP(host) !== 0 ? undefined : host;
}

function parseConfigured(text: string): URL {
  const full = withDefaultPort(text.trim(), DEFAULT_LEAFNODE_PORT);
  if (!URL.canParse(full)) throw new RemoteUrlError(`Cannot parse remote URL "${text}"`);
  const url = new URL(full);
  if (url.hostname === "") throw new RemoteUrlError(`Cannot parse remote URL "${text}": no host`);
  return url;
}

/** Fisher-Yates, the same walk as Go's `rand.Shuffle` (from the end, j in [0, i]). */
function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(random() * (i + 1)));
    const swap = items[i];
    items[i] = items[j];
    items[j] = swap;
  }
}

/**
 * The ordered URL list of one remote and the URL it is connected or connecting to.
 *
 * @example
 * ```ts
 * import { RemoteUrlList } from "./remote_urls.ts";
 * const list = new RemoteUrlList(["nats-leaf://a", "nats-leaf://b"], { noRandomize: true });
 * list.next().host; // "a:7422"
 * list.next().host; // "b:7422"
 * list.mergeGossip(["10.0.0.3:7422"]);
 * list.next().host; // "10.0.0.3:7422"
 * ```
 */
export class RemoteUrlList {
  /** Configured URLs in written order, default port applied. */
  #configured: readonly URL[];
  #configuredKeys: ReadonlySet<string>;
  /** The rotation; entries are never handed out, only copies. */
  #urls: URL[];
  #current: URL | undefined;
  #tlsServerName: string | undefined;
  #websocket: boolean;
  #gossipScheme: string;

  /**
   * Builds the list from the configured URL texts. Throws {@linkcode RemoteUrlError} for an
   * empty list, an unparsable URL, or a mix of websocket and non-websocket URLs.
   */
  constructor(urls: readonly string[], options: RemoteUrlListOptions = {}) {
    if (urls.length === 0) throw new RemoteUrlError("Cannot build remote URL list: no URLs");
    const configured = urls.map(parseConfigured);
    const websocket = isWebsocketUrl(configured[0].href);
    if (configured.some((url) => isWebsocketUrl(url.href) !== websocket)) {
      throw new RemoteUrlError(
        "Cannot build remote URL list: websocket and non-websocket URLs are mixed",
      );
    }
    this.#configured = configured;
    this.#configuredKeys = new Set(configured.map(hostPort));
    this.#websocket = websocket;
    const secure = options.tls === true || configured.some((url) => url.protocol === "wss:");
    this.#gossipScheme = websocket ? (secure ? "wss" : "ws") : "nats-leaf";
    this.#urls = [...configured];
    if (options.noRandomize !== true) shuffle(this.#urls, options.random ?? Math.random);
    // nats-server takes the first host name of its shuffled copy (so a random one when there
    // are several); the configured order gives the same answer in the common one-name case
    // and a predictable one otherwise.
    this.#tlsServerName = configured.map(tlsNameOf).find((name) => name !== undefined);
  }

  /** `true` when the remote dials `ws://` or `wss://` (all its URLs are websocket, or none). */
  get isWebsocket(): boolean {
    return this.#websocket;
  }

  /**
   * The host name for TLS SNI and certificate verification: the first non-IP host among the
   * configured URLs, else among gossiped ones; `undefined` when every URL is an IP address.
   */
  get tlsServerName(): string | undefined {
    return this.#tlsServerName;
  }

  /** The URL of the current (latest) attempt, `undefined` before the first {@linkcode next}. */
  get current(): URL | undefined {
    return this.#current === undefined ? undefined : new URL(this.#current.href);
  }

  /** The configured URLs in written order, default ports applied. */
  get configured(): URL[] {
    return this.#configured.map((url) => new URL(url.href));
  }

  /** The rotation as it stands; the head is the next candidate. */
  get urls(): URL[] {
    return this.#urls.map((url) => new URL(url.href));
  }

  /**
   * Picks the URL for the next connect attempt. The first call returns the head; afterwards,
   * when the last URL used is still the head and there is more than one URL, it moves to the
   * tail first. After a {@linkcode mergeGossip} the head is usually a gossiped URL and is
   * returned without rotating.
   */
  next(): URL {
    const urls = this.#urls;
    if (this.#current !== undefined && urls.length > 1 && urls[0].href === this.#current.href) {
      urls.push(urls.shift()!);
    }
    this.#current = urls[0];
    return new URL(urls[0].href);
  }

  /**
   * Applies the URL lists of an INFO (first or async) the way nats-server does: nothing happens
   * unless `leafnode_urls` or `ws_connect_urls` is non-empty; then the list matching the remote
   * kind goes to {@linkcode mergeGossip}, even when that one is empty (which resets the list to
   * the configured URLs). Returns the entries that could not be parsed.
   *
   * @example
   * ```ts
   * import { RemoteUrlList } from "./remote_urls.ts";
   * const list = new RemoteUrlList(["nats-leaf://hub"]);
   * list.mergeInfo({ leafnode_urls: ["10.0.0.2:7422"] });
   * ```
   */
  mergeInfo(info: GossipInfo): string[] {
    const leaf = info.leafnode_urls ?? [];
    const ws = info.ws_connect_urls ?? [];
    if (leaf.length === 0 && ws.length === 0) return [];
    return this.mergeGossip(this.#websocket ? ws : leaf);
  }

  /**
   * Rebuilds the list from the `host:port` entries of an INFO: `leafnode_urls` for a TCP remote,
   * `ws_connect_urls` for a websocket one. Gossiped entries come first (as `nats-leaf://`, or
   * `ws://`/`wss://`), except those whose host:port is a configured one; the configured URLs
   * follow in written order. Returns the entries that could not be parsed (they are skipped),
   * for the caller to log.
   */
  mergeGossip(hostPorts: readonly string[]): string[] {
    const rejected: string[] = [];
    const merged: URL[] = [];
    for (const entry of hostPorts) {
      const text = withDefaultPort(`${this.#gossipScheme}://${entry}`, DEFAULT_LEAFNODE_PORT);
      const url = URL.canParse(text) ? new URL(text) : undefined;
      if (url === undefined || url.hostname === "") {
        rejected.push(entry);
        continue;
      }
      if (this.#configuredKeys.has(hostPort(url))) continue;
      merged.push(url);
      this.#tlsServerName ??= tlsNameOf(url);
    }
    merged.push(...this.#configured);
    this.#urls = merged;
    return rejected;
  }
}
