// CONNECT tunnels, opt-in per cluster (Cluster.connect, ./snapshot.ts): the
// ports of a service a workload may open a raw byte tunnel to with
// `CONNECT <service>:<port>` through its outbound sidecar, carried over the
// usual mTLS to one of the service's sidecars, which opens it to its own
// workload's host at that port (mesh/proxy/stages/connect.ts). Off unless a
// cluster names its ports: a tunnel is past routing by path, past inbound
// policy on paths and past l7 taps of what it carries.
//
// Set by the control plane's settings (MeshSettings.connect_by_service), one
// check for those and for the sidecar's snapshot check.

/** Ports of the cluster's service that CONNECT may tunnel to. */
export interface ConnectTunnels { allow_ports: number[] }

export const MAX_CONNECT_PORTS = 64;

const shown = (v: unknown) => JSON.stringify(typeof v === 'string' ? v.slice(0, 80) : v) ?? 'nothing';

/** Every problem with a cluster's `connect`, each naming its field under `at` ("clusters[2].connect"). */
export function connectTunnelProblems(c: unknown, at: string): string[] {
  if (c === null || typeof c !== 'object' || Array.isArray(c)) return [`${at}: must be an object {allow_ports: [port, …]}`];
  const o = c as Record<string, unknown>;
  const p: string[] = [];
  for (const k of Object.keys(o)) if (k !== 'allow_ports') p.push(`${at}: unknown field ${shown(k)} (only allow_ports)`);
  const ports = o.allow_ports;
  if (!Array.isArray(ports) || ports.length === 0 || ports.length > MAX_CONNECT_PORTS) {
    return [...p, `${at}.allow_ports: must be a non-empty array of at most ${MAX_CONNECT_PORTS} ports (leave connect out for none)`];
  }
  for (const [i, v] of ports.entries()) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65_535) p.push(`${at}.allow_ports[${i}]: must be a port in 1..65535, got ${shown(v)}`);
    else if (ports.indexOf(v) !== i) p.push(`${at}.allow_ports[${i}]: ${v} is named twice`);
  }
  return p;
}
