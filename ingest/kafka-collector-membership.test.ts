import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaPublisher } from './bus/kafka.ts';
import type { TapBatch } from './batch.ts';
import { createChdbStore } from './chdb-store.ts';
import { IngestError } from './errors.ts';
import { startKafkaCollector, type KafkaCollector, type KafkaCollectorOptions } from './kafka-collector.ts';
import { sampleChain, sampleL7 } from './sample-taps.ts';
import type { TapStore } from './store.ts';
import { committedToEnd, eventually } from './testing/kafka-waits.ts';
import { startKafkaMock, type KafkaMock } from '../peers/index.ts';

// Collectors joining, leaving and failing inside one consumer group, on
// librdkafka's mock cluster (peers/kafka-mock.ts). Every membership change
// costs a rebalance the mock holds open for session timeout - 1 s (5 s here)
// before it answers the JoinGroups, so each wait below is for an event (a
// member's assignment, its stored taps), with a deadline far above that.
let mock: KafkaMock;
let store: TapStore;
let dir: string;

before(async () => {
  mock = await startKafkaMock();
  dir = mkdtempSync(join(tmpdir(), 'meshlens-kafka-membership-'));
  store = createChdbStore({ dataDir: dir });
  await store.init();
});
after(async () => {
  await store.close();
  await mock.stop();
  rmSync(dir, { recursive: true, force: true });
});

