import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { batchHeader, encodeBatch, sealBatch, type TapBatch } from './batch.ts';
import { EmbeddedPublisher } from './bus/embedded.ts';
import { createChdbStore } from './chdb-store.ts';
import { Collector } from './collector.ts';
import { GroupCommit } from './group-commit.ts';
import { handleTapPost } from './http.ts';
import { rawFrame, sampleChain, sampleL7 } from './sample-taps.ts';
import { eventLineValues, LINE_FIELDS, LINE_MIN_VALUES } from './tap-lines.ts';
import type { TapStore } from './store.ts';

// One real chdb store for the file (chdb allows one per process); each test
// uses its own stream so tests do not see each other's chains.
let store: TapStore;
let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshlens-collector-'));
  store = createChdbStore({ dataDir: dir });
  await store.init();
});
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const events = (n: number) => Array.from({ length: n }, () => sampleL7());
/** Batches as the frames a sender puts on the wire; anything else as its JSON bytes. */
const frames = (xs: readonly unknown[]) => xs.map((x) => (typeof x === 'string' ? Buffer.from(x) : encodeBatch(x as TapBatch)));

/** The real store with faults or call records added around it. */
function storeWith(over: Partial<TapStore>): TapStore {
  return {
    init: () => store.init(), writeBatch: (b) => store.writeBatch(b), writeBatches: (bs) => store.writeBatches(bs), chainHeads: () => store.chainHeads(),
    recordLoss: (l) => store.recordLoss(l), lossSummary: () => store.lossSummary(), serviceGraph: (w, u) => store.serviceGraph(w, u),
    countTaps: (f) => store.countTaps(f), recentTaps: (f, l) => store.recentTaps(f, l), inboundRequestInputs: (f, u, l) => store.inboundRequestInputs(f, u, l), close: async () => {},
    rollupSeries: (sc, f, u) => store.rollupSeries(sc, f, u), versionRollups: (f, u, sv) => store.versionRollups(f, u, sv), instanceFigures: (f, u) => store.instanceFigures(f, u), writeAlert: (a) => store.writeAlert(a), alerts: (o) => store.alerts(o),
    recordRejects: (r) => store.recordRejects(r), batchRecord: (p, s, b) => store.batchRecord(p, s, b), rejects: (f, l) => store.rejects(f, l), countRejects: (f) => store.countRejects(f),
    writeAction: (r) => store.writeAction(r), actions: (o) => store.actions(o), actionHistory: (id) => store.actionHistory(id),
    writeConfigChange: (c) => store.writeConfigChange(c), configChanges: (f, u) => store.configChanges(f, u),
    writeReport: (r) => store.writeReport(r), reports: (q) => store.reports(q), report: (id) => store.report(id),
    evidenceEdges: (f, u, n) => store.evidenceEdges(f, u, n), secretFindings: (f, u, l) => store.secretFindings(f, u, l), lossRecords: (f, u) => store.lossRecords(f, u),
    rejectCounts: (f, u) => store.rejectCounts(f, u), retention: () => store.retention(), chainHeadsAt: (u) => store.chainHeadsAt(u), alertsInPeriod: (f, u) => store.alertsInPeriod(f, u),
    chainAudit: (f, u, o) => store.chainAudit(f, u, o), writeSigners: (s) => store.writeSigners(s), signers: (f) => store.signers(f),
    ...over,
  };
}

test('accepts a valid chain of batches and stores every event once', async () => {
  const c = new Collector(store);
  const chain = sampleChain('p-valid', 's', [events(3), events(2), [], events(4)]);
  for (const b of chain) assert.deepEqual(await c.accept(encodeBatch(b)), { ok: true, duplicate: false, events: b.events.length });
  assert.equal(await store.countTaps({ proxy: 'p-valid' }), 9);
  assert.equal(c.counters().batches_accepted, 4);
  assert.equal(c.counters().events_written, 9);
  assert.equal(c.counters().batches_rejected, 0);
});

