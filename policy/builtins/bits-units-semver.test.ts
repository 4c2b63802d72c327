import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuiltinError } from './types.ts';
import { call } from './test-helpers.ts';

test('bits.* combine, negate and shift integers as two\'s complement', () => {
  assert.equal(call('bits.and', 50, 0), 0);
  assert.equal(call('bits.or', 0b1010, 0b0101), 15);
  assert.equal(call('bits.xor', 0b1100, 0b1010), 0b0110);
  assert.equal(call('bits.negate', 42), -43);
  assert.equal(call('bits.lsh', 1, 40), 2 ** 40);
  assert.equal(call('bits.rsh', -8, 1), -4);
  assert.throws(() => call('bits.lsh', 1, -1), BuiltinError);
  assert.throws(() => call('bits.and', 1.5, 1), /operand 1 must be integer/);
});

test('units.parse keeps m (milli) apart from M (mega) and reads exponents before the suffix', () => {
  assert.equal(call('units.parse', '10K'), 10000);
  assert.equal(call('units.parse', '10KI'), 10240);
  assert.equal(call('units.parse', '1.1Ki'), 1126.4);
  assert.equal(call('units.parse', '100m'), 0.1);
  assert.equal(call('units.parse', '200M'), 2e8);
  assert.equal(call('units.parse', '2.5e3K'), 2.5e6);
  assert.equal(call('units.parse', '10e'), 1e19);
  assert.equal(call('units.parse', '"100Ti"'), 100 * 1024 ** 4);
  assert.throws(() => call('units.parse', '10 K'), /spaces not allowed/);
  assert.throws(() => call('units.parse', 'K'), /units.parse: no amount provided/);
  assert.throws(() => call('units.parse', '10x'), /not recognized/);
});

test('units.parse_bytes is case-insensitive and truncates to whole bytes', () => {
  assert.equal(call('units.parse_bytes', '10KIB'), 10240);
  assert.equal(call('units.parse_bytes', '1.1KiB'), 1126);
  assert.equal(call('units.parse_bytes', '100m'), 1e8);
  assert.equal(call('units.parse_bytes', '1e-2KB'), 10);
  assert.throws(() => call('units.parse_bytes', '12 MB'), /spaces/);
  assert.throws(() => call('units.parse_bytes', '12XB'), /byte unit xb not recognized/);
});

test('semver.compare orders pre-releases below releases and ignores build metadata', () => {
  assert.equal(call('semver.compare', '1.0.0', '2.0.0'), -1);
  assert.equal(call('semver.compare', '1.0.0-alpha', '1.0.0'), -1);
  assert.equal(call('semver.compare', '1.0.0-alpha.2', '1.0.0-alpha.10'), -1);
  assert.equal(call('semver.compare', '1.0.0-beta', '1.0.0-alpha.1'), 1);
  assert.equal(call('semver.compare', '1.2.3+build.5', '1.2.3'), 0);
  assert.throws(() => call('semver.compare', 'v1.0.0', '1.0.0'), /operand 1: string "v1.0.0" is not a valid SemVer/);
});

test('semver.is_valid accepts SemVer 2.0.0 only and is false for non-strings', () => {
  assert.equal(call('semver.is_valid', '1.0.0-rc.1+sha.5114f85'), true);
  assert.equal(call('semver.is_valid', '01.0.0'), false);
  assert.equal(call('semver.is_valid', '1.0'), false);
  assert.equal(call('semver.is_valid', 1), false);
});
