// Plaintext listeners take HTTP/1.1 and h2c with prior knowledge (RFC 9113
// §3.3) on the same port: the first bytes of a connection tell which. A
// client speaking h2c sends the 24-byte preface before anything else; any
// other first bytes are HTTP/1.x (whose request line cannot start with
// "PRI * HTTP/2.0").
//
// Node has no peek, so the bytes read to decide are given back with
// socket.unshift() on either side. Node's HTTP/2 session reads its socket's
// handle natively, and on its first tick takes what the socket already has
// buffered (Node 15+: nodejs/node#34532, #35475), so an h2c connection is
// the same native socket as h2 over TLS. (This file used to hand h2c over
// as a JavaScript Duplex that replayed the bytes: Node wrapped it in its
// JSStreamSocket, every frame crossed into JavaScript and was written
// with its own write(), and h2c cost ~120 µs of CPU a request against
// HTTP/1.1's ~35.)

import type net from 'node:net';

export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * A connection still silent after this long goes to the HTTP/1.1 side,
 * whose header timeout (and 408) deals with clients that never send.
 */
const SNIFF_MS = 10_000;

/**
 * Reads the first bytes of `socket`, puts them back and calls `h1(socket)`
 * or `h2(socket)`.
 */
export function sniffPreface(socket: net.Socket, h1: (socket: net.Socket) => void, h2: (socket: net.Socket) => void): void {
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
    socket.unshift(seen);
    if (isH2) { h2(socket); return; }
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
