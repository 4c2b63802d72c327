import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeBatch } from '../../ingest/index.ts';
import { openSpoolDir } from './tap-spool-dir.ts';
import { startRecordingCollector } from './testing/recording-collector.ts';
import { cuttablePublisher, nextTurn, openTap, startSpooledTaps, tempStateDir } from './testing/spooled-emitters.ts';

/** Crashes a stream with `n` unsealed taps on disk (its publisher never answers); returns its spool file. */
async function crashedWith(dir: string, n: number, t: { after(fn: () => unknown): void }, o: { maxBytes?: number } = {}) {
  const a = startSpooledTaps(dir, cuttablePublisher(null), 'stream-a', { batchSize: 100_000, ...o });
  t.after(() => a.taps.close(0));
  for (let i = 0; i < n; i++) {
    a.taps.push(openTap(i));
    if (i % 100 === 99) await nextTurn();
  }
  await nextTurn();
  return { file: join(dir, 'spool', 'stream-a.spool'), a };
}

test('a torn last line (a crash mid-write) is dropped and counted: the old stream\'s next batch reports 1 lost, every whole tap arrives', async (t) => {
  const dir = tempStateDir();
  const collector = await startRecordingCollector();
  t.after(async () => { await collector.close(); dir.remove(); });
  const { file } = await crashedWith(dir.path, 5, t);
  appendFileSync(file, 'e{"v":1,"kind":"l4.op');

  const b = startSpooledTaps(dir.path, cuttablePublisher(collector.url), 'stream-b');
  await b.close();
  assert.deepEqual(collector.problems, []);
  assert.deepEqual(collector.batches.map((x) => [x.stream, x.first_seq, x.events.length, x.lost]), [['stream-a', 0, 3, 1], ['stream-a', 3, 2, 1]]);
  const st = b.recovery.stats();
  assert.deepEqual([st.lost_on_read, st.records_dropped, st.carried_lost], [1, 1, 0]);
  assert.ok(b.lines.some((l) => /torn last record 'e'/.test(l)), b.lines.join('\n'));
});

test('a frame torn mid-write was never sent: its taps are sealed again, into the same bytes, and nothing is counted lost', async (t) => {
  const dir = tempStateDir();
  const collector = await startRecordingCollector();
  t.after(async () => { await collector.close(); dir.remove(); });
  const first = cuttablePublisher(null);
  const a = startSpooledTaps(dir.path, first, 'stream-a', { batchSize: 3 });
  t.after(() => a.taps.close(0));
  for (let i = 0; i < 3; i++) a.taps.push(openTap(i)); // the third seals batch 0
  const file = join(dir.spool, 'stream-a.spool');
  const text = readFileSync(file);
  truncateSync(file, text.indexOf('\nf{') + 1 + 40 + 200);

  const b = startSpooledTaps(dir.path, cuttablePublisher(collector.url), 'stream-b');
  await b.close();
  assert.deepEqual(collector.problems, []);
  assert.deepEqual(collector.batches.map((x) => [x.batch, x.events.length, x.lost]), [[0, 3, 0]]);
  assert.equal(collector.batches[0].hash, decodeBatch(first.frames[0]).hash);
  assert.deepEqual([b.recovery.stats().lost_on_read, b.recovery.stats().records_dropped], [0, 1]);
});

