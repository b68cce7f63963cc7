/**
 * The embedding API: servers started in this process with `startServer()`, linked as hub and
 * leaf, watched through events and stats, reconfigured with `reload()`. The leaf's remote
 * authenticates with a signature callback (nats-server's `SignatureCB`) against a hub in
 * operator mode, so no credentials file exists anywhere.
 *
 * Canopy-only (nats-server has no such API): ignored in the reference pass.
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { jwtAuthenticator } from "@nats-io/nats-core";
import type { NatsConnection } from "@nats-io/nats-core";
import {
  createAccount,
  createOperator,
  createUser,
  encodeAccount,
  encodeOperator,
  encodeUser,
} from "@nats-io/jwt";
import { stringify } from "smol-toml";
import {
  type AuthFailureEvent,
  type CanopyServer,
  type LinkDownEvent,
  type LinkEvent,
  parseConfigText,
  type RemoteOptions,
  type ServerEventMap,
  type ServerEventName,
  type ServerOptions,
  startServer,
} from "../../mod.ts";
import { Inbox } from "../helpers/leaf_topology.ts";
import { targetImpl } from "../helpers/server_process.ts";

const EMBEDDING_TEST = {
  ignore: targetImpl() !== "canopy",
  sanitizeOps: false,
  sanitizeResources: false,
};

const EVENT_TIMEOUT_MS = 5_000;
const te = new TextEncoder();

/** Options as a TOML file would give them, every listener on a free loopback port. */
function options(document: Record<string, unknown> = {}): ServerOptions {
  const text = stringify({
    host: "127.0.0.1",
    port: 0,
    ...document,
    leafnodes: { host: "127.0.0.1", port: 0, ...(document.leafnodes as object) },
  });
  return parseConfigText(text, "embedding_test.toml");
}

/** Resolves with the next `name` event of `server` that `accept`s; rejects after a timeout. */
function nextEvent<K extends ServerEventName>(
  server: CanopyServer,
  name: K,
  accept: (event: ServerEventMap[K]) => boolean = () => true,
): Promise<ServerEventMap[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`Cannot see a "${name}" event within ${EVENT_TIMEOUT_MS} ms`));
    }, EVENT_TIMEOUT_MS);
    const off = server.on(name, (event) => {
      if (!accept(event)) return;
      clearTimeout(timer);
      off();
      resolve(event);
    });
  });
}

/** An operator, its system account, one account and one user of it, as `nsc` would make them. */
async function operatorSetup() {
  const operator = createOperator();
  const system = createAccount();
  const account = createAccount();
  const user = createUser();
  const limits = {
    subs: -1,
    conn: -1,
    leaf: -1,
    imports: -1,
    exports: -1,
    data: -1,
    payload: -1,
    wildcards: true,
  };
  const operatorJwt = await encodeOperator("canopy-test", operator, {
    system_account: system.getPublicKey(),
  });
  const systemJwt = await encodeAccount("SYS", system, { limits }, { signer: operator });
  const accountJwt = await encodeAccount("APP", account, { limits }, { signer: operator });
  const userJwt = await encodeUser("leaf-user", user, account);
  return {
    hubConfig: {
      operator: operatorJwt,
      system_account: system.getPublicKey(),
      resolver: "MEMORY",
      resolver_preload: {
        [system.getPublicKey()]: systemJwt,
        [account.getPublicKey()]: accountJwt,
      },
    },
    accountKey: account.getPublicKey(),
    user,
    userJwt,
  };
}

