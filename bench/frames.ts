// npm run bench:frames [-- --taps N --rounds N]
//
// What a batch frame costs the sidecar that writes it and the collector that
// reads it, for the frame schema sidecars write (3: one JSON array per tap)
// beside the one before it (2: one JSON object per tap), on the same
// synthetic taps as bench:ingest, in one process, rounds interleaved.
// CPU µs per tap (process CPU, so zlib's thread pool is not hidden), medians.
//   seal     stringify every event and SHA-256 the frame (sealFrame)
//   gzip     what kafkajs sends: 6 frames per produce request, level 3
//   decode   the collector's check and decode into TSV rows (decodeRowBatch)

import zlib from 'node:zlib';
import {
  decodeBatch, decodeRowBatch, encodeTapRows, LineChunks, sealFrame, TAPS_GZIP_LEVEL, type BatchSchema, type TapBatch,
} from '../ingest/index.ts';
import { producerFrames } from './synthetic-taps.ts';

function parseFlags(argv: string[]): { taps: number; rounds: number } {
  const f = { taps: 100_000, rounds: 7 };
  for (let i = 0; i < argv.length; i++) {
    const v = Number(argv[i + 1]);
    if (argv[i] === '--taps' && Number.isInteger(v) && v >= 1000) { f.taps = v; i++; }
    else if (argv[i] === '--rounds' && Number.isInteger(v) && v >= 1) { f.rounds = v; i++; }
    else { console.error(`bench:frames: unknown flag or bad value at ${argv[i]} (flags: --taps N >= 1000, --rounds N >= 1)`); process.exit(2); }
  }
  return f;
}

const { taps, rounds } = parseFlags(process.argv.slice(2));
const batches: TapBatch[] = [...producerFrames(0, taps, 1000, 16)].map(({ frame }) => decodeBatch(frame));
const cpuPerTap = (f: () => void) => { const t = process.cpuUsage(); f(); const c = process.cpuUsage(t); return (c.user + c.system) / taps; };
const SCHEMAS: BatchSchema[] = [2, 3];
const figures = new Map<string, number[]>();
const put = (k: string, v: number) => { if (!figures.has(k)) figures.set(k, []); figures.get(k)!.push(v); };
let same = true;
for (let r = 0; r < rounds; r++) {
  for (const schema of r % 2 ? [...SCHEMAS].reverse() : SCHEMAS) {
    let frames: Buffer[] = [];
    put(`seal ${schema}`, cpuPerTap(() => { frames = batches.map((b) => sealFrame(b, schema).frame); }));
    put(`bytes ${schema}`, frames.reduce((n, f) => n + f.length, 0) / taps);
    put(`gzip ${schema}`, cpuPerTap(() => { for (let i = 0; i < frames.length; i += 6) zlib.gzipSync(Buffer.concat(frames.slice(i, i + 6)), { level: TAPS_GZIP_LEVEL }); }));
    put(`decode ${schema}`, cpuPerTap(() => { const w = new LineChunks(1 << 20); for (const f of frames) decodeRowBatch(f, w); }));
    // Checked outside the clock, once: keeping every row alive while timing would time the GC too.
    if (r === 0) {
      const w = new LineChunks(1 << 20);
      same &&= Buffer.concat(frames.flatMap((f) => decodeRowBatch(f, w).rows)).equals(Buffer.concat(encodeTapRows(batches)));
    }
  }
}
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const m = (k: string) => median(figures.get(k)!);
console.log(`meshlens frame bench, ${new Date().toISOString()}, node ${process.version}, ${taps} taps in batches of 1000, ${rounds} rounds (medians)`);
console.log('| per tap | schema 2 (objects) | schema 3 (arrays) | 3 / 2 |');
console.log('|---|---|---|---|');
for (const [k, label, digits] of [['bytes', 'frame bytes', 0], ['seal', 'seal, CPU µs', 2], ['gzip', 'gzip, CPU µs', 2], ['decode', 'decode to rows, CPU µs', 2]] as const) {
  console.log(`| ${label} | ${m(`${k} 2`).toFixed(digits)} | ${m(`${k} 3`).toFixed(digits)} | ${(m(`${k} 3`) / m(`${k} 2`)).toFixed(2)} |`);
}
console.log(same ? 'both schemas decode to the rows encodeTapRows writes for the same taps' : 'MISMATCH: decoded rows differ from encodeTapRows');
if (!same) process.exitCode = 1;
