import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { encodeBatch, type StorableBatch } from './batch.ts';
import { createChdbStore } from './chdb-store.ts';
import { Collector } from './collector.ts';
import { GroupCommit } from './group-commit.ts';
import { sampleChain, sampleL7 } from './sample-taps.ts';
import type { TapStore } from './store.ts';

let dir: string;
let store: TapStore;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshlens-group-commit-'));
  store = createChdbStore({ dataDir: dir });
  await store.init();
});
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The real store, with each writeBatches call's batch count recorded. */
function recording(writes: number[], gate?: { wait: Promise<void> | null }): TapStore {
  return {
    init: () => store.init(), writeBatch: (b) => store.writeBatch(b), chainHeads: () => store.chainHeads(),
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
    writeBatches: async (bs: readonly StorableBatch[]) => {
      writes.push(bs.length);
      if (gate?.wait) await gate.wait;
      return store.writeBatches(bs);
    },
  };
}
const events = (n: number) => Array.from({ length: n }, () => sampleL7());

test('records submitted together by several partitions go to the store as one write, each submitter getting its own results in order', async () => {
  const writes: number[] = [];
  // A linger long enough that a loaded machine still submits all three within it (5 ms grouped them 3 + 2 once, in CI beside a benchmark).
  const groups = new GroupCommit(new Collector(recording(writes)), { lingerMs: 250 });
  const a = sampleChain('gc-a', 's', [events(2), events(3)]);
  const b = sampleChain('gc-b', 's', [events(4)]);
  const c = sampleChain('gc-c', 's', [events(1), events(1)]);
  const [ra, rb, rc] = await Promise.all([groups.submit(a.map(encodeBatch), 1), groups.submit([encodeBatch(b[0]), Buffer.from('junk')], 1), groups.submit(c.map(encodeBatch), 1)]);
  assert.deepEqual(writes, [5], 'one store write for the five new batches');
  assert.deepEqual(ra.map((r) => r.ok && r.events), [2, 3]);
  assert.deepEqual(rb.map((r) => (r.ok ? r.events : r.code)), [4, 'INGEST_ERR_NOT_JSON']);
  assert.deepEqual(rc.map((r) => r.ok && r.events), [1, 1]);
  assert.deepEqual([groups.groups, groups.grouped], [1, 6]);
  assert.equal(await store.countTaps({ proxy: 'gc-a' }) + await store.countTaps({ proxy: 'gc-b' }) + await store.countTaps({ proxy: 'gc-c' }), 11);
});

test('with maxWrites 1, records submitted while a write is in flight form the next group, which leaves as soon as that write ends', async () => {
  const writes: number[] = [];
  let open!: () => void;
  const gate = { wait: new Promise<void>((r) => { open = r; }) as Promise<void> | null };
  const groups = new GroupCommit(new Collector(recording(writes, gate)), { lingerMs: 1, maxWrites: 1 });
  const chains = ['gd-a', 'gd-b', 'gd-c'].map((p) => sampleChain(p, 's', [events(1), events(1)]));
  const first = groups.submit([encodeBatch(chains[0][0])], 1);
  for (let i = 0; writes.length === 0 && i < 1_000; i++) await new Promise((r) => setTimeout(r, 2));
  const later = [groups.submit([encodeBatch(chains[0][1])], 1), groups.submit(chains[1].map(encodeBatch), 1), groups.submit(chains[2].map(encodeBatch), 1)];
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(writes, [1], 'nothing else is written while the first write is in flight');
  gate.wait = null;
  open();
  await first;
  const results = await Promise.all(later);
  assert.deepEqual(writes, [1, 5]);
  assert.ok(results.flat().every((r) => r.ok && !r.duplicate));
});

test('a group reaching maxBytes leaves at once, without waiting for the linger', async () => {
  const writes: number[] = [];
  const groups = new GroupCommit(new Collector(recording(writes)), { lingerMs: 60_000, maxBytes: 100 });
  const [b] = sampleChain('ge-a', 's', [events(2)]);
  assert.deepEqual((await groups.submit([encodeBatch(b)], 100)).map((r) => r.ok), [true]);
  assert.deepEqual(writes, [1]);
});

test('submissions within lingerMs of a group\'s first one join that group: one write, not one per submission', async () => {
  const writes: number[] = [];
  const groups = new GroupCommit(new Collector(recording(writes)), { lingerMs: 300 });
  const chains = ['gf-a', 'gf-b', 'gf-c'].map((p) => sampleChain(p, 's', [events(1)]));
  const first = groups.submit([encodeBatch(chains[0][0])], 1);
  await new Promise((r) => setTimeout(r, 20));
  const second = groups.submit([encodeBatch(chains[1][0])], 1);
  await new Promise((r) => setTimeout(r, 20));
  const third = groups.submit([encodeBatch(chains[2][0])], 1);
  assert.deepEqual(writes, [], 'nothing written before the linger is over');
  const results = await Promise.all([first, second, third]);
  assert.deepEqual(writes, [3]);
  assert.ok(results.flat().every((r) => r.ok && !r.duplicate));
});

test('with maxWrites 2, a second group is written while the first is still in flight, and a third waits for one of them', async () => {
  const writes: number[] = [];
  let open!: () => void;
  const gate = { wait: new Promise<void>((r) => { open = r; }) as Promise<void> | null };
  const groups = new GroupCommit(new Collector(recording(writes, gate)), { lingerMs: 1, maxWrites: 2 });
  const chains = ['gg-a', 'gg-b', 'gg-c'].map((p) => sampleChain(p, 's', [events(1)]));
  const waitWrites = async (n: number) => { for (let i = 0; writes.length < n && i < 1_000; i++) await new Promise((r) => setTimeout(r, 2)); };
  const first = groups.submit([encodeBatch(chains[0][0])], 1);
  await waitWrites(1);
  const second = groups.submit([encodeBatch(chains[1][0])], 1);
  await waitWrites(2);
  const third = groups.submit([encodeBatch(chains[2][0])], 1);
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(writes, [1, 1], 'two writes in flight, the third group waits');
  gate.wait = null;
  open();
  const results = await Promise.all([first, second, third]);
  assert.deepEqual(writes, [1, 1, 1]);
  assert.ok(results.flat().every((r) => r.ok && !r.duplicate));
});