Deno.test({
  name: "embedding - a signature callback authenticates a leaf to an operator-mode hub",
  ...EMBEDDING_TEST,
  fn: async () => {
    const setup = await operatorSetup();
    const hub = await startServer(options({ server_name: "hub", ...setup.hubConfig }));
    await hub.ready;
    const clients: NatsConnection[] = [];
    let leaf: CanopyServer | undefined;
    try {
      const nonces: Uint8Array[] = [];
      const leafOptions = options({
        server_name: "leaf",
        leafnodes: { remotes: [{ urls: [`nats-leaf://127.0.0.1:${hub.leafPort}`] }] },
      });
      leafOptions.leafnodes.remotes[0].signatureCallback = (nonce) => {
        nonces.push(nonce);
        return Promise.resolve({ jwt: setup.userJwt, sig: setup.user.sign(nonce) });
      };
      const hubLinkUp = nextEvent(hub, "linkUp");
      const hubLinkDown = nextEvent(hub, "linkDown");
      leaf = await startServer(leafOptions);
      const leafLinkUp = nextEvent(leaf, "linkUp");
      const [atHub, atLeaf]: LinkEvent[] = await Promise.all([hubLinkUp, leafLinkUp]);
      assert.equal(atHub.side, "accept");
      assert.equal(atHub.peer, "leaf");
      assert.equal(atHub.account, setup.accountKey, "the user JWT put the leaf in its account");
      assert.equal(atLeaf.side, "solicit");
      assert.equal(atLeaf.peer, "hub");
      assert.equal(nonces.length, 1, "the callback signed exactly one nonce");
      assert.ok(nonces[0].length > 0);

      // Messages cross the link into the user's account on the hub.
      const onHub = await connect({
        servers: `127.0.0.1:${hub.port}`,
        authenticator: jwtAuthenticator(setup.userJwt, te.encode(seedOf(setup.user))),
      });
      clients.push(onHub);
      const onLeaf = await connect({ servers: `127.0.0.1:${leaf.port}` });
      clients.push(onLeaf);
      const before = leaf.stats();
      const inbox = new Inbox(onHub, "orders.created");
      await inbox.awaitInterestFrom(onLeaf);
      onLeaf.publish("orders.created", "42");
      await inbox.waitForCount(1);
      assert.deepEqual(inbox.payloads, ["42"]);
      const after = leaf.stats();
      assert.ok(after.inMsgs > before.inMsgs, "stats() counts what the leaf's client published");
      assert.ok(after.connections >= 1);

      // A client without credentials is refused, and the embedding program hears of it.
      const refused = nextEvent(hub, "authFailure");
      await assert.rejects(connect({ servers: `127.0.0.1:${hub.port}`, reconnect: false }));
      const failure: AuthFailureEvent = await refused;
      assert.equal(failure.kind, "client");
      assert.ok(failure.reason.length > 0);

      // Closing the leaf takes the link down on the hub.
      await Promise.all(clients.splice(0).map((nc) => nc.close()));
      await leaf.close();
      leaf = undefined;
      const down: LinkDownEvent = await hubLinkDown;
      assert.equal(down.peer, "leaf");
      assert.equal(down.lid, atHub.lid);
    } finally {
      await Promise.all(clients.map((nc) => nc.close()));
      await leaf?.close();
      await hub.close();
    }
  },
});

Deno.test({
  name: "embedding - reload() adds a remote and the new link comes up",
  ...EMBEDDING_TEST,
  fn: async () => {
    const hub = await startServer(options({ server_name: "reload-hub" }));
    const leaf = await startServer(options({ server_name: "reload-leaf" }));
    try {
      assert.equal(hub.stats().connections, 0);
      const linkUp = nextEvent(hub, "linkUp", (event) => event.peer === "reload-leaf");
      const remote: RemoteOptions = {
        ...options({
          leafnodes: { remotes: [{ urls: [`nats-leaf://127.0.0.1:${hub.leafPort}`] }] },
        }).leafnodes.remotes[0],
      };
      await leaf.reload({
        ...leaf.options,
        leafnodes: { ...leaf.options.leafnodes, remotes: [remote] },
      });
      const link = await linkUp;
      assert.equal(link.side, "accept");
    } finally {
      await leaf.close();
      await hub.close();
    }
  },
});

Deno.test({
  name: "embedding - a refused reload rejects and the server keeps running",
  ...EMBEDDING_TEST,
  fn: async () => {
    const server = await startServer(options());
    try {
      await assert.rejects(server.reload({ ...server.options, port: server.port + 1 }));
      const nc = await connect({ servers: `127.0.0.1:${server.port}` });
      await nc.flush();
      assert.equal(server.stats().connections, 1);
      await nc.close();
    } finally {
      await server.close();
    }
  },
});

/** The seed text of a user key pair (what a `.creds` file would carry). */
function seedOf(keys: { getSeed(): Uint8Array }): string {
  return new TextDecoder().decode(keys.getSeed());
}
