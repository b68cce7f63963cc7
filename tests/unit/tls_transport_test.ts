/**
 * TLS adapters over real loopback sockets: INFO-first upgrades on both sides, client
 * certificates, the reasons a handshake fails, timeouts, `handshake_first` and sniffing.
 */

import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import type { TlsOptions } from "../../config/options.ts";
import {
  acceptTlsFirst,
  connectTlsFirst,
  duplexOver,
  type NodeTlsTransport,
  PrefixedTransport,
  sniffClientHello,
  TlsHandshakeError,
  upgradeClientTls,
  upgradeServerTls,
  validateTlsOptions,
} from "../../actors/tls_transport.ts";
import { TcpTransport, type Transport } from "../../actors/transport.ts";
import { CLIENT_SUBJECT, type TestCerts, testCerts } from "../helpers/certs.ts";
import { MemoryTransport } from "../helpers/memory_transport.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const INFO = 'INFO {"server_id":"TEST","tls_required":true}\r\n';

/** A connected pair of TCP transports on loopback. */
async function tcpPair(): Promise<{ server: TcpTransport; client: TcpTransport }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const accepted = listener.accept();
    const client = new TcpTransport(
      await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    );
    return { server: new TcpTransport(await accepted), client };
  } finally {
    listener.close();
  }
}

async function writeText(transport: Transport, text: string): Promise<void> {
  const bytes = encoder.encode(text);
  let offset = 0;
  while (offset < bytes.length) offset += await transport.write(bytes.subarray(offset));
}

/** Reads until the text read so far ends with `terminator` (or the stream ends). */
async function readUntil(transport: Transport, terminator: string): Promise<string> {
  const buffer = new Uint8Array(4096);
  let text = "";
  while (!text.endsWith(terminator)) {
    const n = await transport.read(buffer);
    if (n === null) break;
    text += decoder.decode(buffer.subarray(0, n));
  }
  return text;
}

/** Resolves with what ended `transport`: "end" or "error", or "open" after `ms`. */
async function endOf(transport: Transport, ms = 3_000): Promise<"end" | "error" | "open"> {
  const buffer = new Uint8Array(4096);
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      transport.read(buffer).then((n) => n === null ? "end" : "data", () => "error"),
      new Promise<"open">((resolve) => timer = setTimeout(() => resolve("open"), ms)),
    ]);
    clearTimeout(timer);
    if (outcome !== "data") return outcome as "end" | "error" | "open";
  }
  return "open";
}

function serverTls(certs: TestCerts, extra: Partial<TlsOptions> = {}): TlsOptions {
  return { certFile: certs.server.certFile, keyFile: certs.server.keyFile, ...extra };
}

function clientCert(certs: TestCerts, which: "client" | "badClient" = "client"): TlsOptions {
  return {
    caFile: certs.ca.certFile,
    certFile: certs[which].certFile,
    keyFile: certs[which].keyFile,
  };
}

/** The INFO-first flow on a fresh pair; both outcomes are settled, never left rejected. */
async function infoFirst(
  server: TlsOptions,
  client: TlsOptions | undefined,
  servername = "localhost",
  timeoutMs = 2_000,
) {
  const pair = await tcpPair();
  await writeText(pair.server, INFO);
  const serverSide = upgradeServerTls(pair.server, server, { timeoutMs });
  const info = await readUntil(pair.client, "\r\n");
  assert.equal(info, INFO);
  const clientSide = upgradeClientTls(pair.client, client, { servername, timeoutMs });
  const [serverResult, clientResult] = await Promise.allSettled([serverSide, clientSide]);
  return { pair, serverResult, clientResult };
}

function fulfilled<T>(result: PromiseSettledResult<T>): T {
  if (result.status === "rejected") throw result.reason;
  return result.value;
}

function rejection(result: PromiseSettledResult<unknown>): TlsHandshakeError {
  assert.equal(result.status, "rejected", "the handshake should have failed");
  const error = (result as PromiseRejectedResult).reason;
  assert.ok(error instanceof TlsHandshakeError, `expected a TlsHandshakeError, got ${error}`);
  return error;
}

function closeAll(...results: PromiseSettledResult<NodeTlsTransport>[]): void {
  for (const result of results) if (result.status === "fulfilled") result.value.close();
}