test('a corrupt tap record inside the spool (a frame line the collector would refuse, or an older sidecar\'s object) is dropped and counted lost; the taps after it keep their order', async (t) => {
  const dir = tempStateDir();
  const collector = await startRecordingCollector();
  t.after(async () => { await collector.close(); dir.remove(); });
  const { file } = await crashedWith(dir.path, 5, t);
  const lines = readFileSync(file, 'utf8').split('\n');
  lines[2] = 'e{"v":1,"kind":"l4.open","ts":"not a number"}'; // the second tap, as an older sidecar's object
  assert.match(lines[4], /^l\["l4\.open",/);
  lines[4] = lines[4].replace(/^l\["l4\.open",\d+/, 'l["l4.open","not a number"'); // the fourth, as a line
  writeFileSync(file, lines.join('\n'));

  const b = startSpooledTaps(dir.path, cuttablePublisher(collector.url), 'stream-b', { batchSize: 10 });
  await b.close();
  assert.deepEqual(collector.problems, []);
  assert.deepEqual(collector.events().map((e) => [e.seq, e.conn_id]), [[0, 'c0'], [1, 'c2'], [2, 'c4']]);
  assert.equal(collector.batches[0].lost, 2);
});

test('a spool written before issue 15 (taps as JSON objects, `e` records) is still read after the upgrade: every tap arrives, the same', async (t) => {
  const dir = tempStateDir();
  const collector = await startRecordingCollector();
  t.after(async () => { await collector.close(); dir.remove(); });
  const { file } = await crashedWith(dir.path, 4, t);
  // The first two taps as the older sidecar wrote them; the other two as lines.
  const lines = readFileSync(file, 'utf8').split('\n');
  for (const i of [0, 1]) lines[1 + i] = `e${JSON.stringify(openTap(i))}`;
  writeFileSync(file, lines.join('\n'));

  const b = startSpooledTaps(dir.path, cuttablePublisher(collector.url), 'stream-b', { batchSize: 10 });
  await b.close();
  assert.deepEqual(collector.problems, []);
  assert.deepEqual(collector.events().map(({ proxy: _p, seq: _s, ...tap }) => tap), [0, 1, 2, 3].map((i) => openTap(i)));
  assert.equal(collector.batches[0].lost, 0);
});

test('a spool file that cannot be read at all does not stop the start: its event lines are counted lost in the new stream\'s first batch, and it is removed', async (t) => {
  const dir = tempStateDir();
  const collector = await startRecordingCollector();
  t.after(async () => { await collector.close(); dir.remove(); });
  mkdirSync(dir.spool, { recursive: true });
  const bad = join(dir.spool, 'garbage.spool');
  writeFileSync(bad, `not a checkpoint\ne${JSON.stringify(openTap(1))}\ne${JSON.stringify(openTap(2))}\n\x00\x01`);

  const b = startSpooledTaps(dir.path, cuttablePublisher(collector.url), 'stream-b');
  b.taps.push(openTap(9));
  await b.close();
  assert.deepEqual(collector.problems, []);
  assert.deepEqual(collector.batches.map((x) => [x.stream, x.events.length, x.lost]), [['stream-b', 1, 2]]);
  assert.equal(b.recovery.stats().carried_lost, 2);
  assert.equal(existsSync(bad), false);
  assert.ok(b.lines.some((l) => /garbage\.spool: unusable/.test(l)));
});

test('the spool is bounded: past half its max bytes taps are dropped and counted, the file stays under the bound, and after a crash the drops are reported as lost', async (t) => {
  const dir = tempStateDir();
  const collector = await startRecordingCollector();
  t.after(async () => { await collector.close(); dir.remove(); });
  const maxBytes = 64 * 1024;
  const { file, a } = await crashedWith(dir.path, 1_000, t, { maxBytes });
  const c = a.taps.counters();
  assert.ok(c.emitted > 50 && c.emitted < 1_000, `${c.emitted} taps fit`);
  assert.equal(c.dropped, 1_000 - c.emitted);
  assert.equal(c.spool!.full, c.dropped);
  assert.ok(c.spool!.unsent_bytes <= maxBytes / 2, `${c.spool!.unsent_bytes} bytes unsent`);
  assert.ok(statSync(file).size <= maxBytes, `${statSync(file).size} bytes`);

  const b = startSpooledTaps(dir.path, cuttablePublisher(collector.url), 'stream-b', { batchSize: 1_000 });
  await b.close();
  assert.deepEqual(collector.problems, []);
  assert.deepEqual(collector.batches.map((x) => [x.events.length, x.lost]), [[c.emitted, c.dropped]]);
});

test('one sidecar per state dir: the spool lock of a live process is refused, naming it; a dead owner\'s lock is taken over', () => {
  const dir = tempStateDir();
  try {
    mkdirSync(dir.spool, { recursive: true });
    writeFileSync(join(dir.spool, 'lock'), `${process.ppid}\n`);
    assert.throws(() => openSpoolDir(dir.path), new RegExp(`in use by process ${process.ppid}`));
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(join(dir.spool, 'lock'), `${gone}\n`);
    const d = openSpoolDir(dir.path);
    assert.equal(readFileSync(join(dir.spool, 'lock'), 'utf8'), `${process.pid}\n`);
    d.release();
    assert.equal(existsSync(join(dir.spool, 'lock')), false);
  } finally {
    dir.remove();
  }
});
