// `npm run bench:proxy`: the sidecar beside HAProxy and nginx as reverse
// proxies in front of the same upstream, loaded by wrk, measured side by side
// in one run. Every proxy gets one process/thread (the sidecar is one Node.js
// event loop), keep-alive on both sides. Rounds are interleaved so machine
// noise hits every proxy alike; the table shows medians and ratios.
//
// Pairs: the mesh's real shape, wrk → sidecar A's outbound listener (HTTP
// proxy mode, standalone route `upstream`) → sidecar B's inbound listener →
// the upstream, once in plaintext and once with mutual TLS between A and B
// (TLS 1.3, ECDSA P-256 SVIDs from a bench CA; B must present
// spiffe://bench.local/ns/default/sa/upstream). Two HAProxy processes in the
// same shape are the peer: plaintext, and `ssl crt … ca-file … verify
// required` on both sides (HAProxy checks the chain but not the SPIFFE id).
// The pools between A and B keep their connections, so the mTLS rows measure
// record encryption and the few handshakes of a warm pool; `npm run
// bench:handshakes` measures the handshakes themselves.
//
//   npm run bench:proxy                 3 rounds × 5 s per target
//   npm run bench:proxy -- --rounds 5 --seconds 10 --connections 64

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../demo/index.ts';
import { waitForPort } from './ports.ts';
import { procCpuMs } from './proc-cpu.ts';
import { writeSvidFiles } from './svid-files.ts';
import { numberArg } from './args.ts';

const ROUNDS = numberArg('rounds', 3);
const SECONDS = numberArg('seconds', 5);
const CONNECTIONS = numberArg('connections', 32);

const NEEDED = { '/usr/bin/wrk': 'wrk', '/usr/sbin/haproxy': 'haproxy', '/usr/sbin/nginx': 'nginx-light' };
const missing = Object.entries(NEEDED).filter(([bin]) => !existsSync(bin)).map(([, pkg]) => pkg);
if (missing.length > 0) {
  console.error(`bench:proxy needs Debian packages: apt-get install -y ${missing.join(' ')}`);
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'meshlens-bench-proxy-'));
const children: { child: ChildProcess; stop: NodeJS.Signals }[] = [];
// nginx's master stops its workers on SIGTERM; SIGKILLed, it would leave them running.
const start = (cmd: string, args: string[], stop: NodeJS.Signals = 'SIGKILL') => {
  const child = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'inherit'] });
  children.push({ child, stop });
  return child;
};
const cleanup = () => { for (const c of children) c.child.kill(c.stop); rmSync(dir, { recursive: true, force: true }); };
process.on('exit', cleanup);

const ports = await freePorts(13);
const [upstream, haproxyPort, nginxPort, sidecarPort, sidecarNoTapsPort] = ports;
// Pairs: A's listener (what wrk loads), then B's.
const [plainA, plainB, mtlsA, mtlsB, haPlainA, haPlainB, haMtlsA, haMtlsB] = ports.slice(5);

// The upstream: nginx answering a small body itself, so the proxies are what is measured.
writeFileSync(join(dir, 'nginx.conf'), `
worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  upstream app { server 127.0.0.1:${upstream}; keepalive 64; }
  server { listen 127.0.0.1:${upstream}; keepalive_requests 1000000; location / { return 200 "hello from upstream\\n"; } }
  server {
    listen 127.0.0.1:${nginxPort}; keepalive_requests 1000000;
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`);

/** One single-threaded HAProxy: `bind` line options for its frontend, `server` line for its backend. */
function haproxy(name: string, bind: string, server: string): number {
  writeFileSync(join(dir, `${name}.cfg`), `
global
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend fe
  bind ${bind}
  default_backend be
backend be
  server ${server}
`);
  return start('/usr/sbin/haproxy', ['-f', join(dir, `${name}.cfg`)]).pid!;
}

const { bundle, svids } = await writeSvidFiles(dir, ['client', 'upstream']);
const tlsOf = (s: 'client' | 'upstream') => `ca-file ${bundle} verify required alpn http/1.1 crt ${svids[s].combined}`;

