/**
 * A TCP listener as an actor: its accept loop hands each new socket to the
 * server actor, which decides whether to admit it.
 *
 * @module
 */
import { Actor, type Supervisor } from "./actor.ts";
import type { Logger } from "./logger.ts";
import { TcpTransport, type Transport } from "./transport.ts";

export type ListenerMessage = { kind: "stop" };

export interface ListenerOptions {
  label: string;
  host: string;
  port: number;
  logger: Logger;
  supervisor?: Supervisor;
  accepted(transport: Transport): void;
}

export class ListenerActor extends Actor<ListenerMessage> {
  readonly host: string;
  readonly port: number;
  #listener: Deno.TcpListener;
  #opts: ListenerOptions;

  /** Opens the socket immediately so that a port in use fails before anything starts. */
  constructor(options: ListenerOptions) {
    super({ name: `${options.label} listener`, supervisor: options.supervisor });
    this.#opts = options;
    this.#listener = Deno.listen({ hostname: options.host, port: options.port });
    const addr = this.#listener.addr as Deno.NetAddr;
    this.host = addr.hostname;
    this.port = addr.port;
    this.#acceptLoop();
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.isStopped) return;
        if (error instanceof Deno.errors.BadResource) return;
        this.#opts.logger.error(`${this.name}: accept failed: ${error}`);
        continue;
      }
      if (this.isStopped) {
        conn.close();
        return;
      }
      this.#opts.accepted(new TcpTransport(conn));
    }
  }

  protected receive(msg: ListenerMessage): void {
    if (msg.kind === "stop") this.stop({ reason: "shutdown" });
  }

  protected override onStop(): void {
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
  }
}
