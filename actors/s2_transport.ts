/**
 * A compressed leafnode link: every write becomes one self-contained S2
 * stream (as nats-server frames each flush), and reads decode the peer's
 * concatenated streams.
 *
 * @module
 */
import type { Transport } from "./transport.ts";
import { S2StreamReader, S2StreamWriter } from "../protocol/s2_stream.ts";
import { type CompressionLevel, encoderLevel } from "../protocol/compression_mode.ts";

export class S2Transport implements Transport {
  readonly remoteHost: string;
  readonly remotePort: number;
  #inner: Transport;
  #writer: S2StreamWriter;
  #reader = new S2StreamReader();
  #decoded: Uint8Array[] = [];
  #readBuffer = new Uint8Array(64 * 1024);
  #ended = false;
  level: CompressionLevel;
  /** Bytes written to and read from the socket, for monitoring the ratio. */
  wireOut = 0;
  wireIn = 0;

  /** `initial`: compressed bytes already read past the switch point. */
  constructor(inner: Transport, level: CompressionLevel, initial?: Uint8Array) {
    this.#inner = inner;
    this.remoteHost = inner.remoteHost;
    this.remotePort = inner.remotePort;
    this.level = level;
    this.#writer = new S2StreamWriter({ level: encoderLevel(level), identifierPerWrite: true });
    if (initial && initial.length > 0) this.#decode(initial);
  }

  /** `s2_auto` moved to another level after an RTT change; the peer notices only other blocks. */
  setLevel(level: CompressionLevel): void {
    if (level === this.level) return;
    this.level = level;
    this.#writer = new S2StreamWriter({ level: encoderLevel(level), identifierPerWrite: true });
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    if (!await this.#fill()) return null;
    // Hand over as many decoded chunks as fit: one await per socket read, not per message.
    const decoded = this.#decoded;
    let n = 0;
    while (decoded.length > 0 && n < buffer.length) {
      const head = decoded[0];
      const k = Math.min(head.length, buffer.length - n);
      buffer.set(k === head.length ? head : head.subarray(0, k), n);
      n += k;
      if (k === head.length) decoded.shift();
      else decoded[0] = head.subarray(k);
    }
    return n;
  }

  /**
   * The next decoded chunk as the stream reader made it: a new array, so the read loop takes it
   * without the copy into its own buffer that `read` needs.
   */
  async readOwned(): Promise<Uint8Array | null> {
    if (!await this.#fill()) return null;
    return this.#decoded.shift()!;
  }

  /** Reads from the socket until some decoded data is queued; false at end of stream. */
  async #fill(): Promise<boolean> {
    while (this.#decoded.length === 0) {
      if (this.#ended) return false;
      const n = await this.#inner.read(this.#readBuffer);
      if (n === null) {
        this.#ended = true;
        this.#reader.end();
        return false;
      }
      this.wireIn += n;
      this.#decode(this.#readBuffer.subarray(0, n));
    }
    return true;
  }

  async write(data: Uint8Array): Promise<number> {
    const framed = this.#writer.write(data);
    let off = 0;
    while (off < framed.length) off += await this.#inner.write(framed.subarray(off));
    this.wireOut += framed.length;
    return data.length;
  }

  close(): void {
    this.#inner.close();
  }

  #decode(bytes: Uint8Array): void {
    // The reader never reuses the arrays it hands out, so they are queued without a copy.
    this.#reader.feedEach(bytes, this.#onData);
  }

  /** Bound once: a closure per socket read would be garbage on the hot path. */
  readonly #onData = (data: Uint8Array): void => {
    if (data.length > 0) this.#decoded.push(data);
  };
}