test('a resent last batch is a duplicate and stores nothing new', async () => {
  const c = new Collector(store);
  const chain = sampleChain('p-dup', 's', [events(2), events(3)]);
  for (const b of chain) await c.accept(encodeBatch(b));
  assert.deepEqual(await c.accept(encodeBatch(structuredClone(chain[1]))), { ok: true, duplicate: true, events: 3 });
  assert.equal(await store.countTaps({ proxy: 'p-dup' }), 5);
  assert.equal(c.counters().batches_duplicate, 1);
  assert.equal(c.counters().events_written, 5);
});

test('a batch with a bad event field is rejected naming the event, its seq and the field, and counted', async () => {
  const c = new Collector(store);
  const [b0] = sampleChain('p-bad', 's', [events(5)]);
  const lines = b0.events.map(eventLineValues);
  lines[3][LINE_FIELDS['l7.request'].indexOf('status')] = 1200;
  lines[4][LINE_FIELDS['l7.request'].indexOf('method')] = null;
  const r = await c.accept(rawFrame(batchHeader(b0), lines)); // sealed over the bad values, as a buggy sidecar would
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.code === 'INGEST_ERR_MALFORMED' && r.status === 400 && !r.retriable);
  assert.ok(!r.ok && r.message.includes('batch 0 of p-bad/s: event 3 (line 5, seq 3): status: must be an integer in 0..999'), !r.ok ? r.message : '');
  assert.ok(!r.ok && r.message.includes('event 4 (line 6, seq 4): method: missing (null)'), !r.ok ? r.message : '');
  assert.deepEqual(c.counters().rejected_by_code, { INGEST_ERR_MALFORMED: 1 });
  assert.equal(await store.countTaps({ proxy: 'p-bad' }), 0);
  assert.equal((await c.accept(encodeBatch(b0))).ok, true); // the chain did not move
});

test('event lines of the wrong shape are rejected naming the line: an object, an unknown kind, too few or too many values', async () => {
  const c = new Collector(store);
  const [b0] = sampleChain('p-shape', 's', [events(4)]);
  const lines: unknown[] = b0.events.map(eventLineValues);
  lines[0] = b0.events[0]; // a schema 2 event line in a schema 3 frame
  (lines[1] as unknown[])[0] = 'l9.packet';
  (lines[2] as unknown[]).pop();
  const n = LINE_MIN_VALUES['l7.request'];
  const most = LINE_FIELDS['l7.request'].length; // with every appended field
  (lines[3] as unknown[]).push(...Array(most + 1 - n).fill('extra'));
  const r = await c.accept(rawFrame(batchHeader(b0), lines));
  assert.ok(!r.ok && r.code === 'INGEST_ERR_MALFORMED', !r.ok ? r.message : '');
  for (const part of [
    'event 0 (line 2, seq 0): event line must be a JSON array',
    'event 1 (line 3, seq 1): kind: must be one of l4.open, l4.close, l7.request',
    `event 2 (line 4, seq 2): a l7.request line has ${n} values (kind, ts, direction,`, `this one has ${n - 1}`,
    `event 3 (line 5, seq 3): a l7.request line has ${n} values`, `this one has ${most + 1}`,
  ]) assert.ok(!r.ok && r.message.includes(part), `${part} in ${!r.ok && r.message}`);
  assert.equal(await store.countTaps({ proxy: 'p-shape' }), 0);
});

test('schema 2 frames (event objects, from sidecars not yet upgraded) are still accepted, checked the same, and stored alike', async () => {
  const c = new Collector(store);
  const groups = [events(3), events(2)];
  const chain = sampleChain('p-v2', 's', groups, { schema: 2 });
  assert.ok(encodeBatch(chain[0]).toString().startsWith('{"schema":2,'));
  for (const b of chain) assert.deepEqual(await c.accept(encodeBatch(b)), { ok: true, duplicate: false, events: b.events.length });
  const stored = (await store.recentTaps({ proxy: 'p-v2' }, 10)).map(({ stream: _s, batch: _b, ...e }) => e);
  assert.deepEqual(stored.sort((x, y) => (x.seq as number) - (y.seq as number)), chain.flatMap((b) => b.events));
  const [b0] = sampleChain('p-v2-bad', 's', [events(5)], { schema: 2 });
  const bad = structuredClone(b0) as unknown as { events: Record<string, unknown>[] };
  bad.events[3].status = 1200;
  const r = await c.accept(rawFrame(batchHeader(b0, 2), bad.events));
  assert.ok(!r.ok && r.code === 'INGEST_ERR_MALFORMED' && r.message.includes('batch 0 of p-v2-bad/s: event 3 (seq 3): status: must be an integer in 0..999'), !r.ok ? r.message : '');
});

