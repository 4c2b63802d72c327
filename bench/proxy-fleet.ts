// Everything `npm run bench:proxy` loads, started as separate processes on
// free ports of 127.0.0.1: the upstream (nginx), the peers (nginx and
// HAProxy, one process and one worker or thread each, over HTTP/1.1 and
// h2c), the sidecars (alone and in pairs) and the control plane whose
// collector stores the sidecars' taps.
//
// Identities: a CA in the control plane's data dir, made before it starts,
// signs the SVIDs of the sidecars that run without a control plane
// (--svid-*), so the control plane's collector believes their signed tap
// batches, and HAProxy's certificates. The pair with a policy gets its
// identities from the control plane itself (join tokens), as in a mesh.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../demo/index.ts';
import { CertificateAuthority } from '../identity/index.ts';
import { BENCH_POLICY, haproxyCfg, nginxListen, proxyNginx, upstreamNginx } from './proxy-configs.ts';
import { run, type Proc, type Processes } from './proxy-processes.ts';
import { BENCH_TRUST_DOMAIN, writeSvidFiles } from './svid-files.ts';
import { waitForPort } from './ports.ts';
import { childPids } from './proc-rss.ts';

const PORT_NAMES = [
  'upstream', 'upstreamH2', 'haproxy', 'haproxyH2', 'nginx', 'nginxH2', 'relay', 'single', 'noTaps',
  'plainA', 'plainB', 'mtlsA', 'mtlsB', 'policyA', 'policyB', 'haPlainA', 'haPlainB', 'haMtlsA', 'haMtlsB', 'control', 'ui',
] as const;
export type PortName = (typeof PORT_NAMES)[number];

export interface Fleet {
  ports: Record<PortName, number>;
  /** The proxy processes of each target (nginx: master and worker), for CPU and memory. */
  pids: Record<string, number[]>;
  /** The sidecars that ship taps to the control plane, by proxy id. */
  shipping: Record<string, Proc>;
  control: Proc;
  /** The control plane's data dir: its CA, operator token and chdb store. */
  controlDataDir: string;
  /** Answers the bench's probes got from each port before the load (they count as requests served). */
  probes: Map<number, number>;
}

const at = (port: number) => `127.0.0.1:${port}`;
const BIN = fileURLToPath(new URL('../bin/meshlens.js', import.meta.url));
const RELAY = fileURLToPath(new URL('./node-relay.ts', import.meta.url));

