import assert from "node:assert/strict";
import { applyCliOverrides, CliError, HELP_TEXT, parseCli } from "../../config/cli.ts";
import { defaultOptions } from "../../config/defaults.ts";

function expectCliError(args: string[], message: string | RegExp): void {
  assert.throws(() => parseCli(args), (error: unknown) => {
    assert.ok(error instanceof CliError, `expected a CliError, got ${error}`);
    assert.equal(error.name, "CliError");
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

Deno.test("parseCli - no flags runs with defaults", () => {
  assert.deepEqual(parseCli([]), { kind: "run", overrides: {} });
});

Deno.test("parseCli - every flag in its short and long form", () => {
  const expected = {
    kind: "run",
    configFile: "canopy.toml",
    overrides: {
      port: 5222,
      host: "127.0.0.1",
      httpPort: 8222,
      serverName: "edge-1",
      debug: true,
      trace: true,
    },
  };
  assert.deepEqual(
    parseCli([
      "-c",
      "canopy.toml",
      "-p",
      "5222",
      "-a",
      "127.0.0.1",
      "-m",
      "8222",
      "-n",
      "edge-1",
      "-D",
      "-V",
    ]),
    expected,
  );
  assert.deepEqual(
    parseCli([
      "--config",
      "canopy.toml",
      "--port",
      "5222",
      "--addr",
      "127.0.0.1",
      "--http_port=8222",
      "--name",
      "edge-1",
      "--debug",
      "--trace",
    ]),
    expected,
  );
});

Deno.test("parseCli - -DV and -VD turn on debug and trace", () => {
  assert.deepEqual(parseCli(["-DV"]), { kind: "run", overrides: { debug: true, trace: true } });
  assert.deepEqual(parseCli(["-VD"]), { kind: "run", overrides: { debug: true, trace: true } });
});

Deno.test("parseCli - nats-server spellings: -port, --net, --server_name", () => {
  assert.deepEqual(parseCli(["-port", "1234", "-config", "x.toml"]), {
    kind: "run",
    configFile: "x.toml",
    overrides: { port: 1234 },
  });
  assert.deepEqual(parseCli(["--net", "::1", "--server_name", "s"]), {
    kind: "run",
    overrides: { host: "::1", serverName: "s" },
  });
});

Deno.test("parseCli - --check validates instead of running", () => {
  assert.deepEqual(parseCli(["--check", "-c", "c.toml"]), {
    kind: "check",
    configFile: "c.toml",
    overrides: {},
  });
});

Deno.test("parseCli - --log-json is carried in the overrides", () => {
  assert.deepEqual(parseCli(["--log-json"]), { kind: "run", overrides: { logJson: true } });
});

Deno.test("parseCli - help and version", () => {
  assert.deepEqual(parseCli(["-h"]), { kind: "help", text: HELP_TEXT });
  assert.deepEqual(parseCli(["--help", "-p", "1"]), { kind: "help", text: HELP_TEXT });
  assert.deepEqual(parseCli(["-v"]), { kind: "version" });
  assert.deepEqual(parseCli(["--version"]), { kind: "version" });
});

Deno.test("parseCli - help text lists every flag", () => {
  for (
    const flag of [
      "--config",
      "--port",
      "--addr",
      "--http_port",
      "--name",
      "--debug",
      "--trace",
      "-DV",
      "--check",
    ]
  ) {
    assert.ok(HELP_TEXT.includes(flag), `help mentions ${flag}`);
  }
  assert.ok(HELP_TEXT.includes("--log-json"));
  assert.ok(HELP_TEXT.startsWith("Usage: canopy [options]"));
});

Deno.test("parseCli - a literal -- is ignored", () => {
  assert.deepEqual(parseCli(["--", "-p", "5"]), { kind: "run", overrides: { port: 5 } });
  assert.deepEqual(parseCli(["-p", "5", "--"]), { kind: "run", overrides: { port: 5 } });
});

Deno.test("parseCli - port -1 means any free port", () => {
  assert.deepEqual(parseCli(["--port=-1"]), { kind: "run", overrides: { port: 0 } });
});

Deno.test("parseCli - unknown flags are CliErrors", () => {
  expectCliError(["--bogus"], 'Unknown flag "--bogus" (see --help)');
  expectCliError(["-x"], 'Unknown flag "-x" (see --help)');
});

Deno.test("parseCli - bad port values are CliErrors", () => {
  expectCliError(
    ["-p", "abc"],
    'Invalid value for "--port": expected a port number between 0 and 65535, got "abc"',
  );
  expectCliError(["--port", "70000"], /got "70000"$/);
  expectCliError(["-m", "1.5"], /^Invalid value for "--http_port"/);
});

Deno.test("parseCli - missing values, stray arguments and values on switches", () => {
  expectCliError(["-p"], 'Flag "-p" needs a value');
  expectCliError(
    ["-p", "-1"],
    'Flag "-p" needs a value; to pass one starting with "-", write --port=<value>',
  );
  expectCliError(
    ["canopy.toml"],
    'Unexpected argument "canopy.toml": canopy takes only flags (see --help)',
  );
  expectCliError(["--check=yes"], 'Flag "--check" does not take a value');
  expectCliError(["-c", ""], 'Invalid value for "--config": expected a non-empty value');
});

Deno.test("applyCliOverrides - flags replace option values without touching the input", () => {
  const base = defaultOptions();
  const out = applyCliOverrides(base, {
    port: 1,
    host: "h",
    httpPort: 2,
    serverName: "n",
    debug: true,
    trace: true,
  });
  assert.equal(out.port, 1);
  assert.equal(out.host, "h");
  assert.equal(out.httpPort, 2);
  assert.equal(out.serverName, "n");
  assert.equal(out.debug, true);
  assert.equal(out.trace, true);
  assert.equal(base.port, 4222);
  assert.equal(applyCliOverrides(base, {}).port, 4222);
});