test('a batch that is not a tap batch is rejected naming each bad field', async () => {
  const c = new Collector(store);
  const r1 = await c.accept(rawFrame({ schema: 5 }, []));
  assert.ok(!r1.ok && r1.code === 'INGEST_ERR_SCHEMA_VERSION');
  const [old] = sampleChain('p-old', 's', [events(1)]);
  const r1b = await c.accept(Buffer.from(JSON.stringify({ ...old, schema: 1 }))); // a schema 1 sidecar: one JSON object
  assert.ok(!r1b.ok && r1b.code === 'INGEST_ERR_SCHEMA_VERSION' && r1b.message.includes('schema 1, one JSON object per batch'), !r1b.ok ? r1b.message : '');
  const r2 = await c.accept(rawFrame({ schema: 2, proxy: 'x', stream: 's', batch: -1, first_seq: 0, lost: 0, events: 'all', prev_hash: 'z', extra: 1 }, []));
  assert.ok(!r2.ok && r2.code === 'INGEST_ERR_MALFORMED');
  for (const f of ['batch:', 'events:', 'prev_hash:', 'extra: unknown field']) assert.ok(!r2.ok && r2.message.includes(f), `${f} in ${!r2.ok && r2.message}`);
  const header = batchHeader(old);
  const r2b = await c.accept(rawFrame({ ...header, events: 3 }, old.events)); // fewer event lines than the header says
  assert.ok(!r2b.ok && r2b.code === 'INGEST_ERR_MALFORMED' && r2b.message.includes('the header says 3 events, so the frame must have 5 lines'), !r2b.ok ? r2b.message : '');
  const r2c = await c.accept(Buffer.concat([rawFrame(header, old.events).subarray(0, -1), Buffer.from('x\n')])); // junk on the hash line
  assert.ok(!r2c.ok && r2c.code === 'INGEST_ERR_MALFORMED', !r2c.ok ? r2c.message : '');
  const lines = Buffer.from(`${JSON.stringify(header)}\n{not json\n`);
  const r2d = await c.accept(Buffer.concat([lines, Buffer.from(`{"hash":"${createHash('sha256').update(lines).digest('hex')}"}\n`)]));
  assert.ok(!r2d.ok && r2d.code === 'INGEST_ERR_MALFORMED' && r2d.message.includes('event 0'), !r2d.ok ? r2d.message : '');
  // Schema 3 has no seq on the line (sealing refuses a batch whose events disagree); schema 2 carries one per event.
  const [b] = sampleChain('p-seq', 's', [events(2)]);
  assert.throws(() => sealBatch({ ...b, events: [b.events[0], { ...b.events[1], seq: 5 }] }), /event 1 is seq 5 of p-seq; a batch frame carries seq 1 of p-seq there/);
  const gap = sealBatch({ ...b, events: [b.events[0], { ...b.events[1], seq: 5 }] }, 2);
  const r3 = await c.accept(encodeBatch(gap));
  assert.ok(!r3.ok && r3.code === 'INGEST_ERR_SEQ' && r3.message.includes('event 1: seq 5, expected 1'));
  assert.equal(c.counters().batches_rejected, 7);
});

test('a batch with an altered event is rejected with INGEST_ERR_CHAIN and nothing is stored', async () => {
  const c = new Collector(store);
  const [b0] = sampleChain('p-alter', 's', [events(2)]);
  const altered = structuredClone(b0);
  (altered.events[1] as { status: number }).status = 500;
  const r = await c.accept(encodeBatch(altered));
  assert.ok(!r.ok && r.code === 'INGEST_ERR_CHAIN' && r.status === 409);
  assert.ok(!r.ok && r.message.includes('batch 0 of p-alter/s: hash mismatch'), !r.ok ? r.message : '');
  assert.equal(await store.countTaps({ proxy: 'p-alter' }), 0);
});

