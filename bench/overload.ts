// `npm run bench:overload`: which bound keeps admitted requests fast in a
// burst. One sidecar (its own process, --no-taps) in front of a workload of
// bounded capacity (its own process: C requests at a time, S ms each, the
// rest wait in its FIFO, as a thread pool with a backlog would), loaded
// open-loop at 1× (a normal load, 60% of capacity) and 4×. Side by side in
// one run, each configuration with its own sidecar and workload:
//   defaults        --max-concurrent 1024, no queue: a guard, not a latency bound
//   limit C         --max-concurrent C
//   + queue Q       --max-concurrent C --max-queue Q, for Q = C/2 and Q = C
// Open loop: arrivals follow a fixed Poisson schedule (seeded) whatever the
// server does, and latency counts from the scheduled send time, so a slow
// server cannot slow the load down and hide its own latency (no coordinated
// omission). Admitted = answered 200; shed = 503 MESH_ERR_OVERLOADED. Rounds
// are interleaved so machine noise hits every configuration alike; counts are
// summed over rounds, p50/p99 are medians of each round's. The ratio columns compare each p99 with the same
// sidecar's p99 at 1× and with the default sidecar's: the issue's bar is
// p99 ≤ 2× normal at 4× load.
//
//   npm run bench:overload                  3 rounds × 6 s per phase (~3 min)
//   npm run bench:overload -- --rounds 1 --seconds 8 --capacity 8 --service-ms 20 --load 0.6 --burst 4

import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { numberArg } from './args.ts';
import { waitForPort } from './ports.ts';
import { seededUniform } from './synthetic-taps.ts';


// Child mode: the bounded workload.
if (process.argv[2] === '--serve-workload') {
  const [port, capacity, serviceMs] = process.argv.slice(3, 6).map(Number);
  let active = 0;
  const backlog: (() => void)[] = [];
  const done = () => { active--; const next = backlog.shift(); if (next) next(); };
  http.createServer((req, res) => {
    req.resume();
    const serve = () => { active++; setTimeout(() => { res.end('ok'); done(); }, serviceMs); };
    if (active < capacity) serve(); else backlog.push(serve);
  }).listen(port, '127.0.0.1');
} else {
  await main();
}

