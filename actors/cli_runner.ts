/**
 * The `canopy` command: parse flags, load and validate the configuration
 * before any port opens, run the server until SIGINT/SIGTERM, exit cleanly.
 *
 * @module
 */
import {
  applyCliOverrides,
  CliError,
  ConfigError,
  defaultOptions,
  generateOperatorSetup,
  loadConfigFile,
  OperatorSetupExistsError,
  parseCli,
} from "../config/mod.ts";
import type { ServerOptions } from "../config/options.ts";
import { CANOPY_VERSION, NATS_COMPAT_VERSION } from "../protocol/info.ts";
import { JETSTREAM_DENIES } from "../protocol/leaf_info.ts";
import { Logger } from "./logger.ts";
import { TlsConfigError } from "./tls_security.ts";
import { startServer } from "./server_handle.ts";

/** Runs the CLI and resolves with the process exit code. */
export async function runCli(args: string[]): Promise<number> {
  let options: ServerOptions;
  let command;
  try {
    command = parseCli(args);
    if (command.kind === "help") {
      console.log(command.text);
      return 0;
    }
    if (command.kind === "version") {
      console.log(`canopy: v${CANOPY_VERSION} (nats-server ${NATS_COMPAT_VERSION} protocol)`);
      return 0;
    }
    if (command.kind === "initOperator") return await initOperator(command.dir);
    options = command.configFile
      ? await loadConfigFile(command.configFile, command.overrides)
      : applyCliOverrides(defaultOptions(), command.overrides);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof CliError) {
      console.error(`canopy: ${error.message}`);
      return 1;
    }
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.PermissionDenied) {
      console.error(`canopy: ${(error as Error).message}`);
      return 1;
    }
    throw error;
  }
  if (command.kind === "check") {
    console.log(describeEffectiveConfig(options));
    return 0;
  }
  let server;
  const logger = new Logger({
    debug: options.debug,
    trace: options.trace,
    json: command.overrides.logJson,
  });
  try {
    server = await startServer(options, { logger });
  } catch (error) {
    if (error instanceof TlsConfigError) {
      console.error(`canopy: ${error.message}`);
      return 1;
    }
    if (error instanceof Deno.errors.AddrInUse || error instanceof Deno.errors.PermissionDenied) {
      console.error(`canopy: cannot listen on ${options.host}:${options.port}: ${error.message}`);
      return 1;
    }
    throw error;
  }
  const configFile = command.configFile;
  const overrides = command.overrides;
  // SIGHUP reloads the configuration file, as with nats-server.
  const reload = async () => {
    if (!configFile) return logger.warn("SIGHUP: no configuration file to reload");
    try {
      await server.reload(await loadConfigFile(configFile, overrides));
    } catch (error) {
      logger.error(
        `Failed to reload configuration, still running the old one: ${
          error instanceof Error ? error.message : error
        }`,
      );
    }
  };
  await new Promise<void>((resolve) => {
    const unlisten = () => {
      Deno.removeSignalListener("SIGINT", stop);
      Deno.removeSignalListener("SIGTERM", stop);
      Deno.removeSignalListener("SIGHUP", reload);
      Deno.removeSignalListener("SIGUSR2", lameDuck);
    };
    const stop = () => {
      unlisten();
      server.close().then(resolve);
    };
    // SIGUSR2 is nats-server's lame duck signal (SIGUSR1 is Deno's inspector; see README).
    // SIGINT and SIGTERM still shut down at once while in lame duck.
    const lameDuck = () => {
      Deno.removeSignalListener("SIGUSR2", lameDuck);
      server.lameDuck().then(() => {
        unlisten();
        resolve();
      });
    };
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
    Deno.addSignalListener("SIGHUP", reload);
    Deno.addSignalListener("SIGUSR2", lameDuck);
  });
  return 0;
}