test('a broken prev_hash link, a conflicting copy and a stale batch are rejected with INGEST_ERR_CHAIN', async () => {
  const c = new Collector(store);
  const chain = sampleChain('p-link', 's', [events(1), events(1), events(1)]);
  await c.accept(encodeBatch(chain[0]));
  const relinked = sealBatch({ ...chain[1], prev_hash: 'a'.repeat(64) });
  const r1 = await c.accept(encodeBatch(relinked));
  assert.ok(!r1.ok && r1.code === 'INGEST_ERR_CHAIN' && r1.message.includes(`does not match hash ${chain[0].hash.slice(0, 12)}`), !r1.ok ? r1.message : '');
  const conflicting = sampleChain('p-link', 's', [[sampleL7({ path: '/other' })]])[0];
  const r2 = await c.accept(encodeBatch(conflicting));
  assert.ok(!r2.ok && r2.message.includes('already accepted with hash'), !r2.ok ? r2.message : '');
  assert.equal((await c.accept(encodeBatch(chain[1]))).ok, true);
  assert.equal((await c.accept(encodeBatch(chain[2]))).ok, true);
  const r3 = await c.accept(encodeBatch(chain[1]));
  assert.ok(!r3.ok && r3.message.includes('batch 1 of p-link/s: stale: the stream is already at batch 2'), !r3.ok ? r3.message : '');
  assert.deepEqual(c.counters().rejected_by_code, { INGEST_ERR_CHAIN: 3 });
  assert.equal(await store.countTaps({ proxy: 'p-link' }), 3);
});

test('a batch gap is recorded as sequence_gap loss and the chain re-anchors at the batch that arrived', async () => {
  const losses: { from_seq: number; count: number; reason: string }[] = [];
  const c = new Collector(storeWith({ recordLoss: async (l) => { losses.push(l); await store.recordLoss(l); } }));
  const chain = sampleChain('p-gap', 's', [events(2), events(3), events(1), events(2)]);
  await c.accept(encodeBatch(chain[0]));
  assert.deepEqual(await c.accept(encodeBatch(chain[2])), { ok: true, duplicate: false, events: 1 }); // batch 1 (seqs 2..4) never came
  assert.deepEqual(await c.accept(encodeBatch(chain[3])), { ok: true, duplicate: false, events: 2 }); // chains from the new anchor
  assert.deepEqual(losses.map((l) => [l.reason, l.from_seq, l.count]), [['sequence_gap', 2, 3]]);
  assert.equal(await store.countTaps({ proxy: 'p-gap' }), 5);
  assert.deepEqual([c.counters().batches_after_gap, c.counters().events_gap_lost, c.counters().batches_rejected], [1, 3, 0]);
  const stored = (await store.lossSummary()).filter((l) => l.proxy === 'p-gap');
  assert.deepEqual(stored.map((l) => [l.reason, l.events]), [['sequence_gap', 3]]);
});

test('a seq gap with an intact link is loss; a stream first seen past batch 0 anchors there with its earlier seqs as loss', async () => {
  const losses: { from_seq: number; count: number }[] = [];
  const c = new Collector(storeWith({ recordLoss: async (l) => { losses.push(l); } }));
  const [b0] = sampleChain('p-seqgap', 's', [events(2)]);
  const [b1] = sampleChain('p-seqgap', 's', [events(1)], { firstBatch: 1, firstSeq: 7, prevHash: b0.hash });
  await c.accept(encodeBatch(b0));
  assert.equal((await c.accept(encodeBatch(b1))).ok, true);
  const late = sampleChain('p-late', 's', [events(2)], { firstBatch: 4, firstSeq: 10, prevHash: 'b'.repeat(64) });
  assert.equal((await c.accept(encodeBatch(late[0]))).ok, true);
  assert.deepEqual(losses.map((l) => [l.from_seq, l.count]), [[2, 5], [0, 10]]);
  assert.equal(c.counters().events_gap_lost, 15);
});

