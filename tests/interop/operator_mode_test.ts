/**
 * Operator mode (decentralized auth) across implementations: a Canopy hub trusting an
 * operator accepts NATS clients and leaves (Canopy and nats-server 2.9.10) that present
 * `.creds`, and refuses expired, revoked, wrongly issued, badly signed and wrong-connection-type
 * credentials with `-ERR 'Authorization Violation'` and the specific reason in its log. A
 * Canopy leaf presents `.creds` to a nats-server hub in operator mode, and the user JWT's
 * permissions are enforced on the leaf link.
 *
 * The hub's logged reasons are Canopy's own, so those tests pin the hub to Canopy; the wire
 * checks also run against nats-server with `LEAF_TEST_HUB=nats-server`.
 */

import assert from "node:assert/strict";
import { credsAuthenticator, wsconnect } from "@nats-io/nats-core";
import type { NatsConnection } from "@nats-io/nats-core";
import {
  createAccount,
  createOperator,
  createUser,
  encodeAccount,
  encodeUser,
  fmtCreds,
} from "@nats-io/jwt";
import type { KeyPair, User } from "@nats-io/jwt";
import { fromSeed } from "@nats-io/nkeys";
import { createOperatorSetup, UNLIMITED_ACCOUNT_LIMITS } from "../../config/nsc_lite.ts";
import type { OperatorSetup } from "../../config/nsc_lite.ts";
import { parseCreds } from "../../protocol/creds.ts";
import { freePort } from "../helpers/free_port.ts";
import { connectRaw, parseInfo } from "../helpers/raw_client.ts";
import {
  awaitFlow,
  countOccurrences,
  eventually,
  hubImpl,
  leafTestOptions,
  leafUrl,
  withTopology,
} from "../helpers/leaf_topology.ts";
import type { Topology } from "../helpers/leaf_topology.ts";
import type { ServerHandle, ServerImpl } from "../helpers/server_process.ts";

const AUTH_VIOLATION = "-ERR 'Authorization Violation'\r\n";
const LEAF_IMPLS: ServerImpl[] = ["canopy", "nats-server"];
const decoder = new TextDecoder();

/** One way a user's credentials can be bad, and the reason the Canopy hub logs for it. */
interface BadCredentials {
  what: string;
  creds: string;
  /** Pattern of the reason in the hub's `authentication error: …` line. */
  logged: RegExp;
}

/**
 * An operator with one account (unlimited, or with `limits`), its good user, and users that
 * each fail for one reason. Creds files are written to a temp directory on demand.
 */
class OperatorWorld {
  readonly setup: OperatorSetup;
  /** The account JWT, re-signed with revocations; replaces `setup.account.jwt`. */
  readonly accountJwt: string;
  /** Preloaded account signed by an operator the hub does not trust. */
  readonly rogue: { key: string; jwt: string; keys: KeyPair };
  readonly bad: Record<string, BadCredentials>;
  readonly #dir = Deno.makeTempDirSync({ prefix: "canopy_operator_" });
  readonly #accountKeys: KeyPair;

  private constructor(fields: {
    setup: OperatorSetup;
    accountJwt: string;
    rogue: OperatorWorld["rogue"];
    bad: Record<string, BadCredentials>;
    accountKeys: KeyPair;
  }) {
    this.setup = fields.setup;
    this.accountJwt = fields.accountJwt;
    this.rogue = fields.rogue;
    this.bad = fields.bad;
    this.#accountKeys = fields.accountKeys;
  }

