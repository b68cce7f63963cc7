/**
 * INFO and CONNECT payloads of the client protocol, with nats-server's field
 * names so that every NATS client library understands them.
 *
 * @module
 */

import { parseJsonObject } from "./leaf_info.ts";

/**
 * The nats-server version whose client protocol Canopy speaks. Clients derive
 * feature support (headers, no_responders) from `version`, so it names the
 * nats-server release we are wire compatible with, not Canopy's own version.
 */
export const NATS_COMPAT_VERSION = "2.9.10";

/** Canopy's own release. */
export const CANOPY_VERSION = "0.1.0";

/** Client protocol level: 1 = dynamic reconfiguration (async INFO) supported. */
export const PROTOCOL_LEVEL = 1;

/** The INFO fields nats-server sends on both its client and leafnode ports. */
export interface InfoBase {
  server_id: string;
  server_name: string;
  version: string;
  proto: number;
  go: string;
  host: string;
  port: number;
  headers: boolean;
  max_payload: number;
  client_id?: number;
  auth_required?: boolean;
  tls_required?: boolean;
  tls_verify?: boolean;
  nonce?: string;
}

/** INFO on the client port. */
export interface ServerInfo extends InfoBase {
  client_ip?: string;
  /** Not in nats-server: lets tools tell Canopy apart. */
  canopy_version: string;
}

/** The CONNECT fields Canopy reads; unknown fields are ignored, as nats-server does. */
export interface ConnectOptions {
  verbose?: boolean;
  pedantic?: boolean;
  tls_required?: boolean;
  echo?: boolean;
  headers?: boolean;
  no_responders?: boolean;
  user?: string;
  pass?: string;
  auth_token?: string;
  nkey?: string;
  sig?: string;
  jwt?: string;
  name?: string;
  lang?: string;
  version?: string;
  protocol?: number;
}

/** Parses a CONNECT json payload; throws on anything that is not a JSON object. */
export function parseConnect(json: string): ConnectOptions {
  return parseJsonObject<ConnectOptions>(json);
}
