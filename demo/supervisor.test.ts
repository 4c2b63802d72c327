import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Supervisor } from './supervisor.ts';

const until = async (what: string, probe: () => boolean, timeoutMs = 60_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('restarts a child that exits on its own with the same arguments, backing off exponentially up to the cap, counting and logging each restart', { timeout: 90_000 }, async () => {
  const lines: string[] = [];
  const sup = new Supervisor({ log: (l) => lines.push(l), backoffMs: 50, maxBackoffMs: 150 });
  // `meshlens nope` exits at once with code 2: a child that keeps crashing.
  const first = sup.start('x-1', 'sidecar x-1', ['nope']);
  try {
    await until('4 restarts', () => sup.restarts()['x-1'] >= 4);
  } finally {
    await sup.stop();
  }
  const restarts = lines.filter((l) => l.startsWith('supervisor:'));
  assert.deepEqual(restarts.slice(0, 4), [
    'supervisor: sidecar x-1 exited (code 2), restarting in 50 ms (restart 1)',
    'supervisor: sidecar x-1 exited (code 2), restarting in 100 ms (restart 2)',
    'supervisor: sidecar x-1 exited (code 2), restarting in 150 ms (restart 3)',
    'supervisor: sidecar x-1 exited (code 2), restarting in 150 ms (restart 4)',
  ]);
  assert.notEqual(sup.children.get('x-1'), first, 'the map holds the current process');
  assert.ok(lines.some((l) => l.startsWith('[sidecar x-1] ')), 'the child\'s output is forwarded with its name');
});

test('a child stopped on purpose is not restarted, and stop() cancels a restart that was waiting', { timeout: 60_000 }, async () => {
  const lines: string[] = [];
  const sup = new Supervisor({ log: (l) => lines.push(l), backoffMs: 60_000 });
  const child = sup.start('x-1', 'sidecar x-1', ['nope']);
  await child.ended;
  await until('the restart to be scheduled', () => sup.restarts()['x-1'] === 1);
  await sup.stop(); // the restart due in 60 s is cancelled; the test's process would otherwise wait for it

  const other = new Supervisor({ log: (l) => lines.push(l), backoffMs: 10 });
  const c = other.start('y-1', 'sidecar y-1', ['nope']);
  await c.stop(); // SIGTERM right away, long before it could exit on its own
  assert.equal((await c.ended).signal, 'SIGTERM');
  await new Promise((r) => setTimeout(r, 300)); // far longer than the backoff
  assert.equal(other.children.get('y-1'), c);
  assert.deepEqual(other.restarts(), { 'y-1': 0 });
  await other.stop();
});

test('a child removed (a scale-down) is stopped with SIGTERM, forgotten and never restarted; the others keep running', { timeout: 60_000 }, async () => {
  const lines: string[] = [];
  const sup = new Supervisor({ log: (l) => lines.push(l), backoffMs: 10 });
  // A demo workload runs until stopped: a child that stays up.
  const spec = (instance: string) => JSON.stringify([{
    service: { name: 'a', calls: [], work_ms: 0, error_rate: 0, slow_rate: 0, slow_ms: 0 }, instance, version: 'v1', port: 0, httpProxy: 'http://127.0.0.1:1', epoch_ms: 0,
  }]);
  const a = sup.start('a-1', 'app a-1', ['demo-apps', '--spec', spec('a-1')]);
  const b = sup.start('a-2', 'app a-2', ['demo-apps', '--spec', spec('a-2')]);
  try {
    await until('both listening', () => lines.filter((l) => / listening on /.test(l)).length === 2);
    assert.equal(await sup.remove('a-2'), true);
    assert.deepEqual(await b.ended, { code: 0, signal: null }, 'it stopped cleanly');
    assert.ok(lines.some((l) => l.startsWith('[app a-2] ') && l.includes('SIGTERM: stopping')), 'on SIGTERM');
    await new Promise((r) => setTimeout(r, 300)); // far longer than the backoff
    assert.deepEqual([...sup.children.keys()], ['a-1']);
    assert.deepEqual(sup.restarts(), { 'a-1': 0 });
    assert.equal(a.running, true);
    assert.equal(await sup.remove('a-2'), false, 'removing it again finds nothing');
  } finally {
    await sup.stop();
  }
  assert.ok(!lines.some((l) => l.startsWith('supervisor:')), 'no restart logged');
});
