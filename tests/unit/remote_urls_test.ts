import assert from "node:assert/strict";
import {
  hostPort,
  RemoteUrlError,
  RemoteUrlList,
  splitHostPort,
} from "../../protocol/remote_urls.ts";

function hosts(urls: URL[]): string[] {
  return urls.map(hostPort);
}

function take(list: RemoteUrlList, count: number): string[] {
  return Array.from({ length: count }, () => hostPort(list.next()));
}

Deno.test("remote urls - first call returns the head, then the list cycles", () => {
  const list = new RemoteUrlList(["nats-leaf://a", "nats-leaf://b", "nats-leaf://c"], {
    noRandomize: true,
  });
  assert.equal(list.current, undefined);
  assert.deepEqual(take(list, 5), ["a:7422", "b:7422", "c:7422", "a:7422", "b:7422"]);
  assert.equal(list.current && hostPort(list.current), "b:7422");
  assert.deepEqual(hosts(list.urls), ["b:7422", "c:7422", "a:7422"]);
});

Deno.test("remote urls - a single URL is used every time", () => {
  const list = new RemoteUrlList(["nats-leaf://only:1234"]);
  assert.deepEqual(take(list, 3), ["only:1234", "only:1234", "only:1234"]);
});

Deno.test("remote urls - shuffles once with the injected randomness, like rand.Shuffle", () => {
  let calls = 0;
  const random = () => {
    calls++;
    return 0;
  };
  // Fisher-Yates from the end with j = 0: [a,b,c] -> [c,b,a] -> [b,c,a].
  const list = new RemoteUrlList(["nats-leaf://a", "nats-leaf://b", "nats-leaf://c"], { random });
  assert.equal(calls, 2);
  assert.deepEqual(take(list, 4), ["b:7422", "c:7422", "a:7422", "b:7422"]);
  assert.equal(calls, 2);
  // The configured order is kept apart from the shuffled rotation.
  assert.deepEqual(hosts(list.configured), ["a:7422", "b:7422", "c:7422"]);
});

Deno.test("remote urls - noRandomize never consults the randomness", () => {
  const list = new RemoteUrlList(["nats-leaf://a", "nats-leaf://b"], {
    noRandomize: true,
    random: () => assert.fail("random must not be called"),
  });
  assert.equal(hostPort(list.next()), "a:7422");
});

Deno.test("remote urls - any scheme is accepted and keeps userinfo; 7422 is the default port", () => {
  const list = new RemoteUrlList(
    ["tls://u:p@h1", "nats://h2:4333", "foo://[::1]", "nats-leaf://10.1.2.3"],
    { noRandomize: true },
  );
  const [first, second, third, fourth] = [list.next(), list.next(), list.next(), list.next()];
  assert.equal(first.href, "tls://u:p@h1:7422");
  assert.equal(first.username, "u");
  assert.equal(hostPort(second), "h2:4333");
  assert.equal(hostPort(third), "[::1]:7422");
  assert.equal(hostPort(fourth), "10.1.2.3:7422");
  assert.equal(list.isWebsocket, false);
});

Deno.test("remote urls - ws and wss are websocket and keep explicit default ports", () => {
  const list = new RemoteUrlList(["ws://hub", "wss://hub2:443", "ws://hub3:80"], {
    noRandomize: true,
  });
  assert.equal(list.isWebsocket, true);
  assert.deepEqual(take(list, 3), ["hub:7422", "hub2:443", "hub3:80"]);
});

Deno.test("remote urls - bad input is a RemoteUrlError", () => {
  assert.throws(() => new RemoteUrlList([]), RemoteUrlError);
  assert.throws(() => new RemoteUrlList(["not a url"]), {
    name: "RemoteUrlError",
    message: 'Cannot parse remote URL "not a url"',
  });
  assert.throws(() => new RemoteUrlList(["ws://a", "nats-leaf://b"]), {
    name: "RemoteUrlError",
    message: "Cannot build remote URL list: websocket and non-websocket URLs are mixed",
  });
  assert.throws(() => new RemoteUrlList(["nats-leaf://h:99999"]), RemoteUrlError);
});

Deno.test("remote urls - gossip goes first, minus configured host:ports, then configured order", () => {
  const list = new RemoteUrlList(["nats-leaf://u:p@Hub-A:7422", "nats-leaf://hub-b:7422"], {
    random: () => 0,
  });
  // Shuffled: [hub-b, hub-a]; connect to hub-b, which gossips its cluster.
  assert.equal(hostPort(list.next()), "hub-b:7422");
  const rejected = list.mergeGossip(["hub-b:7422", "10.0.0.1:7422", "hub-a:7422", "[::2]:7422"]);
  assert.deepEqual(rejected, []);
  assert.deepEqual(hosts(list.urls), [
    "10.0.0.1:7422",
    "[::2]:7422",
    "hub-a:7422",
    "hub-b:7422",
  ]);
  // Gossiped URLs use nats-leaf:// and carry no userinfo; configured ones keep theirs.
  assert.equal(list.urls[0].href, "nats-leaf://10.0.0.1:7422");
  assert.equal(list.urls[2].username, "u");
  // hub-b is no longer the head, so the head is taken without rotating...
  assert.equal(hostPort(list.next()), "10.0.0.1:7422");
  // ...and from there on the list cycles again.
  assert.deepEqual(take(list, 4), ["[::2]:7422", "hub-a:7422", "hub-b:7422", "10.0.0.1:7422"]);
});

Deno.test("remote urls - an empty gossip list restores the configured order", () => {
  const list = new RemoteUrlList(["nats-leaf://a", "nats-leaf://b"], { random: () => 0 });
  assert.deepEqual(hosts(list.urls), ["b:7422", "a:7422"]);
  list.mergeGossip([]);
  assert.deepEqual(hosts(list.urls), ["a:7422", "b:7422"]);
});

