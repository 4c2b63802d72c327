// npm run bench:frames [-- --taps N --rounds N]
//
// What a batch frame costs the sidecar that writes it and the collector that
// reads it, for the frame schemas sidecars write: 3 (one JSON array per
// tap) and 4 (3 signed with the sidecar's SVID key, see ingest/batch.ts),
// beside 2 (one JSON object per tap, before 3), on the same synthetic taps
// as bench:ingest, in one process, rounds interleaved.
// CPU µs per tap (process CPU, so zlib's thread pool is not hidden), medians.
//   seal     stringify every event and SHA-256 the frame (sealFrame); 4: and sign the hash
//   gzip     what kafkajs sends: 6 frames per produce request, level 3
//   decode   the collector's check and decode into TSV rows (decodeRowBatch);
//            4: and verify the signature (certificate already believed)
// Then the signature alone, per batch and per tap at a few batch sizes
// (sidecars seal up to 1000 taps per batch, or what 100 ms of linger
// gathered: ~10-20 in the demo mesh), and a certificate's first batch,
// which walks its chain to the trust bundle once.

import zlib from 'node:zlib';
import { CertificateAuthority, newKeyAndCsr } from '../identity/index.ts';
import {
  BatchSigner, BatchVerifier, decodeBatch, decodeRowBatch, encodeTapRows, LineChunks, sealFrame, TAPS_GZIP_LEVEL, type FrameHead, type TapBatch,
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
const ca = await CertificateAuthority.open({ dir: null, trustDomain: 'bench.local' });
const batches: TapBatch[] = [...producerFrames(0, taps, 1000, 16)].map(({ frame }) => decodeBatch(frame));
// One signer per synthetic sidecar: the header's proxy must be the certificate's CN, and each tap's own side its service (p<producer>-<service>-<index>).
const signers = new Map<string, BatchSigner>();
for (const proxy of new Set(batches.map((b) => b.proxy))) {
  const { keyPem, csrPem } = await newKeyAndCsr(proxy);
  signers.set(proxy, new BatchSigner(keyPem, (await ca.sign({ csrPem, service: proxy.split('-')[1], proxy })).chainPem));
}
const verifier = new BatchVerifier(ca.bundle);
const admit = (f: FrameHead) => verifier.verify(f);

const cpu = (f: () => void) => { const t = process.cpuUsage(); f(); const c = process.cpuUsage(t); return c.user + c.system; };
const cpuPerTap = (f: () => void) => cpu(f) / taps;
type Schema = '2' | '3' | '4';
const SCHEMAS: Schema[] = ['2', '3', '4'];
const seal = (b: TapBatch, s: Schema) => (s === '2' ? sealFrame(b, 2) : sealFrame(b, 3, s === '4' ? signers.get(b.proxy) : null)).frame;
const figures = new Map<string, number[]>();
const put = (k: string, v: number) => { if (!figures.has(k)) figures.set(k, []); figures.get(k)!.push(v); };
let same = true;
for (let r = 0; r < rounds; r++) {
  for (const schema of r % 2 ? [...SCHEMAS].reverse() : SCHEMAS) {
    let frames: Buffer[] = [];
    put(`seal ${schema}`, cpuPerTap(() => { frames = batches.map((b) => seal(b, schema)); }));
    put(`bytes ${schema}`, frames.reduce((n, f) => n + f.length, 0) / taps);
    put(`gzip ${schema}`, cpuPerTap(() => { for (let i = 0; i < frames.length; i += 6) zlib.gzipSync(Buffer.concat(frames.slice(i, i + 6)), { level: TAPS_GZIP_LEVEL }); }));
    put(`decode ${schema}`, cpuPerTap(() => { const w = new LineChunks(1 << 20); for (const f of frames) decodeRowBatch(f, w, schema === '4' ? admit : undefined); }));
    // Checked outside the clock, once: keeping every row alive while timing would time the GC too.
    if (r === 0) {
      const w = new LineChunks(1 << 20);
      same &&= Buffer.concat(frames.flatMap((f) => decodeRowBatch(f, w, schema === '4' ? admit : undefined).rows)).equals(Buffer.concat(encodeTapRows(batches)));
    }
  }
}

// The signature alone, per batch: sign a hash, verify it (certificate cached),
// and a certificate's first batch (chain walk + verify, a fresh verifier each time).
const signed = batches.slice(0, 100).map((b) => seal(b, '4'));
const heads: FrameHead[] = signed.map((f) => {
  const { events: _e, ...header } = decodeBatch(f);
  return { header, label: `batch ${header.batch}` };
});
const perCall = (n: number, f: (i: number) => void) => cpu(() => { for (let i = 0; i < n; i++) f(i); }) / n;
for (let r = 0; r < rounds; r++) {
  put('sign', perCall(2000, (i) => { const h = heads[i % heads.length].header; signers.get(h.proxy)!.sign(h.hash); }));
  put('verify', perCall(2000, (i) => verifier.verify(heads[i % heads.length])));
  put('first', perCall(200, (i) => new BatchVerifier(ca.bundle).verify(heads[i % heads.length])));
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const m = (k: string) => median(figures.get(k)!);
console.log(`meshlens frame bench, ${new Date().toISOString()}, node ${process.version}, ${taps} taps in batches of 1000, ${rounds} rounds (medians)`);
console.log('| per tap | schema 2 (objects) | schema 3 (arrays) | schema 4 (3, signed) | 3 / 2 | 4 / 3 |');
console.log('|---|---|---|---|---|---|');
for (const [k, label, digits] of [['bytes', 'frame bytes', 0], ['seal', 'seal, CPU µs', 2], ['gzip', 'gzip, CPU µs', 2], ['decode', 'decode to rows (4: and verify), CPU µs', 2]] as const) {
  const [a, b, c] = SCHEMAS.map((s) => m(`${k} ${s}`));
  console.log(`| ${label} | ${a.toFixed(digits)} | ${b.toFixed(digits)} | ${c.toFixed(digits)} | ${(b / a).toFixed(2)} | ${(c / b).toFixed(3)} |`);
}
console.log('');
console.log('| signature (ECDSA P-256, SHA-256) | CPU µs per batch | per tap, 1000 taps/batch | per tap, 100/batch | per tap, 10/batch |');
console.log('|---|---|---|---|---|');
for (const [k, label] of [['sign', 'sign (sidecar, at seal time)'], ['verify', 'verify (collector, certificate cached)'], ['first', "a certificate's first batch (chain walk + verify)"]] as const) {
  const v = m(k);
  console.log(`| ${label} | ${v.toFixed(1)} | ${(v / 1000).toFixed(3)} | ${(v / 100).toFixed(2)} | ${(v / 10).toFixed(1)} |`);
}
console.log(same ? 'every schema decodes to the rows encodeTapRows writes for the same taps' : 'MISMATCH: decoded rows differ from encodeTapRows');
if (!same) process.exitCode = 1;
