/**
 * The seam between connection actors and the bytes underneath. TCP, TLS,
 * WebSocket and edge sockets all implement this, so a connection actor never
 * knows which one it has.
 *
 * @module
 */

export interface Transport {
  /** Reads into `buffer`; resolves with the byte count, or null at end of stream. */
  read(buffer: Uint8Array): Promise<number | null>;
  /**
   * Optional: resolves with the next bytes received in a new array the caller owns, or null at
   * end of stream. Transports that produce their bytes themselves (decompression) offer it so
   * that the reader can take their output as it is instead of copying it into its own buffer.
   */
  readOwned?(): Promise<Uint8Array | null>;
  /** Writes some of `data`; resolves with how many bytes were taken. */
  write(data: Uint8Array): Promise<number>;
  /** Closes both directions; safe to call more than once. */
  close(): void;
  /** The peer's address, for logs and INFO `client_ip`. */
  readonly remoteHost: string;
  readonly remotePort: number;
}

/** A transport over a plain Deno TCP connection (the fast path, see runtime facts §1). */
export class TcpTransport implements Transport {
  readonly remoteHost: string;
  readonly remotePort: number;
  #conn: Deno.TcpConn;
  #closed = false;

  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    const addr = conn.remoteAddr as Deno.NetAddr;
    this.remoteHost = addr.hostname;
    this.remotePort = addr.port;
    try {
      conn.setNoDelay(true);
    } catch {
      // The peer may already be gone; the read loop will notice.
    }
  }

  read(buffer: Uint8Array): Promise<number | null> {
    return this.#conn.read(buffer);
  }

  write(data: Uint8Array): Promise<number> {
    return this.#conn.write(data);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer or by a failed read.
    }
  }
}
