/**
 * Coalesced output for one connection. Everything a connection sends in one
 * tick lands in one buffer and goes out in one write (runtime facts §1: every
 * write is a syscall, per-message writes run at ~20 MB/s).
 *
 * @module
 */
import type { Clock } from "./clock.ts";
import type { Transport } from "./transport.ts";

/** Size of each output chunk; 64 KiB is where Deno's TCP writes peak. */
export const OUTBOUND_CHUNK = 64 * 1024;

interface BelowWaiter {
  threshold: number;
  resolve: () => void;
}

/** Why the writer gave up. */
export type WriteFailure = { kind: "deadline" } | { kind: "io"; error: unknown };

export interface OutboundOptions {
  transport: Transport;
  clock: Clock;
  /** A single flush that takes longer than this fails with "deadline". */
  writeDeadlineMs: number;
  onFailure: (failure: WriteFailure) => void;
}

/**
 * Appends never await. Ranges already handed to the writer are never written
 * again, so the rest of the current chunk keeps filling while a write is in
 * flight and a chunk is only allocated when the current one is full.
 */
export class Outbound {
  #opts: OutboundOptions;
  #ready: Uint8Array[] = [];
  #chunk = new Uint8Array(0);
  #start = 0;
  #pos = 0;
  #pending = 0;
  #writing = false;
  #failed = false;
  #drained: (() => void)[] = [];
  #below: BelowWaiter[] = [];

  constructor(options: OutboundOptions) {
    this.#opts = options;
  }

  /**
   * Writes go to `transport` from now on (after a TLS upgrade). Only call when
   * everything appended so far has been written.
   */
  retarget(transport: Transport): void {
    this.#opts = { ...this.#opts, transport };
  }

  /** Bytes appended and not yet written to the socket. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Returns a buffer and offset with room for `size` bytes. The caller writes
   * there and then calls {@linkcode commit} with the end offset.
   */
  reserve(size: number): [Uint8Array, number] {
    if (this.#chunk.length - this.#pos < size) {
      if (this.#pos > this.#start) this.#ready.push(this.#chunk.subarray(this.#start, this.#pos));
      this.#chunk = new Uint8Array(Math.max(OUTBOUND_CHUNK, size));
      this.#start = 0;
      this.#pos = 0;
    }
    return [this.#chunk, this.#pos];
  }

  commit(end: number): void {
    this.#pending += end - this.#pos;
    this.#pos = end;
  }

  /**
   * Appends one message: a control line written by `writeHeader` from
   * `fields` (`headerLength` bytes at most), then `body` and CRLF, in one
   * reservation so the hot path copies the payload exactly once.
   */
  appendMessage<F>(
    fields: F,
    headerLength: (fields: F) => number,
    writeHeader: (buf: Uint8Array, offset: number, fields: F) => number,
    body: Uint8Array,
  ): void {
    const [buf, start] = this.reserve(headerLength(fields) + body.length + 2);
    let at = writeHeader(buf, start, fields);
    buf.set(body, at);
    at += body.length;
    buf[at++] = 13;
    buf[at++] = 10;
    this.commit(at);
  }

  /**
   * Ends the connection's output: flushes what is pending (unless `discard`,
   * for slow consumers), for at most `graceMs`, then closes the transport.
   */
  closeAfterFlush(discard: boolean, graceMs: number): Promise<void> {
    const { clock } = this.#opts;
    const flushed = discard ? Promise.resolve() : this.drained();
    let timer: ReturnType<Clock["setTimeout"]> | undefined;
    const bounded = new Promise<void>((resolve) => {
      timer = clock.setTimeout(resolve, graceMs);
    });
    return Promise.race([flushed, bounded]).finally(() => {
      if (timer !== undefined) clock.clearTimeout(timer);
      this.abandon();
      this.#opts.transport.close();
    });
  }

  append(bytes: Uint8Array): void {
    const [buf, at] = this.reserve(bytes.length);
    buf.set(bytes, at);
    this.commit(at + bytes.length);
  }

  /** Starts writing if idle. Safe to call after every batch. */
  flush(): void {
    if (this.#writing || this.#failed || this.#pending === 0) return;
    this.#writing = true;
    this.#writeLoop();
  }

  /** Resolves when everything appended so far has been written (or writing failed). */
  drained(): Promise<void> {
    if (this.#pending === 0 || this.#failed) return Promise.resolve();
    this.flush();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  /** Resolves once no more than `threshold` bytes are pending (or writing failed). */
  below(threshold: number): Promise<void> {
    if (this.#pending <= threshold || this.#failed) return Promise.resolve();
    this.flush();
    return new Promise((resolve) => this.#below.push({ threshold, resolve }));
  }

  /** Gives up on everything pending: waiters are released, nothing more is written. */
  abandon(): void {
    this.#failed = true;
    this.#wakeDrained();
  }

  #take(): Uint8Array[] {
    const parts = this.#ready;
    this.#ready = [];
    if (this.#pos > this.#start) {
      parts.push(this.#chunk.subarray(this.#start, this.#pos));
      this.#start = this.#pos;
    }
    return parts;
  }

  async #writeLoop(): Promise<void> {
    const { transport, clock, writeDeadlineMs } = this.#opts;
    try {
      while (this.#pending > 0 && !this.#failed) {
        const parts = this.#take();
        let timedOut = false;
        const timer = clock.setTimeout(() => {
          timedOut = true;
          this.#fail({ kind: "deadline" });
        }, writeDeadlineMs);
        try {
          for (const part of parts) {
            let off = 0;
            while (off < part.length) {
              off += await transport.write(off === 0 ? part : part.subarray(off));
              if (timedOut) return;
            }
            this.#pending -= part.length;
            if (this.#below.length > 0) this.#wakeBelow();
          }
        } finally {
          clock.clearTimeout(timer);
        }
      }
    } catch (error) {
      this.#fail({ kind: "io", error });
    } finally {
      this.#writing = false;
      if (this.#pending === 0 || this.#failed) this.#wakeDrained();
    }
  }

  #fail(failure: WriteFailure): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#wakeDrained();
    this.#opts.onFailure(failure);
  }

  #wakeDrained(): void {
    const waiters = this.#drained;
    this.#drained = [];
    for (const w of waiters) w();
    this.#wakeBelow();
  }

  #wakeBelow(): void {
    const still: BelowWaiter[] = [];
    for (const w of this.#below) {
      if (this.#failed || this.#pending <= w.threshold) w.resolve();
      else still.push(w);
    }
    this.#below = still;
  }
}