Deno.test("tls transport - INFO-first upgrade carries NATS traffic both ways", async () => {
  const certs = await testCerts();
  const { serverResult, clientResult } = await infoFirst(serverTls(certs), {
    caFile: certs.ca.certFile,
  });
  const server = fulfilled(serverResult);
  const client = fulfilled(clientResult);
  try {
    await writeText(client, "CONNECT {}\r\nPING\r\n");
    assert.equal(await readUntil(server, "PING\r\n"), "CONNECT {}\r\nPING\r\n");
    await writeText(server, "PONG\r\n");
    assert.equal(await readUntil(client, "\r\n"), "PONG\r\n");
    assert.equal(client.peerCertificate()?.subject, "CN=localhost");
    assert.equal(server.peerCertificate(), undefined, "no client certificate was asked for");
    assert.equal(server.remoteHost, "127.0.0.1");
    assert.equal(client.protocol, "TLSv1.3");
  } finally {
    server.close();
    client.close();
  }
});

Deno.test("tls transport - verify accepts a client certificate from ca_file and shows its subject", async () => {
  const certs = await testCerts();
  const { serverResult, clientResult } = await infoFirst(
    serverTls(certs, { caFile: certs.ca.certFile, verify: true }),
    clientCert(certs),
  );
  const server = fulfilled(serverResult);
  const client = fulfilled(clientResult);
  try {
    const peer = server.peerCertificate();
    assert.ok(peer);
    assert.equal(peer.subject, CLIENT_SUBJECT);
    assert.equal(peer.subjectAltName, "DNS:leaf.example, email:leaf@example.com");
    const der = new X509Certificate(await Deno.readTextFile(certs.client.certFile)).raw;
    assert.deepEqual(peer.raw, new Uint8Array(der));
    await writeText(client, "PING\r\n");
    assert.equal(await readUntil(server, "\r\n"), "PING\r\n");
  } finally {
    server.close();
    client.close();
  }
});

Deno.test("tls transport - verify rejects a client without a certificate", async () => {
  const certs = await testCerts();
  const { pair, serverResult, clientResult } = await infoFirst(
    serverTls(certs, { caFile: certs.ca.certFile, verify: true }),
    { caFile: certs.ca.certFile },
  );
  assert.equal(rejection(serverResult).reason, "no_certificate");
  assert.match(rejection(serverResult).message, /presented no certificate/);
  // TLS 1.3 clients finish their side before the server judges them. Over a duplex, Deno's
  // node:tls drops the CertificateRequired alert, so the client only sees the connection end.
  if (clientResult.status === "fulfilled") {
    assert.notEqual(await endOf(clientResult.value), "open");
  } else {
    assert.equal(rejection(clientResult).reason, "closed");
  }
  closeAll(clientResult);
  pair.client.close();
});

Deno.test("tls transport - verify rejects a client certificate from another CA", async () => {
  const certs = await testCerts();
  const { pair, serverResult, clientResult } = await infoFirst(
    serverTls(certs, { caFile: certs.ca.certFile, verify: true }),
    clientCert(certs, "badClient"),
  );
  const error = rejection(serverResult);
  assert.equal(error.reason, "bad_certificate");
  assert.match(error.message, /client certificate was rejected/);
  if (clientResult.status === "fulfilled") {
    assert.notEqual(await endOf(clientResult.value), "open");
  }
  closeAll(clientResult);
  pair.client.close();
});

Deno.test("tls transport - verify_and_map alone also demands a client certificate", async () => {
  const certs = await testCerts();
  const { pair, serverResult, clientResult } = await infoFirst(
    serverTls(certs, { caFile: certs.ca.certFile, verifyAndMap: true }),
    { caFile: certs.ca.certFile },
  );
  assert.equal(rejection(serverResult).reason, "no_certificate");
  closeAll(clientResult);
  pair.client.close();
});

Deno.test("tls transport - the client names each reason to refuse a server certificate", async (t) => {
  const certs = await testCerts();
  const cases: {
    name: string;
    server: keyof TestCerts;
    client: TlsOptions | undefined;
    servername?: string;
    reason: string;
    message: RegExp;
  }[] = [
    {
      name: "wrong host",
      server: "wrongHostServer",
      client: { caFile: certs.ca.certFile },
      reason: "hostname_mismatch",
      message: /is for DNS:wrong-host\.example, not for "localhost"/,
    },
    {
      name: "wrong IP",
      server: "wrongHostServer",
      client: { caFile: certs.ca.certFile },
      servername: "127.0.0.1",
      reason: "hostname_mismatch",
      message: /not for "127\.0\.0\.1"/,
    },
    {
      name: "expired",
      server: "expiredServer",
      client: { caFile: certs.ca.certFile },
      reason: "expired_certificate",
      message: /expired on Dec 31 00:00:00 2020 GMT/,
    },
    {
      name: "unknown CA",
      server: "server",
      client: { caFile: certs.badCa.certFile },
      reason: "unknown_ca",
      message: /signed by an unknown authority \(CN=Canopy Test CA\), not by 'ca_file'/,
    },
    {
      name: "system roots only",
      server: "server",
      client: undefined,
      reason: "unknown_ca",
      message: /not by the system roots/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const files = certs[c.server] as { certFile: string; keyFile: string };
      const { pair, serverResult, clientResult } = await infoFirst(
        { certFile: files.certFile, keyFile: files.keyFile },
        c.client,
        c.servername,
      );
      const error = rejection(clientResult);
      assert.equal(error.reason, c.reason);
      assert.match(error.message, c.message);
      assert.equal(await endOf(pair.client, 500), "error", "the client's socket is closed");
      closeAll(serverResult);
    });
  }
});

