// Both directions, right after message-checks: CONNECT asks the sidecar to
// open a raw tunnel to host:port, past routing by service, past policy on
// paths, past l7 taps. The sidecar does not tunnel: every CONNECT (HTTP/1.1
// or HTTP/2) is refused 501 MESH_ERR_CONNECT_UNSUPPORTED, tapped and
// counted. Upgrades (WebSocket) are not CONNECT and go through.

import { MeshError } from '../errors.ts';
import type { Stage } from '../stage.ts';

export const connectStage: Stage = {
  name: 'connect',
  async handle(ctx, next) {
    if (ctx.req.method === 'CONNECT') {
      throw new MeshError('MESH_ERR_CONNECT_UNSUPPORTED',
        `CONNECT ${JSON.stringify((ctx.req.url ?? ctx.authority).slice(0, 256))}: this sidecar does not tunnel; send the request itself (HTTP/1.1 or HTTP/2), or an Upgrade`);
    }
    await next();
  },
};
