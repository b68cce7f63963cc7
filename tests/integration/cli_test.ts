/**
 * Canopy's command line: `--version`, `--help`, `--check`, and config errors that name the
 * file, line and key and stop the process before any port opens. Canopy only: nats-server's
 * CLI differs (it only warns about unknown keys), so these are ignored for that target.
 */

import assert from "node:assert/strict";
import { freePort } from "../helpers/free_port.ts";
import { REPO_ROOT, targetImpl } from "../helpers/server_process.ts";

const CANOPY_ONLY = {
  ignore: targetImpl() !== "canopy",
  sanitizeOps: false,
  sanitizeResources: false,
};

/** A CLI run that did not finish within this is treated as a server that started serving. */
const CLI_TIMEOUT_MS = 15_000;

interface CliResult {
  code: number;
  output: string;
  timedOut: boolean;
}

/** Runs `deno run -A mod.ts <args>` from the repo root and collects stdout and stderr. */
async function runCanopy(args: string[]): Promise<CliResult> {
  const abort = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, CLI_TIMEOUT_MS);
  try {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${REPO_ROOT}mod.ts`, ...args],
      cwd: REPO_ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: abort.signal,
    }).output();
    const decoder = new TextDecoder();
    return { code, output: decoder.decode(stdout) + decoder.decode(stderr), timedOut };
  } finally {
    clearTimeout(timer);
  }
}

async function withConfigFile<T>(toml: string, body: (path: string) => Promise<T>): Promise<T> {
  const path = await Deno.makeTempFile({ prefix: "canopy_cli_", suffix: ".toml" });
  try {
    await Deno.writeTextFile(path, toml);
    return await body(path);
  } finally {
    await Deno.remove(path).catch(() => {});
  }
}

async function portIsClosed(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return false;
  } catch {
    return true;
  }
}

Deno.test({
  name: "cli - --version prints a version and exits 0",
  ...CANOPY_ONLY,
  fn: async () => {
    const result = await runCanopy(["--version"]);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /\d+\.\d+\.\d+/);
  },
});

Deno.test({
  name: "cli - --help exits 0 and documents --config",
  ...CANOPY_ONLY,
  fn: async () => {
    const result = await runCanopy(["--help"]);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /--config/);
  },
});

Deno.test({
  name: "cli - an unknown config key exits non-zero naming file:line and the key, port unopened",
  ...CANOPY_ONLY,
  fn: async () => {
    const port = freePort();
    const toml = `host = "127.0.0.1"\nport = ${port}\nnot_a_real_key = true\n`;
    await withConfigFile(toml, async (path) => {
      const result = await runCanopy(["-c", path]);
      assert.equal(result.timedOut, false, `Canopy kept running:\n${result.output}`);
      assert.notEqual(result.code, 0, result.output);
      assert.ok(result.output.includes(`${path}:3`), `no "${path}:3" in:\n${result.output}`);
      assert.match(result.output, /not_a_real_key/);
      assert.doesNotMatch(result.output, /Server is ready/);
      assert.equal(await portIsClosed(port), true);
    });
  },
});

Deno.test({
  name: "cli - a config value of the wrong type exits non-zero naming the key",
  ...CANOPY_ONLY,
  fn: async () => {
    const port = freePort();
    const toml = `host = "127.0.0.1"\nport = ${port}\nmax_payload = "lots"\n`;
    await withConfigFile(toml, async (path) => {
      const result = await runCanopy(["-c", path]);
      assert.equal(result.timedOut, false, `Canopy kept running:\n${result.output}`);
      assert.notEqual(result.code, 0, result.output);
      assert.ok(result.output.includes(path), `no "${path}" in:\n${result.output}`);
      assert.match(result.output, /max_payload/);
      assert.equal(await portIsClosed(port), true);
    });
  },
});

Deno.test({
  name: "cli - a missing config file exits non-zero naming the file",
  ...CANOPY_ONLY,
  fn: async () => {
    const path = `${await Deno.makeTempDir({ prefix: "canopy_cli_" })}/absent.toml`;
    try {
      const result = await runCanopy(["-c", path]);
      assert.equal(result.timedOut, false, `Canopy kept running:\n${result.output}`);
      assert.notEqual(result.code, 0, result.output);
      assert.ok(result.output.includes(path), `no "${path}" in:\n${result.output}`);
    } finally {
      await Deno.remove(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    }
  },
});

Deno.test({
  name: "cli - --check on a valid config exits 0, shows the listener and opens no port",
  ...CANOPY_ONLY,
  fn: async () => {
    const port = freePort();
    const toml = `host = "127.0.0.1"\nport = ${port}\nmax_payload = 2048\n`;
    await withConfigFile(toml, async (path) => {
      const result = await runCanopy(["--check", "-c", path]);
      assert.equal(result.timedOut, false, `--check kept running:\n${result.output}`);
      assert.equal(result.code, 0, result.output);
      assert.ok(result.output.includes(`${port}`), `no port ${port} in:\n${result.output}`);
      assert.doesNotMatch(result.output, /Server is ready/);
      assert.equal(await portIsClosed(port), true);
    });
  },
});

Deno.test({
  name: "cli - --check on an invalid config exits non-zero",
  ...CANOPY_ONLY,
  fn: async () => {
    await withConfigFile(`port = 4222\nnot_a_real_key = 1\n`, async (path) => {
      const result = await runCanopy(["--check", "-c", path]);
      assert.equal(result.timedOut, false, `--check kept running:\n${result.output}`);
      assert.notEqual(result.code, 0, result.output);
      assert.match(result.output, /not_a_real_key/);
    });
  },
});