/** The `--check` report: what would run, with every default made explicit. */
export function describeEffectiveConfig(options: ServerOptions): string {
  const lines = [
    `configuration ${options.configFile ?? "(defaults)"} is valid`,
    `server_name: ${options.serverName}`,
    `client listener: ${options.host}:${options.port}`,
    `limits: max_payload=${options.maxPayload} max_control_line=${options.maxControlLine} ` +
    `max_connections=${options.maxConnections} max_pending=${options.maxPending}`,
    `liveness: ping_interval=${options.pingIntervalMs}ms ping_max=${options.pingMax} ` +
    `write_deadline=${options.writeDeadlineMs}ms auth_timeout=${options.authTimeoutMs}ms`,
  ];
  const auth = options.authorization;
  if (auth?.token) lines.push("authorization: token");
  for (const account of ["$G", ...Object.keys(options.accounts).filter((a) => a !== "$G")]) {
    const users = options.accounts[account]?.users ?? (account === "$G" ? auth?.users ?? [] : []);
    lines.push(`account ${account}: ${users.length} user(s)`);
    for (const u of users) {
      const who = u.nkey ? `nkey ${u.nkey}` : `user ${u.user}`;
      const perms = u.permissions ? ` permissions=${JSON.stringify(u.permissions)}` : "";
      lines.push(`  ${who}${perms}`);
    }
  }
  if (options.noAuthUser) lines.push(`no_auth_user: ${options.noAuthUser}`);
  lines.push(...describeLeafnodes(options));
  return lines.join("\n");
}

function describeLeafnodes(options: ServerOptions): string[] {
  const leaf = options.leafnodes;
  const lines = [
    `leafnode listener: ${leaf.host}:${leaf.port}` +
    (leaf.advertise ? ` advertise=${leaf.advertise}` : "") +
    (leaf.noAdvertise ? " no_advertise" : ""),
  ];
  const auth = leaf.authorization;
  if (auth?.user) lines.push(`  leaf auth: user ${auth.user} -> account ${auth.account ?? "$G"}`);
  else if (auth?.nkey) {
    lines.push(`  leaf auth: nkey ${auth.nkey} -> account ${auth.account ?? "$G"}`);
  } else if (auth && auth.users.length > 0) {
    for (const u of auth.users) {
      lines.push(`  leaf auth: user ${u.user} -> account ${u.account ?? "$G"}`);
    }
  } else lines.push("  leaf auth: the client users (or none)");
  lines.push(`  implicit on every leaf link: deny both ways ${JETSTREAM_DENIES.join(" ")}`);
  lines.push(`remotes: ${leaf.remotes.length} (reconnect every ${leaf.reconnectMs}ms)`);
  leaf.remotes.forEach((r, i) => {
    lines.push(
      `  remote ${i}: ${r.urls.map(redactUrl).join(", ")} account=${r.account ?? "$G"}` +
        (r.hub ? " hub=true" : "") + (r.noRandomize ? " no_randomize" : ""),
    );
    if (r.credentials) lines.push(`    credentials: ${r.credentials}`);
    if (r.nkey) lines.push("    nkey: (seed configured)");
    lines.push(`    never import: ${[...r.denyImports, ...JETSTREAM_DENIES].join(" ")}`);
    lines.push(`    never export: ${[...r.denyExports, ...JETSTREAM_DENIES].join(" ")}`);
    lines.push("    plus whatever import/export permissions the hub sends when the link is up");
  });
  return lines;
}

/** Passwords in remote URLs never reach logs or reports. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "xxxxx";
    return u.toString();
  } catch {
    return url;
  }
}

/** `--init-operator <dir>`: writes a starter operator-mode setup and says how to use it. */
async function initOperator(dir: string): Promise<number> {
  try {
    const out = await generateOperatorSetup(dir);
    console.log(`Operator setup written to ${dir}:`);
    for (const file of out.files) console.log(`  ${file}`);
    console.log(`Start a hub:     canopy -c ${out.configPath}`);
    console.log(`Client creds:    ${out.userCredsPath} (account ${out.accountPub})`);
    return 0;
  } catch (error) {
    if (error instanceof OperatorSetupExistsError) {
      console.error(`canopy: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