  static async create(limits: Record<string, number> = {}): Promise<OperatorWorld> {
    const setup = await createOperatorSetup({ accountLimits: limits });
    const operatorKeys = keysOf(setup.operator.seed);
    const accountKeys = keysOf(setup.account.seed);
    const mint = async (
      claims: Partial<User> = {},
      opts: { exp?: number; signer?: KeyPair } = {},
    ) => {
      const keys = createUser();
      const jwt = await encodeUser("u", keys, accountKeys, claims, opts);
      return { keys, jwt, creds: decoder.decode(fmtCreds(jwt, keys)) };
    };
    const expired = await mint({}, { exp: Math.floor(Date.now() / 1000) - 60 });
    const revoked = await mint();
    const stranger = await mint({}, { signer: createAccount() });
    const impostor = await mint();
    const clientOnly = await mint({ allowed_connection_types: ["STANDARD"] });
    const leafOnly = await mint({ allowed_connection_types: ["LEAFNODE"] });
    const rogueOperator = createOperator();
    const rogueKeys = createAccount();
    const rogueJwt = await encodeAccount("ROGUE", rogueKeys, { limits: UNLIMITED_ACCOUNT_LIMITS }, {
      signer: rogueOperator,
    });
    const rogueUser = createUser();
    const rogueUserJwt = await encodeUser("r", rogueUser, rogueKeys);
    const accountJwt = await encodeAccount(setup.account.name, accountKeys, {
      limits: { ...UNLIMITED_ACCOUNT_LIMITS, ...limits },
      revocations: { [revoked.keys.getPublicKey()]: Math.floor(Date.now() / 1000) + 3600 },
    }, { signer: operatorKeys });
    return new OperatorWorld({
      setup,
      accountJwt,
      accountKeys,
      rogue: { key: rogueKeys.getPublicKey(), jwt: rogueJwt, keys: rogueKeys },
      bad: {
        expired: { what: "an expired user JWT", creds: expired.creds, logged: /has expired/ },
        revoked: { what: "a revoked user", creds: revoked.creds, logged: /has been revoked/ },
        wrongIssuer: {
          what: "a user signed by a key its account does not list",
          creds: stranger.creds,
          logged: /wrong issuer: user JWT/,
        },
        untrustedAccount: {
          what: "an account signed by an untrusted operator",
          creds: decoder.decode(fmtCreds(rogueUserJwt, rogueUser)),
          logged: /wrong issuer: account/,
        },
        badSignature: {
          what: "a nonce signed with another user's key",
          creds: decoder.decode(fmtCreds(impostor.jwt, createUser())),
          logged: /bad signature/,
        },
        clientOnly: {
          what: "a user allowed only STANDARD connections, on the leafnode port",
          creds: clientOnly.creds,
          logged: /connection type LEAFNODE not allowed/,
        },
        leafOnly: {
          what: "a user allowed only LEAFNODE connections, on the client port",
          creds: leafOnly.creds,
          logged: /connection type STANDARD not allowed/,
        },
      },
    });
  }

