/**
 * Packaging: `deno task bundle` makes one JavaScript file that runs with `deno run` on its own
 * (no deno.json, no node_modules beside it) and serves NATS clients; `deno task compile` says
 * clearly when Deno's runtime download is unavailable.
 *
 * The bundler (esbuild) comes from the npm registry on first use. Where it cannot be fetched
 * the bundle test is skipped loudly, except under `CI`, where that is a failure.
 *
 * Canopy-only: ignored in the reference pass against nats-server.
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { freePort } from "../helpers/free_port.ts";
import { REPO_ROOT, targetImpl } from "../helpers/server_process.ts";

const PACKAGE_TEST = {
  ignore: targetImpl() !== "canopy",
  sanitizeOps: false,
  sanitizeResources: false,
};

const TASKS = `${REPO_ROOT}actors/package_tasks.ts`;
/** The permissions the README gives for the bundle (and bakes into the binary). */
const RUN_PERMISSIONS = ["--allow-net", "--allow-read", "--allow-env", "--allow-sys"];
const READY_TIMEOUT_MS = 15_000;

interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(args: string[], env: Record<string, string> = {}): Promise<Output> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: REPO_ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const td = new TextDecoder();
  return { code: output.code, stdout: td.decode(output.stdout), stderr: td.decode(output.stderr) };
}

/** Reads `stream` into `sink.text` until it ends; resolves `ready` once `line` shows up. */
function watchFor(stream: ReadableStream<Uint8Array>, line: string) {
  const sink = { text: "" };
  let seen!: () => void;
  const ready = new Promise<void>((resolve) => seen = resolve);
  const done = (async () => {
    const td = new TextDecoder();
    for await (const chunk of stream) {
      sink.text += td.decode(chunk, { stream: true });
      if (sink.text.includes(line)) seen();
    }
  })();
  return { sink, ready, done };
}

function timeout(ms: number, what: () => string): Promise<never> {
  return new Promise((_, reject) =>
    setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what()}`)), ms)
  );
}

Deno.test({
  name: "bundle - dist/canopy.js runs alone with deno run and carries messages",
  ...PACKAGE_TEST,
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "canopy_bundle_" });
    let child: Deno.ChildProcess | undefined;
    try {
      const bundlePath = `${dir}/canopy.js`;
      const built = await run(["run", "--allow-run", "--allow-read", TASKS, "bundle", bundlePath]);
      if (built.code !== 0 && built.stderr.includes("Cannot bundle:") && !Deno.env.get("CI")) {
        console.error(
          `\n!!! SKIPPING the bundle test: esbuild cannot be fetched from npm. ` +
            `Under CI this is a failure. !!!\n${built.stderr}`,
        );
        await t.step({
          name: "bundler unavailable (esbuild download failed)",
          ignore: true,
          fn() {},
        });
        return;
      }
      assert.equal(built.code, 0, `deno task bundle failed:\n${built.stderr}`);
      assert.ok((await Deno.stat(bundlePath)).size > 0);

      const port = freePort();
      const configPath = `${dir}/canopy.toml`;
      await Deno.writeTextFile(
        configPath,
        `host = "127.0.0.1"\n[leafnodes]\nhost = "127.0.0.1"\nport = ${freePort()}\n`,
      );
      // Started from the temp dir: no deno.json, lock file or node_modules to lean on.
      child = new Deno.Command(Deno.execPath(), {
        args: ["run", ...RUN_PERMISSIONS, bundlePath, "-c", configPath, "-p", String(port)],
        cwd: dir,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const logs = watchFor(child.stderr, "Server is ready");
      await Promise.race([
        logs.ready,
        child.status.then(() => {
          throw new Error(`the bundle exited before it was ready:\n${logs.sink.text}`);
        }),
        timeout(READY_TIMEOUT_MS, () => `the bundle never got ready:\n${logs.sink.text}`),
      ]);
      assert.match(
        logs.sink.text,
        new RegExp(`Listening for client connections on 127\\.0\\.0\\.1:${port}`),
      );

      const nc = await connect({ servers: `127.0.0.1:${port}` });
      try {
        const received: string[] = [];
        const sub = nc.subscribe("bundle.>", {
          callback: (_error, msg) => {
            received.push(`${msg.subject} ${msg.string()}`);
          },
        });
        nc.subscribe("bundle.echo", {
          callback: (_error, msg) => {
            msg.respond(msg.data);
          },
        });
        await nc.flush();
        nc.publish("bundle.one", "1");
        nc.publish("bundle.two", "2");
        const reply = await nc.request("bundle.echo", "ping", { timeout: 2000 });
        assert.equal(reply.string(), "ping");
        sub.unsubscribe();
        assert.deepEqual(received, ["bundle.one 1", "bundle.two 2", "bundle.echo ping"]);
        assert.equal(nc.info?.server_id?.length, 56);
      } finally {
        await nc.close();
      }
    } finally {
      if (child) {
        try {
          child.kill("SIGTERM");
        } catch {
          // Already exited.
        }
        await child.status;
        await child.stderr.cancel().catch(() => {});
      }
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "bundle - compile explains a missing Deno runtime and exits non-zero",
  ...PACKAGE_TEST,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "canopy_compile_" });
    try {
      // DENORT_BIN pointing nowhere fails the same way as a download that cannot happen,
      // without touching the network.
      const result = await run(
        ["run", "--allow-run", "--allow-read", TASKS, "compile", `${dir}/canopy`],
        { DENORT_BIN: `${dir}/no-denort-here` },
      );
      assert.notEqual(result.code, 0);
      assert.match(
        result.stderr,
        /Cannot compile a single binary: `deno compile` needs Deno's runtime/,
      );
      assert.match(result.stderr, /deno task bundle/);
      await assert.rejects(Deno.stat(`${dir}/canopy`), Deno.errors.NotFound);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