async function main() {
  const ROUNDS = numberArg('rounds', 3);
  const SECONDS = numberArg('seconds', 6);
  const CAPACITY = numberArg('capacity', 8);
  const SERVICE_MS = numberArg('service-ms', 20);
  const LOAD = numberArg('load', 0.6);
  const BURST = numberArg('burst', 4);
  const normalRps = (LOAD * CAPACITY * 1000) / SERVICE_MS;

  const { freePorts } = await import('../demo/index.ts');
  const children: ChildProcess[] = [];
  process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });
  const start = (args: string[]) => {
    const c = spawn(process.execPath, args, { stdio: ['pipe', 'ignore', 'inherit'] });
    children.push(c);
  };

  const configs = [
    { name: 'defaults (1024)', flags: [] as string[] },
    { name: `limit ${CAPACITY}`, flags: ['--max-concurrent', String(CAPACITY)] },
    { name: `limit ${CAPACITY} + queue ${CAPACITY / 2}`, flags: ['--max-concurrent', String(CAPACITY), '--max-queue', String(Math.floor(CAPACITY / 2))] },
    { name: `limit ${CAPACITY} + queue ${CAPACITY}`, flags: ['--max-concurrent', String(CAPACITY), '--max-queue', String(CAPACITY)] },
  ];
  const ports = await freePorts(configs.length * 2);
  const self = fileURLToPath(import.meta.url);
  const bin = fileURLToPath(new URL('../bin/meshlens.js', import.meta.url));
  const targets = configs.map((c, i) => {
    const [workload, sidecar] = [ports[2 * i], ports[2 * i + 1]];
    start(['--import', 'tsx', self, '--serve-workload', String(workload), String(CAPACITY), String(SERVICE_MS)]);
    start([bin, 'sidecar', '--service', 'bench', '--listen', `127.0.0.1:${sidecar}`, '--upstream', `127.0.0.1:${workload}`, '--no-taps', ...c.flags]);
    return { ...c, port: sidecar, workload };
  });
  for (const t of targets) { await waitForPort(t.workload); await waitForPort(t.port); }

  const agent = new http.Agent({ keepAlive: true, maxSockets: 8192 });
  interface Phase { offered: number; latencies: number[]; shed: number; other: number }

  /** Poisson arrivals at `rps` for `seconds`; resolves when every request has its answer. */
  async function load(port: number, rps: number, seconds: number, seed: number): Promise<Phase> {
    const rand = seededUniform(seed); // every configuration meets the same arrival schedule
    const phase: Phase = { offered: 0, latencies: [], shed: 0, other: 0 };
    const pending: Promise<void>[] = [];
    const t0 = performance.now();
    let next = t0;
    const end = t0 + seconds * 1000;
    while (next < end) {
      const now = performance.now();
      while (next <= now && next < end) {
        const scheduled = next;
        phase.offered++;
        pending.push(send(port).then((r) => {
          if (r === 200) phase.latencies.push(performance.now() - scheduled);
          else if (r === 'shed') phase.shed++;
          else phase.other++;
        }));
        next += -Math.log(1 - rand()) * (1000 / rps);
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(pending);
    return phase;
  }

  function send(port: number): Promise<number | 'shed' | 'error'> {
    return new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 503 && res.headers['x-meshlens-error'] === 'MESH_ERR_OVERLOADED' ? 'shed' : res.statusCode ?? 0));
        res.on('error', () => resolve('error'));
      });
      req.on('error', () => resolve('error'));
    });
  }

  const loads = [['1×', 1], [`${BURST}×`, BURST]] as const;
  const phases = new Map<string, Phase[]>();
  for (const t of targets) await load(t.port, normalRps, 1, 1); // warm-up: JIT, pools
  for (let round = 1; round <= ROUNDS; round++) {
    for (const t of targets) {
      for (const [label, factor] of loads) {
        const key = `${t.name}|${label}`;
        phases.set(key, [...(phases.get(key) ?? []), await load(t.port, normalRps * factor, SECONDS, 42 + round)]);
      }
    }
    process.stderr.write(`round ${round}/${ROUNDS} done\n`);
  }

  const pct = (xs: number[], p: number) => {
    if (xs.length === 0) return NaN;
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
  };
  const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
  const cell = (name: string, label: string) => {
    const ps = phases.get(`${name}|${label}`)!;
    const sum = (f: (p: Phase) => number) => ps.reduce((n, p) => n + f(p), 0);
    return {
      offered: sum((p) => p.offered), admitted: sum((p) => p.latencies.length), shed: sum((p) => p.shed) / sum((p) => p.offered), errors: sum((p) => p.other),
      p50: median(ps.map((p) => pct(p.latencies, 50))), p99: median(ps.map((p) => pct(p.latencies, 99))),
    };
  };
  const defaultP99 = cell(targets[0].name, '1×').p99;
  console.log(`\nbench:overload — workload: ${CAPACITY} at a time × ${SERVICE_MS} ms (capacity ${(CAPACITY * 1000 / SERVICE_MS).toFixed(0)} req/s), ` +
    `1× = ${normalRps.toFixed(0)} req/s (${(LOAD * 100).toFixed(0)}%), ${ROUNDS} rounds × ${SECONDS} s per phase, Poisson arrivals; ${new Date().toISOString()}`);
  console.log(`${'sidecar'.padEnd(22)}${'load'.padStart(5)}${'offered'.padStart(9)}${'admitted'.padStart(10)}${'shed'.padStart(8)}${'errors'.padStart(8)}` +
    `${'p50 ms'.padStart(9)}${'p99 ms'.padStart(10)}${'p99/own 1×'.padStart(12)}${'p99/default 1×'.padStart(16)}`);
  for (const t of targets) {
    const own = cell(t.name, '1×').p99;
    for (const [label] of loads) {
      const c = cell(t.name, label);
      console.log(`${t.name.padEnd(22)}${label.padStart(5)}${String(c.offered).padStart(9)}${String(c.admitted).padStart(10)}` +
        `${`${(100 * c.shed).toFixed(1)}%`.padStart(8)}${String(c.errors).padStart(8)}${c.p50.toFixed(1).padStart(9)}${c.p99.toFixed(1).padStart(10)}` +
        `${`${(c.p99 / own).toFixed(2)}×`.padStart(12)}${`${(c.p99 / defaultP99).toFixed(2)}×`.padStart(16)}`);
    }
  }
  console.log('\ncounts summed over rounds (shed = 503 MESH_ERR_OVERLOADED, errors = anything else); p50/p99: median of the rounds\' figures.');
  console.log('The machine is shared: compare ratios, not absolutes.');
  agent.destroy();
  process.exit(0);
}


