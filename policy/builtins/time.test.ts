import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from './test-helpers.ts';

test('time.parse_rfc3339_ns keeps nanoseconds and offsets and refuses times outside int64', () => {
  assert.equal(call('time.parse_rfc3339_ns', '2017-06-02T19:00:00-07:00'), 1496455200000000000);
  assert.equal(call('time.parse_rfc3339_ns', '1970-01-01T00:00:00.000000123Z'), 123);
  assert.throws(() => call('time.parse_rfc3339_ns', '2262-04-11T23:47:16.854775808-00:00'), /time outside of valid range/);
  assert.throws(() => call('time.parse_rfc3339_ns', '2017-06-02 19:00:00Z'), /cannot parse/);
});

test('time.parse_ns reads Go reference layouts and named layouts', () => {
  assert.equal(call('time.parse_ns', '2006-01-02', '2017-06-02'), 1496361600000000000);
  assert.equal(call('time.parse_ns', 'RFC822Z', '02 Jun 17 19:00 -0700'), 1496455200000000000);
  assert.equal(call('time.parse_ns', '3:04PM Jan 2 2006', '7:00PM Jun 2 2017'), 1496430000000000000);
  assert.throws(() => call('time.parse_ns', '2006-01-02', '2017-13-02'), /cannot parse/);
});

test('time.parse_duration_ns follows Go durations', () => {
  assert.equal(call('time.parse_duration_ns', '1h30m1.5s'), 5401.5e9);
  assert.equal(call('time.parse_duration_ns', '-2ms'), -2e6);
  assert.equal(call('time.parse_duration_ns', '1µs'), 1000);
  assert.throws(() => call('time.parse_duration_ns', '1d'), /invalid duration/);
});

test('time.date, clock and weekday honour the time zone argument', () => {
  const t = 1496455200000000000; // 2017-06-03T02:00:00Z
  assert.deepEqual(call('time.date', t), [2017, 6, 3]);
  assert.deepEqual(call('time.date', [t, 'America/Los_Angeles']), [2017, 6, 2]);
  assert.deepEqual(call('time.clock', [t, 'Asia/Kolkata']), [7, 30, 0]);
  assert.equal(call('time.weekday', t), 'Saturday');
  assert.throws(() => call('time.date', [t, 'Mars/Olympus']), /unknown time zone/);
});

test('time.format writes RFC3339Nano by default and Go layouts on request', () => {
  assert.equal(call('time.format', 1496455200000000000), '2017-06-03T02:00:00Z');
  assert.equal(call('time.format', 1496455200500000000), '2017-06-03T02:00:00.5Z');
  assert.equal(call('time.format', [1496455200000000000, 'America/New_York']), '2017-06-02T22:00:00-04:00');
  assert.equal(call('time.format', [1496455200000000000, 'UTC', 'Mon Jan _2 15:04:05 2006']), 'Sat Jun  3 02:00:00 2017');
});

test('time.add_date normalises like Go and time.diff borrows across units', () => {
  const oct31 = call('time.parse_rfc3339_ns', '2021-10-31T00:00:00Z') as number;
  assert.equal(call('time.format', call('time.add_date', oct31, 0, 1, 0)), '2021-12-01T00:00:00Z');
  const a = call('time.parse_rfc3339_ns', '2021-01-31T23:00:00Z'), b = call('time.parse_rfc3339_ns', '2022-03-01T01:30:15Z');
  assert.deepEqual(call('time.diff', b, a), [1, 1, 0, 2, 30, 15]);
});
