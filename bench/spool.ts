// npm run bench:spool [-- --taps N --rounds N]
//
// What the on-disk tap spool (mesh/proxy/tap-spool.ts, `--state-dir`) costs
// the sidecar per tap: the TapEmitter pushing the bench's synthetic taps
// (bench/synthetic-taps.ts, ~80% l7.request) in event-loop turns of a few
// taps (a quiet sidecar: about one request's taps per turn) and of many (a
// busy one), to a publisher that acknowledges at once, so the figure is the
// emitter's own work: numbering, sealing (stringify + SHA-256), and with
// the spool also each tap's event line, one write() per turn, the frame
// written again at sealing, and compaction. Same process, same taps, modes
// interleaved per round; medians.
//   memory        no spool (no --state-dir): what a sidecar did before
//   spool         fdatasync at most every 1 s (the default)
//   spool, sync   fdatasync after every write (--tap-spool-fsync-ms 0)
// Figures are process CPU µs per tap and wall µs per tap (wall includes
// waiting for the disk, which CPU time does not).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TapPublisher } from '../ingest/index.ts';
import { TapEmitter, type TapInput } from '../mesh/proxy/index.ts';
import { syntheticStream } from './synthetic-taps.ts';

function parseFlags(argv: string[]): { taps: number; rounds: number } {
  const f = { taps: 60_000, rounds: 5 };
  for (let i = 0; i < argv.length; i++) {
    const v = Number(argv[i + 1]);
    if (argv[i] === '--taps' && Number.isInteger(v) && v >= 1000) { f.taps = v; i++; }
    else if (argv[i] === '--rounds' && Number.isInteger(v) && v >= 1) { f.rounds = v; i++; }
    else { console.error(`bench:spool: unknown flag or bad value at ${argv[i]} (flags: --taps N >= 1000, --rounds N >= 1)`); process.exit(2); }
  }
  return f;
}

const { taps, rounds } = parseFlags(process.argv.slice(2));
const inputs: TapInput[] = syntheticStream(0, 0).next(taps).events.map(({ proxy: _p, seq: _s, ...t }) => t as TapInput);
const acking: TapPublisher = { publish: async () => ({ ok: true, duplicate: false }), close: async () => {}, maxFrameBytes: 4 * 1024 * 1024 };
const turn = () => new Promise((r) => setImmediate(r));

type Mode = 'memory' | 'spool' | 'spool, sync';
const MODES: Mode[] = ['memory', 'spool', 'spool, sync'];
const TURNS = [3, 50];

async function run(mode: Mode, perTurn: number): Promise<{ cpu: number; wall: number; written: number; compactions: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'meshlens-bench-spool-'));
  const emitter = new TapEmitter({
    proxy: 'bench-1', stream: `bench-${mode.replace(/\W+/g, '-')}`, publisher: acking,
    bufferSize: 100_000, batchSize: 1_000, lingerMs: 100, retryInitialMs: 50, retryMaxMs: 5_000,
    spool: mode === 'memory' ? undefined : { dir, maxBytes: 64 * 1024 * 1024, fsyncMs: mode === 'spool' ? 1_000 : 0 },
  });
  const t0 = process.cpuUsage();
  const w0 = performance.now();
  for (let i = 0; i < taps; i += perTurn) {
    for (let j = i; j < Math.min(i + perTurn, taps); j++) emitter.push(inputs[j]);
    await turn();
  }
  await emitter.flush();
  const wall = (performance.now() - w0) * 1000 / taps;
  const c = process.cpuUsage(t0);
  const s = emitter.counters().spool;
  await emitter.close();
  rmSync(dir, { recursive: true, force: true });
  if (emitter.counters().acked !== taps) throw new Error(`${mode}: ${emitter.counters().acked} of ${taps} taps acknowledged`);
  return { cpu: (c.user + c.system) / taps, wall, written: (s?.written_bytes ?? 0) / taps, compactions: s?.compactions ?? 0 };
}

const figures = new Map<string, number[]>();
const put = (k: string, v: number) => { if (!figures.has(k)) figures.set(k, []); figures.get(k)!.push(v); };
const written = new Map<string, { bytes: number; compactions: number }>();
for (let r = 0; r < rounds; r++) {
  for (const perTurn of TURNS) {
    for (const mode of r % 2 ? [...MODES].reverse() : MODES) {
      const x = await run(mode, perTurn);
      put(`cpu ${mode} ${perTurn}`, x.cpu);
      put(`wall ${mode} ${perTurn}`, x.wall);
      written.set(`${mode} ${perTurn}`, { bytes: x.written, compactions: x.compactions });
    }
  }
}
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const m = (k: string) => median(figures.get(k)!);
console.log(`meshlens spool bench, ${new Date().toISOString()}, node ${process.version}, ${taps} taps, batches of 1000, ${rounds} rounds (medians), spool in ${tmpdir()}`);
console.log('| taps per turn | per tap | memory | spool (fsync 1 s) | spool / memory | spool, fsync every write | / memory |');
console.log('|---|---|---|---|---|---|---|');
for (const perTurn of TURNS) {
  for (const what of ['cpu', 'wall'] as const) {
    const mem = m(`${what} memory ${perTurn}`);
    const sp = m(`${what} spool ${perTurn}`);
    const sy = m(`${what} spool, sync ${perTurn}`);
    console.log(`| ${perTurn} | ${what === 'cpu' ? 'CPU' : 'wall'} µs | ${mem.toFixed(2)} | ${sp.toFixed(2)} | ${(sp / mem).toFixed(2)} | ${sy.toFixed(2)} | ${(sy / mem).toFixed(2)} |`);
  }
}
for (const t of TURNS) {
  const w = written.get(`spool ${t}`)!;
  console.log(`spool, ${t} taps per turn: ${w.bytes.toFixed(0)} bytes written per tap (event line, frame, compactions), ${w.compactions} compactions per ${taps} taps`);
}
