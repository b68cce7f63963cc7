/**
 * nats-server style log lines: `[pid] 2006/01/02 15:04:05.000000 [INF] text`,
 * written to stderr so that tools which wait for "Server is ready" work the
 * same against Canopy and nats-server.
 *
 * @module
 */

export type LogLevel = "ERR" | "WRN" | "INF" | "DBG" | "TRC";

/** Where formatted lines go; tests pass an array-backed sink. */
export type LogSink = (line: string) => void;

export interface LoggerOptions {
  debug?: boolean;
  trace?: boolean;
  /** One JSON object per line (`{"time","level","pid","msg"}`) for log shippers. */
  json?: boolean;
  sink?: LogSink;
}

const encoder = new TextEncoder();

function stderrSink(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

function timestamp(d: Date): string {
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.` +
    `${pad(d.getMilliseconds() * 1000, 6)}`;
}

export class Logger {
  readonly debugEnabled: boolean;
  readonly traceEnabled: boolean;
  #sink: LogSink;
  #json: boolean;
  #prefix = `[${Deno.pid}] `;

  constructor(options: LoggerOptions = {}) {
    this.traceEnabled = options.trace ?? false;
    this.debugEnabled = (options.debug ?? false) || this.traceEnabled;
    this.#json = options.json ?? false;
    this.#sink = options.sink ?? stderrSink;
  }

  log(level: LogLevel, text: string): void {
    if (level === "DBG" && !this.debugEnabled) return;
    if (level === "TRC" && !this.traceEnabled) return;
    const now = new Date();
    if (this.#json) {
      this.#sink(
        JSON.stringify({ time: now.toISOString(), level, pid: Deno.pid, msg: text }),
      );
      return;
    }
    this.#sink(`${this.#prefix}${timestamp(now)} [${level}] ${text}`);
  }
  error(text: string): void {
    this.log("ERR", text);
  }
  warn(text: string): void {
    this.log("WRN", text);
  }
  info(text: string): void {
    this.log("INF", text);
  }
  debug(text: string): void {
    this.log("DBG", text);
  }
  trace(text: string): void {
    this.log("TRC", text);
  }
}