Deno.test("tls transport - insecure accepts any server certificate", async (t) => {
  const certs = await testCerts();
  for (const server of ["expiredServer", "wrongHostServer"] as const) {
    await t.step(server, async () => {
      const { serverResult, clientResult } = await infoFirst(
        { certFile: certs[server].certFile, keyFile: certs[server].keyFile },
        { insecure: true },
      );
      const client = fulfilled(clientResult);
      const serverSide = fulfilled(serverResult);
      await writeText(client, "PING\r\n");
      assert.equal(await readUntil(serverSide, "\r\n"), "PING\r\n");
      client.close();
      serverSide.close();
    });
  }
});

Deno.test("tls transport - an IP address as server name verifies against IP SANs", async () => {
  const certs = await testCerts();
  const { serverResult, clientResult } = await infoFirst(
    serverTls(certs),
    { caFile: certs.ca.certFile },
    "127.0.0.1",
  );
  const client = fulfilled(clientResult);
  assert.equal(client.peerCertificate()?.subject, "CN=localhost");
  client.close();
  closeAll(serverResult);
});

Deno.test("tls transport - a client that never sends a ClientHello times out and is closed", async () => {
  const certs = await testCerts();
  const pair = await tcpPair();
  await writeText(pair.server, INFO);
  const started = Date.now();
  const result = await Promise.allSettled([
    upgradeServerTls(pair.server, serverTls(certs), { timeoutMs: 200 }),
  ]);
  const error = rejection(result[0]);
  assert.equal(error.reason, "timeout");
  assert.match(error.message, /no TLS handshake within 200 ms/);
  assert.ok(Date.now() - started >= 190, "not before the timeout");
  assert.equal(await readUntil(pair.client, "\r\n"), INFO);
  assert.equal(await endOf(pair.client), "end", "the server closed the socket");
  pair.client.close();
});

Deno.test("tls transport - a server that never answers the ClientHello times out the client", async () => {
  const pair = await tcpPair();
  const result = await Promise.allSettled([
    upgradeClientTls(pair.client, undefined, { servername: "localhost", timeoutMs: 200 }),
  ]);
  assert.equal(rejection(result[0]).reason, "timeout");
  const hello = new Uint8Array(16 * 1024);
  assert.ok((await pair.server.read(hello) ?? 0) > 0);
  assert.equal(hello[0], 0x16, "the client did send a ClientHello");
  assert.equal(await endOf(pair.server), "end", "the client closed the socket");
  pair.server.close();
});

Deno.test("tls transport - a plaintext client on a TLS-required port fails cleanly", async () => {
  const certs = await testCerts();
  const pair = await tcpPair();
  await writeText(pair.server, INFO);
  const serverSide = upgradeServerTls(pair.server, serverTls(certs), { timeoutMs: 2_000 });
  await readUntil(pair.client, "\r\n");
  await writeText(pair.client, 'CONNECT {"verbose":false}\r\n');
  const [result] = await Promise.allSettled([serverSide]);
  const error = rejection(result);
  assert.equal(error.reason, "not_tls");
  assert.match(
    error.message,
    /the client sent "CONNECT \{\\"verbos" where a TLS ClientHello was required/,
  );
  assert.equal(await endOf(pair.client), "end");
  pair.client.close();
});

Deno.test("tls transport - handshake_first: TLS before INFO, both ways", async () => {
  const certs = await testCerts();
  const pair = await tcpPair();
  const [serverResult, clientResult] = await Promise.allSettled([
    acceptTlsFirst(pair.server, serverTls(certs, { caFile: certs.ca.certFile, verify: true })),
    connectTlsFirst(pair.client, clientCert(certs), { servername: "localhost" }),
  ]);
  const server = fulfilled(serverResult);
  const client = fulfilled(clientResult);
  try {
    await writeText(server, INFO);
    assert.equal(await readUntil(client, "\r\n"), INFO, "INFO arrives inside TLS");
    assert.equal(server.peerCertificate()?.subject, CLIENT_SUBJECT);
  } finally {
    server.close();
    client.close();
  }
});

