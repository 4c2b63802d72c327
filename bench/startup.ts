// npm run bench:startup [-- --runs 5 --load-s 10 --connections 32 --node-flags "--max-semi-space-size=2"]
//
// What a standalone sidecar costs to start and to keep: `meshlens sidecar
// --listen … --upstream …` in front of a tiny upstream (in this process),
// started through bin/meshlens.js once from the TypeScript (tsx) and once
// from the compiled build (dist/, built here first if stale).
//   start → 200   spawn until the first 200 through the sidecar (polled
//                 every 5 ms, so up to 5 ms late), median of --runs
//   RSS idle      VmRSS 2 s after that first 200 (median of --runs)
//   RSS load      the highest VmRSS sampled every 250 ms during --load-s
//                 of `wrk -t1 -c<connections>` (one run per mode), with the
//                 sidecar's CPU per 1,000 requests (/proc, all threads)
// --node-flags adds a third row: the compiled build with those node flags
// (heap sizing: what they save in memory beside what they cost in CPU).
// Taps stay on (the default), with no collector: they are counted, not shipped.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { numberArg } from './args.ts';
import { procCpuMs } from './proc-cpu.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = `${ROOT}bin/meshlens.js`;
const RUNS = numberArg('runs', 5);
const LOAD_S = numberArg('load-s', 10);
const CONNECTIONS = numberArg('connections', 32);
const flagsAt = process.argv.indexOf('--node-flags');
const NODE_FLAGS = flagsAt < 0 ? [] : (process.argv[flagsAt + 1] ?? '').split(' ').filter(Boolean);
type Mode = 'tsx' | 'dist' | 'dist+flags';
const MODES: Mode[] = NODE_FLAGS.length ? ['tsx', 'dist', 'dist+flags'] : ['tsx', 'dist'];
const LABELS: Record<Mode, string> = { tsx: 'TypeScript (tsx)', dist: 'compiled (dist/)', 'dist+flags': `compiled, ${NODE_FLAGS.join(' ')}` };

if (!existsSync('/usr/bin/wrk')) { console.error('bench:startup: needs wrk (apt-get install wrk)'); process.exit(1); }
// The compiled build must be current, or `MESHLENS_RUN=dist` refuses to start (bin/meshlens.js).
const build = spawnSync(process.execPath, [`${ROOT}scripts/build.mjs`, '--if-stale'], { stdio: 'inherit' });
if (build.status !== 0) { console.error('bench:startup: the build failed'); process.exit(1); }

const upstream = http.createServer((_req, res) => { res.end('ok'); });
await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
const upstreamPort = (upstream.address() as net.AddressInfo).port;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); });
  });
}

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function get(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', () => resolve(0));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Started { child: ChildProcess; port: number; startMs: number }

async function startSidecar(mode: Mode): Promise<Started> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, [...(mode === 'dist+flags' ? NODE_FLAGS : []), BIN, 'sidecar', '--service', 'bench', '--listen', `127.0.0.1:${port}`, '--upstream', `127.0.0.1:${upstreamPort}`], {
    stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, MESHLENS_RUN: mode === 'tsx' ? 'tsx' : 'dist' },
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  let exited = false;
  child.once('exit', () => { exited = true; });
  while ((await get(port)) !== 200) {
    if (exited) throw new Error(`sidecar (${mode}) exited before serving a request:\n${stderr}`);
    if (performance.now() - t0 > 30_000) throw new Error(`sidecar (${mode}) served nothing in 30 s`);
    await sleep(5);
  }
  return { child, port, startMs: performance.now() - t0 };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
}

async function underLoad(s: Started): Promise<{ load: number; rps: number; cpuPer1k: number }> {
  let peak = 0;
  const cpu0 = procCpuMs(s.child.pid!);
  const sampler = setInterval(() => { peak = Math.max(peak, rssMb(s.child.pid!)); }, 250);
  const out = await new Promise<string>((resolve, reject) => {
    const w = spawn('/usr/bin/wrk', ['-t1', `-c${CONNECTIONS}`, `-d${LOAD_S}s`, `http://127.0.0.1:${s.port}/`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    w.stdout.setEncoding('utf8').on('data', (d: string) => { text += d; });
    w.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}:\n${text}`))));
  });
  clearInterval(sampler);
  const cpuMs = procCpuMs(s.child.pid!) - cpu0;
  if (/Non-2xx|Socket errors/.test(out)) throw new Error(`wrk saw errors:\n${out}`);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  return { load: peak, rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN), cpuPer1k: (cpuMs / requests) * 1000 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = Object.fromEntries(MODES.map((m) => [m, { start: [] as number[], idle: [] as number[], load: 0, rps: 0, cpuPer1k: 0 }]));
try {
  // Modes interleaved per run, so a busy moment on this shared machine touches each.
  for (let i = 0; i < RUNS; i++) {
    for (const mode of MODES) {
      const s = await startSidecar(mode);
      rows[mode].start.push(s.startMs);
      await sleep(2_000);
      rows[mode].idle.push(rssMb(s.child.pid!));
      if (i === RUNS - 1) Object.assign(rows[mode], await underLoad(s));
      await stop(s.child);
    }
  }
} finally {
  upstream.close();
}

const f0 = (n: number) => n.toFixed(0);
console.log(`\nstandalone sidecar, node ${process.version}, ${RUNS} runs; load: wrk -t1 -c${CONNECTIONS} for ${LOAD_S} s\n`);
console.log('| run from | start → first 200, median (min–max) | RSS idle | RSS under load | req/s under load | CPU ms / 1k req |');
console.log('|---|---|---|---|---|---|');
for (const mode of MODES) {
  const r = rows[mode];
  console.log(`| ${LABELS[mode]} | ${f0(median(r.start))} ms (${f0(Math.min(...r.start))}–${f0(Math.max(...r.start))}) | ${f0(median(r.idle))} MB | ${f0(r.load)} MB | ${f0(r.rps)} | ${f0(r.cpuPer1k)} |`);
}
console.log(`\ncompiled / tsx: start ${(median(rows.dist.start) / median(rows.tsx.start)).toFixed(2)}×, RSS idle ${(median(rows.dist.idle) / median(rows.tsx.idle)).toFixed(2)}×, under load ${(rows.dist.load / rows.tsx.load).toFixed(2)}×`);
