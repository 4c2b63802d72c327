import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, setArg } from './test-helpers.ts';

test('json.filter keeps only the given paths, as strings or arrays', () => {
  assert.deepEqual(call('json.filter', { a: { b: 1, c: 2 }, d: [0, 1, 2], e: 3 }, ['a/b', ['d', '1']]), { a: { b: 1 }, d: [1] });
  assert.deepEqual(call('json.filter', { a: 1 }, setArg(['a', 'a/x'])), { a: 1 });
});

test('json.remove drops the given paths and leaves the rest', () => {
  assert.deepEqual(call('json.remove', { a: { b: 1, c: 2 }, d: [0, 1, 2] }, ['a/b', 'd/0']), { a: { c: 2 }, d: [1, 2] });
});

test('json.patch applies RFC 6902 operations in order and is undefined when a test fails', () => {
  const doc = { a: { b: [1, 2] }, c: 'x' };
  assert.deepEqual(call('json.patch', doc, [
    { op: 'add', path: '/a/b/-', value: 3 },
    { op: 'replace', path: '/c', value: 'y' },
    { op: 'copy', from: '/c', path: '/d' },
    { op: 'move', from: '/a/b/0', path: '/e' },
    { op: 'remove', path: '/d' },
    { op: 'test', path: '/e', value: 1 },
  ]), { a: { b: [2, 3] }, c: 'y', e: 1 });
  assert.equal(call('json.patch', doc, [{ op: 'test', path: '/c', value: 'nope' }]), undefined);
  assert.throws(() => call('json.patch', doc, [{ op: 'frobnicate', path: '/c' }]), /unknown patch operation/);
});

test('yaml and hex and urlquery helpers round-trip their encodings', () => {
  assert.deepEqual(call('yaml.unmarshal', 'a: [1, 2]\nb: x\n'), { a: [1, 2], b: 'x' });
  assert.equal(call('yaml.is_valid', 'a: 1\n---\n\tb: 2\n'), false);
  assert.equal(call('hex.decode', '6869'), 'hi');
  assert.throws(() => call('hex.decode', 'zz'), /invalid hex/);
  assert.equal(call('urlquery.encode', 'a b&c=d/é'), 'a+b%26c%3Dd%2F%C3%A9');
  assert.equal(call('urlquery.encode_object', { b: ['1', '2'], a: 'x y' }), 'a=x+y&b=1&b=2');
  assert.deepEqual(call('urlquery.decode_object', 'a=x+y&b=1&b=2'), { a: ['x y'], b: ['1', '2'] });
  assert.equal(call('base64.is_valid', 'aGk='), true);
  assert.equal(call('base64.is_valid', 'aGk'), false);
});
