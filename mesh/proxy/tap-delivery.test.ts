import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EmbeddedPublisher, GENESIS_HASH, type BatchSigner } from '../../ingest/index.ts';
import { sampleCa, sampleSidecar } from '../../ingest/sample-svids.ts';
import { TapEmitter, type TapInput } from './taps.ts';
import { startRecordingCollector } from './testing/recording-collector.ts';
import { freePort } from './testing/servers.ts';

const open = (i: number): TapInput => ({
  v: 1, kind: 'l4.open', ts: 1_700_000_000_000 + i, direction: 'inbound', conn_id: `c${i}`,
  src_service: 'web', src_instance: 'web-1', src_addr: '127.0.0.1', src_port: 40000,
  dst_service: 'cart', dst_instance: 'cart-1', dst_addr: '127.0.0.1', dst_port: 8080,
});

function emitter(url: string, o: Partial<{ bufferSize: number; batchSize: number; maxBatchSize: number; lingerMs: number; maxFrameBytes: number }> = {}) {
  return new TapEmitter({
    proxy: 'cart-1', stream: 'test-stream', publisher: new EmbeddedPublisher(url, { timeoutMs: 2_000, maxFrameBytes: o.maxFrameBytes }),
    bufferSize: o.bufferSize ?? 1_000, batchSize: o.batchSize ?? 3, maxBatchSize: o.maxBatchSize, lingerMs: o.lingerMs ?? 10_000,
    retryInitialMs: 10, retryMaxMs: 50,
  });
}

