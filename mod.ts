/**
 * Canopy: a NATS-protocol server and hub/leaf router for Deno.
 *
 * @example
 * ```ts
 * import { startServer } from "./mod.ts";
 * const server = await startServer({ host: "127.0.0.1", port: 0 });
 * console.log(`NATS clients can connect to 127.0.0.1:${server.port}`);
 * await server.close();
 * ```
 *
 * @module
 */
export { type CanopyServer, type ServerStats, startServer } from "./actors/server_handle.ts";
export { ConfigError, loadConfigFile, parseConfigText } from "./config/mod.ts";
export type * from "./config/options.ts";

if (import.meta.main) {
  const { runCli } = await import("./actors/cli_runner.ts");
  Deno.exit(await runCli(Deno.args));
}
