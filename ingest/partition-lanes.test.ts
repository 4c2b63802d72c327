import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CollectorResult } from './collector.ts';
import { PartitionLanes, type LaneRecord } from './partition-lanes.ts';

const ok: CollectorResult = { ok: true, duplicate: false, events: 1 };
const down: CollectorResult = { ok: false, code: 'INGEST_ERR_STORE', status: 503, retriable: true, message: 'store down' };
const bad: CollectorResult = { ok: false, code: 'INGEST_ERR_MALFORMED', status: 400, retriable: false, message: 'bad' };
const rec = (offset: number, bytes = 10): LaneRecord => ({ offset: String(offset), value: Buffer.alloc(bytes) });
const settle = async (lanes: PartitionLanes, until: () => boolean) => {
  for (let i = 0; !until() && i < 500; i++) await new Promise((r) => setTimeout(r, 2));
  assert.ok(until(), `lanes did not settle: ${JSON.stringify(lanes.counters())}`);
};

/** Lanes over a judge the test steers: `outcome(offset)` per record, with every call recorded. */
function harness(outcome: (offset: string) => CollectorResult, opts: { maxQueuedBytes?: number; gate?: () => Promise<void> } = {}) {
  const calls: string[][] = [];
  const commits: [number, string][] = [];
  const logs: string[] = [];
  const lanes = new PartitionLanes({
    judge: async (records) => {
      calls.push(records.map((r) => r.offset));
      await opts.gate?.();
      return records.map((r) => outcome(r.offset));
    },
    commit: async (partition, offset) => { commits.push([partition, offset]); },
    log: (m) => logs.push(m),
    maxQueuedBytes: opts.maxQueuedBytes ?? 1 << 20, retryInitialMs: 5, retryMaxMs: 20,
  });
  return { lanes, calls, commits, logs };
}

test('a lane judges its records in offset order, one run at a time, and what arrives meanwhile goes as the next run', async () => {
  let open!: () => void;
  let gate: Promise<void> | null = new Promise((r) => { open = r; });
  const h = harness(() => ok, { gate: () => gate ?? Promise.resolve() });
  h.lanes.push(3, [rec(0), rec(1)]);
  await settle(h.lanes, () => h.calls.length === 1);
  h.lanes.push(3, [rec(2)]);
  h.lanes.push(3, [rec(3), rec(4)]);
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(h.calls, [['0', '1']], 'the second run waits for the first');
  gate = null;
  open();
  await settle(h.lanes, () => h.commits.length === 2);
  assert.deepEqual(h.calls, [['0', '1'], ['2', '3', '4']]);
  assert.deepEqual(h.commits, [[3, '2'], [3, '5']], 'each run commits the offset after its last record');
  assert.equal(h.lanes.counters().queued_bytes, 0);
});

test('a retriable outcome stops the commit before that record, and the same records are tried again until stored', async () => {
  let storeUp = false;
  const h = harness((offset) => (offset === '11' && !storeUp ? down : ok));
  h.lanes.push(0, [rec(10), rec(11), rec(12)]);
  await settle(h.lanes, () => h.lanes.counters().store_retries >= 2);
  assert.deepEqual(h.commits, [[0, '11']], 'committed up to the stored record, not past the unstored one');
  assert.ok(h.calls.slice(1).every((c) => c.join() === '11,12'), JSON.stringify(h.calls));
  storeUp = true;
  await settle(h.lanes, () => h.commits.length === 2);
  assert.deepEqual(h.commits[1], [0, '13']);
});

test('a record rejected for good is logged and committed past; the lane goes on', async () => {
  const h = harness((offset) => (offset === '1' ? bad : ok));
  h.lanes.push(1, [rec(0), rec(1), rec(2)]);
  await settle(h.lanes, () => h.commits.length === 1);
  assert.deepEqual(h.commits, [[1, '3']]);
  assert.ok(h.logs.some((l) => l.includes('partition 1 offset 1: INGEST_ERR_MALFORMED')), h.logs.join('\n'));
});

