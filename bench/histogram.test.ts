import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Histogram } from './histogram.ts';
import { seededUniform } from './synthetic-taps.ts';

/** The exact percentile the histogram approximates: the smallest value with at least p% of values at or below it. */
function exactPercentile(sorted: number[], p: number): number {
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1];
}

test('percentiles of values from 1 µs to 10 s are reported at most 1/128 above the exact value, never below', () => {
  const random = seededUniform(7);
  const values = Array.from({ length: 50_000 }, () => Math.round(10 ** (random() * 7)));
  const h = new Histogram();
  for (const v of values) h.record(v);
  const sorted = [...values].sort((a, b) => a - b);
  for (const p of [0, 1, 50, 90, 99, 99.9, 99.99, 100]) {
    const exact = exactPercentile(sorted, p);
    const got = h.percentile(p);
    assert.ok(got >= exact && got <= exact * (1 + 1 / 128), `p${p}: ${got} for exact ${exact}`);
  }
  assert.equal(h.count, values.length);
  assert.equal(h.max, sorted.at(-1));
  assert.equal(h.min, sorted[0]);
});

test('values below 256 units are kept exactly', () => {
  const h = new Histogram();
  for (let v = 0; v < 256; v++) h.record(v);
  for (let v = 0; v < 256; v++) assert.equal(h.percentile(((v + 1) / 256) * 100), v);
});

test('a value past the top bucket is clamped into it but the max stays exact', () => {
  const h = new Histogram();
  h.record(3e15);
  h.record(5);
  assert.equal(h.max, 3e15);
  assert.equal(h.percentile(100), 3e15);
  assert.equal(h.percentile(50), 5);
});

test('merging histograms, also through JSON, gives the histogram of all their values', () => {
  const random = seededUniform(3);
  const all = new Histogram();
  const parts = [new Histogram(), new Histogram(), new Histogram()];
  for (let i = 0; i < 30_000; i++) {
    const v = Math.round(random() * 1e6);
    all.record(v);
    parts[i % 3].record(v);
  }
  const merged = Histogram.fromJSON(JSON.parse(JSON.stringify(parts[0].toJSON())));
  merged.merge(parts[1]).merge(Histogram.fromJSON(parts[2].toJSON()));
  assert.deepEqual(merged.toJSON(), all.toJSON());
  assert.equal(merged.percentile(99), all.percentile(99));
});

test('countAtLeast counts the values at or above a threshold', () => {
  const h = new Histogram();
  for (const v of [10, 99_000, 100_000, 150_000, 250_000]) h.record(v);
  assert.equal(h.countAtLeast(100_000), 3);
  assert.equal(h.countAtLeast(0), 5);
  assert.equal(h.countAtLeast(300_000), 0);
});

test('an empty histogram reports zeros', () => {
  const h = new Histogram();
  assert.deepEqual([h.count, h.min, h.max, h.mean, h.percentile(99)], [0, 0, 0, 0, 0]);
});
