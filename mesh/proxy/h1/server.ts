// The lean HTTP/1.1 server: takes accepted sockets (plain or TLS) from a
// listener and serves each with an H1Connection. It owns no port, so one
// listener can hand it the connections that speak HTTP/1.1 and others
// elsewhere. Closing: idle connections at once, busy ones after their
// response, the rest cut when the caller's grace runs out.

import type net from 'node:net';
import { H1Connection, type H1Handlers, type H1Options } from './server-conn.ts';

export class H1Server {
  readonly #h: H1Handlers;
  readonly #o: H1Options;
  readonly #conns = new Set<H1Connection>();
  #draining = false;
  #sweep: NodeJS.Timeout | null = null;

  constructor(handlers: H1Handlers, opts: H1Options) {
    this.#h = handlers;
    this.#o = opts;
  }

  get connections(): number { return this.#conns.size; }

  accept(socket: net.Socket): void {
    if (this.#draining) { socket.destroy(); return; }
    const conn = new H1Connection(socket, this.#h, this.#o);
    this.#conns.add(conn);
    socket.once('close', () => {
      this.#conns.delete(conn);
      if (this.#conns.size === 0 && this.#sweep) { clearInterval(this.#sweep); this.#sweep = null; }
    });
    if (!this.#sweep) {
      const every = Math.max(10, Math.min(1_000, this.#o.headersTimeoutMs / 4, this.#o.keepAliveTimeoutMs / 4));
      this.#sweep = setInterval(() => this.#timeouts(), every);
      this.#sweep.unref();
    }
  }

  /** Heads pending past the headers timeout are refused (408); connections idle past the keep-alive timeout close. */
  #timeouts(): void {
    const now = Date.now();
    for (const c of this.#conns) {
      if (c.headStartedAt > 0 && now - c.headStartedAt > this.#o.headersTimeoutMs) c.headTimedOut();
      else if (c.idle && now - c.lastActive > this.#o.keepAliveTimeoutMs) c.socket.destroy();
    }
  }

  /** Stops new requests: idle connections close now, busy ones after the response in flight. */
  drain(): void {
    this.#draining = true;
    for (const c of this.#conns) c.drain();
  }

  /** Cuts every connection. */
  closeAll(): void {
    for (const c of this.#conns) c.socket.destroy();
    if (this.#sweep) { clearInterval(this.#sweep); this.#sweep = null; }
  }
}
