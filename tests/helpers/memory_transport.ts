/**
 * An in-memory {@linkcode Transport} for driving connection actors without
 * sockets: the test plays the peer, feeding bytes in and reading what the
 * actor wrote.
 *
 * @module
 */
import type { Transport } from "../../actors/transport.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export class MemoryTransport implements Transport {
  readonly remoteHost = "127.0.0.1";
  readonly remotePort = 50000;
  /** Everything the actor wrote, in order. */
  written: Uint8Array[] = [];
  closed = false;
  /** When true, writes never complete (a peer that stopped reading). */
  stallWrites = false;
  #inbound: Uint8Array[] = [];
  #readWaiter?: (n: number | null) => void;
  #readBuffer?: Uint8Array;

  /** Bytes the peer sends to the actor. */
  push(data: string | Uint8Array): void {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    if (this.#readWaiter && this.#readBuffer) {
      const n = Math.min(bytes.length, this.#readBuffer.length);
      this.#readBuffer.set(bytes.subarray(0, n));
      if (n < bytes.length) this.#inbound.push(bytes.subarray(n));
      const wake = this.#readWaiter;
      this.#readWaiter = undefined;
      wake(n);
      return;
    }
    this.#inbound.push(bytes);
  }

  /** Everything written so far, as text. */
  text(): string {
    return this.written.map((b) => decoder.decode(b)).join("");
  }

  read(buffer: Uint8Array): Promise<number | null> {
    if (this.closed) return Promise.resolve(null);
    const next = this.#inbound.shift();
    if (next) {
      const n = Math.min(next.length, buffer.length);
      buffer.set(next.subarray(0, n));
      if (n < next.length) this.#inbound.unshift(next.subarray(n));
      return Promise.resolve(n);
    }
    return new Promise((resolve) => {
      this.#readBuffer = buffer;
      this.#readWaiter = resolve;
    });
  }

  write(data: Uint8Array): Promise<number> {
    if (this.closed) return Promise.reject(new Deno.errors.BrokenPipe("closed"));
    if (this.stallWrites) return new Promise(() => {});
    this.written.push(data.slice());
    return Promise.resolve(data.length);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.#readWaiter?.(null);
    this.#readWaiter = undefined;
  }
}