Deno.test("tls transport - sniffing finds a ClientHello and replays it into the handshake", async () => {
  const certs = await testCerts();
  const pair = await tcpPair();
  const clientSide = connectTlsFirst(pair.client, { caFile: certs.ca.certFile }, {
    servername: "localhost",
  });
  const sniffed = await sniffClientHello(pair.server, 1_000);
  assert.equal(sniffed.tls, true);
  assert.equal(sniffed.prefix[0], 0x16);
  const [serverResult, clientResult] = await Promise.allSettled([
    acceptTlsFirst(sniffed.transport, serverTls(certs)),
    clientSide,
  ]);
  const server = fulfilled(serverResult);
  const client = fulfilled(clientResult);
  await writeText(server, INFO);
  assert.equal(await readUntil(client, "\r\n"), INFO);
  server.close();
  client.close();
});

Deno.test("tls transport - sniffing falls back to plaintext for a silent client", async () => {
  const pair = await tcpPair();
  const started = Date.now();
  const sniffed = await sniffClientHello(pair.server, 50);
  assert.ok(Date.now() - started >= 45, "it waited");
  assert.equal(sniffed.tls, false);
  assert.equal(sniffed.prefix.length, 0);
  await writeText(sniffed.transport, INFO);
  assert.equal(await readUntil(pair.client, "\r\n"), INFO);
  // The read begun while sniffing is still in flight and must deliver the client's answer.
  await writeText(pair.client, "CONNECT {}\r\n");
  assert.equal(await readUntil(sniffed.transport, "\r\n"), "CONNECT {}\r\n");
  sniffed.transport.close();
  pair.client.close();
});

Deno.test("tls transport - sniffing replays plaintext a client sent first", async () => {
  const pair = await tcpPair();
  await writeText(pair.client, "PING\r\n");
  const sniffed = await sniffClientHello(pair.server, 1_000);
  assert.equal(sniffed.tls, false);
  assert.equal(decoder.decode(sniffed.prefix), "PING\r\n");
  assert.equal(await readUntil(sniffed.transport, "\r\n"), "PING\r\n");
  await writeText(pair.client, "PONG\r\n");
  assert.equal(await readUntil(sniffed.transport, "\r\n"), "PONG\r\n");
  sniffed.transport.close();
  pair.client.close();
});

Deno.test("tls transport - sniffing a client that hangs up ends the stream", async () => {
  const pair = await tcpPair();
  pair.client.close();
  const sniffed = await sniffClientHello(pair.server, 1_000);
  assert.equal(sniffed.tls, false);
  assert.equal(await sniffed.transport.read(new Uint8Array(16)), null);
  sniffed.transport.close();
});

Deno.test("validateTlsOptions() refuses settings the runtime would silently ignore", () => {
  assert.equal(validateTlsOptions({ certFile: "a", keyFile: "b", verify: true }), undefined);
  assert.match(
    validateTlsOptions({ cipherSuites: ["TLS_AES_128_GCM_SHA256"] }) ?? "",
    /^'cipher_suites' cannot be honoured: .*silently ignores cipher suite settings/,
  );
  assert.match(
    validateTlsOptions({ curvePreferences: ["P-384"] }) ?? "",
    /^'curve_preferences' cannot be honoured: .*silently ignores curve settings/,
  );
  const both = validateTlsOptions({ cipherSuites: ["x"], curvePreferences: ["y"] }) ?? "";
  assert.match(both, /'cipher_suites'.*; 'curve_preferences'/);
});

Deno.test("tls transport - unusable settings fail as config errors and close the socket", async (t) => {
  const certs = await testCerts();
  await t.step("cipher_suites", async () => {
    const raw = new MemoryTransport();
    const [result] = await Promise.allSettled([
      upgradeServerTls(raw, serverTls(certs, { cipherSuites: ["TLS_AES_128_GCM_SHA256"] })),
    ]);
    const error = rejection(result);
    assert.equal(error.reason, "config");
    assert.match(error.message, /'cipher_suites' cannot be honoured/);
    assert.equal(raw.closed, true);
  });
  await t.step("missing key file", async () => {
    const raw = new MemoryTransport();
    const missing = `${certs.dir}/missing.key`;
    const [result] = await Promise.allSettled([
      upgradeClientTls(raw, { certFile: certs.client.certFile, keyFile: missing }),
    ]);
    const error = rejection(result);
    assert.equal(error.reason, "config");
    assert.ok(error.message.includes(`cannot read 'key_file' "${missing}"`), error.message);
    assert.equal(raw.closed, true);
  });
  await t.step("listener without a certificate", async () => {
    const raw = new MemoryTransport();
    const [result] = await Promise.allSettled([upgradeServerTls(raw, { verify: true })]);
    assert.match(rejection(result).message, /a TLS listener needs 'cert_file' and 'key_file'/);
    assert.equal(raw.closed, true);
  });
});

