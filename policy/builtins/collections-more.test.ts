import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, setArg } from './test-helpers.ts';

test('array.flatten flattens one level and refuses non-arrays', () => {
  assert.deepEqual(call('array.flatten', [[1, 2], 'x', [[3]], []]), [1, 2, 'x', [3]]);
  assert.throws(() => call('array.flatten', 42), /array.flatten: operand 1 must be array but got number/);
});

test('object.subset recurses into objects, checks set membership and contiguous array runs', () => {
  assert.equal(call('object.subset', { a: 'b', c: { x: setArg([10, 15, 20, 25]), y: 'z' } }, { c: { x: setArg([10, 15]) } }), true);
  assert.equal(call('object.subset', { a: 1 }, { a: 2 }), false);
  assert.equal(call('object.subset', [1, 2, 3, 4], [2, 3]), true);
  assert.equal(call('object.subset', [1, 2, 3, 4], [2, 4]), false);
  assert.equal(call('object.subset', [1, 2, 3], setArg([3, 1])), true);
  assert.throws(() => call('object.subset', { a: 1 }, [1]), /object.subset/);
});

test('object.union_n merges left to right, later objects winning', () => {
  assert.deepEqual(call('object.union_n', [{ a: 1, n: { x: 1 } }, { b: 2, n: { y: 2 } }, { a: 3 }]), { a: 3, b: 2, n: { x: 1, y: 2 } });
  assert.deepEqual(call('object.union_n', []), {});
});

test('graph.reachable follows edges from the start nodes and skips nodes not in the graph', () => {
  const g = { a: ['b'], b: ['c', 'a'], c: [], d: ['a'] };
  assert.deepEqual(call('graph.reachable', g, ['a']), ['a', 'b', 'c']);
  assert.deepEqual(call('graph.reachable', g, setArg(['zz'])), []);
});

test('graph.reachable_paths ends paths at leaves and at cycles', () => {
  assert.deepEqual(call('graph.reachable_paths', { a: ['b', 'c'], b: ['a'], c: [] }, ['a']), [['a', 'b'], ['a', 'c']]);
  assert.deepEqual(call('graph.reachable_paths', { a: [] }, ['a']), [['a']]);
});

test('strings.split_n takes the first n parts, or the last -n', () => {
  assert.deepEqual(call('strings.split_n', 'a.b.c.d', '.', 2), ['a', 'b']);
  assert.deepEqual(call('strings.split_n', 'a.b.c.d', '.', -2), ['c', 'd']);
  assert.deepEqual(call('strings.split_n', 'abc', '', -2), ['b', 'c']);
  assert.deepEqual(call('strings.split_n', 'a.b', '.', 0), []);
  assert.throws(() => call('strings.split_n', 'a.b', '.', 1.5), /operand 3 must be integer number but got floating-point number/);
  assert.equal(call('strings.any_suffix_match', setArg(['a.com', 'b.org']), '.org'), true);
});

test('strings.any_prefix_match and any_suffix_match refuse non-string elements with OPA\'s type errors', () => {
  assert.throws(() => call('strings.any_suffix_match', [1, 2], ['/a']), /operand 1 must be array of strings but got array containing number/);
  assert.throws(() => call('strings.any_prefix_match', ['a'], 1), /operand 2 must be one of \{string, set, array\} but got number/);
});
