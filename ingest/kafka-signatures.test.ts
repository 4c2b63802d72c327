import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { committedToEnd, eventually } from './testing/kafka-waits.ts';
import { startKafkaMock, type KafkaMock } from '../peers/index.ts';
import { encodeBatch } from './batch.ts';
import { KafkaPublisher } from './bus/kafka.ts';
import { createChdbStore } from './chdb-store.ts';
import { startKafkaCollector } from './kafka-collector.ts';
import { sampleChain, sampleL7 } from './sample-taps.ts';
import { forgeries, sampleCa, sampleSidecar } from './sample-svids.ts';
import type { TapStore } from './store.ts';

// The attacks of the security review on the Kafka bus: anyone who can
// produce to the taps topic writes records under web-1's key, between
// web-1's own (librdkafka's mock cluster, a real chdb store).
let mock: KafkaMock;
let store: TapStore;
let dir: string;
let raw: Producer;
before(async () => {
  mock = await startKafkaMock();
  dir = mkdtempSync(join(tmpdir(), 'meshlens-kafka-signatures-'));
  store = createChdbStore({ dataDir: dir });
  await store.init();
  raw = new Kafka({ brokers: mock.brokers, logLevel: logLevel.NOTHING }).producer();
  await raw.connect();
});
after(async () => {
  await raw.disconnect();
  await store.close();
  await mock.stop();
  rmSync(dir, { recursive: true, force: true });
});



test('on Kafka: forged records under web-1\'s key are refused, kept in tap_rejects with their reason and committed past; web-1\'s own stream is stored exactly, replays are duplicates, no loss is recorded', async (t) => {
  const ca = await sampleCa();
  const web = await sampleSidecar(ca, 'web', 'web-1');
  const cart = await sampleSidecar(ca, 'cart', 'cart-1');
  const forger = await sampleSidecar(await sampleCa(), 'web', 'web-1');
  const topic = 'ks-signed';
  const pub = new KafkaPublisher({ brokers: mock.brokers, topic });
  t.after(() => pub.close());
  const honest = sampleChain('web-1', 'k', [3, 2, 4, 1, 5, 2].map((n) => Array.from({ length: n }, () => sampleL7())), { signer: web.signer });
  const attacks = forgeries(honest, 2, web, cart, forger);
  const forge = (value: Buffer) => raw.send({ topic, acks: -1, messages: [{ key: 'web-1', value }] });

  // The partition's order: two honest batches, every forgery, the rest of the stream, then replays of genuine records.
  for (const b of honest.slice(0, 2)) assert.equal((await pub.publish(b)).ok, true);
  for (const a of attacks) await forge(a.frame);
  for (const b of honest.slice(2)) assert.equal((await pub.publish(b)).ok, true);
  await forge(encodeBatch(honest[5]));
  await forge(encodeBatch(honest[1]));

  const collector = await startKafkaCollector({
    brokers: mock.brokers, store, topic, groupId: topic, trust: ca.bundle,
    retryInitialMs: 50, retryMaxMs: 400, sessionTimeoutMs: 6_000, heartbeatIntervalMs: 300, fetchWaitMs: 100, log: () => {},
  });
  t.after(() => collector.close());
  await eventually('web-1\'s 17 taps stored', async () => (await store.countTaps({ proxy: 'web-1' })) === 17);
  await eventually('offsets committed past every record', async () => (await committedToEnd(mock.brokers, topic, topic)).done);

  const c = collector.counters();
  assert.deepEqual(c.rejected_by_code, { INGEST_ERR_SIGNATURE: 8, INGEST_ERR_CHAIN: 1 });
  assert.deepEqual([c.batches_accepted, c.batches_duplicate, c.batches_stale, c.events_written, c.batches_after_gap, c.events_gap_lost], [6, 2, 1, 17, 0, 0]);
  assert.equal(c.rejects_recorded, attacks.length);
  assert.equal(c.certificate_chains_verified, 2, 'web-1\'s and cart-1\'s certificates, each walked once');
  assert.equal(await store.countTaps({ dst_service: 'made-up' }), 0);
  assert.deepEqual(await store.lossSummary(), [], 'no forged batch opened a gap');
  const [h] = await store.chainHeads();
  assert.deepEqual([h.proxy, h.batch, h.hash, h.last_seq], ['web-1', 5, honest[5].hash, 16]);
  assert.equal((await store.batchRecord('web-1', 'k', 4))?.signer, 'spiffe://test.local/ns/default/sa/web', 'a stored tap traces to the certificate that signed its batch');

  const rows = await store.rejects({}, 50);
  assert.equal(rows.length, attacks.length);
  const bySha = new Map(rows.map((r) => [r.frame_sha256, r]));
  for (const { what, frame, code, message } of attacks) {
    const r = bySha.get(createHash('sha256').update(frame).digest('hex'));
    assert.ok(r, what);
    assert.deepEqual([r.proxy, r.stream, r.code, r.sender, r.frame_bytes], ['web-1', 'k', code, '', frame.length], what);
    assert.match(r.reason, message, what);
  }
});
