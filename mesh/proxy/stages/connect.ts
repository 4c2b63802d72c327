// Both directions, right after message-checks: CONNECT asks the sidecar to
// open a raw tunnel to host:port, past routing by path, past policy on
// paths, past l7 taps of what it carries. Refused 501
// MESH_ERR_CONNECT_UNSUPPORTED, tapped and counted, unless configuration opts
// in (Cluster.connect.allow_ports, ../../control/connect-tunnels.ts) and
// every one of these holds:
//   - HTTP/1.1 (an HTTP/2 CONNECT is refused), authority-form target
//     `<name>:<port>`, the name a DNS label list, never an address;
//   - outbound: the name is a route of the snapshot (a mesh service, never an
//     arbitrary host) whose every weighted cluster allows the port; the
//     tunnel then goes the way a request would (route, admission, balance,
//     mTLS to the chosen endpoint's sidecar, which is asked the same CONNECT);
//   - inbound: the caller proved a mesh identity (mTLS), the name is this
//     sidecar's own service, its cluster in the snapshot allows the port,
//     and the port is none of the workload's HTTP port or this sidecar's own
//     listeners (a tunnel there would carry requests no policy judged, or
//     call out as this workload). The tunnel goes to the workload's host at
//     that port, after the inbound policy judged the CONNECT like any
//     request (method CONNECT, path the target).
// An allowed CONNECT sets ctx.tunnel; normalize-path lets its target be,
// retries never repeat it, and upgrade/forward.ts opens the tunnel. Its
// l7.request tap says CONNECT and 200 once open; the bytes it carried are
// in the connection's l4.close, and the sidecar's `connect` counters.
// Upgrades (WebSocket) are not CONNECT and go through.

import { MeshError } from '../errors.ts';
import type { RequestContext } from '../context.ts';
import type { Stage } from '../stage.ts';

/** `<name>:<port>`: DNS labels only (no IP literal, no userinfo, no path), a decimal port. */
const AUTHORITY_FORM = /^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*):([1-9]\d{0,4})$/i;

export const connectStage: Stage = {
  name: 'connect',
  handle(ctx, next) {
    if (ctx.req.method === 'CONNECT') {
      const why = refusal(ctx);
      if (why !== null) {
        throw new MeshError('MESH_ERR_CONNECT_UNSUPPORTED', `CONNECT ${JSON.stringify((ctx.req.url ?? ctx.authority).slice(0, 256))}: ${why}`);
      }
    }
    return next();
  },
};

/** Why this CONNECT is not tunnelled, or null when it is (ctx.tunnel and ctx.authority set). */
function refusal(ctx: RequestContext): string | null {
  const generic = 'this sidecar does not tunnel it; send the request itself (HTTP/1.1 or HTTP/2), or an Upgrade';
  if (!ctx.upgrade || ctx.h2) return `${generic} (tunnels are HTTP/1.1 only)`;
  const m = AUTHORITY_FORM.exec(ctx.req.url ?? '');
  if (!m) return `${generic} (the target must be <service>:<port>)`;
  const name = m[1].toLowerCase();
  const port = Number(m[2]);
  if (port > 65_535) return `${generic} (no port ${port})`;
  const cfg = ctx.config;
  if (ctx.direction === 'outbound') {
    const route = cfg.route(name);
    if (!route) return `${generic} ('${name}' is no service of the mesh)`;
    const clusters = cfg.backends(route).filter((b) => b.weight > 0).map((b) => b.cluster);
    if (clusters.length === 0 || !clusters.every((c) => c.connect?.allow_ports.includes(port))) return `${generic} (port ${port} of '${name}' is not open to tunnels)`;
  } else {
    const o = ctx.runtime.opts;
    if (!ctx.src.identity) return `${generic} (only a mesh peer over mTLS may tunnel)`;
    if (name !== o.service.toLowerCase()) return `${generic} (this sidecar fronts '${o.service}', not '${name}')`;
    if (!cfg.cluster(o.service)?.connect?.allow_ports.includes(port)) return `${generic} (port ${port} of '${name}' is not open to tunnels)`;
    const own = [o.upstream?.port, o.listen?.port, o.outbound?.port, o.ingress?.port, ctx.upgrade.socket.localPort];
    if (own.includes(port)) return `${generic} (port ${port} is the workload's HTTP port or this sidecar's own)`;
  }
  ctx.tunnel = { host: name, port };
  ctx.authority = name;
  return null;
}
