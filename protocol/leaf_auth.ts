/**
 * Who an incoming leafnode connection is (spec 3.10): the `leafnodes.authorization`
 * block when there is one, otherwise the server's client users (with their
 * permissions), otherwise anyone, bound to `$G` or the block's `account`. In operator mode
 * the client users are user JWTs, and every leaf takes a place in its account's connection
 * count (`limits.leaf`).
 *
 * @module
 */
import type { LeafAuthorizationOptions } from "../config/options.ts";
import { GLOBAL_ACCOUNT } from "../config/defaults.ts";
import {
  type AuthIdentity,
  type AuthVerdict,
  type ClientAuthenticator,
  nonceSignatureProblem,
  passwordMatches,
} from "./client_auth.ts";
import type { ConnectionKind } from "./jwt_auth.ts";
import type { ConnectOptions } from "./info.ts";
import { certificateIdentities, type CertificateNames } from "./cert_identity.ts";

export class LeafAuthenticator {
  #leaf?: LeafAuthorizationOptions;
  #clients: ClientAuthenticator;
  #mapCertificates: boolean;

  constructor(
    leaf: LeafAuthorizationOptions | undefined,
    clients: ClientAuthenticator,
    options: { verifyAndMap?: boolean } = {},
  ) {
    this.#leaf = leaf;
    this.#clients = clients;
    this.#mapCertificates = options.verifyAndMap === true;
  }

  /** `kind` is `LEAFNODE`, or `LEAFNODE_WS` for a leaf that arrived over WebSocket. */
  async authenticate(
    connect: ConnectOptions,
    nonce: string,
    certificate?: CertificateNames,
    kind: Extract<ConnectionKind, "LEAFNODE" | "LEAFNODE_WS"> = "LEAFNODE",
  ): Promise<AuthVerdict> {
    const verdict = await this.#decide(connect, nonce, certificate, kind);
    if (!verdict.ok || verdict.identity.lease) return verdict;
    return this.#admitted(verdict.identity, kind);
  }

  /**
   * Operator mode: a leaf let in by the `authorization` block still counts against its
   * account's leaf limit, as in nats-server. User JWT verdicts already hold their lease.
   */
  #admitted(identity: AuthIdentity, kind: ConnectionKind): AuthVerdict {
    const jwt = this.#clients.jwt;
    if (!jwt) return { ok: true, identity };
    const lease = jwt.admit(identity.account, kind);
    return "release" in lease ? { ok: true, identity: { ...identity, lease } } : lease;
  }

  async #decide(
    connect: ConnectOptions,
    nonce: string,
    certificate: CertificateNames | undefined,
    kind: ConnectionKind,
  ): Promise<AuthVerdict> {
    const leaf = this.#leaf;
    if (this.#mapCertificates && leaf && leaf.users.length > 0) {
      // The certificate picks the leafnode user; CONNECT credentials are ignored.
      if (!certificate) return { ok: false, reason: "verify_and_map needs a client certificate" };
      for (const name of certificateIdentities(certificate)) {
        const user = leaf.users.find((u) => u.user === name);
        if (user) {
          return { ok: true, identity: { account: user.account ?? GLOBAL_ACCOUNT, user: name } };
        }
      }
      return { ok: false, reason: `no leafnode user maps to certificate "${certificate.subject}"` };
    }
    if (leaf?.user !== undefined) {
      if (connect.user !== leaf.user) {
        return { ok: false, reason: `unknown user "${connect.user}"` };
      }
      if (!(await passwordMatches(leaf.password ?? "", connect.pass ?? ""))) {
        return { ok: false, reason: `wrong password for leafnode user "${leaf.user}"` };
      }
      return { ok: true, identity: { account: leaf.account ?? GLOBAL_ACCOUNT, user: leaf.user } };
    }
    if (leaf?.nkey !== undefined) {
      if (connect.nkey !== leaf.nkey) return { ok: false, reason: "unknown nkey" };
      const problem = nonceSignatureProblem(leaf.nkey, nonce, connect.sig);
      if (problem) return { ok: false, reason: problem };
      return { ok: true, identity: { account: leaf.account ?? GLOBAL_ACCOUNT, user: leaf.nkey } };
    }
    if (leaf && leaf.users.length > 0) {
      const user = leaf.users.find((u) => u.user === connect.user);
      if (!user) return { ok: false, reason: `unknown leafnode user "${connect.user ?? ""}"` };
      if (!(await passwordMatches(user.password, connect.pass ?? ""))) {
        return { ok: false, reason: `wrong password for leafnode user "${user.user}"` };
      }
      return { ok: true, identity: { account: user.account ?? GLOBAL_ACCOUNT, user: user.user } };
    }
    if (!this.#clients.authRequired) {
      return { ok: true, identity: { account: leaf?.account ?? GLOBAL_ACCOUNT } };
    }
    return await this.#clients.authenticate(connect, nonce, certificate, kind);
  }
}