test('after a gap, an altered batch and a broken link are still rejected as tampering', async () => {
  const c = new Collector(storeWith({ recordLoss: async () => {} }));
  const chain = sampleChain('p-gap-tamper', 's', [events(1), events(1), events(1), events(1)]);
  await c.accept(encodeBatch(chain[0]));
  await c.accept(encodeBatch(chain[2]));
  const altered = structuredClone(chain[3]);
  (altered.events[0] as { status: number }).status = 503;
  const r1 = await c.accept(encodeBatch(altered));
  assert.ok(!r1.ok && r1.message.includes('hash mismatch'));
  const r2 = await c.accept(encodeBatch(sealBatch({ ...chain[3], prev_hash: chain[1].hash })));
  assert.ok(!r2.ok && r2.message.includes('does not match hash'));
  const r3 = await c.accept(encodeBatch(chain[1])); // behind the re-anchored head
  assert.ok(!r3.ok && r3.message.includes('stale'));
  assert.equal((await c.accept(encodeBatch(chain[3]))).ok, true);
});

test('with behindHead duplicate, a redelivered batch behind the head counts as stale duplicate and stores nothing', async () => {
  const c = new Collector(store, { behindHead: 'duplicate' });
  const chain = sampleChain('p-stale', 's', [events(2), events(2), events(2)]);
  for (const b of chain) await c.accept(encodeBatch(b));
  assert.deepEqual(await c.accept(encodeBatch(chain[0])), { ok: true, duplicate: true, events: 2 });
  assert.deepEqual(await c.accept(encodeBatch(chain[2])), { ok: true, duplicate: true, events: 2 });
  assert.deepEqual([c.counters().batches_duplicate, c.counters().batches_stale, c.counters().batches_rejected], [2, 1, 0]);
  assert.equal(await store.countTaps({ proxy: 'p-stale' }), 6);
});

test('reload() picks up heads another collector advanced in the store', async () => {
  const chain = sampleChain('p-reload', 's', [events(1), events(1), events(1)]);
  const a = new Collector(store);
  const b = new Collector(store);
  await a.accept(encodeBatch(chain[0]));
  await b.accept(encodeBatch(chain[0])); // b now holds head 0
  await a.accept(encodeBatch(chain[1])); // a moves the stream on; b does not know
  await b.reload();
  assert.deepEqual(await b.accept(encodeBatch(chain[1])), { ok: true, duplicate: true, events: 1 });
  assert.deepEqual(await b.accept(encodeBatch(chain[2])), { ok: true, duplicate: false, events: 1 });
  assert.equal(await store.countTaps({ proxy: 'p-reload' }), 3);
});

test('a restarted collector on the same store continues an existing chain', async () => {
  const chain = sampleChain('p-restart', 's', [events(2), events(2), events(2)]);
  const first = new Collector(store);
  await first.accept(encodeBatch(chain[0]));
  await first.accept(encodeBatch(chain[1]));
  await first.close();
  const second = new Collector(store);
  assert.deepEqual(await second.accept(encodeBatch(chain[1])), { ok: true, duplicate: true, events: 2 });
  assert.deepEqual(await second.accept(encodeBatch(chain[2])), { ok: true, duplicate: false, events: 2 });
  const restarted = sampleChain('p-restart', 's', [events(1)]); // batch 0 again, different content
  assert.equal((await second.accept(encodeBatch(restarted[0]))).ok, false);
  assert.equal(await store.countTaps({ proxy: 'p-restart' }), 6);
});

test('a store failure is a retriable 503 and does not advance the chain', async () => {
  let failNext = true;
  const flaky = storeWith({
    writeBatches: async (bs) => {
      if (failNext) { failNext = false; throw new Error('disk full'); }
      return store.writeBatches(bs);
    },
  });
  const c = new Collector(flaky);
  const [b0] = sampleChain('p-flaky', 's', [events(2)]);
  const r = await c.accept(encodeBatch(b0));
  assert.ok(!r.ok && r.code === 'INGEST_ERR_STORE' && r.status === 503 && r.retriable);
  assert.ok(!r.ok && r.message.includes('batch 0 of p-flaky/s') && r.message.includes('disk full'));
  assert.deepEqual(await c.accept(encodeBatch(b0)), { ok: true, duplicate: false, events: 2 });
});

