// `npm run bench:handshakes`: full mutual-TLS handshakes per second (TLS 1.3,
// ECDSA P-256 SVIDs, a client certificate on every connection, no session
// resumption) against a sidecar's inbound listener, beside the same against
// HAProxy terminating mTLS with the same certificate and trust bundle, and a
// bare node:tls server with the same options (what the sidecar adds to
// Node's TLS). Every server is one process with one thread.
//
// The client side is bench/handshake-client.ts: Node (the same OpenSSL as the
// sidecar), CONCURRENCY loops per client process, each a new connection per
// handshake. It runs on the same 2 cores, so its cost is inside every figure;
// its CPU per handshake is printed so a client-bound row shows as one. Rounds
// are interleaved; the table shows medians, the server's CPU seconds per
// 1000 handshakes (utime + stime from /proc/<pid>/stat) and ratios to HAProxy.
//
//   npm run bench:handshakes                 3 rounds × 5 s per server, 1 client process × 16 connections
//   npm run bench:handshakes -- --rounds 5 --seconds 10 --concurrency 32 --clients 2

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../demo/index.ts';
import { waitForPort } from './ports.ts';
import { procCpuMs } from './proc-cpu.ts';
import { BENCH_TRUST_DOMAIN, writeSvidFiles } from './svid-files.ts';
import { numberArg } from './args.ts';
import { haproxyCfg } from './proxy-configs.ts';

const ROUNDS = numberArg('rounds', 3);
const SECONDS = numberArg('seconds', 5);
const CONCURRENCY = numberArg('concurrency', 16);
const CLIENTS = numberArg('clients', 1);

if (!existsSync('/usr/sbin/haproxy')) {
  console.error('bench:handshakes needs a Debian package: apt-get install -y haproxy');
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'meshlens-bench-handshakes-'));
const children: ChildProcess[] = [];
const start = (cmd: string, args: string[]) => {
  const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(c);
  return c;
};
const cleanup = () => { for (const c of children) c.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); };
process.on('exit', cleanup);

const { bundle, svids } = await writeSvidFiles(dir, ['client', 'upstream']);
const serverId = `spiffe://${BENCH_TRUST_DOMAIN}/ns/default/sa/upstream`;
const [sidecarPort, noTapsPort, bareTlsPort, haproxyPort, nowhere] = await freePorts(5);
const at = (port: number) => `127.0.0.1:${port}`;

// The workload behind each server is never reached: no request is sent.
const bin = fileURLToPath(new URL('../bin/meshlens.js', import.meta.url));
const identity = ['--svid-key', svids.upstream.key, '--svid-cert', svids.upstream.cert, '--trust-bundle', bundle];
const sidecar = start(process.execPath, [bin, 'sidecar', '--service', 'upstream', '--id', 'upstream-1', '--listen', at(sidecarPort), '--upstream', at(nowhere), ...identity]);
const noTaps = start(process.execPath, [bin, 'sidecar', '--service', 'upstream', '--id', 'upstream-1', '--listen', at(noTapsPort), '--upstream', at(nowhere), '--no-taps', ...identity]);
// The sidecar's own TLS options (mesh/proxy/http-listener.ts mtlsServer), nothing else.
const bareTls = start(process.execPath, ['-e', `
  const fs = require('node:fs');
  const [key, cert, ca, port] = process.argv.slice(1);
  require('node:tls').createServer({
    key: fs.readFileSync(key), cert: fs.readFileSync(cert), ca: fs.readFileSync(ca),
    requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'],
  }, (s) => { s.on('error', () => {}); s.resume(); }).listen(Number(port), '127.0.0.1');
`, svids.upstream.key, svids.upstream.cert, bundle, String(bareTlsPort)]);
// Only handshakes are measured: the backend is never reached.
writeFileSync(join(dir, 'haproxy.cfg'), haproxyCfg(`${at(haproxyPort)} ssl crt ${svids.upstream.combined} ca-file ${bundle} verify required alpn http/1.1`, `app ${at(nowhere)}`));
const haproxy = start('/usr/sbin/haproxy', ['-f', join(dir, 'haproxy.cfg')]);

const clientTls = { key: readFileSync(svids.client.key), cert: readFileSync(svids.client.cert), ca: readFileSync(bundle), checkServerIdentity: () => undefined };
for (const p of [sidecarPort, noTapsPort, bareTlsPort, haproxyPort]) await waitForPort(p, clientTls);