const bin = fileURLToPath(new URL('../bin/meshlens.js', import.meta.url));
const sidecar = (...args: string[]) => start(process.execPath, [bin, 'sidecar', ...args]).pid!;
const identity = (s: 'client' | 'upstream') => ['--svid-key', svids[s].key, '--svid-cert', svids[s].cert, '--trust-bundle', bundle];
const at = (port: number) => `127.0.0.1:${port}`;

start('/usr/sbin/nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], 'SIGTERM');
// The pids of each proxy, for its CPU time per request.
const pids: Record<string, number[]> = {
  haproxy: [haproxy('haproxy', at(haproxyPort), `app ${at(upstream)}`)],
  sidecar: [sidecar('--listen', at(sidecarPort), '--upstream', at(upstream))],
  noTaps: [sidecar('--listen', at(sidecarNoTapsPort), '--upstream', at(upstream), '--no-taps')],
};
for (const [name, a, b, tls] of [['plainPair', plainA, plainB, false], ['mtlsPair', mtlsA, mtlsB, true]] as const) {
  pids[name] = [
    sidecar('--service', 'client', '--id', 'client-1', '--outbound', at(a), '--route', `upstream=${at(b)}`, ...(tls ? identity('client') : [])),
    sidecar('--service', 'upstream', '--id', 'upstream-1', '--listen', at(b), '--upstream', at(upstream), ...(tls ? identity('upstream') : [])),
  ];
}
pids.haPlainPair = [haproxy('haproxy-plain-a', at(haPlainA), `b ${at(haPlainB)}`), haproxy('haproxy-plain-b', at(haPlainB), `app ${at(upstream)}`)];
pids.haMtlsPair = [
  haproxy('haproxy-mtls-a', at(haMtlsA), `b ${at(haMtlsB)} ssl ${tlsOf('client')}`),
  haproxy('haproxy-mtls-b', `${at(haMtlsB)} ssl ${tlsOf('upstream')}`, `app ${at(upstream)}`),
];

const clientTls = { key: readFileSync(svids.client.key), cert: readFileSync(svids.client.cert), ca: readFileSync(bundle), checkServerIdentity: () => undefined };
const mtlsPorts = new Set([mtlsB, haMtlsB]);
for (const p of ports) await waitForPort(p, mtlsPorts.has(p) ? clientTls : undefined);

interface Run { rps: number; p50: number; p99: number; cpuMsPerK: number }

/** wrk's figures: requests/s and latency percentiles in ms; the CPU time of `pids` per 1000 requests. */
function wrk(port: number, seconds: number, host?: string, pids: number[] = []): Run {
  const cpu = () => pids.reduce((a, pid) => a + procCpuMs(pid), 0);
  const cpu0 = cpu();
  const r = spawnSync('/usr/bin/wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', ...(host ? ['-H', `Host: ${host}`] : []), `http://127.0.0.1:${port}/`], { encoding: 'utf8' });
  const out = r.stdout;
  const ms = (label: string) => {
    const m = new RegExp(`^\\s*${label}%\\s+([\\d.]+)(us|ms|s)$`, 'm').exec(out);
    if (!m) throw new Error(`wrk output without ${label}%: ${out}`);
    return Number(m[1]) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[m[2]];
  };
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  if (/Non-2xx|Socket errors/.test(out)) throw new Error(`wrk saw errors on port ${port}:\n${out}`);
  return { rps, p50: ms('50'), p99: ms('99'), cpuMsPerK: (cpu() - cpu0) / (requests / 1000) };
}

