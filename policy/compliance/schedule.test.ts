// The report schedule on real parts: a ReportService over a chdb store
// filled through the real collector, the schedule's clock in the test's
// hand. Periods follow each other with no hole and no overlap, so the
// requests they count add up to those of one report over the whole time.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createChdbStore, type TapStore } from '../../ingest/index.ts';
import { ReportService, type ReportStore } from './reports.ts';
import { ReportSchedule } from './schedule.ts';
import { seedMesh, type SeededMesh } from './testing/seed-mesh.ts';

const SETTLE = 60_000;
const EVERY = 120_000;

let dir: string;
let store: TapStore;
let mesh: SeededMesh;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshlens-report-schedule-'));
  store = createChdbStore({ dataDir: dir });
  await store.init();
  mesh = await seedMesh(store, {}, 10);
});
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The store the service reads, which the test may swap for another (a closed one, then a reopened one). */
function swappable(first: TapStore): { store: ReportStore; use(s: TapStore): void } {
  let current = first;
  const store = new Proxy({} as ReportStore, {
    get: (_, key) => {
      const v = Reflect.get(current, key) as unknown;
      return typeof v === 'function' ? v.bind(current) : v;
    },
  });
  return { store, use: (s) => { current = s; } };
}

/** The period and the requests counted of a stored report. */
async function periodOf(service: ReportService, id: string): Promise<[number, number, number]> {
  const b = (await service.get(id))!.body;
  return [b.period.from, b.period.until, b.evidence_counts.requests];
}

test('runs cover contiguous periods, each ending settleMs before its run, whose requests add up to the whole period\'s', async () => {
  let clock = mesh.from + SETTLE;
  const service = new ReportService(store, { now: () => clock });
  const logged: string[] = [];
  const schedule = new ReportSchedule(service, { everyMs: EVERY, settleMs: SETTLE, pack: 'baseline', now: () => clock, log: (m) => logged.push(m) });
  const runs: number[] = [];
  const periods: [number, number, number][] = [];
  // Runs an interval apart, then one late (a slow machine): the last period is longer, never a hole.
  for (const step of [EVERY, EVERY, EVERY, 3 * EVERY]) {
    clock += step;
    runs.push(clock);
    await schedule.runOnce();
    periods.push(await periodOf(service, schedule.counters.last_id));
  }
  assert.deepEqual([schedule.counters.runs, schedule.counters.issued, schedule.counters.failed, schedule.counters.last_error], [4, 4, 0, '']);
  assert.equal(new Set((await service.list(1000)).filter((r) => r.issued_by === 'schedule').map((r) => r.id)).size, 4, 'four reports stored');
  // The first covers the interval before its run (less settleMs), not the time since the schedule was made.
  assert.equal(periods[0][0], runs[0] - SETTLE - EVERY);
  assert.equal(periods[0][0], mesh.from);
  periods.forEach(([, until], i) => assert.equal(until, runs[i] - SETTLE, `period ${i} ends settleMs before its run`));
  for (let i = 1; i < periods.length; i++) assert.equal(periods[i][0], periods[i - 1][1], `period ${i} begins where ${i - 1} ended`);
  assert.ok(periods.at(-1)![1] >= mesh.until, 'the periods reach past the seeded traffic');

  const whole = await service.issue({ from: periods[0][0], until: periods.at(-1)![1] }, 'baseline', 'test');
  const requests = periods.map(([, , n]) => n);
  assert.ok(requests.filter((n) => n > 0).length >= 3, `traffic in several periods: ${requests}`);
  assert.ok(whole.body.evidence_counts.requests > 0);
  assert.equal(requests.reduce((a, b) => a + b, 0), whole.body.evidence_counts.requests, `${requests} add up to the whole period's`);
  assert.match(logged[0], /^report rpt-\S+: \d+ pass, \d+ fail, \d+ insufficient evidence, \d+ not applicable$/);
});

test('a failed run is counted with its error, and the next run covers the failed period too', async () => {
  let clock = mesh.from + EVERY + SETTLE;
  const where = swappable(store);
  const service = new ReportService(where.store, { now: () => clock });
  const logged: string[] = [];
  const schedule = new ReportSchedule(service, { everyMs: EVERY, settleMs: SETTLE, pack: 'baseline', now: () => clock, log: (m) => logged.push(m) });
  clock += EVERY;
  await schedule.runOnce();
  const firstId = schedule.counters.last_id;
  const first = await periodOf(service, firstId);

  // The store goes away (a ClickHouse restart): the run fails, and nothing is issued.
  await store.close();
  clock += EVERY;
  await schedule.runOnce();
  assert.deepEqual([schedule.counters.runs, schedule.counters.issued, schedule.counters.failed], [2, 1, 1]);
  assert.match(schedule.counters.last_error, /closed/);
  assert.equal(schedule.counters.last_id, firstId);
  assert.equal(logged.at(-1), `scheduled report failed (the next run covers its period too): ${schedule.counters.last_error}`);
  assert.equal(service.counters.failed, 1);

  // Back again: the next run reports from where the last stored report ended.
  store = createChdbStore({ dataDir: dir });
  await store.init();
  where.use(store);
  clock += EVERY;
  await schedule.runOnce();
  assert.deepEqual([schedule.counters.runs, schedule.counters.issued, schedule.counters.failed], [3, 2, 1]);
  assert.notEqual(schedule.counters.last_id, firstId);
  const [from, until, requests] = await periodOf(service, schedule.counters.last_id);
  assert.equal(from, first[1], 'the period of the failed run is not lost');
  assert.equal(until, clock - SETTLE);
  assert.equal(until - from, 2 * EVERY);
  assert.ok(requests > 0, 'the failed period\'s traffic is counted');
});

test('close() waits for a run in progress, whose report is stored', async (t) => {
  // The schedule's timer is unref'd (it never holds a process up), so while the test awaits its
  // first run nothing else may be keeping the event loop alive: hold it here.
  const alive = setInterval(() => {}, 1_000);
  t.after(() => clearInterval(alive));
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  let writing!: () => void;
  const writeStarted = new Promise<void>((r) => { writing = r; });
  // The real store, its report writes held at a gate the test opens.
  const held = new Proxy(store, {
    get(target, key) {
      if (key === 'writeReport') return async (r: Parameters<TapStore['writeReport']>[0]) => { writing(); await gate; return target.writeReport(r); };
      const v = Reflect.get(target, key) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const service = new ReportService(held);
  const schedule = new ReportSchedule(service, { everyMs: 10_000, settleMs: SETTLE, pack: 'baseline', firstAfterMs: 0 });
  schedule.start();
  await writeStarted;
  let closed = false;
  const closing = schedule.close().then(() => { closed = true; });
  // Give close() every chance to resolve early: it must not while the write is held.
  await new Promise((r) => setImmediate(r));
  assert.equal(closed, false, 'close() resolved with a run in progress');
  assert.equal(schedule.counters.issued, 0);
  release();
  await closing;
  assert.deepEqual([schedule.counters.runs, schedule.counters.issued, schedule.counters.failed], [1, 1, 0]);
  assert.ok(await store.report(schedule.counters.last_id), 'the report of the run in progress was stored');
});

test('an interval under 10 s is refused when the schedule is made', () => {
  const service = new ReportService(store);
  assert.throws(() => new ReportSchedule(service, { everyMs: 9_999, pack: 'baseline' }), /every must be at least 10 s, got 9999 ms/);
  assert.throws(() => new ReportSchedule(service, { everyMs: 15_000.5, pack: 'baseline' }), RangeError);
});