interface ClientResult { handshakes: number; failures: number; firstFailure: string; cpuMs: number }
interface Run { rate: number; serverCpuMs: number; clientCpuMs: number; handshakes: number; failures: number }

const clientScript = fileURLToPath(new URL('./handshake-client.ts', import.meta.url));
function client(port: number, seconds: number): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--import', 'tsx', clientScript, String(port), String(CONCURRENCY), String(seconds), svids.client.key, svids.client.cert, bundle, serverId], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (b: Buffer) => { out += b; });
    c.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as ClientResult) : reject(new Error(`handshake client exited ${code}: ${out}`))));
  });
}

/** CLIENTS client processes against one server for `seconds`; the server's CPU over the same span. */
async function measure(port: number, pid: number, seconds: number): Promise<Run> {
  const cpu0 = procCpuMs(pid);
  const rs = await Promise.all(Array.from({ length: CLIENTS }, () => client(port, seconds)));
  const serverCpuMs = procCpuMs(pid) - cpu0;
  const sum = (f: (r: ClientResult) => number) => rs.reduce((a, r) => a + f(r), 0);
  const failures = sum((r) => r.failures);
  if (failures > 0) process.stderr.write(`port ${port}: ${failures} failed handshakes, first: ${rs.find((r) => r.firstFailure)?.firstFailure}\n`);
  const handshakes = sum((r) => r.handshakes);
  return { rate: handshakes / seconds, serverCpuMs, clientCpuMs: sum((r) => r.cpuMs), handshakes, failures };
}

const targets = [
  { name: 'HAProxy 2.6', port: haproxyPort, pid: haproxy.pid! },
  { name: 'node:tls server (bare)', port: bareTlsPort, pid: bareTls.pid! },
  { name: 'meshlens sidecar', port: sidecarPort, pid: sidecar.pid! },
  { name: 'meshlens sidecar --no-taps', port: noTapsPort, pid: noTaps.pid! },
];
const runs = new Map(targets.map((t) => [t.name, [] as Run[]]));
for (const t of targets) await measure(t.port, t.pid, 1); // warm-up: JIT
for (let round = 1; round <= ROUNDS; round++) {
  for (const t of targets) runs.get(t.name)!.push(await measure(t.port, t.pid, SECONDS));
  process.stderr.write(`round ${round}/${ROUNDS} done\n`);
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const med = (name: string, f: (r: Run) => number) => median(runs.get(name)!.map(f));
const haproxyRate = med('HAProxy 2.6', (r) => r.rate);
console.log(`\nbench:handshakes — full TLS 1.3 mTLS handshakes (ECDSA P-256 SVIDs, client certificate, no resumption); ` +
  `client: ${CLIENTS} Node process${CLIENTS > 1 ? 'es' : ''} × ${CONCURRENCY} connections (bench/handshake-client.ts, OpenSSL ${process.versions.openssl}) on the same machine; ` +
  `${ROUNDS} rounds × ${SECONDS} s, medians; ${new Date().toISOString()}`);
console.log(`${'server (one thread)'.padEnd(28)}${'handshakes/s'.padStart(13)}${'vs HAProxy'.padStart(12)}${'server CPU'.padStart(12)}${'server CPU s/1000'.padStart(19)}${'client CPU s/1000'.padStart(19)}${'failed'.padStart(8)}`);
for (const t of targets) {
  const rate = med(t.name, (r) => r.rate);
  const busy = med(t.name, (r) => r.serverCpuMs / (SECONDS * 1000));
  const perK = (f: (r: Run) => number) => med(t.name, (r) => f(r) / r.handshakes).toFixed(3);
  const failed = runs.get(t.name)!.reduce((a, r) => a + r.failures, 0);
  console.log(`${t.name.padEnd(28)}${rate.toFixed(0).padStart(13)}${`${(rate / haproxyRate).toFixed(2)}×`.padStart(12)}${`${(busy * 100).toFixed(0)}%`.padStart(12)}` +
    `${perK((r) => r.serverCpuMs).padStart(19)}${perK((r) => r.clientCpuMs).padStart(19)}${String(failed).padStart(8)}`);
}
console.log('\nA handshake counts when the server\'s first session ticket reaches the client (the server has checked the');
console.log('client certificate by then). "server CPU" is the share of one core the server used; near 100% the server');
console.log('is the limit, well below it the client or the machine is. The machine is shared: compare ratios and CPU per handshake.');
cleanup();
process.exit(0);
