// HTTP/1.1 requests that ask to leave HTTP: upgrades (`Upgrade: websocket`,
// and any other protocol) and CONNECT. Node's HTTP server hands these over
// with the raw socket instead of a response; each still runs the stage
// chain like any request (policy, routing, admission, the l7 tap) with a
// response written on that socket, so a refusal is an ordinary error
// response. A WebSocket or other upgrade the upstream accepts (101)
// becomes a byte tunnel (./forward.ts): its l7.request tap records the
// handshake (status 101, protocol 'ws' for WebSocket), and the tunnel's
// bytes are in the connection's l4.close (bytes_in, bytes_out). CONNECT is
// refused (stages/connect.ts).

import http from 'node:http';
import type net from 'node:net';
import type { ConnectionLink, ServeRequest } from '../serve-request.ts';

export class UpgradeTunnels {
  readonly #serve: ServeRequest;
  readonly #links: WeakMap<net.Socket, ConnectionLink>;
  readonly #open = new Set<net.Socket>();

  constructor(serve: ServeRequest, links: WeakMap<net.Socket, ConnectionLink>) {
    this.#serve = serve;
    this.#links = links;
  }

  /** Node's 'upgrade' and 'connect' events: the request, its socket (now ours), and the bytes read past its head. */
  upgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    this.#open.add(socket);
    socket.once('close', () => this.#open.delete(socket));
    socket.on('error', () => {}); // recorded by the connection's l4 tap
    const res = new http.ServerResponse(req);
    res.assignSocket(socket);
    res.shouldKeepAlive = false;
    // An answer other than a tunnel ends the connection: what follows on it is not HTTP we parsed.
    res.once('finish', () => { if (res.socket) socket.end(); });
    this.#serve(req, res, this.#links.get(socket), { socket, head });
  }

  /** Cuts every tunnel (the listener's close, once its grace is over). */
  destroyAll(): void { for (const s of this.#open) s.destroy(); }
}
