import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RetryPolicy } from '../control/resilience.ts';
import { retryAfterMs } from './retry-after.ts';
import { startFaultyUpstream } from './testing/faulty-upstream.ts';
import { cluster, outboundSidecar } from './testing/outbound-harness.ts';

const retry = (over: Partial<RetryPolicy> = {}): RetryPolicy => ({
  attempts: 2, backoff_base_ms: 1, backoff_max_ms: 2, on: ['unavailable'], budget: { ratio: 1, min_per_s: 100 }, ...over,
});

/** Answers the first request with `status` and that retry-after, the rest 200. */
async function upstreamSaying(t: { after(fn: () => Promise<void>): void }, status: number, retryAfter: string) {
  const u = await startFaultyUpstream('a', (n) => (n === 1 ? { status, headers: { 'retry-after': retryAfter } } : { status: 200 }));
  t.after(() => u.close());
  return u;
}

test('a 503 whose retry-after is at most backoff_max_ms is retried after exactly that wait, not the shorter computed backoff', async (t) => {
  const u = await upstreamSaying(t, 503, '1');
  const m = await outboundSidecar(t);
  // The computed wait would be 0.5-1 ms; the upstream asks for 1 s.
  await m.push([cluster('cart', [u.port], { retry: retry({ backoff_max_ms: 2_000 }) })]);
  const r = await m.call('cart');
  assert.deepEqual([r.status, r.body], [200, 'a']);
  const [first, second] = u.requests().map((h) => h.at);
  assert.ok(second - first >= 999, `the retry came ${(second - first).toFixed(1)} ms after the 503, before the 1 s it asked for`);
  const [tap] = await m.taps();
  assert.deepEqual([tap.retries, tap.flags], [1, 'retried']);
});

test('a 503 whose retry-after is longer than backoff_max_ms, or than the request has left, is not retried: the client gets it, retry-after included, and the tap and counter say why', async (t) => {
  const long = await upstreamSaying(t, 503, '3');
  const date = await upstreamSaying(t, 503, new Date(Date.now() + 120_000).toUTCString());
  const late = await upstreamSaying(t, 503, '2');
  const m = await outboundSidecar(t);
  await m.push([
    cluster('long', [long.port], { retry: retry({ backoff_max_ms: 1_000 }) }),
    cluster('date', [date.port], { retry: retry({ backoff_max_ms: 1_000 }) }),
    // Within backoff_max_ms, but the request timeout (1.5 s) ends before 2 s have passed.
    cluster('late', [late.port], { request_timeout_ms: 1_500, retry: retry({ backoff_max_ms: 5_000 }) }),
  ]);
  for (const service of ['long', 'date', 'late']) {
    const r = await m.call(service);
    assert.deepEqual([r.status, r.body, typeof r.headers['retry-after']], [503, 'a', 'string'], service);
  }
  assert.deepEqual([long, date, late].map((u) => u.requests().length), [1, 1, 1], 'each tried once');
  const taps = await m.taps();
  assert.deepEqual(taps.map((e) => [e.dst_service, e.status, e.retries, e.flags]), [
    ['long', 503, 0, 'retry_not_allowed'], ['date', 503, 0, 'retry_not_allowed'], ['late', 503, 0, 'retry_not_allowed'],
  ]);
  const res = m.sidecar.stats().resilience;
  assert.deepEqual(['long', 'date', 'late'].map((s) => [res[s].retry_after_too_long, res[s].retry_not_allowed, res[s].retries]), [[1, 0, 0], [1, 0, 0], [1, 0, 0]]);
});

test('a 429 is retried only where the policy names rate-limited, after its retry-after; a retry-after that is no number nor date is ignored', async (t) => {
  const limited = await upstreamSaying(t, 429, '0');
  const plain = await upstreamSaying(t, 429, '0');
  const junk = await upstreamSaying(t, 503, 'soon, maybe');
  const m = await outboundSidecar(t);
  await m.push([
    cluster('limited', [limited.port], { retry: retry({ on: ['rate-limited'] }) }),
    cluster('plain', [plain.port], { retry: retry() }),
    cluster('junk', [junk.port], { retry: retry() }),
  ]);
  assert.deepEqual([(await m.call('limited')).status, (await m.call('plain')).status, (await m.call('junk')).status], [200, 429, 200]);
  const taps = await m.taps();
  assert.deepEqual(taps.map((e) => [e.dst_service, e.status, e.retries, e.flags]), [
    ['limited', 200, 1, 'retried'], ['plain', 429, 0, undefined], ['junk', 200, 1, 'retried'],
  ]);
});

test('retry-after is read as delay-seconds or an HTTP-date, and nothing else', () => {
  const now = Date.UTC(2026, 11, 7, 22, 0, 0);
  assert.equal(retryAfterMs('120', now), 120_000);
  assert.equal(retryAfterMs(' 0 ', now), 0);
  assert.equal(retryAfterMs('Mon, 07 Dec 2026 22:00:30 GMT', now), 30_000);
  assert.equal(retryAfterMs('Mon, 07 Dec 2026 21:00:00 GMT', now), 0, 'a date past is no wait');
  assert.equal(retryAfterMs('99999999999', now), undefined, 'more digits than any sane delay: ignored');
  assert.equal(retryAfterMs('9999999999', now), 24 * 3600 * 1000, 'a delay past a day is capped there');
  for (const junk of ['-1', '1.5', '', 'tomorrow', '2026-12-07T22:00:30Z', '1e3']) assert.equal(retryAfterMs(junk, now), undefined, junk);
});