test('a group whose write landed but whose ack was lost is stored once when resent grouped differently, raw and in the rollups', async () => {
  let loseAck = true;
  const c = new Collector(storeWith({
    writeBatches: async (bs) => {
      await store.writeBatches(bs);
      if (loseAck) { loseAck = false; throw new Error('connection reset after the insert'); }
    },
  }), { behindHead: 'duplicate' });
  const t0 = Math.floor(Date.now() / 10_000) * 10_000 - 20_000;
  const inbound = (n: number) => Array.from({ length: n }, (_, i) => sampleL7({ ts: t0 + i, direction: 'inbound', dst_service: 'grp' }));
  const a = sampleChain('p-grp-a', 's', [inbound(4), inbound(3), inbound(2)]);
  const b = sampleChain('p-grp-b', 's', [inbound(5), inbound(1)]);
  const first = await c.acceptMany(frames([a[0], b[0], a[1]]));
  assert.ok(first.every((r) => !r.ok && r.retriable && r.code === 'INGEST_ERR_STORE'), JSON.stringify(first));
  const again = await c.acceptMany(frames([b[0], a[0], b[1], a[1], a[2], 'not a batch']));
  assert.deepEqual(again.map((r) => (r.ok ? r.events : r.code)), [5, 4, 1, 3, 2, 'INGEST_ERR_NOT_JSON']);
  assert.deepEqual((await c.acceptMany(frames([a[1], b[1]]))).map((r) => r.ok && r.duplicate), [true, true]);
  assert.equal(await store.countTaps({ proxy: 'p-grp-a' }), 9);
  assert.equal(await store.countTaps({ proxy: 'p-grp-b' }), 6);
  assert.equal((await store.serviceGraph(60, t0 + 30_000)).nodes.find((n) => n.service === 'grp')?.requests, 15);
  const counters = c.counters();
  assert.deepEqual([counters.batches_accepted, counters.events_written, counters.batches_duplicate], [5, 15, 2]);
});

test('in a group, a batch that breaks its chain is rejected for good while the others are stored', async () => {
  const c = new Collector(store);
  const a = sampleChain('p-grp-bad', 's', [events(2), events(2)]);
  const altered = structuredClone(a[1]);
  (altered.events[0] as { status: number }).status = 599;
  const [b0] = sampleChain('p-grp-ok', 's', [events(3)]);
  const r = await c.acceptMany(frames([a[0], altered, b0]));
  assert.deepEqual(r.map((x) => (x.ok ? 'ok' : x.code)), ['ok', 'INGEST_ERR_CHAIN', 'ok']);
  assert.equal((await c.accept(encodeBatch(a[1]))).ok, true, 'the honest copy still follows the head');
  assert.equal(await store.countTaps({ proxy: 'p-grp-bad' }), 4);
});

test('growth of a batch lost counter is recorded once as a loss', async () => {
  const losses: { count: number; from_seq: number }[] = [];
  const recording = storeWith({ recordLoss: async (l) => { losses.push(l); await store.recordLoss(l); } });
  const t = Date.now(); // within retention: a loss dated 1970 would be removed by the table TTL
  const c = new Collector(recording, { now: () => t });
  const chain = sampleChain('p-loss', 's', [events(1), events(1), events(1)], { lost: [0, 4, 4] });
  for (const b of chain) await c.accept(encodeBatch(b));
  assert.deepEqual(losses.map((l) => [l.count, l.from_seq]), [[4, 1]]);
  const stored = (await store.lossSummary()).filter((l) => l.proxy === 'p-loss');
  assert.deepEqual(stored.map((l) => [l.events, l.records]), [[4, 1]], 'the loss is queryable in ClickHouse');
});

test('batches of one stream accepted concurrently are stored in order', async () => {
  const c = new Collector(store);
  const chain = sampleChain('p-conc', 's', [events(2), events(2), events(2), events(2)]);
  const results = await Promise.all(chain.map((b) => c.accept(encodeBatch(b))));
  assert.ok(results.every((r) => r.ok && !r.duplicate));
  await c.flush();
  assert.equal(await store.countTaps({ proxy: 'p-conc' }), 8);
  await c.close();
  const r = await c.accept(encodeBatch(chain[0]));
  assert.ok(!r.ok && r.code === 'INGEST_ERR_CLOSED' && r.retriable);
});

