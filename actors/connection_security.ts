/**
 * How an accepted connection is secured after its plaintext INFO (nats-server's
 * INFO-first TLS): the INFO says `tls_required`, then the handshake runs on the
 * same socket before anything else is read.
 *
 * @module
 */
import type { Transport } from "./transport.ts";

/** The peer certificate, as `verify_and_map` needs it. */
export interface PeerCertificate {
  /** RFC 4514-style subject, e.g. `CN=leaf-client,OU=test,O=Canopy`. */
  subject: string;
  /** Node's `subjectaltname` text, e.g. `DNS:leaf.example, email:a@b`. */
  subjectAltName?: string;
}

export interface SecuredTransport extends Transport {
  peerCertificate?(): PeerCertificate | undefined;
}

export interface ConnectionSecurity {
  /** INFO fields to announce: `tls_required`, and `tls_verify` when client certificates are required. */
  readonly verify: boolean;
  /** `handshake_first`: the listener runs TLS before the connection sends INFO. */
  readonly handshakeFirst: boolean;
  /** Runs the server-side handshake on a socket whose INFO has been written. */
  upgrade(raw: Transport): Promise<SecuredTransport>;
  /** Runs the server-side handshake before anything is sent (`handshake_first`). */
  acceptFirst(raw: Transport): Promise<SecuredTransport>;
}