const quick = { retryInitialMs: 50, retryMaxMs: 400, sessionTimeoutMs: 6_000, heartbeatIntervalMs: 300, fetchWaitMs: 100 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const events = (n: number) => Array.from({ length: n }, () => sampleL7());

/** Members of one group, each logging into `lines` (printed when a wait fails). */
function group(t: TestContext, opts: Omit<KafkaCollectorOptions, 'brokers' | 'log'>) {
  const members = new Map<string, KafkaCollector>();
  const lines: string[] = [];
  t.after(() => Promise.all([...members.values()].map((m) => m.close())));
  return {
    async start(name: string, over: Partial<KafkaCollectorOptions> = {}): Promise<KafkaCollector> {
      const m = await startKafkaCollector({ ...quick, ...opts, ...over, brokers: mock.brokers, log: (l) => { lines.push(`${name}: ${l}`); } });
      members.set(name, m);
      return m;
    },
    /** Each member's group state and the last lines logged. */
    state(): string {
      const each = [...members].map(([name, m]) => {
        const c = m.counters();
        return `${name}: partitions [${c.partitions}], ${c.rebalances} joins, ${c.restarts} restarts, ${c.events_written} events written, ${c.store_retries} store retries`;
      });
      return [...each, `offsets committed/end: ${offsetsSeen}`, ...lines.slice(-16)].join('\n  ');
    },
    lines,
  };
}


/** Committed offset / end offset of each partition, as last read by committedEverything (for failure messages). */
let offsetsSeen = '';


/**
 * Each proxy publishes its own chain, one batch of 3 taps every `everyMs`,
 * until stop(), which ends the loops and waits for them: nothing of a test
 * runs after it. A failed publish is kept for the test to assert on, never
 * asserted in the loop (that would fire outside the test).
 */
function publishSteadily(topic: string, proxies: readonly string[], everyMs = 300) {
  const pubs = proxies.map(() => new KafkaPublisher({ brokers: mock.brokers, topic }));
  const failures: string[] = [];
  let stopped = false;
  let published = 0;
  const loops = proxies.map(async (proxy, i) => {
    let prev: TapBatch | undefined;
    for (let n = 0; !stopped; n++) {
      const [b] = sampleChain(proxy, 's', [events(3)], { firstBatch: n, firstSeq: n * 3, prevHash: prev?.hash });
      const r = await pubs[i].publish(b);
      if (!r.ok) { failures.push(`${proxy} batch ${n}: ${r.code}: ${r.message}`); return; }
      published += b.events.length;
      prev = b;
      await sleep(everyMs);
    }
  });
  return {
    published: () => published,
    failures,
    async stop(): Promise<void> {
      stopped = true;
      await Promise.all(loops);
      await Promise.all(pubs.map((p) => p.close()));
    },
  };
}

/** The file's store, whose writes fail (retriably) while `isDown()`; closing it is left to the file. */
function failingStore(isDown: () => boolean): TapStore {
  const writes = new Set<PropertyKey>(['writeBatch', 'writeBatches', 'recordLoss']);
  return new Proxy(store, {
    get(target, key) {
      const v: unknown = Reflect.get(target, key, target);
      if (typeof v !== 'function') return v;
      if (key === 'close') return async () => {};
      if (!writes.has(key)) return v.bind(target);
      return async (...args: unknown[]) => {
        if (isDown()) throw new IngestError('INGEST_ERR_STORE', 'test: ClickHouse is down');
        return v.apply(target, args);
      };
    },
  });
}

const storedOf = async (proxies: readonly string[]) => { let n = 0; for (const p of proxies) n += await store.countTaps({ proxy: p }); return n; };

test('members joining and leaving while records flow: every tap stored once, no gaps recorded, offsets committed to the end', async (t) => {
  const proxies = ['kr-a', 'kr-b', 'kr-c', 'kr-d', 'kr-e', 'kr-f'];
  const flow = publishSteadily('kc-rebalance', proxies);
  t.after(() => flow.stop()); // registered first: the publishers stop before the members close
  const g = group(t, { store, topic: 'kc-rebalance', groupId: 'kc-rebalance' });
  const a = await g.start('a');
  await eventually('a to hold every partition and store taps', () => a.counters().partitions.length === 4 && a.counters().events_written > 0, { state: g.state });
  const b = await g.start('b'); // joins: a rebalance mid-stream
  await eventually('a and b to each hold partitions', () => a.counters().partitions.length > 0 && b.counters().partitions.length > 0, { state: g.state });
  const aAtJoin = a.counters().events_written;
  await eventually('a and b to each store taps after the rebalance', () => a.counters().events_written > aAtJoin && b.counters().events_written > 0, { state: g.state });
  await a.close(); // leaves: b takes every partition mid-stream
  await eventually('b to hold every partition', () => b.counters().partitions.join() === '0,1,2,3', { state: g.state });
  const bAtTakeover = b.counters().events_written;
  await eventually('b to store taps after taking over', () => b.counters().events_written > bAtTakeover, { state: g.state });
  await flow.stop();
  assert.deepEqual(flow.failures, []);
  const published = flow.published();
  await eventually(`all ${published} published taps stored`, async () => (await storedOf(proxies)) === published, { state: g.state });
  await eventually('offsets committed to the end', async () => { const c = await committedToEnd(mock.brokers, 'kc-rebalance', 'kc-rebalance'); offsetsSeen = c.seen; return c.done; }, { state: g.state });
  assert.equal(await storedOf(proxies), published, 'none doubled');
  assert.deepEqual((await store.lossSummary()).filter((l) => proxies.includes(l.proxy)), [], 'no sequence gaps: no record was judged before an earlier one of its stream was stored');
  const [ca, cb] = [a.counters(), b.counters()];
  t.diagnostic(`${published} taps; a: ${ca.events_written} written, ${ca.commits} commits, ${ca.commit_failures} failed; b: ${cb.events_written} written, ${cb.batches_duplicate} duplicates, ${cb.commits} commits, ${cb.commit_failures} failed; restarts ${ca.restarts}+${cb.restarts}`);
  assert.equal(ca.batches_rejected + cb.batches_rejected, 0);
});

/**
 * Holds the first follower SyncGroup of `groupId` until the leader's has
 * completed the generation: the order a loaded machine produced in CI. The
 * mock answers such a late SyncGroup with INVALID_REQUEST, which kafkajs
 * treats as a crash it does not restart from. Returns the undo.
 */
function lateFollowerSync(groupId: string): () => void {
  const Broker = createRequire(import.meta.url)('kafkajs/src/broker/index.js');
  const original = Broker.prototype.syncGroup;
  const leaderSynced = new Map<number, { done: Promise<void>; resolve: () => void }>();
  const generation = (id: number) => {
    let g = leaderSynced.get(id);
    if (!g) {
      let resolve!: () => void;
      const done = new Promise<void>((r) => { resolve = r; });
      leaderSynced.set(id, g = { done, resolve });
    }
    return g;
  };
  let held = false;
  Broker.prototype.syncGroup = async function (this: unknown, req: { groupId: string; generationId: number; groupAssignment: unknown[] }) {
    if (req.groupId !== groupId) return original.call(this, req);
    const g = generation(req.generationId);
    if (req.groupAssignment.length > 0) { // the leader: it sends every member's assignment
      try { return await original.call(this, req); } finally { g.resolve(); }
    }
    if (!held) { held = true; await Promise.race([g.done, sleep(15_000)]); }
    return original.call(this, req);
  };
  return () => { Broker.prototype.syncGroup = original; };
}

test('a member whose consumer crashes where kafkajs does not restart it (a late SyncGroup) joins again by itself and its partitions are consumed', async (t) => {
  const proxies = ['kx-a', 'kx-b', 'kx-c', 'kx-d'];
  const pub = new KafkaPublisher({ brokers: mock.brokers, topic: 'kc-crash' });
  t.after(() => pub.close());
  for (const p of proxies) for (const b of sampleChain(p, 's', Array.from({ length: 5 }, () => events(2)))) assert.equal((await pub.publish(b)).ok, true);
  t.after(lateFollowerSync('kc-crash'));
  const g = group(t, { store, topic: 'kc-crash', groupId: 'kc-crash' });
  const [a, b] = await Promise.all([g.start('a'), g.start('b')]);
  await eventually('one member to crash and start again', () => a.counters().restarts + b.counters().restarts === 1, { state: g.state });
  assert.ok(g.lines.some((l) => l.includes('INVALID_REQUEST') && l.includes('starting it again')), g.state());
  await eventually('all 40 taps stored', async () => (await storedOf(proxies)) === 40, { state: g.state });
  await eventually('offsets committed to the end', async () => { const c = await committedToEnd(mock.brokers, 'kc-crash', 'kc-crash'); offsetsSeen = c.seen; return c.done; }, { state: g.state });
  await eventually('both members to hold partitions', () => a.counters().partitions.length > 0 && b.counters().partitions.length > 0, { state: g.state });
  assert.equal(await storedOf(proxies), 40, 'none doubled');
});

test('a member held by backpressure while the store is down still rejoins a rebalance, and a joining member gets partitions before the store is back', async (t) => {
  const proxies = ['kh-a', 'kh-b'];
  let storeDown = true;
  const failing = failingStore(() => storeDown);
  const pub = new KafkaPublisher({ brokers: mock.brokers, topic: 'kc-held' });
  t.after(() => pub.close());
  for (const p of proxies) for (const b of sampleChain(p, 's', Array.from({ length: 5 }, () => events(2)))) assert.equal((await pub.publish(b)).ok, true);
  // maxQueuedBytes 1: one fetched record already holds the fetch handler until it is
  // stored. The mock hands out one record per fetch, so a short group linger.
  const g = group(t, { store: failing, topic: 'kc-held', groupId: 'kc-held', maxQueuedBytes: 1, groupLingerMs: 20 });
  const a = await g.start('a');
  await eventually('a to retry the down store', () => a.counters().store_retries >= 3, { state: g.state });
  const b = await g.start('b');
  await eventually('a to rejoin and both to hold partitions, the store still down', () => a.counters().rebalances >= 2 && a.counters().partitions.length > 0 && b.counters().partitions.length > 0, { state: g.state });
  assert.equal(await storedOf(proxies), 0);
  storeDown = false;
  await eventually('all 20 taps stored', async () => (await storedOf(proxies)) === 20, { state: g.state });
  await eventually('offsets committed to the end', async () => { const c = await committedToEnd(mock.brokers, 'kc-held', 'kc-held'); offsetsSeen = c.seen; return c.done; }, { state: g.state });
  // A restart may come on top (a late SyncGroup after the held member rejoins, see the test above): a recovery, not a failure.
  t.diagnostic(`restarts: a ${a.counters().restarts}, b ${b.counters().restarts}`);
});