  /** The hub's operator-mode config (same keys for Canopy and nats-server). */
  hubConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      operator: this.setup.operator.jwt,
      system_account: this.setup.systemAccount.publicKey,
      resolver: "MEMORY",
      resolver_preload: {
        [this.setup.systemAccount.publicKey]: this.setup.systemAccount.jwt,
        [this.setup.account.publicKey]: this.accountJwt,
        [this.rogue.key]: this.rogue.jwt,
      },
      ...extra,
    };
  }

  get accountKey(): string {
    return this.setup.account.publicKey;
  }

  /** A user of the account with `claims`, as creds text. */
  async creds(claims: Partial<User> = {}): Promise<string> {
    const keys = createUser();
    const jwt = await encodeUser("u", keys, this.#accountKeys, claims);
    return decoder.decode(fmtCreds(jwt, keys));
  }

  /** Writes `creds` to a file and returns its path. */
  credsFile(creds: string): string {
    const path = `${this.#dir}/${crypto.randomUUID()}.creds`;
    Deno.writeTextFileSync(path, creds);
    return path;
  }

  async dispose(): Promise<void> {
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}

function keysOf(seed: string): KeyPair {
  return fromSeed(new TextEncoder().encode(seed));
}

async function withWorld<T>(
  body: (world: OperatorWorld) => Promise<T>,
  limits: Record<string, number> = {},
): Promise<T> {
  const world = await OperatorWorld.create(limits);
  try {
    return await body(world);
  } finally {
    await world.dispose();
  }
}

/** A NATS client of `server` authenticated with `creds`. */
function credsClient(topology: Topology, server: ServerHandle, creds: string) {
  return topology.client(server, {
    authenticator: credsAuthenticator(new TextEncoder().encode(creds)),
  });
}

/** base64url of the nonce signature, as clients send it. */
function signNonce(creds: string, nonce: string): string {
  const seed = parseCreds(creds).seed;
  const signature = keysOf(seed).sign(new TextEncoder().encode(nonce));
  return btoa(String.fromCharCode(...signature)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

function jwtOf(creds: string): string {
  return parseCreds(creds).jwt;
}

/**
 * Dials `port`, answers INFO with a CONNECT carrying `creds` (JWT and nonce signature) plus
 * `fields`, and returns everything the server sent after INFO until it closed (or 1.5 s).
 */
async function rawAttempt(
  port: number,
  creds: string | undefined,
  fields: Record<string, unknown>,
): Promise<string> {
  const raw = await connectRaw(port);
  try {
    const info = parseInfo(await raw.readUntil("\r\n"));
    const nonce = String(info.nonce ?? "");
    const auth = creds === undefined ? {} : { jwt: jwtOf(creds), sig: signNonce(creds, nonce) };
    await raw.send(`CONNECT ${JSON.stringify({ ...fields, ...auth })}\r\nPING\r\n`);
    return await raw.expectClosed(1_500).catch(() => raw.pending);
  } finally {
    await raw.dispose();
  }
}

const CLIENT_CONNECT = { verbose: false, pedantic: false, lang: "raw", version: "0", protocol: 1 };
const LEAF_CONNECT = { name: "RAW-LEAF", headers: true };

Deno.test({
  name: "operator mode - a NATS client with user creds connects and exchanges messages",
  ...leafTestOptions(hubImpl()),
  fn: () =>
    withWorld((world) =>
      withTopology(async (topology) => {
        const hub = await topology.hub(world.hubConfig());
        const a = await credsClient(topology, hub, world.setup.user.creds);
        const b = await credsClient(topology, hub, await world.creds());
        const inbox = topology.inbox(b, "orders.new");
        await inbox.awaitInterestFrom(a);
        a.publish("orders.new", "one");
        await inbox.waitForCount(1);
        assert.deepEqual(inbox.payloads, ["one"]);
        assert.equal(
          await rawAttempt(hub.port, undefined, CLIENT_CONNECT),
          AUTH_VIOLATION,
          "a client without creds is refused",
        );
      })
    ),
});

Deno.test({
  name: "operator mode - a client's user JWT permissions are enforced",
  ...leafTestOptions(hubImpl()),
  fn: () =>
    withWorld((world) =>
      withTopology(async (topology) => {
        const hub = await topology.hub(world.hubConfig());
        const limited = await credsClient(
          topology,
          hub,
          await world.creds({ pub: { allow: ["ok.>"] } }),
        );
        const errors: string[] = [];
        (async () => {
          for await (const status of limited.status()) {
            if (status.type === "error") errors.push(String(status.error));
          }
        })();
        const watcher = await credsClient(topology, hub, world.setup.user.creds);
        const inbox = topology.inbox(watcher, ">");
        await watcher.flush();
        limited.publish("no.x", "denied");
        limited.publish("ok.x", "allowed");
        await inbox.waitFor(() => inbox.payloads.includes("allowed"), "the allowed message");
        assert.ok(!inbox.payloads.includes("denied"), "the denied publish never arrives");
        assert.ok(
          await eventually(
            () => errors.some((e) => /Permissions Violation for Publish/.test(e)),
            2_000,
          ),
          `the publisher hears of the violation: ${errors}`,
        );
      })
    ),
});

Deno.test({
  name:
    "operator mode - raw clients: each bad credential gets -ERR 'Authorization Violation' and its reason logged",
  ...leafTestOptions("canopy"),
  fn: () =>
    withWorld((world) =>
      withTopology(async (topology) => {
        const hub = await topology.hub(world.hubConfig(), { impl: "canopy" });
        const cases: { what: string; creds?: string; logged: RegExp }[] = [
          { what: "no JWT", logged: /requires a user JWT/ },
          ...["expired", "revoked", "wrongIssuer", "untrustedAccount", "badSignature", "leafOnly"]
            .map((key) => world.bad[key]),
        ];
        for (const { what, creds, logged } of cases) {
          const reply = await rawAttempt(hub.port, creds, CLIENT_CONNECT);
          assert.equal(
            reply,
            AUTH_VIOLATION,
            `${what}: the wire says only Authorization Violation`,
          );
          assert.match(hub.logs(), logged, `${what}: the hub logs why`);
        }
        const good = await rawAttempt(hub.port, world.setup.user.creds, CLIENT_CONNECT);
        assert.match(good, /^PONG\r\n/, "the good user gets in");
      })
    ),
});

Deno.test({
  name:
    "operator mode - raw leaves: bad credentials on the leafnode port get 'Authorization Violation'",
  ...leafTestOptions(hubImpl()),
  fn: () =>
    withWorld((world) =>
      withTopology(async (topology) => {
        const impl = hubImpl();
        const hub = await topology.hub(world.hubConfig(), { impl });
        for (const key of ["expired", "revoked", "wrongIssuer", "badSignature", "clientOnly"]) {
          const bad = world.bad[key];
          const reply = await rawAttempt(hub.leafPort!, bad.creds, LEAF_CONNECT);
          assert.equal(reply, AUTH_VIOLATION, bad.what);
          if (impl === "canopy") assert.match(hub.logs(), bad.logged, `${bad.what}: logged`);
        }
        const good = await rawAttempt(hub.leafPort!, world.setup.user.creds, LEAF_CONNECT);
        assert.match(good, /"connect_info":true/, "the good user links up");
      })
    ),
});

for (const leafImpl of LEAF_IMPLS) {
  Deno.test({
    name: `operator mode - a ${leafImpl} leaf presenting .creds links up with a Canopy hub`,
    ...leafTestOptions("canopy", leafImpl),
    fn: () =>
      withWorld((world) =>
        withTopology(async (topology) => {
          const hub = await topology.hub(world.hubConfig(), { impl: "canopy" });
          const credentials = world.credsFile(world.setup.user.creds);
          const leaf = await topology.leaf([{ url: leafUrl(hub), credentials }], {}, {
            impl: leafImpl,
          });
          const onHub = await credsClient(topology, hub, await world.creds());
          const onLeaf = await topology.client(leaf);
          await awaitFlow(onHub, onLeaf);
          await awaitFlow(onLeaf, onHub);
          assert.equal(countOccurrences(hub.logs(), /authentication error/), 0);
        })
      ),
  });

  Deno.test({
    name:
      `operator mode - ${leafImpl} leaves with expired, revoked, wrongly issued, badly signed or ` +
      `client-only creds are refused, each for its reason`,
    ...leafTestOptions("canopy", leafImpl),
    fn: () =>
      withWorld((world) =>
        withTopology(async (topology) => {
          const hub = await topology.hub(world.hubConfig(), { impl: "canopy" });
          const cases = ["expired", "revoked", "wrongIssuer", "badSignature", "clientOnly"]
            .map((key) => world.bad[key]);
          const leaves = await Promise.all(cases.map((bad) =>
            topology.leaf([{ url: leafUrl(hub), credentials: world.credsFile(bad.creds) }], {}, {
              impl: leafImpl,
            })
          ));
          for (const [index, bad] of cases.entries()) {
            assert.ok(
              await eventually(() => bad.logged.test(hub.logs()), 5_000),
              `${bad.what}: the hub logs ${bad.logged}; hub logs:\n${hub.logs()}`,
            );
            assert.ok(
              await eventually(() => /Authorization Violation/.test(leaves[index].logs()), 5_000),
              `${bad.what}: the leaf logs the hub's -ERR`,
            );
          }
          assert.doesNotMatch(hub.logs(), /Leafnode connection created/);
        })
      ),
  });

  Deno.test({
    name: `operator mode - user JWT permissions are enforced on a ${leafImpl} leaf's link`,
    ...leafTestOptions("canopy", leafImpl),
    fn: () =>
      withWorld((world) =>
        withTopology(async (topology) => {
          const hub = await topology.hub(world.hubConfig(), { impl: "canopy" });
          const leafCreds = await world.creds({
            pub: { allow: ["up.ok.>"] },
            sub: { allow: ["down.ok.>"] },
          });
          const leaf = await topology.leaf(
            [{ url: leafUrl(hub), credentials: world.credsFile(leafCreds) }],
            {},
            { impl: leafImpl },
          );
          const onHub = await credsClient(topology, hub, world.setup.user.creds);
          const onLeaf = await topology.client(leaf);

          // Leaf to hub: only what the user may publish.
          const upOk = topology.inbox(onHub, "up.ok.x");
          const upNo = topology.inbox(onHub, "up.no.x");
          await upOk.awaitInterestFrom(onLeaf);
          onLeaf.publish("up.no.x", "denied");
          onLeaf.publish("up.ok.x", "allowed");
          await upOk.waitForCount(1);
          await upOk.drainFrom(onLeaf);
          assert.deepEqual(upNo.payloads, [], "the leaf cannot publish outside pub.allow");

          // Hub to leaf: only what the user may subscribe to.
          const downOk = topology.inbox(onLeaf, "down.ok.x");
          const downNo = topology.inbox(onLeaf, "down.no.x");
          await downOk.awaitInterestFrom(onHub);
          onHub.publish("down.no.x", "denied");
          onHub.publish("down.ok.x", "allowed");
          await downOk.waitForCount(1);
          await downOk.drainFrom(onHub);
          assert.deepEqual(downNo.payloads, [], "the hub delivers nothing outside sub.allow");
          assert.doesNotMatch(hub.logs(), /Leafnode connection closed/, "the link stays up");
        })
      ),
  });
}

Deno.test({
  name: "operator mode - a Canopy leaf presents .creds to a nats-server hub in operator mode",
  ...leafTestOptions("nats-server", "canopy"),
  fn: () =>
    withWorld((world) =>
      withTopology(async (topology) => {
        const hub = await topology.hub(world.hubConfig(), { impl: "nats-server" });
        const good = world.credsFile(world.setup.user.creds);
        const revoked = world.credsFile(world.bad.revoked.creds);
        const leaf = await topology.leaf([{ url: leafUrl(hub), credentials: good }], {}, {
          impl: "canopy",
        });
        const refused = await topology.leaf([{ url: leafUrl(hub), credentials: revoked }], {}, {
          impl: "canopy",
        });
        const onHub = await credsClient(topology, hub, await world.creds());
        const onLeaf = await topology.client(leaf);
        await awaitFlow(onHub, onLeaf);
        await awaitFlow(onLeaf, onHub);
        assert.ok(
          await eventually(() => /Authorization Violation/.test(refused.logs()), 5_000),
          `the revoked leaf is refused; its logs:\n${refused.logs()}`,
        );
      })
    ),
});

Deno.test({
  name:
    "operator mode - limits.conn refuses a client beyond it with 'maximum account active connections exceeded'",
  ...leafTestOptions(hubImpl()),
  ignore: leafTestOptions(hubImpl()).ignore,
  fn: () =>
    withWorld(
      (world) =>
        withTopology(async (topology) => {
          const hub = await topology.hub(world.hubConfig());
          const first: NatsConnection = await credsClient(topology, hub, world.setup.user.creds);
          const reply = await rawAttempt(hub.port, world.setup.user.creds, CLIENT_CONNECT);
          assert.equal(reply, "-ERR 'maximum account active connections exceeded'\r\n");
          await first.close();
          // The closed client's place frees up once the hub has seen the close.
          let again = "";
          for (let attempt = 0; attempt < 20 && !again.startsWith("PONG"); attempt++) {
            again = await rawAttempt(hub.port, world.setup.user.creds, CLIENT_CONNECT);
          }
          assert.match(again, /^PONG\r\n/, "a place frees up when a client leaves");
        }),
      { conn: 1 },
    ),
});

Deno.test({
  name: "operator mode - limits.leaf refuses a second leaf with nats-server's error",
  ...leafTestOptions(hubImpl()),
  ignore: leafTestOptions(hubImpl()).ignore,
  fn: () =>
    withWorld(
      (world) =>
        withTopology(async (topology) => {
          const hub = await topology.hub(world.hubConfig());
          const raw = await connectRaw(hub.leafPort!);
          try {
            const info = parseInfo(await raw.readUntil("\r\n"));
            const creds = world.setup.user.creds;
            const connect = {
              ...LEAF_CONNECT,
              jwt: jwtOf(creds),
              sig: signNonce(creds, String(info.nonce)),
            };
            await raw.send(`CONNECT ${JSON.stringify(connect)}\r\nPING\r\n`);
            await raw.readUntil("PONG\r\n");
            const second = await rawAttempt(hub.leafPort!, creds, LEAF_CONNECT);
            assert.equal(second, "-ERR 'maximum account active connections exceeded'\r\n");
          } finally {
            await raw.dispose();
          }
        }),
      { leaf: 1 },
    ),
});

Deno.test({
  name: "operator mode - a WebSocket client whose user allows only STANDARD is refused",
  ...leafTestOptions(hubImpl()),
  ignore: leafTestOptions(hubImpl()).ignore,
  fn: () =>
    withWorld((world) =>
      withTopology(async (topology) => {
        const wsPort = freePort();
        const hub = await topology.hub(
          world.hubConfig({ websocket: { port: wsPort, no_tls: true } }),
        );
        const authenticator = (creds: string) =>
          credsAuthenticator(new TextEncoder().encode(creds));
        const standardOnly = await world.creds({ allowed_connection_types: ["STANDARD"] });
        await assert.rejects(
          () =>
            wsconnect({
              servers: `ws://127.0.0.1:${wsPort}`,
              reconnect: false,
              authenticator: authenticator(standardOnly),
            }),
          /Authorization Violation/,
        );
        const wsAllowed = await world.creds({ allowed_connection_types: ["WEBSOCKET"] });
        const nc = await wsconnect({
          servers: `ws://127.0.0.1:${wsPort}`,
          reconnect: false,
          authenticator: authenticator(wsAllowed),
        });
        await nc.close();
        assert.ok(hub.leafPort !== undefined);
      })
    ),
});
