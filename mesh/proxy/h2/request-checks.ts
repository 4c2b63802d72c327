// The message checks of an HTTP/2 request (stages/message-checks.ts runs
// them in place of the HTTP/1.1 ones). nghttp2 already resets a stream
// whose fields are malformed at the frame level (uppercase names, pseudo-
// headers out of place, a connection-specific field); these are the rules
// that it leaves to the server, kept here so they do not depend on it:
//   connection-specific fields  Connection, Keep-Alive, Proxy-Connection,
//                    Transfer-Encoding, Upgrade, TE other than "trailers"
//                    make a request malformed (RFC 9113 §8.2.2) → 400 MESH_ERR_BAD_REQUEST
//   authority        :authority, or Host when it is absent; both and
//                    different → 400 MESH_ERR_BAD_HOST (one proxy would route
//                    by one, another by the other; RFC 9113 §8.3.1); neither,
//                    or not host[:port] → 400 MESH_ERR_BAD_HOST

import type { RequestContext } from '../context.ts';
import { MeshError } from '../errors.ts';
import { connectionSpecificIn } from './headers.ts';

export function checkH2Request(ctx: RequestContext, hostValue: RegExp): void {
  const headers = ctx.req.headers;
  const named = connectionSpecificIn(headers);
  if (named) throw new MeshError('MESH_ERR_BAD_REQUEST', `HTTP/2 request with the connection-specific field ${JSON.stringify(named)} is malformed (RFC 9113 §8.2.2)`);
  if (ctx.req.method === 'CONNECT') return; // authority-form only; refused by the connect stage
  const authority = (headers[':authority'] as string | undefined)?.trim();
  const host = headers.host?.trim();
  if (authority && host && authority.toLowerCase() !== host.toLowerCase()) {
    throw new MeshError('MESH_ERR_BAD_HOST', `:authority ${JSON.stringify(authority.slice(0, 256))} and Host ${JSON.stringify(host.slice(0, 256))} differ (RFC 9113 §8.3.1)`);
  }
  const value = authority || host;
  if (!value) throw new MeshError('MESH_ERR_BAD_HOST', 'HTTP/2 request with neither :authority nor Host');
  if (!hostValue.test(value)) throw new MeshError('MESH_ERR_BAD_HOST', `:authority ${JSON.stringify(value.slice(0, 256))} is not host[:port]`);
}
