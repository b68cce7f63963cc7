/**
 * Who an incoming leafnode connection is (spec 3.10): the `leafnodes.authorization`
 * block when there is one, otherwise the server's client users (with their
 * permissions), otherwise anyone, bound to `$G` or the block's `account`.
 *
 * @module
 */
import type { LeafAuthorizationOptions } from "../config/options.ts";
import { GLOBAL_ACCOUNT } from "../config/defaults.ts";
import {
  type AuthVerdict,
  type ClientAuthenticator,
  nonceSignatureProblem,
  passwordMatches,
} from "./client_auth.ts";
import type { ConnectOptions } from "./info.ts";

export class LeafAuthenticator {
  #leaf?: LeafAuthorizationOptions;
  #clients: ClientAuthenticator;

  constructor(leaf: LeafAuthorizationOptions | undefined, clients: ClientAuthenticator) {
    this.#leaf = leaf;
    this.#clients = clients;
  }

  async authenticate(connect: ConnectOptions, nonce: string): Promise<AuthVerdict> {
    const leaf = this.#leaf;
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
    return await this.#clients.authenticate(connect, nonce);
  }
}
