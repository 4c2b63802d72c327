// A network of its own for each demo workload, as a pod has in Linkerd or
// Istio: one network namespace per service (`ml-<pid>-<service>`), a veth
// pair from it to a bridge on the host (`ml<pid>br`), and one /24 of
// 10.213.0.0/16 for the run:
//
//   host: bridge ml<pid>br 10.213.X.1 ─┬─ ml<pid>v0 ══ eth0 10.213.X.10 in ml-<pid>-web  (+ lo)
//                                      ├─ ml<pid>v1 ══ eth0 10.213.X.11 in ml-<pid>-catalog
//                                      └─ …
//
// A workload and its sidecar share their namespace's loopback, so a sidecar's
// outbound listener on 127.0.0.1 there is reachable by that workload only.
// Addresses are on one bridge and one subnet: no routing or forwarding is
// needed between namespaces, nor to the host's bridge address (where the
// control plane listens).
//
// Everything made is undone by close(), and by a failed open. Namespaces and
// links of runs whose process is gone are removed at the next open. Needs
// root (CAP_NET_ADMIN, CAP_SYS_ADMIN for `ip netns exec`).

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

/** iproute2's `ip`, by absolute path where it is (/usr/sbin is not always on PATH). */
export const IP_BIN = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => existsSync(p)) ?? 'ip';

export interface NamespaceHost {
  /** The network namespace (`ip netns exec <netns> …`). */
  netns: string;
  /** Its eth0 address on the bridge: where its sidecar's inbound (mTLS) and ingress listeners bind. */
  address: string;
}

export interface DemoNetwork {
  /** The host's address on the bridge: the control plane listens here so the namespaces reach it. */
  hostAddress: string;
  /** e.g. 10.213.7.0/24 */
  subnet: string;
  bridge: string;
  /** Each service's namespace and address. */
  hosts: Map<string, NamespaceHost>;
  /** Every namespace and host-side link this network made (tests check they are gone after close). */
  made(): { netns: string[]; links: string[] };
  close(): Promise<void>;
}

/** A failed `ip` command: which one, and what it said. */
export class NetnsError extends Error {
  readonly code = 'DEMO_ERR_NETNS';
  constructor(readonly command: string, readonly stderr: string, exit: string) {
    super(`${command}: ${exit}${stderr ? `: ${stderr}` : ''}`);
  }
}

/** Runs `ip <args>`; rejects with NetnsError naming the command and its stderr. */
export function ip(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(IP_BIN, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const exit = typeof err.code === 'number' ? `exit ${err.code}` : err.signal ? `signal ${err.signal}` : String(err.code ?? err.message);
      reject(new NetnsError(`ip ${args.join(' ')}`, String(stderr).trim(), exit));
    });
  });
}

let opened = 0;
const SUBNET_PREFIX = '10.213';
const FIRST_HOST = 10;
const MAX_LINK_NAME = 15; // IFNAMSIZ - 1

