/**
 * The WebSocket side of listeners and remotes: `[websocket]` serves NATS
 * clients and leafnodes (path ending in `/leafnode`) with TLS at the HTTP
 * layer; `ws://`/`wss://` remotes dial, upgrade, then speak the usual
 * leafnode protocol inside binary frames.
 *
 * @module
 */
import type { Clock } from "./clock.ts";
import { readFirstLine } from "./first_info.ts";
import type { PreparedLink } from "./remote.ts";
import { acceptTlsFirst, connectTlsFirst, PrefixedTransport } from "./tls_transport.ts";
import type { Transport } from "./transport.ts";
import { acceptWebSocket, connectWebSocket } from "./ws_transport.ts";
import type { RemoteOptions, WebsocketOptions } from "../config/options.ts";
import { leafnodeUpgradePath, type UpgradeKind } from "../protocol/ws_handshake.ts";

/** How long an accepted socket may take to complete TLS and the HTTP upgrade. */
const UPGRADE_TIMEOUT_MS = 2000;

export interface AcceptedUpgrade {
  transport: Transport;
  kind: UpgradeKind;
}

/** Runs TLS (unless `no_tls`) and the upgrade on an accepted websocket socket. */
export async function acceptWebsocketConnection(
  raw: Transport,
  ws: WebsocketOptions,
  clock: Clock,
): Promise<AcceptedUpgrade> {
  let timer: ReturnType<Clock["setTimeout"]> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => {
      raw.close();
      reject(new Error(`websocket upgrade not completed within ${UPGRADE_TIMEOUT_MS}ms`));
    }, UPGRADE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([upgrade(raw, ws), timeout]);
  } finally {
    clock.clearTimeout(timer!);
  }
}

async function upgrade(raw: Transport, ws: WebsocketOptions): Promise<AcceptedUpgrade> {
  const secure = !ws.noTls && ws.tls;
  const transport = secure ? await acceptTlsFirst(raw, ws.tls!, {}) : raw;
  const accepted = await acceptWebSocket(transport, {
    compression: ws.compression,
    sameOrigin: ws.sameOrigin,
    allowedOrigins: ws.allowedOrigins,
    tls: Boolean(secure),
  });
  return { transport: accepted.transport, kind: accepted.kind };
}

/**
 * The soliciting side for `ws://`/`wss://` URLs: TLS for `wss` (or a `tls`
 * block), the upgrade to `<path>/leafnode`, then the hub's first INFO.
 */
export async function prepareWebsocketRemote(
  raw: Transport,
  url: URL,
  remote: RemoteOptions,
  clock: Clock,
  servername: string | undefined,
): Promise<PreparedLink> {
  let transport: Transport = raw;
  if (url.protocol === "wss:" || remote.tls) {
    transport = await connectTlsFirst(raw, remote.tls, {
      servername: servername ?? url.hostname,
      timeoutMs: remote.tls?.timeoutMs,
    });
  }
  const connected = await connectWebSocket(transport, {
    url,
    path: leafnodeUpgradePath(url.pathname),
    compression: remote.wsCompression,
    noMasking: remote.wsNoMasking,
  });
  transport = connected.transport;
  const { line, rest } = await readFirstLine(transport, clock, remote.firstInfoTimeoutMs);
  if (rest.length > 0) transport = new PrefixedTransport(transport, rest);
  return { transport, firstInfo: line };
}