test('ships batches with contiguous seqs and a valid hash chain from genesis', async (t) => {
  const collector = await startRecordingCollector();
  const taps = emitter(collector.url, { maxBatchSize: 3 });
  t.after(async () => { await taps.close(); await collector.close(); });
  for (let i = 0; i < 10; i++) taps.push(open(i));
  await taps.flush();
  assert.deepEqual(collector.problems, []);
  assert.deepEqual(collector.batches.map((b) => [b.batch, b.first_seq, b.events.length]), [[0, 0, 3], [1, 3, 3], [2, 6, 3], [3, 9, 1]]);
  assert.equal(collector.batches[0].prev_hash, GENESIS_HASH);
  for (let i = 1; i < collector.batches.length; i++) assert.equal(collector.batches[i].prev_hash, collector.batches[i - 1].hash);
  assert.deepEqual(collector.events().map((e) => e.seq), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.ok(collector.events().every((e) => e.proxy === 'cart-1'));
  const c = taps.counters();
  assert.deepEqual([c.emitted, c.acked, c.dropped, c.batches_sent, c.buffered], [10, 10, 0, 4, 0]);
});

test('buffers taps while the collector is down and delivers all of them, resending the same sealed batch, when it returns', async (t) => {
  const port = await freePort();
  const taps = emitter(`http://127.0.0.1:${port}`, { batchSize: 10, maxBatchSize: 10, lingerMs: 5 });
  for (let i = 0; i < 50; i++) taps.push(open(i));
  // Wait until at least one send has failed, so the retry path is the one under test.
  while (taps.counters().retries === 0) await new Promise((r) => setTimeout(r, 5));
  const collector = await startRecordingCollector(port);
  t.after(async () => { await taps.close(); await collector.close(); });
  await taps.flush();
  assert.deepEqual(collector.problems, []);
  assert.deepEqual(collector.events().map((e) => e.seq), Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(collector.batches.map((b) => b.batch), [0, 1, 2, 3, 4]);
  const c = taps.counters();
  assert.equal(c.acked, 50);
  assert.equal(c.dropped, 0);
  assert.equal(c.batches_sent, 5, 'a retry resends the sealed batch, it does not seal a new one');
  assert.ok(c.retries >= 1);
});

test('behind a backlog a batch takes up to maxBatchSize taps, so a stream with one batch in flight keeps up', async (t) => {
  const collector = await startRecordingCollector();
  const taps = emitter(collector.url, { batchSize: 3, maxBatchSize: 5 });
  t.after(async () => { await taps.close(); await collector.close(); });
  // The first 3 go at once; the other 9 wait for them, then go as 5 and 4 (4 > batchSize: still a backlog).
  for (let i = 0; i < 12; i++) taps.push(open(i));
  await taps.flush();
  assert.deepEqual(collector.problems, []);
  assert.deepEqual(collector.batches.map((b) => [b.batch, b.first_seq, b.events.length]), [[0, 0, 3], [1, 3, 5], [2, 8, 4]]);
  assert.deepEqual(collector.events().map((e) => e.seq), Array.from({ length: 12 }, (_, i) => i));
});

test('a batch never outgrows the publisher\'s frame bound: a backlog is cut into frames that fit, every tap arrives once', async (t) => {
  const collector = await startRecordingCollector();
  // 16 KiB is kept for the header, hash and signature lines; about 2 KB is left for event lines (~230 bytes each).
  const maxFrameBytes = 16 * 1024 + 2048;
  const frames: number[] = [];
  const taps = new TapEmitter({
    proxy: 'cart-1', stream: 'test-stream', bufferSize: 1_000, batchSize: 3, maxBatchSize: 1_000, lingerMs: 10_000, retryInitialMs: 10, retryMaxMs: 50,
    publisher: (() => {
      const real = new EmbeddedPublisher(collector.url, { timeoutMs: 2_000, maxFrameBytes });
      return { maxFrameBytes, close: () => real.close(), publish: (b, f) => { frames.push(f!.length); return real.publish(b, f); } };
    })(),
  });
  t.after(async () => { await taps.close(); await collector.close(); });
  for (let i = 0; i < 100; i++) taps.push(open(i));
  await taps.flush();
  assert.deepEqual(collector.problems, []);
  assert.deepEqual(collector.events().map((e) => e.seq), Array.from({ length: 100 }, (_, i) => i));
  assert.ok(frames.every((n) => n <= maxFrameBytes), `frames of ${frames.join(', ')} bytes`);
  // Between the first (batchSize, sent at once) and the last (what was left): batches bigger than batchSize, cut by bytes.
  const middle = collector.batches.slice(1, -1).map((b) => b.events.length);
  assert.ok(middle.length >= 3 && middle.every((n) => n > 3 && n < 100), `batches of ${collector.batches.map((b) => b.events.length).join(', ')} taps`);
});

test('with a buffer of 5 and the collector down, drops and counts exactly the 15 taps that do not fit and reports them as lost', async (t) => {
  const port = await freePort();
  const taps = emitter(`http://127.0.0.1:${port}`, { bufferSize: 5, batchSize: 100 });
  for (let i = 0; i < 20; i++) taps.push(open(i));
  assert.equal(taps.counters().dropped, 15);
  assert.equal(taps.counters().buffered, 5);
  const collector = await startRecordingCollector(port);
  t.after(async () => { await taps.close(); await collector.close(); });
  await taps.flush();
  assert.deepEqual(collector.problems, []);
  assert.equal(collector.batches.length, 1);
  assert.deepEqual(collector.events().map((e) => e.seq), [0, 1, 2, 3, 4]);
  assert.equal(collector.batches[0].lost, 15);
  assert.deepEqual([taps.counters().emitted, taps.counters().acked, taps.counters().dropped], [5, 5, 15]);
  assert.deepEqual(taps.counters().lost_by_kind, { 'l4.open': 15 });
});

test('counts a batch rejected for good as lost; the next batch continues the stored chain, reusing its batch number and seqs', async (t) => {
  const collector = await startRecordingCollector();
  const taps = emitter(collector.url, { batchSize: 100 });
  t.after(async () => { await taps.close(); await collector.close(); });
  collector.refuseNext(1, 400);
  for (let i = 0; i < 3; i++) taps.push(open(i));
  await taps.flush();
  assert.equal(taps.counters().rejected, 3);
  for (let i = 3; i < 5; i++) taps.push(open(i));
  await taps.flush();
  assert.deepEqual(collector.problems, []);
  assert.equal(collector.batches.length, 1);
  const [b] = collector.batches;
  assert.deepEqual([b.batch, b.first_seq, b.lost, b.prev_hash], [0, 0, 3, GENESIS_HASH]);
  assert.deepEqual([taps.counters().acked, taps.counters().rejected, taps.counters().batches_sent], [2, 3, 2]);
  assert.deepEqual(taps.counters().lost_by_kind, { 'l4.open': 3 });
  assert.match(taps.counters().last_error, /tap batch 0 from cart-1 rejected: INGEST_ERR_TEST_REJECT/);
});

test('close() gives up at its deadline and counts the undelivered taps as abandoned', async () => {
  const port = await freePort();
  const taps = emitter(`http://127.0.0.1:${port}`, { batchSize: 100 });
  for (let i = 0; i < 4; i++) taps.push(open(i));
  await taps.close(100);
  assert.equal(taps.counters().abandoned, 4);
  assert.equal(taps.counters().acked, 0);
  assert.deepEqual(taps.counters().lost_by_kind, { 'l4.open': 4 });
});

test('flush() resends a batch waiting out a long retry backoff at once, so shutdown does not sit out the backoff', { timeout: 10_000 }, async (t) => {
  const port = await freePort();
  const taps = new TapEmitter({
    proxy: 'cart-1', stream: 'test-stream', publisher: new EmbeddedPublisher(`http://127.0.0.1:${port}`, { timeoutMs: 2_000 }),
    bufferSize: 100, batchSize: 5, lingerMs: 5, retryInitialMs: 60_000, retryMaxMs: 60_000,
  });
  for (let i = 0; i < 5; i++) taps.push(open(i));
  while (taps.counters().retries === 0) await new Promise((r) => setTimeout(r, 5));
  const collector = await startRecordingCollector(port);
  t.after(async () => { await taps.close(); await collector.close(); });
  // The next retry is a minute away; the test's own timeout is far shorter.
  await taps.flush();
  assert.deepEqual(collector.events().map((e) => e.seq), [0, 1, 2, 3, 4]);
  assert.equal(taps.counters().acked, 5);
});

test('close() also delivers taps pushed while it is flushing, instead of discarding them uncounted', { timeout: 10_000 }, async (t) => {
  const collector = await startRecordingCollector();
  t.after(() => collector.close());
  const taps = emitter(collector.url, { batchSize: 2, lingerMs: 5 });
  for (let i = 0; i < 5; i++) taps.push(open(i));
  const closing = taps.close(5_000);
  for (let i = 5; i < 8; i++) taps.push(open(i)); // as a closing listener's l4.close taps do
  await closing;
  assert.deepEqual(collector.events().map((e) => e.seq), [0, 1, 2, 3, 4, 5, 6, 7]);
  const c = taps.counters();
  assert.deepEqual([c.emitted, c.acked, c.abandoned, c.dropped], [8, 8, 0, 0]);
});

test('a batch too big to seal at once is sealed in steps between requests, and arrives whole: same seqs, one valid chain', async (t) => {
  const collector = await startRecordingCollector();
  const taps = emitter(collector.url, { bufferSize: 10_000, batchSize: 1_000, maxBatchSize: 5_000, lingerMs: 5 });
  t.after(async () => { await taps.close(); await collector.close(); });
  // 1,000 go at once; the next 4,500 wait for them and then go as one batch, sealed 1,000 lines per event-loop turn.
  for (let i = 0; i < 5_500; i++) taps.push(open(i));
  const turn = () => new Promise((r) => setImmediate(r));
  while (taps.counters().acked < 1_000) await turn();
  // The first batch's answer started the second's sealing in the same turn; sealed at once, it would be sent by now.
  assert.equal(taps.counters().batches_sent, 1, 'the 4,500-tap batch is still being sealed');
  let turns = 0;
  for (; taps.counters().batches_sent < 2; turns++) await turn();
  await taps.flush();
  assert.deepEqual(collector.problems, []);
  assert.deepEqual(collector.batches.map((b) => [b.batch, b.first_seq, b.events.length]), [[0, 0, 1_000], [1, 1_000, 4_500]]);
  assert.deepEqual(collector.events().map((e) => e.conn_id), Array.from({ length: 5_500 }, (_, i) => `c${i}`));
  assert.ok(turns >= 3, `sealed over ${turns} more turns`);
});

test('a signer that fails leaves the taps queued and reports it; the batch is sealed once it signs again, nothing lost', async (t) => {
  const collector = await startRecordingCollector();
  let fail = 1;
  const ca = await sampleCa();
  const real = (await sampleSidecar(ca, 'cart', 'cart-1')).signer;
  const signer = { sign: (hash: string) => { if (fail-- > 0) throw new Error('the key is gone'); return real.sign(hash); } } as unknown as BatchSigner;
  const taps = new TapEmitter({
    proxy: 'cart-1', stream: 'test-stream', publisher: new EmbeddedPublisher(collector.url, { timeoutMs: 2_000 }),
    bufferSize: 100, batchSize: 3, lingerMs: 10_000, retryInitialMs: 10, retryMaxMs: 20, signer: () => signer,
  });
  t.after(async () => { await taps.close(); await collector.close(); });
  for (let i = 0; i < 3; i++) taps.push(open(i));
  assert.match(taps.counters().last_error, /sealing tap batch 0 of cart-1: the key is gone/);
  assert.equal(taps.counters().buffered, 3);
  await taps.flush();
  assert.deepEqual(collector.problems, []);
  assert.deepEqual(collector.events().map((e) => e.seq), [0, 1, 2]);
  assert.deepEqual([collector.batches[0].schema, taps.counters().dropped], [4, 0]);
});
