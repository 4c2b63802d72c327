// HTTP/0.9 request lines (`GET /path` CRLF, no HTTP-version) on a fresh
// connection. llhttp takes such a line as an HTTP/0.9 request and then waits
// for a header section that a real 0.9 client never sends, so the client
// would hang until the header timeout. This watches the first line of each
// connection and, when it has no version and no end of the header section
// has followed it, refuses it at once through the server's clientError
// handler (400 MESH_ERR_BAD_VERSION, counted, connection closed), as if
// Node's parser had. When the header section did end, Node emits the request
// and stages/message-checks.ts refuses it, tapped. Later requests on a
// keep-alive connection are not watched (that would mean parsing framing a
// second time); a 0.9 line there is refused by message-checks once its head
// ends, or by the header timeout.
//
// Cost: a 'data' listener makes Node feed the parser from JavaScript rather
// than straight from the socket for that connection.

import type net from 'node:net';
import { MeshError } from './errors.ts';

/** Longest first line inspected; a longer one is left to Node's header-size limit. */
const MAX_LINE = 8192;
/** method SP request-target, and nothing else: what llhttp reads as HTTP/0.9. */
const HTTP09_LINE = /^[A-Za-z]+ [^ ]+$/;

export function refuseHttp09(server: net.Server, socket: net.Socket): void {
  let seen = '';
  const onData = (chunk: Buffer) => {
    seen += chunk.toString('latin1', 0, Math.min(chunk.length, MAX_LINE + 4 - seen.length));
    const eol = seen.indexOf('\n');
    if (eol < 0 && seen.length < MAX_LINE) return;
    socket.off('data', onData);
    if (eol < 0) return;
    const line = seen.slice(0, eol).replace(/\r$/, '');
    if (!HTTP09_LINE.test(line)) return;
    const after = seen.slice(eol + 1);
    // The head already ended: Node emits the request and message-checks answers it.
    if (/^\r?\n/.test(after) || /\r?\n\r?\n/.test(after)) return;
    server.emit('clientError', new MeshError('MESH_ERR_BAD_VERSION',
      `HTTP/0.9 request line ${JSON.stringify(line.slice(0, 256))} (no HTTP-version); this sidecar serves HTTP/1.0 and HTTP/1.1 only`), socket);
  };
  socket.on('data', onData);
}
