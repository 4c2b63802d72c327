// `npm run bench:demo-burst`: the demo mesh under a burst at 4× its load,
// with the sidecars' default admission limits and with the demo's own (a
// concurrency limit and a short queue at every sidecar), side by side in one
// run. For each: p50/p99 of the requests admitted (2xx/4xx answers from the
// shop) and the share shed (503 MESH_ERR_OVERLOADED), at 1× and at 4×.
//
//   npm run bench:demo-burst                      30 s per phase
//   npm run bench:demo-burst -- --seconds 20 --rps 100

import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { runControl, CONTROL_FLAGS } from '../cli/control.ts';
import { parseFlags } from '../cli/flags.ts';
import { demoControl } from '../cli/up.ts';
import { DEMO_SIDECAR_LIMITS, requestPath, startDemoMesh } from '../demo/index.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { numberArg } from './args.ts';

const SECONDS = numberArg('seconds', 30);
const RPS = numberArg('rps', 100);

interface Phase { rps: number; admitted: number[]; shed: number; failed: number; sent: number }

/** Open-loop load at `rps` for `seconds`; latency of every answer that is not a shed. */
async function phase(target: URL, rps: number, seconds: number): Promise<Phase> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2048 });
  const out: Phase = { rps, admitted: [], shed: 0, failed: 0, sent: 0 };
  const inflight = new Set<Promise<void>>();
  const started = Date.now();
  await new Promise<void>((done) => {
    const timer = setInterval(() => {
      const elapsed = Date.now() - started;
      if (elapsed >= seconds * 1000) { clearInterval(timer); done(); return; }
      const owed = Math.floor((elapsed / 1000) * rps) - out.sent;
      for (let i = 0; i < owed; i++) {
        out.sent++;
        const t0 = performance.now();
        const p = new Promise<void>((resolve) => {
          const req = http.request({ host: target.hostname, port: target.port, path: requestPath(Math.random), agent }, (res) => {
            res.resume();
            res.on('end', () => {
              if (res.headers['x-meshlens-error'] === 'MESH_ERR_OVERLOADED') out.shed++;
              else if ((res.statusCode ?? 0) >= 500) out.failed++;
              else out.admitted.push(performance.now() - t0);
              resolve();
            });
          });
          req.on('error', () => { out.failed++; resolve(); });
          req.end();
        }).then(() => { inflight.delete(p); });
        inflight.add(p);
      }
    }, 10);
  });
  await Promise.all(inflight);
  agent.destroy();
  return out;
}

const pct = (xs: number[], q: number) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN; };

async function run(label: string, sidecarFlags: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'meshlens-bench-burst-'));
  const f = parseFlags('control', '', ['--data-dir', dir, '--listen', '127.0.0.1:0', '--ui', '127.0.0.1:0', '--no-models'], CONTROL_FLAGS, {});
  const core = await runControl(f, () => {});
  const mesh = await startDemoMesh({
    control: demoControl(core),
    sidecarFlags, log: () => {},
  });
  try {
    const url = new URL(mesh.ingressUrl);
    await phase(url, RPS, 5); // warm-up
    const normal = await phase(url, RPS, SECONDS);
    const burst = await phase(url, RPS * 4, SECONDS);
    return { label, normal, burst };
  } finally {
    await mesh.close();
    await core.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const limits = DEMO_SIDECAR_LIMITS;
const results = [
  await run('sidecar defaults (1024, no queue)', ['--max-concurrent', '1024', '--max-queue', '0']),
  await run(`demo limits (${limits.join(' ')})`, [...limits]),
];
console.log(`\nbench:demo-burst — demo mesh, ${RPS} req/s then ${RPS * 4} req/s into web, ${SECONDS} s each, ${new Date().toISOString()}`);
console.log(`${'sidecars'.padEnd(44)}${'1× p50'.padStart(9)}${'1× p99'.padStart(9)}${'1× shed'.padStart(9)}${'4× p50'.padStart(10)}${'4× p99'.padStart(10)}${'4× shed'.padStart(9)}${'4×/1× p99'.padStart(11)}`);
for (const r of results) {
  const shed = (p: Phase) => `${((100 * p.shed) / Math.max(1, p.sent)).toFixed(1)}%`;
  const p99n = pct(r.normal.admitted, 0.99);
  const p99b = pct(r.burst.admitted, 0.99);
  console.log(`${r.label.padEnd(44)}${pct(r.normal.admitted, 0.5).toFixed(1).padStart(9)}${p99n.toFixed(1).padStart(9)}${shed(r.normal).padStart(9)}` +
    `${pct(r.burst.admitted, 0.5).toFixed(1).padStart(10)}${p99b.toFixed(1).padStart(10)}${shed(r.burst).padStart(9)}${(p99b / p99n).toFixed(2).padStart(10)}×`);
  if (r.normal.failed + r.burst.failed > 0) console.log(`  (${r.normal.failed + r.burst.failed} answers ≥ 500 other than sheds: the demo's injected errors and any others)`);
}
console.log('\nLatencies in ms, client side, of the requests the mesh admitted. The machine is shared: compare ratios.');
process.exit(0);
