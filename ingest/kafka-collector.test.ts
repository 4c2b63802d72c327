import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { startSidecar } from '../mesh/proxy/index.ts';
import { KafkaPublisher } from './bus/kafka.ts';
import { createChdbStore } from './chdb-store.ts';
import { IngestError } from './errors.ts';
import { startKafkaCollector, type KafkaCollector } from './kafka-collector.ts';
import { sampleChain, sampleL7 } from './sample-taps.ts';
import { encodeBatch } from './batch.ts';
import type { TapStore } from './store.ts';
import { committedToEnd, eventually } from './testing/kafka-waits.ts';
import { startKafkaMock, type KafkaMock } from '../peers/index.ts';

// One real chdb store and one mock Kafka cluster for the file. Consumer
// group joins on the mock take ~3 s each, so the tests after the first two
// share one collector (`shared`, on topic `kc-shared`) and use their own
// proxy ids; its store can be made to fail on demand. Members joining,
// leaving and crashing are in ./kafka-collector-membership.test.ts.
let mock: KafkaMock;
let store: TapStore;
let dir: string;
let raw: Producer;
let shared: KafkaCollector;
let storeDown = false;
const logs: string[] = [];

function failingStore(): TapStore {
  const down = () => { if (storeDown) throw new IngestError('INGEST_ERR_STORE', 'test: ClickHouse is down'); };
  return {
    init: () => store.init(), chainHeads: () => store.chainHeads(), lossSummary: () => store.lossSummary(),
    serviceGraph: (w, u) => store.serviceGraph(w, u), countTaps: (f) => store.countTaps(f), recentTaps: (f, l) => store.recentTaps(f, l), inboundRequestInputs: (f, u, l) => store.inboundRequestInputs(f, u, l),
    writeBatch: async (b) => { down(); return store.writeBatch(b); },
    writeBatches: async (bs) => { down(); return store.writeBatches(bs); },
    recordLoss: async (l) => { down(); return store.recordLoss(l); },
    recordRejects: async (r) => { down(); return store.recordRejects(r); }, batchRecord: (p, s, b) => store.batchRecord(p, s, b), rejects: (f, l) => store.rejects(f, l), countRejects: (f) => store.countRejects(f),
    writeAction: (r) => store.writeAction(r), actions: (o) => store.actions(o), actionHistory: (id) => store.actionHistory(id),
    writeConfigChange: (c) => store.writeConfigChange(c), configChanges: (f, u) => store.configChanges(f, u),
    writeReport: (r) => store.writeReport(r), reports: (q) => store.reports(q), report: (id) => store.report(id),
    evidenceEdges: (f, u, n) => store.evidenceEdges(f, u, n), secretFindings: (f, u, l) => store.secretFindings(f, u, l), lossRecords: (f, u) => store.lossRecords(f, u),
    rejectCounts: (f, u) => store.rejectCounts(f, u), retention: () => store.retention(), chainHeadsAt: (u) => store.chainHeadsAt(u), alertsInPeriod: (f, u) => store.alertsInPeriod(f, u),
    chainAudit: (f, u, o) => store.chainAudit(f, u, o), writeSigners: (s) => store.writeSigners(s), signers: (f) => store.signers(f),
    rollupSeries: (sc, f, u) => store.rollupSeries(sc, f, u), versionRollups: (f, u, sv) => store.versionRollups(f, u, sv), instanceFigures: (f, u) => store.instanceFigures(f, u), writeAlert: (a) => store.writeAlert(a), alerts: (o) => store.alerts(o),
    close: async () => {},
  };
}

const quick = { retryInitialMs: 50, retryMaxMs: 400, sessionTimeoutMs: 6_000, heartbeatIntervalMs: 300, fetchWaitMs: 100, log: (m: string) => { logs.push(m); } };

