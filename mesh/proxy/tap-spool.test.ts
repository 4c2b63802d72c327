import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeBatch } from '../../ingest/index.ts';
import { startRecordingCollector } from './testing/recording-collector.ts';
import { freePort } from './testing/servers.ts';
import { startSidecar } from './index.ts';
import { cuttablePublisher, nextTurn, openTap, startSpooledTaps, tempStateDir } from './testing/spooled-emitters.ts';

test('after a crash, the next start re-sends the frame in flight byte for byte and seals the unsealed taps into the same stream: every tap arrives once, chain intact', async (t) => {
  const dir = tempStateDir();
  const collector = await startRecordingCollector();
  t.after(async () => { await collector.close(); dir.remove(); });

  // Batch 0 is acknowledged; then the collector stops answering (batch 1 stays in flight) and the process dies.
  const first = cuttablePublisher(collector.url);
  const a = startSpooledTaps(dir.path, first, 'stream-a');
  t.after(() => a.taps.close(0)); // the "dead" emitter's timers, once the test is over
  for (let i = 0; i < 3; i++) a.taps.push(openTap(i));
  await a.taps.flush();
  first.cut();
  for (let i = 3; i < 11; i++) a.taps.push(openTap(i));
  await nextTurn();
  assert.deepEqual(collector.batches.map((b) => b.batch), [0]);
  const inFlight = first.frames.at(-1)!;
  assert.equal(decodeBatch(inFlight).batch, 1);

  const b = startSpooledTaps(dir.path, cuttablePublisher(collector.url), 'stream-b');
  await b.close();
  assert.deepEqual(collector.problems, [], 'no gap, no stale or altered batch');
  const old = collector.batches.filter((x) => x.stream === 'stream-a');
  assert.deepEqual(old.map((x) => [x.batch, x.first_seq, x.events.length]), [[0, 0, 3], [1, 3, 3], [2, 6, 3], [3, 9, 2]]);
  assert.equal(old[1].hash, decodeBatch(inFlight).hash, 'the frame in flight is re-sent as it was');
  assert.deepEqual(old.flatMap((x) => x.events.map((e) => [e.seq, e.conn_id])), Array.from({ length: 11 }, (_, i) => [i, `c${i}`]));
  assert.ok(old.every((x) => x.lost === 0 && x.proxy === 'cart-1'));
  assert.equal(collector.batches.filter((x) => x.stream === 'stream-b').length, 0, 'the new stream had nothing to send');
  const st = b.recovery.stats();
  assert.deepEqual([st.streams_found, st.frames_resent, st.taps_resealed, st.lost_on_read, st.records_dropped], [1, 1, 5, 0, 0]);
  assert.deepEqual(readdirSync(dir.spool), [], 'spools of delivered streams are deleted, and the lock released');
});

test('taps pushed in the last turn before a crash are the only ones a crash can take; every earlier turn is on disk', async (t) => {
  const dir = tempStateDir();
  const collector = await startRecordingCollector();
  t.after(async () => { await collector.close(); dir.remove(); });
  const a = startSpooledTaps(dir.path, cuttablePublisher(null), 'stream-a', { batchSize: 100 });
  t.after(() => a.taps.close(0));
  for (let i = 0; i < 5; i++) a.taps.push(openTap(i));
  await nextTurn();
  for (let i = 5; i < 7; i++) a.taps.push(openTap(i)); // the crash lands in this turn

  const b = startSpooledTaps(dir.path, cuttablePublisher(collector.url), 'stream-b');
  await b.close();
  assert.deepEqual(collector.problems, []);
  assert.deepEqual(collector.events().map((e) => e.conn_id), ['c0', 'c1', 'c2', 'c3', 'c4']);
});