test('reset drops queued records that were not submitted, and a run in flight then stores but commits nothing (its partition may be another member\'s)', async () => {
  let open!: () => void;
  let gate: Promise<void> | null = new Promise((r) => { open = r; });
  const h = harness(() => ok, { gate: () => gate ?? Promise.resolve() });
  h.lanes.push(2, [rec(5)]);
  await settle(h.lanes, () => h.calls.length === 1);
  h.lanes.push(2, [rec(6), rec(7)]);
  h.lanes.reset(); // a rebalance: 5, 6 and 7 will be fetched again from the committed offset
  gate = null;
  open();
  await settle(h.lanes, () => h.lanes.counters().queued_bytes === 0);
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(h.calls, [['5']], '6 and 7 were dropped');
  assert.deepEqual(h.commits, [], 'the run of 5 ended after the rebalance: no commit');
  h.lanes.push(2, [rec(5), rec(6), rec(7)]);
  await settle(h.lanes, () => h.commits.length === 1);
  assert.deepEqual(h.commits, [[2, '8']]);
});

test('within a generation a lane never commits below an offset it committed; after a rebalance the group\'s offset counts', async () => {
  const h = harness(() => ok);
  h.lanes.push(2, [rec(6), rec(7)]);
  await settle(h.lanes, () => h.commits.length === 1);
  h.lanes.push(2, [rec(4)]); // an older record delivered again
  await settle(h.lanes, () => h.calls.length === 2);
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(h.commits, [[2, '8']], 'no commit of offset 5 after 8');
  h.lanes.reset(); // the partition went away and came back; its owner meanwhile committed 3
  h.lanes.push(2, [rec(3), rec(4)]);
  await settle(h.lanes, () => h.commits.length === 2);
  assert.deepEqual(h.commits[1], [2, '5'], 'committed again from where the group is');
  assert.equal(h.lanes.counters().queued_bytes, 0);
});

test('close lets a run in flight finish and commit (the member is still in the group), and drops what is queued', async () => {
  let open!: () => void;
  const gate = new Promise<void>((r) => { open = r; });
  const h = harness(() => ok, { gate: () => gate });
  h.lanes.push(1, [rec(0)]);
  await settle(h.lanes, () => h.calls.length === 1);
  h.lanes.push(1, [rec(1)]);
  const closing = h.lanes.close();
  open();
  await closing;
  assert.deepEqual(h.calls, [['0']]);
  assert.deepEqual(h.commits, [[1, '1']]);
  assert.equal(h.lanes.counters().queued_bytes, 0);
});

test('wait() holds the fetch handler while more than maxQueuedBytes are queued, and lets go once runs drain them', async () => {
  let open!: () => void;
  let gate: Promise<void> | null = new Promise((r) => { open = r; });
  const h = harness(() => ok, { maxQueuedBytes: 100, gate: () => gate ?? Promise.resolve() });
  h.lanes.push(0, [rec(0, 80), rec(1, 80)]);
  let released = false;
  const ticks: number[] = [];
  const waiting = h.lanes.wait(async () => { ticks.push(1); }, 5).then(() => { released = true; });
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(released, false, '160 bytes queued, bound 100');
  assert.ok(ticks.length > 0, 'heartbeats while waiting');
  gate = null;
  open();
  await waiting;
  assert.equal(h.lanes.counters().queued_bytes, 0);
});

test('wait() ends with the heartbeat\'s error while still over maxQueuedBytes, so a rebalance does not wait for the store', async () => {
  const h = harness(() => down, { maxQueuedBytes: 100 });
  h.lanes.push(0, [rec(0, 80), rec(1, 80)]);
  let ticks = 0;
  const rebalancing = Object.assign(new Error('The group is rebalancing, so a rejoin is needed'), { type: 'REBALANCE_IN_PROGRESS' });
  await assert.rejects(h.lanes.wait(async () => { if (++ticks === 3) throw rebalancing; }, 5), rebalancing);
  assert.equal(ticks, 3, 'heartbeats until one fails, then no more');
  assert.ok(h.lanes.counters().queued_bytes > 100, 'the store is still down: the bytes are still queued');
  await h.lanes.close();
});