export async function openDemoNetwork(services: string[], log: (line: string) => void = () => {}): Promise<DemoNetwork> {
  // Two networks in one process (tests) get different names: ml-<pid>-…, ml-<pid>n1-…
  const seq = opened++;
  const tag = `${process.pid}${seq ? `n${seq}` : ''}`;
  const bridge = `ml${tag}br`;
  const hostLinks = services.map((_, i) => `ml${tag}v${i}`);
  for (const l of [bridge, ...hostLinks]) if (l.length > MAX_LINK_NAME) throw new Error(`demo network: link name ${l} is longer than ${MAX_LINK_NAME} characters`);
  if (services.length > 254 - FIRST_HOST) throw new Error(`demo network: ${services.length} services do not fit a /24`);

  const removed = await removeStaleNetworks();
  if (removed.length) log(`demo: removed what dead runs left: ${removed.join(', ')}`);

  // Undo steps, newest first on close.
  const undo: { what: string; args: string[] }[] = [];
  const madeNetns: string[] = [];
  const madeLinks: string[] = [];
  const close = async () => {
    const problems: string[] = [];
    for (const u of undo.splice(0).reverse()) {
      try { await ip(u.args); } catch (e) {
        // Already gone (a veth goes with its namespace's end) is what close wants anyway.
        if (!/Cannot find device|No such file|does not exist/i.test((e as NetnsError).stderr ?? '')) problems.push((e as Error).message);
      }
    }
    if (problems.length) throw new Error(`demo network: tearing down left problems: ${problems.join('; ')}`);
  };

  try {
    await ip(['link', 'add', bridge, 'type', 'bridge']);
    undo.push({ what: bridge, args: ['link', 'del', bridge] });
    madeLinks.push(bridge);
    const x = await claimSubnet(bridge, seq);
    const subnet = `${SUBNET_PREFIX}.${x}.0/24`;
    const hostAddress = `${SUBNET_PREFIX}.${x}.1`;
    await ip(['link', 'set', 'dev', bridge, 'up']);

    const hosts = new Map<string, NamespaceHost>();
    for (const [i, service] of services.entries()) {
      const netns = `ml-${tag}-${service}`;
      const address = `${SUBNET_PREFIX}.${x}.${FIRST_HOST + i}`;
      await ip(['netns', 'add', netns]);
      undo.push({ what: netns, args: ['netns', 'del', netns] });
      madeNetns.push(netns);
      // The peer is made inside the namespace, named eth0 there.
      await ip(['link', 'add', hostLinks[i], 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
      undo.push({ what: hostLinks[i], args: ['link', 'del', hostLinks[i]] });
      madeLinks.push(hostLinks[i]);
      await ip(['-n', netns, 'link', 'set', 'dev', 'lo', 'up']);
      await ip(['-n', netns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      await ip(['-n', netns, 'link', 'set', 'dev', 'eth0', 'up']);
      await ip(['link', 'set', 'dev', hostLinks[i], 'master', bridge, 'up']);
      hosts.set(service, { netns, address });
    }
    return { hostAddress, subnet, bridge, hosts, made: () => ({ netns: [...madeNetns], links: [...madeLinks] }), close };
  } catch (e) {
    try { await close(); } catch (c) { throw new Error(`${(e as Error).message} (and then ${(c as Error).message})`); }
    throw e;
  }
}

/**
 * Gives the bridge 10.213.X.1/24 for an X no other interface uses. Two runs
 * that pick the same X at once both see the clash after adding and try again
 * elsewhere, from a random X.
 */
async function claimSubnet(bridge: string, seq: number): Promise<number> {
  let x = (process.pid + seq * 37) % 256;
  for (let attempt = 0; attempt < 16; attempt++) {
    const used = new Set([...(await ip(['-o', '-4', 'addr', 'show'])).matchAll(/inet 10\.213\.(\d+)\./g)].map((m) => Number(m[1])));
    for (let k = 0; k < 256 && used.has(x); k++) x = (x + 1) % 256;
    if (used.has(x)) break;
    await ip(['addr', 'add', `${SUBNET_PREFIX}.${x}.1/24`, 'dev', bridge]);
    const holders = (await ip(['-o', '-4', 'addr', 'show', 'to', `${SUBNET_PREFIX}.${x}.0/24`])).split('\n').filter(Boolean);
    if (holders.length === 1) return x;
    await ip(['addr', 'del', `${SUBNET_PREFIX}.${x}.1/24`, 'dev', bridge]);
    x = Math.floor(Math.random() * 256);
  }
  throw new Error(`demo network: no free /24 in ${SUBNET_PREFIX}.0.0/16 for bridge ${bridge}`);
}

const STALE_NETNS = /^ml-(\d+)(?:n\d+)?-/;
const STALE_LINK = /^ml(\d+)(?:n\d+)?(?:br|v\d+)$/;

/** Removes namespaces and links named like ours whose run's process is gone; returns their names. */
export async function removeStaleNetworks(): Promise<string[]> {
  const removed: string[] = [];
  const netns = (await ip(['netns', 'list'])).split('\n').map((l) => l.split(' ')[0]).filter(Boolean);
  for (const n of netns) {
    const m = STALE_NETNS.exec(n);
    if (m && !processAlive(Number(m[1]))) { await ip(['netns', 'del', n]); removed.push(n); }
  }
  // `ip -o link` names look like "12: ml123v0@if3:"; after the namespaces, most veths are gone already.
  const links = [...(await ip(['-o', 'link', 'show'])).matchAll(/^\d+: ([^:@\s]+)/gm)].map((m) => m[1]);
  for (const l of links) {
    const m = STALE_LINK.exec(l);
    if (m && !processAlive(Number(m[1]))) {
      try { await ip(['link', 'del', l]); removed.push(l); } catch (e) {
        if (!/Cannot find device/.test((e as NetnsError).stderr ?? '')) throw e;
      }
    }
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