interface Target {
  name: string;
  port: number;
  host?: string;
  /** The HAProxy row of the same shape, for the "vs HAProxy" column. */
  haproxy: string;
  /** mTLS rows: their plaintext twin. */
  plain?: string;
  /** The proxy processes whose CPU is counted (nginx's worker is not its master's pid: not counted). */
  pids?: number[];
}
const ONE = 'HAProxy 2.6';
const targets: Target[] = [
  { name: 'upstream (no proxy)', port: upstream, haproxy: ONE },
  { name: ONE, port: haproxyPort, haproxy: ONE, pids: pids.haproxy },
  { name: 'nginx 1.22', port: nginxPort, haproxy: ONE },
  { name: 'meshlens sidecar', port: sidecarPort, haproxy: ONE, pids: pids.sidecar },
  { name: 'meshlens sidecar --no-taps', port: sidecarNoTapsPort, haproxy: ONE, pids: pids.noTaps },
  { name: 'HAProxy pair, plaintext', port: haPlainA, host: 'upstream', haproxy: 'HAProxy pair, plaintext', pids: pids.haPlainPair },
  { name: 'HAProxy pair, mTLS', port: haMtlsA, host: 'upstream', haproxy: 'HAProxy pair, mTLS', plain: 'HAProxy pair, plaintext', pids: pids.haMtlsPair },
  { name: 'sidecar pair, plaintext', port: plainA, host: 'upstream', haproxy: 'HAProxy pair, plaintext', pids: pids.plainPair },
  { name: 'sidecar pair, mTLS', port: mtlsA, host: 'upstream', haproxy: 'HAProxy pair, mTLS', plain: 'sidecar pair, plaintext', pids: pids.mtlsPair },
];
const runs = new Map(targets.map((t) => [t.name, [] as Run[]]));
for (const t of targets) wrk(t.port, 1, t.host); // warm-up: JIT, pools (and the handshakes between pairs)
for (let round = 1; round <= ROUNDS; round++) {
  for (const t of targets) runs.get(t.name)!.push(wrk(t.port, SECONDS, t.host, t.pids));
  process.stderr.write(`round ${round}/${ROUNDS} done\n`);
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const med = (name: string, f: keyof Run) => median(runs.get(name)!.map((r) => r[f]));
const ratio = (x: number) => `${x.toFixed(2)}×`;
/** The median of per-round ratios: a target and its twin ran seconds apart in each round, so noise between rounds cancels. */
const paired = (name: string, twin: string, f: keyof Run) => median(runs.get(name)!.map((r, i) => r[f] / runs.get(twin)![i][f]));
console.log(`\nbench:proxy — wrk -t1 -c${CONNECTIONS}, ${ROUNDS} rounds × ${SECONDS} s, medians; one process per proxy; ${new Date().toISOString()}`);
console.log(`${'target'.padEnd(28)}${'req/s'.padStart(8)}${'vs HAProxy'.padStart(12)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}${'CPU ms/1k req'.padStart(15)}` +
  `${'mTLS÷plain: req/s'.padStart(19)}${'p99'.padStart(7)}${'CPU'.padStart(7)}`);
for (const t of targets) {
  const rps = med(t.name, 'rps');
  const vsPlain = t.plain ? [ratio(paired(t.name, t.plain, 'rps')).padStart(19), ratio(paired(t.name, t.plain, 'p99')).padStart(7), ratio(paired(t.name, t.plain, 'cpuMsPerK')).padStart(7)].join('') : '';
  console.log(`${t.name.padEnd(28)}${rps.toFixed(0).padStart(8)}${ratio(rps / med(t.haproxy, 'rps')).padStart(12)}${med(t.name, 'p50').toFixed(2).padStart(8)}${med(t.name, 'p99').toFixed(2).padStart(8)}` +
    `${(t.pids ? med(t.name, 'cpuMsPerK').toFixed(0) : '-').padStart(15)}${vsPlain}`);
}
console.log('\n"vs HAProxy": to the HAProxy row of the same shape (one proxy; a pair, plaintext or mTLS). "CPU ms/1k req":');
console.log('utime + stime of the proxy processes (both of a pair) per 1000 requests, less sensitive to a busy machine than req/s.');
console.log('"mTLS÷plain": the median over rounds of each round\'s ratio to the plaintext twin (which ran just before it).');
console.log('Sidecars build l7.request taps per request (no collector here: taps are counted as not shipped);');
console.log('--no-taps shows the proxy path alone. The machine is shared: compare ratios, not absolutes.');
cleanup();
process.exit(0);