before(async () => {
  mock = await startKafkaMock();
  dir = mkdtempSync(join(tmpdir(), 'meshlens-kafka-collector-'));
  store = createChdbStore({ dataDir: dir });
  await store.init();
  raw = new Kafka({ brokers: mock.brokers, logLevel: logLevel.NOTHING }).producer();
  await raw.connect();
});
after(async () => {
  await shared?.close();
  await raw.disconnect();
  await store.close();
  await mock.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The two streams the group test published; the restart test continues kg-a's. */
let chains: ReturnType<typeof sampleChain>[] = [];
const events = (n: number) => Array.from({ length: n }, () => sampleL7());

/** Waits for an event; the deadline only bounds a failure (a group join on the mock takes 3-5 s, more after a member's crash). */


test('batches from two publishers consumed by a group of two collectors are stored exactly once, offsets committed', async (t) => {
  const pubs = [new KafkaPublisher({ brokers: mock.brokers, topic: 'kc-group' }), new KafkaPublisher({ brokers: mock.brokers, topic: 'kc-group' })];
  t.after(() => Promise.all(pubs.map((p) => p.close())));
  chains = ['kg-a', 'kg-b'].map((p) => sampleChain(p, 's', Array.from({ length: 20 }, () => events(5))));
  const started = Date.now();
  await Promise.all(pubs.map(async (pub, i) => { for (const b of chains[i]) assert.equal((await pub.publish(b)).ok, true); }));
  t.diagnostic(`published 40 batches x 5 events in ${Date.now() - started} ms`);
  // Both members join in the same initial rebalance window.
  const members = await Promise.all([0, 1].map(() => startKafkaCollector({ ...quick, brokers: mock.brokers, store, topic: 'kc-group', groupId: 'kc-group' })));
  t.after(() => Promise.all(members.map((m) => m.close())));
  await eventually('200 taps stored', async () => (await store.countTaps({ proxy: 'kg-a' })) + (await store.countTaps({ proxy: 'kg-b' })) === 200);
  await eventually('offsets committed to the end', async () => (await committedToEnd(mock.brokers, 'kc-group', 'kc-group')).done);
  const cs = members.map((m) => m.counters());
  t.diagnostic(`consumed in ${Date.now() - started} ms; partitions ${JSON.stringify(cs.map((c) => c.partitions))}; restarts ${cs.map((c) => c.restarts).join('+')}`);
  assert.equal(cs[0].batches_accepted + cs[1].batches_accepted, 40);
  assert.equal(cs[0].batches_rejected + cs[1].batches_rejected, 0);
  // At least: a rebalance (a member that joined late, or crashed and joined again) may deliver a record twice.
  assert.ok(cs[0].grouped_records + cs[1].grouped_records >= 40, 'every record went through a group commit');
  assert.equal(await store.countTaps({ proxy: 'kg-a' }), 100);
  assert.equal(await store.countTaps({ proxy: 'kg-b' }), 100);
  await Promise.all(members.map((m) => m.close()));
});

test('a collector that re-reads the whole topic, as after dying before any commit, stores nothing twice and continues the chains', async (t) => {
  // A fresh group has no committed offsets: it reads every record again,
  // exactly what a collector restarted before committing would see. (The
  // mock cannot reset a group's offsets: kafkajs needs DescribeGroups.)
  const again = await startKafkaCollector({ ...quick, brokers: mock.brokers, store, topic: 'kc-group', groupId: 'kc-group-restarted' });
  t.after(() => again.close());
  const pub = new KafkaPublisher({ brokers: mock.brokers, topic: 'kc-group' });
  t.after(() => pub.close());
  const last = chains[0][19];
  const more = sampleChain('kg-a', 's', [events(3)], { firstBatch: 20, firstSeq: 100, prevHash: last.hash });
  assert.equal((await pub.publish(more[0])).ok, true);
  await eventually('the new batch stored', async () => (await store.countTaps({ proxy: 'kg-a' })) === 103);
  await eventually('offsets committed to the end', async () => (await committedToEnd(mock.brokers, 'kc-group-restarted', 'kc-group')).done);
  const c = again.counters();
  assert.equal(c.records, 41, JSON.stringify(c));
  assert.deepEqual([c.batches_accepted, c.batches_duplicate, c.batches_stale, c.batches_rejected], [1, 40, 38, 0], JSON.stringify(c));
  assert.equal(await store.countTaps({ proxy: 'kg-b' }), 100);
});

test('not a frame, schema 1 (a JSON object per batch), an oversized record and an altered batch are rejected by code and committed past; the stream goes on', async () => {
  shared = await startKafkaCollector({ ...quick, brokers: mock.brokers, store: failingStore(), topic: 'kc-shared', groupId: 'kc-shared', maxMessageBytes: 64 * 1024 });
  const chain = sampleChain('kb-1', 's', [events(2), events(2), events(2), events(2), events(2)]);
  const altered = structuredClone(chain[1]);
  (altered.events[0] as { status: number }).status = 599;
  const send = (value: string | Buffer) => raw.send({ topic: 'kc-shared', acks: -1, messages: [{ key: 'kb-1', value }] });
  await send(encodeBatch(chain[0]));
  await send('{"schema": 2, "proxy": "kb-1", tru');
  await send(JSON.stringify({ ...chain[1], schema: 1 }));
  await send(Buffer.alloc(100 * 1024, 0x20));
  await send(encodeBatch(altered));
  await send(encodeBatch(chain[1]));
  await send(encodeBatch(chain[2]));
  await send(encodeBatch(chain[4])); // batch 3 never sent: a gap, recorded as loss
  await eventually('valid batches stored', async () => (await store.countTaps({ proxy: 'kb-1' })) === 8);
  await eventually('offsets committed past every record', async () => (await committedToEnd(mock.brokers, 'kc-shared', 'kc-shared')).done);
  const c = shared.counters();
  assert.deepEqual(c.rejected_by_code, { INGEST_ERR_NOT_JSON: 1, INGEST_ERR_SCHEMA_VERSION: 1, INGEST_ERR_TOO_LARGE: 1, INGEST_ERR_CHAIN: 1 });
  assert.deepEqual([c.batches_after_gap, c.events_gap_lost], [1, 2]);
  const loss = (await store.lossSummary()).filter((l) => l.proxy === 'kb-1');
  assert.deepEqual(loss.map((l) => [l.reason, l.events]), [['sequence_gap', 2]]);
  assert.ok(logs.some((l) => l.includes('INGEST_ERR_CHAIN') && l.includes('batch 1 of kb-1/s: hash mismatch')), logs.join('\n'));
});

test('while the store is down, records are retried, not committed and not skipped; all land once it is back', async (t) => {
  const pub = new KafkaPublisher({ brokers: mock.brokers, topic: 'kc-shared' });
  t.after(() => pub.close());
  const before = shared.counters();
  storeDown = true;
  const chain = sampleChain('kf-1', 's', Array.from({ length: 10 }, () => events(5)));
  for (const b of chain) assert.equal((await pub.publish(b)).ok, true);
  await eventually('retries while the store is down', () => shared.counters().store_retries >= before.store_retries + 3);
  assert.equal(await store.countTaps({ proxy: 'kf-1' }), 0);
  assert.equal((await committedToEnd(mock.brokers, 'kc-shared', 'kc-shared')).done, false, 'nothing committed past the unstored record');
  storeDown = false;
  await eventually('all 50 taps stored', async () => (await store.countTaps({ proxy: 'kf-1' })) === 50);
  await eventually('offsets committed to the end', async () => (await committedToEnd(mock.brokers, 'kc-shared', 'kc-shared')).done);
  const c = shared.counters();
  assert.equal(c.batches_accepted - before.batches_accepted, 10);
  const final = (r: Record<string, number>) => Object.entries(r).filter(([code]) => code !== 'INGEST_ERR_STORE');
  assert.deepEqual(final(c.rejected_by_code), final(before.rejected_by_code), 'a store failure never turns into a final rejection');
  assert.ok((c.rejected_by_code.INGEST_ERR_STORE ?? 0) >= 3, 'each failed attempt is counted by code');
  assert.deepEqual((await store.lossSummary()).filter((l) => l.proxy === 'kf-1'), []);
});

test('a sidecar started with bus kafka ships its taps through the topic into the store', async (t) => {
  const app = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => app.close(() => r())));
  const sidecar = await startSidecar({
    id: 'ks-web-1', service: 'web', bus: 'kafka', brokers: mock.brokers, topic: 'kc-shared',
    listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: (app.address() as AddressInfo).port },
    taps: { lingerMs: 10 },
  });
  t.after(() => sidecar.close());
  for (let i = 0; i < 7; i++) {
    const res = await fetch(`http://127.0.0.1:${sidecar.inboundAddress!.port}/items/${i}`);
    assert.equal(await res.text(), 'ok');
  }
  await sidecar.taps.flush();
  const taps = sidecar.stats().taps;
  assert.equal(taps.acked, taps.emitted);
  assert.equal(taps.dropped, 0);
  await eventually('7 l7.request taps stored', async () => (await store.countTaps({ proxy: 'ks-web-1', kind: 'l7.request' })) === 7);
});
