import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isolateDemo, SHARED_NETWORK_WARNING } from './isolation.ts';

const SERVICES = ['web', 'cart'];

test('without namespaces the start says plainly that any local process can use a sidecar\'s outbound listener, and why', async () => {
  const cases: [Parameters<typeof isolateDemo>[0], Partial<Parameters<typeof isolateDemo>[2]>, string][] = [
    ['off', { uid: 0 }, '--isolate off'],
    ['auto', { uid: 1000 }, 'not root (uid 1000): network namespaces need CAP_NET_ADMIN'],
    ['auto', { uid: 0, kafkaBrokers: ['127.0.0.1:9092'] }, '--bus kafka: the namespaces reach only the demo bridge, not the brokers 127.0.0.1:9092'],
  ];
  for (const [mode, o, why] of cases) {
    const lines: string[] = [];
    const r = await isolateDemo(mode, SERVICES, { log: (l) => lines.push(l), ...o });
    assert.deepEqual(r, { isolation: { workloads: 'shared', detail: why } }, `${mode} ${JSON.stringify(o)}`);
    assert.deepEqual(lines, [`${SHARED_NETWORK_WARNING} (${why})`]);
  }
});

test('--isolate on refuses to start without namespaces instead of falling back', async () => {
  const lines: string[] = [];
  await assert.rejects(isolateDemo('on', SERVICES, { log: (l) => lines.push(l), uid: 1000 }),
    { message: '--isolate on: not root (uid 1000): network namespaces need CAP_NET_ADMIN' });
  assert.deepEqual(lines, []);
});
