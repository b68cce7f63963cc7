/**
 * Throughput of {@linkcode NodeTlsTransport} over loopback: one side sends `--mib` MiB in
 * 64 KiB writes through TLS, the other reads them into a reused 64 KiB buffer. Both ends run
 * in this process (INFO-first server upgrade against the client upgrade), so one core does the
 * encrypting and the decrypting; a separate receiver process would see more.
 *
 * ```
 * deno run -A tests/bench/tls_bench.ts [--mib 256] [--rounds 3] [--direction both]
 * ```
 *
 * `--direction`: `to-server` (the client writes), `to-client` (the server writes) or `both`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  type NodeTlsTransport,
  upgradeClientTls,
  upgradeServerTls,
} from "../../actors/tls_transport.ts";
import { TcpTransport } from "../../actors/transport.ts";
import { testCerts } from "../helpers/certs.ts";

const CHUNK_BYTES = 64 * 1024;

interface Pair {
  server: NodeTlsTransport;
  client: NodeTlsTransport;
  close(): void;
}

async function tlsPair(): Promise<Pair> {
  const certs = await testCerts();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const dialled = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const rawServer = new TcpTransport(await accepted);
  listener.close();
  const rawClient = new TcpTransport(dialled);
  const serverTls = { certFile: certs.server.certFile, keyFile: certs.server.keyFile };
  const [server, client] = await Promise.all([
    upgradeServerTls(rawServer, serverTls, { timeoutMs: 5_000 }),
    upgradeClientTls(rawClient, { caFile: certs.ca.certFile }, {
      servername: "localhost",
      timeoutMs: 5_000,
    }),
  ]);
  return {
    server,
    client,
    close() {
      server.close();
      client.close();
    },
  };
}

async function send(from: NodeTlsTransport, bytes: number): Promise<void> {
  const chunk = new Uint8Array(CHUNK_BYTES).fill(0x61);
  for (let sent = 0; sent < bytes; sent += CHUNK_BYTES) {
    let offset = 0;
    while (offset < chunk.length) offset += await from.write(chunk.subarray(offset));
  }
}

async function receive(to: NodeTlsTransport, bytes: number): Promise<void> {
  const buffer = new Uint8Array(CHUNK_BYTES);
  let received = 0;
  while (received < bytes) {
    const n = await to.read(buffer);
    if (n === null) throw new Error(`Cannot finish: connection ended after ${received} bytes`);
    received += n;
  }
}

async function measure(direction: "to-server" | "to-client", mib: number): Promise<number> {
  const pair = await tlsPair();
  try {
    const bytes = mib * 1024 * 1024;
    const [from, to] = direction === "to-server"
      ? [pair.client, pair.server]
      : [pair.server, pair.client];
    const started = performance.now();
    await Promise.all([send(from, bytes), receive(to, bytes)]);
    const seconds = (performance.now() - started) / 1000;
    return bytes / 1e6 / seconds;
  } finally {
    pair.close();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      mib: { type: "string", default: "256" },
      rounds: { type: "string", default: "3" },
      direction: { type: "string", default: "both" },
    },
  });
  const mib = Number(values.mib);
  const rounds = Number(values.rounds);
  const directions = values.direction === "both"
    ? ["to-server", "to-client"] as const
    : [values.direction as "to-server" | "to-client"];
  for (const direction of directions) {
    const results: number[] = [];
    for (let round = 0; round < rounds; round++) results.push(await measure(direction, mib));
    const best = Math.max(...results);
    console.log(
      `NodeTlsTransport ${direction}, ${mib} MiB: best ${best.toFixed(0)} MB/s ` +
        `(rounds: ${results.map((r) => r.toFixed(0)).join(", ")})`,
    );
  }
}