export async function startFleet(procs: Processes, dir: string): Promise<Fleet> {
  const list = await freePorts(PORT_NAMES.length);
  const ports = Object.fromEntries(PORT_NAMES.map((n, i) => [n, list[i]])) as Record<PortName, number>;
  const p = ports;
  const file = (name: string, text: string) => { writeFileSync(join(dir, name), text); return join(dir, name); };
  const nginx = (name: string, conf: string) => procs.start(name, '/usr/sbin/nginx', ['-c', file(`${name}.conf`, conf), '-p', dir], { stop: 'SIGTERM' }).pid;
  const haproxy = (name: string, bind: string, server: string) => procs.start(name, '/usr/sbin/haproxy', ['-f', file(`${name}.cfg`, haproxyCfg(bind, server))]).pid;

  const controlDataDir = join(dir, 'control');
  const ca = await CertificateAuthority.open({ dir: join(controlDataDir, 'ca'), trustDomain: BENCH_TRUST_DOMAIN });
  const { bundle, svids } = await writeSvidFiles(dir, [
    'client', 'upstream', { service: 'upstream', proxy: 'single-1' }, { service: 'upstream', proxy: 'notaps-1' },
    { service: 'client', proxy: 'mtls-a' }, { service: 'upstream', proxy: 'mtls-b' },
  ], ca);
  const control = procs.start('control plane', process.execPath, [
    BIN, 'control', '--data-dir', controlDataDir, '--listen', at(p.control), '--ui', at(p.ui), '--trust-domain', BENCH_TRUST_DOMAIN,
    '--policy', file('policy.rego', BENCH_POLICY), '--no-models', '--no-tuning', '--report-every', 'off',
  ], { capture: true, stop: 'SIGTERM' });

  const upstreamPid = nginx('upstream', upstreamNginx(dir, p.upstream, p.upstreamH2));
  const pids: Record<string, number[]> = {
    upstream: [upstreamPid],
    haproxy: [haproxy('haproxy', at(p.haproxy), `app ${at(p.upstream)}`)],
    haproxyH2: [haproxy('haproxy-h2', `${at(p.haproxyH2)} proto h2`, `app ${at(p.upstream)}`)],
    nginx: [nginx('nginx', proxyNginx(dir, 'nginx', p.upstream, nginxListen.h1(p.nginx)))],
    nginxH2: [nginx('nginx-h2', proxyNginx(dir, 'nginx-h2', p.upstream, nginxListen.h2c(p.nginxH2)))],
    relay: [procs.start('node relay', process.execPath, ['--import', 'tsx', RELAY, String(p.relay), String(p.upstream)], { stop: 'SIGTERM' }).pid],
  };
  const tlsOf = (s: string) => `ca-file ${bundle} verify required alpn http/1.1 crt ${svids[s].combined}`;
  pids.haPlainPair = [haproxy('haproxy-plain-a', at(p.haPlainA), `b ${at(p.haPlainB)}`), haproxy('haproxy-plain-b', at(p.haPlainB), `app ${at(p.upstream)}`)];
  pids.haMtlsPair = [
    haproxy('haproxy-mtls-a', at(p.haMtlsA), `b ${at(p.haMtlsB)} ssl ${tlsOf('client')}`),
    haproxy('haproxy-mtls-b', `${at(p.haMtlsB)} ssl ${tlsOf('upstream')}`, `app ${at(p.upstream)}`),
  ];

  const controlUrl = (await procs.waitForLine(control, /control plane: (https:\/\/\S+)/))[1];
  const sidecar = (id: string, args: string[], env?: NodeJS.ProcessEnv) => procs.start(id, process.execPath, [BIN, 'sidecar', '--id', id, ...args], { capture: true, stop: 'SIGTERM', env });
  const identity = (id: string) => ['--svid-key', svids[id].key, '--svid-cert', svids[id].cert, '--trust-bundle', bundle];
  const state = (id: string) => { mkdirSync(join(dir, 'state', id), { recursive: true }); return ['--state-dir', join(dir, 'state', id)]; };
  // Taps to the control plane's collector, spooled on disk until acknowledged: how `meshlens up` runs its sidecars.
  const ships = (id: string) => [...identity(id), '--collector', controlUrl, ...state(id)];
  // The upstream speaks HTTP/1.1 only: an h2c request to a sidecar goes on as HTTP/1.1 (not `same`).
  const upstream = ['--upstream', at(p.upstream), '--upstream-protocol', 'h1'];
  const shipping: Record<string, Proc> = {};
  const keep = (proc: Proc) => { shipping[proc.name] = proc; return proc.pid; };

  // One sidecar: its ingress listener (plaintext, callers outside the mesh), with and without taps.
  pids.single = [keep(sidecar('single-1', ['--service', 'upstream', '--ingress', at(p.single), ...upstream, ...ships('single-1')]))];
  pids.noTaps = [sidecar('notaps-1', ['--service', 'upstream', '--ingress', at(p.noTaps), ...upstream, ...identity('notaps-1'), '--no-taps']).pid];
  // Pairs: A's outbound listener (what the load calls, Host: upstream), then B's inbound listener.
  // Plaintext: no identity, so no signed batches for a collector to believe: taps are built and counted as not shipped.
  pids.plainPair = [
    sidecar('plain-a', ['--service', 'client', '--outbound', at(p.plainA), '--route', `upstream=${at(p.plainB)}`]).pid,
    sidecar('plain-b', ['--service', 'upstream', '--listen', at(p.plainB), ...upstream]).pid,
  ];
  pids.mtlsPair = [
    keep(sidecar('mtls-a', ['--service', 'client', '--outbound', at(p.mtlsA), '--route', `upstream=${at(p.mtlsB)}`, ...ships('mtls-a')])),
    keep(sidecar('mtls-b', ['--service', 'upstream', '--listen', at(p.mtlsB), ...upstream, ...ships('mtls-b')])),
  ];
  // With the control plane: identities from join tokens, B's address from the registry, the policy from the control plane.
  const joined = async (id: string, service: string, args: string[]) => {
    const t = await run(process.execPath, [BIN, 'token', 'create', '--service', service, '--proxy', id, '--control', controlUrl, '--data-dir', controlDataDir]);
    if (t.code !== 0) throw new Error(`join token for ${id}: meshlens token create exited ${t.code}`);
    return keep(sidecar(id, ['--service', service, ...args, '--control', controlUrl, '--trust-bundle', bundle, ...state(id)], { MESHLENS_JOIN_TOKEN: t.stdout.trim() }));
  };
  pids.policyPair = [await joined('policy-a', 'client', ['--outbound', at(p.policyA)]), await joined('policy-b', 'upstream', ['--listen', at(p.policyB), ...upstream])];

  const clientTls = { key: readFileSync(svids.client.key), cert: readFileSync(svids.client.cert), ca: readFileSync(bundle), checkServerIdentity: () => undefined };
  const mtls = new Set([p.mtlsB, p.haMtlsB, p.policyB]);
  for (const name of PORT_NAMES.filter((n) => n !== 'control' && n !== 'ui')) await waitForPort(p[name], mtls.has(p[name]) ? clientTls : undefined, 60_000);
  for (const k of ['upstream', 'nginx', 'nginxH2']) pids[k] = [...pids[k], ...pids[k].flatMap(childPids)]; // nginx's worker

  // The policy pair is ready once A has B's address from the registry and B has the policy: a GET passes, a DELETE is refused.
  const probes = new Map<number, number>();
  const probe = async (method: string) => {
    const status = await probeStatus(p.policyA, method);
    if (status) probes.set(p.policyA, (probes.get(p.policyA) ?? 0) + 1);
    return status;
  };
  for (let i = 0; await probe('GET') !== 200; i++) {
    if (i >= 300) throw new Error('sidecar pair + policy: no 200 through policy-a → policy-b after 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  const denied = await probe('DELETE');
  if (denied !== 403) throw new Error(`sidecar pair + policy: a DELETE got ${denied}, not 403: the policy is not enforced`);
  return { ports, pids, shipping, control, controlDataDir, probes };
}

/** One request through a sidecar's outbound listener to `upstream`; its status, 0 if none came. */
function probeStatus(port: number, method: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: '/', headers: { host: 'upstream' }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}
