import assert from 'node:assert/strict';
import { test } from 'node:test';
import { binomialTail, fisherGreater, judgeCanary, signTestGreater, type VersionBucket } from './judge.ts';

const bucket = (i: number, version: string, requests: number, errors: number, p50: number): VersionBucket =>
  ({ bucket: i * 10_000, version, requests, errors, p50_ms: p50, p99_ms: p50 * 4 });

test('Fisher one-sided p matches the hypergeometric tail computed by hand', () => {
  // 3 of 4 canary errors vs 0 of 4: P = C(3,3)C(5,1)/C(8,4) = 5/70.
  assert.ok(Math.abs(fisherGreater(3, 4, 0, 4) - 5 / 70) < 1e-12);
  assert.equal(fisherGreater(0, 10, 5, 10), 1);
  assert.ok(Math.abs(signTestGreater(5, 5) - 1 / 32) < 1e-12);
});

test('a canary failing 20% against 2% is unhealthy on fifty requests', () => {
  const rows = [0, 1].flatMap((i) => [bucket(i, 'v1', 500, 10, 10), bucket(i, 'v2', 25, 5, 10)]);
  const v = judgeCanary(rows, 'v1', 'v2', []);
  assert.equal(v.verdict, 'unhealthy');
  assert.equal(v.canary.requests, 50);
  assert.match(v.reasons[0], /errors: v2 20\.0% \(10\/50\) vs v1 2\.0% \(20\/1000\), Fisher one-sided p=.*: worse/);
});

test('one error in a small canary is not enough to call it worse', () => {
  const rows = [0, 1, 2].flatMap((i) => [bucket(i, 'v1', 300, 6, 10), bucket(i, 'v2', 10, i === 0 ? 1 : 0, 10)]);
  assert.equal(judgeCanary(rows, 'v1', 'v2', []).verdict, 'healthy');
});

test('a canary slower in every paired window is unhealthy once enough windows agree', () => {
  // Slower (30 ms against 10) but under the baseline's p99 (40 ms): only the sign test can tell.
  const slow = (n: number) => Array.from({ length: n }, (_, i) => [bucket(i, 'v1', 300, 0, 10), bucket(i, 'v2', 20, 0, 30)]).flat();
  assert.equal(judgeCanary(slow(3), 'v1', 'v2', []).verdict, 'healthy', 'three windows cannot reach significance');
  const v = judgeCanary(slow(6), 'v1', 'v2', []);
  assert.equal(v.verdict, 'unhealthy');
  assert.match(v.reasons[1], /slower in 6 of 6 windows, sign test p=0\.0156: worse/);
});

test('a canary far slower than the baseline\'s tail is unhealthy within two windows, where a sign test alone could not tell', () => {
  // v2's p50 (210 ms) is above v1's p99 (40 ms) in both windows, on 12 requests each.
  const rows = [0, 1].flatMap((i) => [bucket(i, 'v1', 300, 0, 10), bucket(i, 'v2', 12, 0, 210)]);
  const v = judgeCanary(rows, 'v1', 'v2', []);
  assert.equal(v.verdict, 'unhealthy');
  assert.match(v.reasons[1], /slower in 2 of 2 windows, sign test p=0\.2500; v2's p50 above v1's p99 in 2, binomial p=.*: worse$/);
  // The same slowdown kept under the baseline's p99 is left to the sign test: two windows are not enough.
  const mild = [0, 1].flatMap((i) => [bucket(i, 'v1', 300, 0, 10), bucket(i, 'v2', 12, 0, 30)]);
  assert.equal(judgeCanary(mild, 'v1', 'v2', []).verdict, 'healthy');
  assert.ok(Math.abs(binomialTail(2, 1, 0.5) - 0.75) < 1e-12);
});

test('too little canary traffic is inconclusive, and windows without both versions are left out', () => {
  const rows = [bucket(0, 'v1', 300, 0, 10), bucket(1, 'v2', 500, 400, 10), bucket(2, 'v1', 300, 0, 10), bucket(2, 'v2', 5, 5, 10)];
  const v = judgeCanary(rows, 'v1', 'v2', []);
  assert.equal(v.verdict, 'inconclusive');
  assert.equal(v.windows, 1);
  assert.match(v.reasons[0], /v2 had 5 requests in 1 windows shared with v1; the judge needs 20/);
});

test('an alert since the step counts against a canary whose own figures are worse', () => {
  const rows = [0, 1].flatMap((i) => [bucket(i, 'v1', 300, 3, 10), bucket(i, 'v2', 20, 0, 12)]);
  const v = judgeCanary(rows, 'v1', 'v2', [{ id: 'a1', subject: 'cart→payments' }]);
  assert.equal(v.verdict, 'unhealthy');
  assert.match(v.reasons[2], /a1 \(cart→payments\), and v2's own figures are worse/);
});