Deno.test("tls transport - a slow reader pauses the socket at about 1 MiB and loses nothing", async () => {
  const certs = await testCerts();
  const { serverResult, clientResult } = await infoFirst(serverTls(certs), {
    caFile: certs.ca.certFile,
  });
  const server = fulfilled(serverResult);
  const client = fulfilled(clientResult);
  // More than loopback's socket buffers hold (about 5 MiB here), so the writer must stall.
  const total = 24 * 1024 * 1024;
  const data = new Uint8Array(total);
  for (let i = 0; i < total; i++) data[i] = (i * 31 + (i >> 12)) & 0xff;
  let written = 0;
  const writing = (async () => {
    for (let offset = 0; offset < total; offset += 64 * 1024) {
      let at = offset;
      const end = offset + 64 * 1024;
      while (at < end) at += await server.write(data.subarray(at, end));
      written = end;
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.ok(client.buffered > 0, "data arrived");
  assert.ok(client.buffered < 1.5 * 1024 * 1024, `buffered ${client.buffered} bytes`);
  assert.ok(written < total, "the writer is held back by the paused reader");

  const received = new Uint8Array(total);
  let at = 0;
  const buffer = new Uint8Array(100_000);
  while (at < total) {
    const n = await client.read(buffer);
    assert.notEqual(n, null);
    received.set(buffer.subarray(0, n!), at);
    at += n!;
  }
  await writing;
  assert.ok(received.every((byte, i) => byte === data[i]), "every byte, in order");
  server.close();
  client.close();
});

Deno.test("tls transport - reads drain what arrived before the peer closed, then end", async () => {
  const certs = await testCerts();
  const { serverResult, clientResult } = await infoFirst(serverTls(certs), {
    caFile: certs.ca.certFile,
  });
  const server = fulfilled(serverResult);
  const client = fulfilled(clientResult);
  await writeText(server, "last words\r\n");
  await new Promise((resolve) => setTimeout(resolve, 50));
  server.close();
  assert.equal(await readUntil(client, "\r\n"), "last words\r\n");
  assert.equal(await endOf(client), "end");
  client.close();
  await assert.rejects(client.write(encoder.encode("x")), Deno.errors.BrokenPipe);
});

Deno.test("duplexOver() reads from and writes to a transport, and closes it when destroyed", async () => {
  const memory = new MemoryTransport();
  const duplex = duplexOver(memory);
  const received: string[] = [];
  duplex.on("data", (chunk: Uint8Array) => received.push(decoder.decode(chunk)));
  memory.push("hello ");
  memory.push("world");
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(received.join(""), "hello world");
  await new Promise<void>((resolve, reject) =>
    duplex.write(encoder.encode("reply"), (error) => error ? reject(error) : resolve())
  );
  assert.equal(memory.text(), "reply");
  duplex.destroy();
  assert.equal(memory.closed, true);
});

Deno.test("duplexOver() ends when the transport ends", async () => {
  const memory = new MemoryTransport();
  const duplex = duplexOver(memory);
  const ended = new Promise<void>((resolve) => duplex.on("end", () => resolve()));
  duplex.resume();
  memory.close();
  await ended;
  assert.equal(duplex.readableEnded, true);
});

Deno.test("PrefixedTransport hands out the prefix in buffer-sized pieces, then the inner stream", async () => {
  const memory = new MemoryTransport();
  const prefixed = new PrefixedTransport(memory, encoder.encode("abcdef"));
  const buffer = new Uint8Array(4);
  assert.equal(await prefixed.read(buffer), 4);
  assert.equal(decoder.decode(buffer), "abcd");
  assert.equal(await prefixed.read(buffer), 2);
  assert.equal(decoder.decode(buffer.subarray(0, 2)), "ef");
  memory.push("gh");
  assert.equal(await prefixed.read(buffer), 2);
  assert.equal(decoder.decode(buffer.subarray(0, 2)), "gh");
  await prefixed.write(encoder.encode("out"));
  assert.equal(memory.text(), "out");
  prefixed.close();
  assert.equal(memory.closed, true);
});
