// `npm run bench:proxy`: the sidecar beside HAProxy and nginx as reverse
// proxies in front of the same upstream, loaded by wrk, measured side by side
// in one run. Every proxy gets one process/thread (the sidecar is one Node.js
// event loop), keep-alive on both sides. Rounds are interleaved so machine
// noise hits every proxy alike; the table shows medians and ratios to HAProxy.
//
//   npm run bench:proxy                 3 rounds × 5 s per proxy
//   npm run bench:proxy -- --rounds 5 --seconds 10 --connections 64

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../demo/index.ts';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const ROUNDS = arg('rounds', 3);
const SECONDS = arg('seconds', 5);
const CONNECTIONS = arg('connections', 32);

const NEEDED = { '/usr/bin/wrk': 'wrk', '/usr/sbin/haproxy': 'haproxy', '/usr/sbin/nginx': 'nginx-light' };
const missing = Object.entries(NEEDED).filter(([bin]) => !existsSync(bin)).map(([, pkg]) => pkg);
if (missing.length > 0) {
  console.error(`bench:proxy needs Debian packages: apt-get install -y ${missing.join(' ')}`);
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'meshlens-bench-proxy-'));
const children: ChildProcess[] = [];
const start = (cmd: string, args: string[]) => {
  const c = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'inherit'] });
  children.push(c);
  return c;
};
const cleanup = () => { for (const c of children) c.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); };
process.on('exit', cleanup);

const [upstream, haproxyPort, nginxPort, sidecarPort, sidecarNoTapsPort] = await freePorts(5);

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
writeFileSync(join(dir, 'haproxy.cfg'), `
global
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend fe
  bind 127.0.0.1:${haproxyPort}
  default_backend be
backend be
  server app 127.0.0.1:${upstream}
`);

const bin = fileURLToPath(new URL('../bin/meshlens.js', import.meta.url));
start('/usr/sbin/nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir]);
start('/usr/sbin/haproxy', ['-f', join(dir, 'haproxy.cfg')]);
start(process.execPath, [bin, 'sidecar', '--listen', `127.0.0.1:${sidecarPort}`, '--upstream', `127.0.0.1:${upstream}`]);
start(process.execPath, [bin, 'sidecar', '--listen', `127.0.0.1:${sidecarNoTapsPort}`, '--upstream', `127.0.0.1:${upstream}`, '--no-taps']);

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listening on ${port}`);
}
for (const p of [upstream, haproxyPort, nginxPort, sidecarPort, sidecarNoTapsPort]) await waitForPort(p);

interface Run { rps: number; p50: number; p99: number }

/** wrk's figures: requests/s and latency percentiles in ms. */
function wrk(port: number, seconds: number): Run {
  const r = spawnSync('/usr/bin/wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', `http://127.0.0.1:${port}/`], { encoding: 'utf8' });
  const out = r.stdout;
  const ms = (label: string) => {
    const m = new RegExp(`^\\s*${label}%\\s+([\\d.]+)(us|ms|s)$`, 'm').exec(out);
    if (!m) throw new Error(`wrk output without ${label}%: ${out}`);
    return Number(m[1]) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[m[2]];
  };
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  if (/Non-2xx|Socket errors/.test(out)) throw new Error(`wrk saw errors on port ${port}:\n${out}`);
  return { rps, p50: ms('50'), p99: ms('99') };
}

const targets = [
  { name: 'upstream (no proxy)', port: upstream },
  { name: 'HAProxy 2.6', port: haproxyPort },
  { name: 'nginx 1.22', port: nginxPort },
  { name: 'meshlens sidecar', port: sidecarPort },
  { name: 'meshlens sidecar --no-taps', port: sidecarNoTapsPort },
];
const runs = new Map(targets.map((t) => [t.name, [] as Run[]]));
for (const t of targets) wrk(t.port, 1); // warm-up: JIT, pools
for (let round = 1; round <= ROUNDS; round++) {
  for (const t of targets) runs.get(t.name)!.push(wrk(t.port, SECONDS));
  process.stderr.write(`round ${round}/${ROUNDS} done\n`);
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const haproxyRps = median(runs.get('HAProxy 2.6')!.map((r) => r.rps));
console.log(`\nbench:proxy — wrk -t1 -c${CONNECTIONS}, ${ROUNDS} rounds × ${SECONDS} s, medians; one process per proxy; ${new Date().toISOString()}`);
console.log(`${'target'.padEnd(28)}${'req/s'.padStart(10)}${'vs HAProxy'.padStart(12)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}`);
for (const t of targets) {
  const rs = runs.get(t.name)!;
  const rps = median(rs.map((r) => r.rps));
  console.log(`${t.name.padEnd(28)}${rps.toFixed(0).padStart(10)}${(rps / haproxyRps).toFixed(2).padStart(11)}×${median(rs.map((r) => r.p50)).toFixed(2).padStart(9)}${median(rs.map((r) => r.p99)).toFixed(2).padStart(9)}`);
}
console.log('\nThe sidecar builds an l7.request tap per request (no collector here: taps are counted as not shipped);');
console.log('--no-taps shows the proxy path alone. The machine is shared: compare ratios, not absolutes.');
cleanup();
process.exit(0);
