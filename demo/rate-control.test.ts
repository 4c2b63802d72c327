// The demo's two open-loop senders follow a rate that changes under them:
// the load generator (a surge) and a background job's timer (a flood).
// Their clock is driven by the test, so the counts are exact.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startLoad, startWorkload, type FaultEffect } from './index.ts';

/** A local server counting the request targets it gets. */
async function counter(): Promise<{ url: string; targets: string[]; close(): Promise<void> }> {
  const targets: string[] = [];
  const server = http.createServer((req, res) => { targets.push(req.url ?? ''); req.resume(); res.end('ok'); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, targets,
    close: () => { server.closeAllConnections(); return new Promise((r) => server.close(() => r())); },
  };
}

const until = async (what: string, probe: () => boolean) => {
  const deadline = Date.now() + 20_000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};
/** Lets the sender's 20 ms timer run a few more times with the clock held still. */
const settle = () => new Promise((r) => setTimeout(r, 120));

test('the load generator sends rps per second of its clock, times the multiplier in force: 10, then 30 in a surge second', async () => {
  const server = await counter();
  let clock = 0;
  let multiplier = 1;
  const load = startLoad({ target: server.url, rps: 10, now: () => clock, rateMultiplier: () => multiplier });
  try {
    clock = 1_000;
    await until('10 requests', () => server.targets.length >= 10);
    await settle();
    assert.equal(load.stats().sent, 10);
    multiplier = 3;
    clock = 2_000;
    await until('40 requests', () => server.targets.length >= 40);
    await settle();
    assert.equal(load.stats().sent, 40);
    assert.equal(server.targets.length, 40);
  } finally {
    await load.stop();
    await server.close();
  }
});

test('a background job calls its service through its sidecar\'s outbound listener on a timer: 2 a second, 150 in a flood second', async () => {
  const proxy = await counter(); // stands in for the sidecar's outbound listener
  let clock = 0;
  let effect: FaultEffect = { extra_ms: 0, error_rate: 0, reset: false, extra_bytes: 0 };
  const job = await startWorkload({
    service: { name: 'indexer', calls: ['catalog'], work_ms: 0, error_rate: 0, slow_rate: 0, slow_ms: 0, background_rps: 2 },
    httpProxy: proxy.url, now: () => clock, fault: () => effect,
  });
  try {
    clock = 1_000;
    await until('2 calls', () => proxy.targets.length >= 2);
    await settle();
    assert.deepEqual(proxy.targets, ['http://catalog/index/products/1', 'http://catalog/index/products/2']);
    effect = { ...effect, rate_multiplier: 75 };
    // A tenth of a second at a time, as a real clock moves: 15 calls a step, well under the 64 the job keeps in flight.
    for (let step = 1; step <= 10; step++) {
      clock = 1_000 + step * 100;
      await until(`${2 + step * 15} calls`, () => proxy.targets.length >= 2 + step * 15);
    }
    await settle();
    assert.equal(proxy.targets.length, 152);
    assert.deepEqual(job.called(), { 200: 152 });
    assert.equal(job.served(), 0, 'nothing calls a background job');
  } finally {
    await job.close();
    await proxy.close();
  }
});
