import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdmissionGate, type Admission } from './admission-gate.ts';
import { RequestSignal } from './request-signal.ts';
import { newAdmissionCounters } from './runtime.ts';

const admitted = (a: Admission) => { assert.equal(a.admitted, true); return (a as { release: () => void }).release; };
/** Whether a promise has settled by the time queued microtasks have run. */
const settled = async (p: Promise<unknown>) => Promise.race([p.then(() => true), new Promise((r) => setImmediate(() => r(false)))]);

test('admits up to the limit, refuses the next at once when there is no queue, and counts both', async () => {
  const gate = new AdmissionGate(newAdmissionCounters());
  const limits = { concurrent: 2, queue: 0, waitMs: 1_000 };
  const a = admitted(await gate.enter(limits));
  admitted(await gate.enter(limits));
  assert.deepEqual(await gate.enter(limits), { admitted: false, why: 'full' });
  a();
  a(); // a second release of the same slot changes nothing
  admitted(await gate.enter(limits));
  assert.deepEqual(gate.counters, { in_flight: 2, waiting: 0, admitted: 3, queued: 0, shed: 1 });
});

test('queues up to `queue` requests and hands freed slots over in arrival order', async () => {
  const gate = new AdmissionGate(newAdmissionCounters());
  const limits = { concurrent: 1, queue: 2, waitMs: 60_000 };
  const first = admitted(await gate.enter(limits));
  const order: string[] = [];
  const second = gate.enter(limits).then((a) => { order.push('second'); return admitted(a); });
  const third = gate.enter(limits).then((a) => { order.push('third'); return admitted(a); });
  assert.deepEqual(await gate.enter(limits), { admitted: false, why: 'full' }, 'the queue is full');
  assert.equal(await settled(second), false, 'waits while the slot is held');
  assert.equal(gate.counters.waiting, 2);
  first();
  (await second)();
  (await third)();
  assert.deepEqual(order, ['second', 'third']);
  assert.deepEqual(gate.counters, { in_flight: 0, waiting: 0, admitted: 3, queued: 2, shed: 1 });
});

test('a request that waits longer than waitMs is refused and counted as shed', async () => {
  const gate = new AdmissionGate(newAdmissionCounters());
  const limits = { concurrent: 1, queue: 1, waitMs: 5 };
  const first = admitted(await gate.enter(limits));
  assert.deepEqual(await gate.enter(limits), { admitted: false, why: 'waited' });
  first();
  assert.deepEqual(gate.counters, { in_flight: 0, waiting: 0, admitted: 1, queued: 1, shed: 1 });
});

test('a waiting request whose client left gives up its place without being counted as shed', async () => {
  const gate = new AdmissionGate(newAdmissionCounters());
  const limits = { concurrent: 1, queue: 2, waitMs: 60_000 };
  const first = admitted(await gate.enter(limits));
  const gone = new RequestSignal();
  const leaving = gate.enter(limits, gone);
  const staying = gate.enter(limits);
  gone.abort(undefined);
  assert.deepEqual(await leaving, { admitted: false, why: 'cancelled' });
  first();
  admitted(await staying)();
  assert.deepEqual(gate.counters, { in_flight: 0, waiting: 0, admitted: 2, queued: 2, shed: 0 });
});

test('a raised limit lets waiters in before newcomers; a lowered one refuses until enough requests have finished', async () => {
  const gate = new AdmissionGate(newAdmissionCounters());
  const at = (concurrent: number, queue = 1) => ({ concurrent, queue, waitMs: 60_000 });
  const a = admitted(await gate.enter(at(2)));
  const b = admitted(await gate.enter(at(2)));
  const waiter = gate.enter(at(2));
  const newcomer = gate.enter(at(3)); // a new snapshot raised the limit to 3
  const w = admitted(await waiter);
  assert.equal(await settled(newcomer), false, 'the new slot went to the one already waiting');
  a();
  const n = admitted(await newcomer);
  assert.equal(gate.counters.in_flight, 3);

  assert.equal((await gate.enter(at(1, 0))).admitted, false, 'lowered to 1 with 3 in flight');
  b();
  w();
  assert.equal((await gate.enter(at(1, 0))).admitted, false, 'still 1 in flight');
  n();
  admitted(await gate.enter(at(1, 0)))();
  assert.equal(gate.counters.in_flight, 0);
});
