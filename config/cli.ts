/**
 * Command-line flags, named as nats-server names them where they overlap.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { CliError } from "./cli_error.ts";
import type { CliOverrides } from "./cli_overrides.ts";

export { CliError } from "./cli_error.ts";
export { applyCliOverrides, type CliOverrides } from "./cli_overrides.ts";

/** What the command line asks for. */
export type CliCommand =
  | { kind: "help"; text: string }
  | { kind: "version" }
  /** `--init-operator <dir>`: write an operator-mode starter setup (see `nsc_lite.ts`). */
  | { kind: "initOperator"; dir: string }
  | { kind: "run" | "check"; configFile?: string; overrides: CliOverrides };

/** Usage text printed by `-h/--help`. */
export const HELP_TEXT = `Usage: canopy [options]

Server Options:
    -a, --addr, --net <host>         Bind to host address (default: 0.0.0.0)
    -p, --port <port>                Use port for clients (default: 4222, -1 for any free port)
    -n, --name
        --server_name <server_name>  Server name (default: auto)
    -m, --http_port <port>           Use port for http monitoring
    -c, --config <file>              Configuration file
        --check                      Validate the configuration, print the effective
                                     setup (listeners, remotes, link policies) and exit
        --init-operator <dir>        Create an operator, an account and a user (.creds)
                                     in <dir>, with a hub config for operator mode

Logging Options:
    -D, --debug                      Enable debugging output
    -V, --trace                      Trace the raw protocol
    -DV                              Debug and trace
        --log-json                   Write log lines as JSON

Common Options:
    -h, --help                       Show this message
    -v, --version                    Show version

Flags override the values in the configuration file.
`;

const OPTIONS = {
  config: { type: "string", short: "c" },
  port: { type: "string", short: "p" },
  addr: { type: "string", short: "a" },
  net: { type: "string" },
  http_port: { type: "string", short: "m" },
  name: { type: "string", short: "n" },
  server_name: { type: "string" },
  debug: { type: "boolean", short: "D" },
  trace: { type: "boolean", short: "V" },
  check: { type: "boolean" },
  version: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
  "log-json": { type: "boolean" },
  "init-operator": { type: "string" },
} as const;

/** Long names (more than one letter) that nats-server users type with one dash, e.g. `-port`. */
const LONG_NAMES = new Set(Object.keys(OPTIONS));

/**
 * Parses the arguments after the program name. Throws `CliError` for unknown
 * flags, missing values and values of the wrong kind.
 *
 * @example
 * ```ts
 * parseCli(["-c", "canopy.toml", "-p", "5222", "-DV"]);
 * // { kind: "run", configFile: "canopy.toml", overrides: { port: 5222, debug: true, trace: true } }
 * ```
 */
export function parseCli(args: string[]): CliCommand {
  let values;
  try {
    ({ values } = parseArgs({
      args: args.filter((arg) => arg !== "--").map(withDoubleDash),
      options: OPTIONS,
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new CliError(describeParseError(error), { cause: error });
  }
  if (values.help) return { kind: "help", text: HELP_TEXT };
  if (values.version) return { kind: "version" };
  if (values["init-operator"] !== undefined) {
    return { kind: "initOperator", dir: nonEmpty("--init-operator", values["init-operator"]) };
  }

  const overrides: CliOverrides = {};
  if (values.port !== undefined) overrides.port = parsePort("--port", values.port);
  const host = values.addr ?? values.net;
  if (host !== undefined) overrides.host = nonEmpty("--addr", host);
  if (values.http_port !== undefined) {
    overrides.httpPort = parsePort("--http_port", values.http_port);
  }
  const name = values.name ?? values.server_name;
  if (name !== undefined) overrides.serverName = nonEmpty("--name", name);
  if (values.debug) overrides.debug = true;
  if (values.trace) overrides.trace = true;
  if (values["log-json"]) overrides.logJson = true;

  const kind = values.check ? "check" : "run";
  const configFile = values.config === undefined ? undefined : nonEmpty("--config", values.config);
  return configFile === undefined ? { kind, overrides } : { kind, configFile, overrides };
}

/** `-port` → `--port` (Go's flag package takes both), leaving `-p` and `-DV` alone. */
function withDoubleDash(arg: string): string {
  if (!arg.startsWith("-") || arg.startsWith("--")) return arg;
  const name = arg.slice(1).split("=", 1)[0];
  return name.length > 1 && LONG_NAMES.has(name) ? `-${arg}` : arg;
}

/** A port flag value: 0..65535, or -1 (nats-server's "any free port", which is 0 here). */
function parsePort(flag: string, text: string): number {
  const port = /^-?\d+$/.test(text) ? Number(text) : NaN;
  if (port === -1) return 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CliError(
      `Invalid value for "${flag}": expected a port number between 0 and 65535, got ${
        JSON.stringify(text)
      }`,
    );
  }
  return port;
}

function nonEmpty(flag: string, text: string): string {
  if (text === "") throw new CliError(`Invalid value for "${flag}": expected a non-empty value`);
  return text;
}

/** node:util's messages, reworded for a command that never takes positionals. */
function describeParseError(error: unknown): string {
  const code = (error as { code?: string }).code;
  const message = (error as Error).message ?? String(error);
  const quoted = /'([^']+)'/.exec(message)?.[1] ?? "";
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `Unknown flag "${quoted}" (see --help)`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `Unexpected argument "${quoted}": canopy takes only flags (see --help)`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE": {
      const flag = quoted.split(" ")[0].replace(/,$/, "");
      if (message.includes("does not take an argument")) {
        return `Flag "${flag}" does not take a value`;
      }
      if (message.includes("ambiguous")) {
        const long = /'(--[^=']+)=/.exec(message)?.[1] ?? flag;
        return `Flag "${flag}" needs a value; to pass one starting with "-", write ${long}=<value>`;
      }
      return `Flag "${flag}" needs a value`;
    }
    default:
      return message;
  }
}
