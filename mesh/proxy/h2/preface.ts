// Plaintext listeners take HTTP/1.1 and h2c with prior knowledge (RFC 9113
// §3.3) on the same port: the first bytes of a connection tell which. A
// client speaking h2c sends the 24-byte preface before anything else; any
// other first bytes are HTTP/1.x (whose request line cannot start with
// "PRI * HTTP/2.0").
//
// Node has no peek, so the bytes read to decide have to be given back.
// HTTP/1.1 takes them through socket.unshift(). Node's HTTP/2 session reads
// its socket's handle natively and would miss them, so an h2c connection
// is handed over as a JavaScript stream that starts with them (Node wraps
// it in its JSStreamSocket): each h2c byte then crosses into JavaScript,
// the cost of sniffing; h2 over TLS is chosen by ALPN and keeps the native
// path.

import type net from 'node:net';
import { Duplex } from 'node:stream';

export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * A connection still silent after this long goes to the HTTP/1.1 side,
 * whose header timeout (and 408) deals with clients that never send.
 */
const SNIFF_MS = 10_000;

/**
 * Reads the first bytes of `socket` and calls `h1(socket)` (the bytes put
 * back) or `h2(stream)` with a stream that yields them, then the rest.
 */
export function sniffPreface(socket: net.Socket, h1: (socket: net.Socket) => void, h2: (stream: Duplex) => void): void {
  let seen: Buffer | null = null;
  const onData = (chunk: Buffer) => {
    seen = seen ? Buffer.concat([seen, chunk]) : chunk;
    const n = Math.min(seen.length, H2_PREFACE.length);
    const isH2 = seen.compare(H2_PREFACE, 0, n, 0, n) === 0;
    if (isH2 && seen.length < H2_PREFACE.length) return; // a prefix of the preface so far: wait for more
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.setTimeout(0);
    socket.pause();
    if (isH2) { h2(socketStream(socket, seen)); return; }
    socket.unshift(seen);
    h1(socket);
    socket.resume();
  };
  // A client that closes before sending a byte: hand it to the HTTP/1.1 side, which ends it quietly.
  const onEnd = () => { socket.off('data', onData); socket.setTimeout(0); if (seen) socket.unshift(seen); h1(socket); };
  socket.on('data', onData);
  socket.once('end', onEnd);
  socket.setTimeout(SNIFF_MS, () => {
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.setTimeout(0);
    if (seen) socket.unshift(seen);
    h1(socket);
  });
}

/** `socket` as a plain Duplex whose readable side starts with `first`; addresses and timeouts pass through. */
function socketStream(socket: net.Socket, first: Buffer): Duplex {
  const stream = new Duplex({
    read() { socket.resume(); },
    write(chunk: Buffer, _enc, cb) { socket.write(chunk, cb); },
    final(cb) { socket.end(); cb(); },
    destroy(err, cb) { socket.destroy(err ?? undefined); cb(err); },
  });
  stream.push(first);
  socket.on('data', (chunk: Buffer) => { if (!stream.push(chunk)) socket.pause(); });
  socket.once('end', () => stream.push(null));
  socket.once('close', () => stream.destroy());
  socket.on('error', (e) => stream.destroy(e));
  for (const key of ['remoteAddress', 'remotePort', 'remoteFamily', 'localAddress', 'localPort'] as const) {
    Object.defineProperty(stream, key, { get: () => socket[key] });
  }
  Object.assign(stream, {
    setTimeout: (ms: number, cb?: () => void) => { socket.setTimeout(ms, cb); return stream; },
    setNoDelay: (on?: boolean) => { socket.setNoDelay(on); return stream; },
    setKeepAlive: (on?: boolean, ms?: number) => { socket.setKeepAlive(on, ms); return stream; },
  });
  return stream;
}
