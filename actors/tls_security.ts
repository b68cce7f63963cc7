/**
 * TLS for Canopy's listeners and remotes, as nats-server does it: INFO in
 * plaintext then the handshake (or the handshake first with
 * `handshake_first`), client certificates with `verify`, and the hub's INFO
 * deciding TLS for a remote.
 *
 * @module
 */
import type { ConnectionSecurity } from "./connection_security.ts";
import type { Clock } from "./clock.ts";
import { readFirstLine } from "./first_info.ts";
import type { PreparedLink } from "./remote.ts";
import {
  acceptTlsFirst,
  connectTlsFirst,
  PrefixedTransport,
  upgradeClientTls,
  upgradeServerTls,
  validateTlsOptions,
} from "./tls_transport.ts";
import type { Transport } from "./transport.ts";
import type { RemoteOptions, ServerOptions, TlsOptions } from "../config/options.ts";

/** A TLS block the runtime cannot honour; raised before any port opens. */
export class TlsConfigError extends Error {
  override name = "TlsConfigError";
}

/** Checks every TLS block of the configuration; throws naming the block. */
export function checkTlsOptions(options: ServerOptions): void {
  const blocks: [string, TlsOptions | undefined][] = [
    ["tls", options.tls],
    ["leafnodes.tls", options.leafnodes.tls],
    ["websocket.tls", options.websocket?.tls],
    ...options.leafnodes.remotes.map((r, i) =>
      [`leafnodes.remotes[${i}].tls`, r.tls] as [string, TlsOptions | undefined]
    ),
  ];
  for (const [key, tls] of blocks) {
    if (!tls) continue;
    const problem = validateTlsOptions(tls);
    if (problem) throw new TlsConfigError(`${options.configFile ?? "options"}: ${key}: ${problem}`);
  }
}

/** The accepting side of a listener whose `tls` block is `tls` (INFO first unless handshake_first). */
export function listenerSecurity(tls: TlsOptions | undefined): ConnectionSecurity | undefined {
  if (!tls) return undefined;
  return {
    verify: tls.verify === true || tls.verifyAndMap === true,
    handshakeFirst: tls.handshakeFirst === true,
    upgrade: (raw) => upgradeServerTls(raw, tls, { timeoutMs: tls.timeoutMs }),
    acceptFirst: (raw) => acceptTlsFirst(raw, tls, { timeoutMs: tls.timeoutMs }),
  };
}

/**
 * The soliciting side's prelude: TLS first when the remote says
 * `handshake_first`; otherwise read the hub's INFO and start TLS right after
 * it when the INFO asks, the remote has a `tls` block, or the URL is `wss`.
 */
export async function prepareRemoteLink(
  raw: Transport,
  url: URL,
  remote: RemoteOptions,
  clock: Clock,
  servername: string | undefined,
): Promise<PreparedLink> {
  const tls = remote.tls;
  const handshake = { servername: servername ?? url.hostname, timeoutMs: tls?.timeoutMs };
  let transport: Transport = raw;
  if (tls?.handshakeFirst) transport = await connectTlsFirst(raw, tls, handshake);
  const { line, rest } = await readFirstLine(transport, clock, remote.firstInfoTimeoutMs);
  if (rest.length > 0) transport = new PrefixedTransport(transport, rest);
  if (!tls?.handshakeFirst && (tls || infoRequiresTls(line))) {
    transport = await upgradeClientTls(transport, tls, handshake);
  }
  return { transport, firstInfo: line };
}

function infoRequiresTls(line: string): boolean {
  const json = line.replace(/^INFO\s+/i, "");
  try {
    return JSON.parse(json).tls_required === true;
  } catch {
    return false;
  }
}