test('over HTTP: the embedded publisher stores batches, and bad bodies get 400, 409 and 413', async (t) => {
  let failWrites = false;
  const c = new Collector(storeWith({
    writeBatches: async (bs) => { if (failWrites) throw new Error('store down'); return store.writeBatches(bs); },
  }));
  const server = http.createServer((req, res) => void handleTapPost(c, req, res, { maxBodyBytes: 64 * 1024 }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const pub = new EmbeddedPublisher(url);
  t.after(() => pub.close());

  const chain = sampleChain('p-http', 's', [events(3), events(3), events(3)]);
  assert.deepEqual(await pub.publish(chain[0]), { ok: true, duplicate: false });
  assert.deepEqual(await pub.publish(chain[0]), { ok: true, duplicate: true });
  const relinked = sealBatch({ ...chain[1], prev_hash: 'c'.repeat(64) });
  assert.deepEqual(await pub.publish(relinked), {
    ok: false, retriable: false, code: 'INGEST_ERR_CHAIN',
    message: `batch 1 of p-http/s: prev_hash cccccccccccc… does not match hash ${chain[0].hash.slice(0, 12)}… of batch 0`,
  });
  failWrites = true;
  const down = await pub.publish(chain[1]);
  assert.ok(!down.ok && down.retriable && down.code === 'INGEST_ERR_STORE');
  failWrites = false;
  assert.deepEqual(await pub.publish(chain[1]), { ok: true, duplicate: false });
  assert.deepEqual(await pub.publish(chain[2]), { ok: true, duplicate: false });

  const big: TapBatch = sampleChain('p-http-big', 's', [Array.from({ length: 400 }, () => sampleL7({ path: '/x'.repeat(50) }))])[0];
  const tooBig = await pub.publish(big);
  assert.ok(!tooBig.ok && !tooBig.retriable && tooBig.code === 'INGEST_ERR_TOO_LARGE', JSON.stringify(tooBig));

  const raw = await new Promise<{ status: number; body: { code: string; message: string } }>((resolve, reject) => {
    const req = http.request(`${url}/v1/taps`, { method: 'POST' }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end('{"schema": 1,');
  });
  assert.equal(raw.status, 400);
  assert.equal(raw.body.code, 'INGEST_ERR_NOT_JSON');
  assert.equal(await store.countTaps({ proxy: 'p-http' }), 9);
  assert.equal(c.counters().rejected_by_code.INGEST_ERR_TOO_LARGE, 1);
  assert.equal(c.counters().rejected_by_code.INGEST_ERR_NOT_JSON, 1);
});

test('over HTTP with a group commit: batches two sidecars post at once go to the store as one write, each answered with its own result', async (t) => {
  const writes: number[] = [];
  const c = new Collector(storeWith({ writeBatches: async (bs) => { writes.push(bs.length); return store.writeBatches(bs); } }));
  const group = new GroupCommit(c, { lingerMs: 100, maxWrites: 1 });
  const server = http.createServer((req, res) => void handleTapPost(c, req, res, { group }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const pubs = [new EmbeddedPublisher(url), new EmbeddedPublisher(url)];
  t.after(() => Promise.all(pubs.map((p) => p.close())));
  const a = sampleChain('p-hg-a', 's', [events(2)]);
  const b = sampleChain('p-hg-b', 's', [events(3)]);
  const altered = structuredClone(a[0]);
  (altered.events[0] as { status: number }).status = 418;
  const results = await Promise.all([pubs[0].publish(a[0]), pubs[1].publish(b[0])]);
  assert.deepEqual(results, [{ ok: true, duplicate: false }, { ok: true, duplicate: false }]);
  assert.deepEqual(writes, [2], 'one store write for both batches');
  const again = await Promise.all([pubs[0].publish(altered), pubs[1].publish(b[0])]);
  assert.ok(!again[0].ok && again[0].code === 'INGEST_ERR_CHAIN', JSON.stringify(again[0]));
  assert.deepEqual(again[1], { ok: true, duplicate: true });
  assert.equal(await store.countTaps({ proxy: 'p-hg-a' }) + await store.countTaps({ proxy: 'p-hg-b' }), 5);
});