test('close() with the collector away keeps the undelivered taps in the spool, counted spooled rather than abandoned or lost, and the next start delivers them', async (t) => {
  const dir = tempStateDir();
  const port = await freePort();
  t.after(() => dir.remove());
  const a = startSpooledTaps(dir.path, cuttablePublisher(`http://127.0.0.1:${port}`), 'stream-a', { batchSize: 4, lingerMs: 5 });
  for (let i = 0; i < 10; i++) a.taps.push(openTap(i));
  await a.close(200);
  const c = a.taps.counters();
  assert.deepEqual([c.spooled, c.abandoned, c.acked, c.lost_by_kind], [10, 0, 0, {}]);
  assert.ok(existsSync(join(dir.spool, 'stream-a.spool')));

  const collector = await startRecordingCollector(port);
  t.after(() => collector.close());
  const b = startSpooledTaps(dir.path, cuttablePublisher(collector.url), 'stream-b', { batchSize: 4 });
  await b.close();
  assert.deepEqual(collector.problems, []);
  assert.deepEqual(collector.events().map((e) => [e.seq, e.conn_id]), Array.from({ length: 10 }, (_, i) => [i, `c${i}`]));
  assert.deepEqual(readdirSync(dir.spool), []);
});

test('while taps flow and are acknowledged, compaction keeps the spool file small, and a crash after it re-sends nothing already acknowledged', async (t) => {
  const dir = tempStateDir();
  const collector = await startRecordingCollector();
  t.after(async () => { await collector.close(); dir.remove(); });
  const first = cuttablePublisher(collector.url);
  const a = startSpooledTaps(dir.path, first, 'stream-a', { batchSize: 20, compactBytes: 16 * 1024, lingerMs: 1 });
  t.after(() => a.taps.close(0));
  for (let turn = 0; turn < 50; turn++) {
    for (let i = 0; i < 20; i++) a.taps.push(openTap(turn * 20 + i));
    await a.taps.flush();
  }
  const s = a.taps.counters().spool!;
  assert.ok(s.compactions >= 5, `compacted ${s.compactions} times`);
  assert.ok(statSync(join(dir.spool, 'stream-a.spool')).size < 32 * 1024, 'the file holds little more than what is unsent');
  first.cut();
  for (let i = 1000; i < 1030; i++) a.taps.push(openTap(i));
  await nextTurn();

  const b = startSpooledTaps(dir.path, cuttablePublisher(collector.url), 'stream-b', { batchSize: 20 });
  await b.close();
  assert.deepEqual(collector.problems, [], 'no acknowledged batch was sent again (the collector refuses a stale one)');
  assert.deepEqual(collector.events().map((e) => e.seq), Array.from({ length: 1030 }, (_, i) => i));
});

test('a sidecar started with stateDir delivers the stream a crashed process left in its spool, then spools its own', async (t) => {
  const dir = tempStateDir();
  const collector = await startRecordingCollector();
  t.after(async () => { await collector.close(); dir.remove(); });
  const a = startSpooledTaps(dir.path, cuttablePublisher(null), 'stream-a', { batchSize: 100 });
  t.after(() => a.taps.close(0));
  for (let i = 0; i < 4; i++) a.taps.push(openTap(i));
  await nextTurn();

  const sidecar = await startSidecar({
    id: 'cart-1', service: 'cart', collectorUrl: collector.url, stateDir: dir.path,
    outbound: { host: '127.0.0.1', port: 0 }, closeGraceMs: 200, taps: { lingerMs: 10 },
  });
  try {
    await sidecar.taps.flush();
    while (collector.events().length < 4) await new Promise((r) => setTimeout(r, 10));
    const st = sidecar.stats();
    assert.deepEqual([st.tap_recovery?.streams_found, st.tap_recovery?.taps_resealed], [1, 4]);
    assert.ok(st.taps.spool, 'the new stream spools too');
    assert.ok(existsSync(join(dir.spool, `${st.stream}.spool`)));
  } finally {
    await sidecar.close();
  }
  assert.deepEqual(collector.problems, []);
  assert.deepEqual(collector.events().map((e) => [e.proxy, e.seq, e.conn_id]), [0, 1, 2, 3].map((i) => ['cart-1', i, `c${i}`]));
  assert.deepEqual(readdirSync(dir.spool), [], 'all delivered: no spool and no lock left');
});