Deno.test("remote urls - unparsable gossip entries are skipped and returned", () => {
  const list = new RemoteUrlList(["nats-leaf://a"]);
  assert.deepEqual(list.mergeGossip(["[::1", "good:1", "bad:port"]), ["[::1", "bad:port"]);
  assert.deepEqual(hosts(list.urls), ["good:1", "a:7422"]);
});

Deno.test("remote urls - websocket remotes gossip ws://, or wss:// with TLS", () => {
  const plain = new RemoteUrlList(["ws://a:8080"]);
  plain.mergeGossip(["b:8080"]);
  assert.equal(plain.urls[0].href, "ws://b:8080/");
  const secureByScheme = new RemoteUrlList(["wss://a:8443"]);
  secureByScheme.mergeGossip(["b:8443"]);
  assert.equal(secureByScheme.urls[0].href, "wss://b:8443/");
  const secureByTls = new RemoteUrlList(["ws://a:8080"], { tls: true });
  secureByTls.mergeGossip(["b:8443"]);
  assert.equal(secureByTls.urls[0].protocol, "wss:");
});

Deno.test("remote urls - tlsServerName is the first non-IP host name", () => {
  assert.equal(
    new RemoteUrlList(["nats-leaf://10.0.0.1", "nats-leaf://Hub.Example.com", "nats-leaf://x"], {
      noRandomize: true,
    }).tlsServerName,
    "Hub.Example.com",
  );
  const ipsOnly = new RemoteUrlList(["nats-leaf://10.0.0.1", "nats-leaf://[::1]:7422"]);
  assert.equal(ipsOnly.tlsServerName, undefined);
  ipsOnly.mergeGossip(["10.0.0.2:7422", "hub-b.example.com:7422", "hub-c:7422"]);
  assert.equal(ipsOnly.tlsServerName, "hub-b.example.com");
  // Once known, gossip does not change it.
  ipsOnly.mergeGossip(["other.example.com:7422"]);
  assert.equal(ipsOnly.tlsServerName, "hub-b.example.com");
});

Deno.test("remote urls - returned URLs are copies", () => {
  const list = new RemoteUrlList(["nats-leaf://a", "nats-leaf://b"], { noRandomize: true });
  const first = list.next();
  first.hostname = "evil";
  assert.equal(hostPort(list.current!), "a:7422");
  assert.equal(hostPort(list.next()), "b:7422");
});

Deno.test("remote urls - hostPort lower-cases and fills scheme default ports", () => {
  assert.equal(hostPort(new URL("nats-leaf://u:p@HUB:1")), "hub:1");
  assert.equal(hostPort(new URL("ws://h")), "h:80");
  assert.equal(hostPort(new URL("wss://h")), "h:443");
  assert.equal(hostPort(new URL("nats-leaf://h")), "h:7422");
  assert.equal(hostPort(new URL("nats-leaf://[::1]:9")), "[::1]:9");
});

Deno.test("remote urls - splitHostPort handles names, IPv4, IPv6 and missing ports", () => {
  assert.deepEqual(splitHostPort("hub:7422"), { host: "hub", port: 7422 });
  assert.deepEqual(splitHostPort("10.0.0.1:1"), { host: "10.0.0.1", port: 1 });
  assert.deepEqual(splitHostPort("[::1]:7422"), { host: "::1", port: 7422 });
  assert.deepEqual(splitHostPort("[fe80::1]"), { host: "fe80::1", port: 7422 });
  assert.deepEqual(splitHostPort("::1"), { host: "::1", port: 7422 });
  assert.deepEqual(splitHostPort("hub", 443), { host: "hub", port: 443 });
  assert.throws(() => splitHostPort("hub:x"), RemoteUrlError);
  assert.throws(() => splitHostPort("hub:70000"), RemoteUrlError);
  assert.throws(() => splitHostPort("[::1"), RemoteUrlError);
  assert.throws(() => splitHostPort("[::1]x"), RemoteUrlError);
});

Deno.test("remote urls - mergeInfo ignores an INFO without URLs", () => {
  const list = new RemoteUrlList(["nats-leaf://a", "nats-leaf://b"], { random: () => 0 });
  list.mergeInfo({});
  list.mergeInfo({ leafnode_urls: null, ws_connect_urls: [] });
  assert.deepEqual(hosts(list.urls), ["b:7422", "a:7422"]);
});

Deno.test("remote urls - mergeInfo picks the list that matches the remote kind", () => {
  const tcp = new RemoteUrlList(["nats-leaf://a"]);
  tcp.mergeInfo({ leafnode_urls: ["l:7422"], ws_connect_urls: ["w:8080"] });
  assert.deepEqual(hosts(tcp.urls), ["l:7422", "a:7422"]);
  const ws = new RemoteUrlList(["ws://a:8080"]);
  ws.mergeInfo({ leafnode_urls: ["l:7422"], ws_connect_urls: ["w:8080"] });
  assert.deepEqual(hosts(ws.urls), ["w:8080", "a:8080"]);
});

Deno.test("remote urls - mergeInfo with only the other kind's URLs resets to configured", () => {
  // nats-server updates when either list is non-empty, then merges the (empty) matching one.
  const list = new RemoteUrlList(["nats-leaf://a", "nats-leaf://b"], { random: () => 0 });
  list.mergeInfo({ leafnode_urls: ["g:7422"] });
  assert.deepEqual(hosts(list.urls), ["g:7422", "a:7422", "b:7422"]);
  list.mergeInfo({ ws_connect_urls: ["w:8080"] });
  assert.deepEqual(hosts(list.urls), ["a:7422", "b:7422"]);
});
