import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, setArg } from './test-helpers.ts';

test('net.cidr_expand lists every address of a small network', () => {
  assert.deepEqual(call('net.cidr_expand', '192.168.1.0/30'), ['192.168.1.0', '192.168.1.1', '192.168.1.2', '192.168.1.3']);
  assert.deepEqual(call('net.cidr_expand', '2001:db8::/127'), ['2001:db8::', '2001:db8::1']);
  assert.throws(() => call('net.cidr_expand', '10.0.0.0/8'), /more than 65536/);
});

test('net.cidr_merge joins adjacent and contained networks per address family', () => {
  assert.deepEqual(call('net.cidr_merge', ['192.0.128.0/24', '192.0.129.0/24', '192.0.128.7', '2001:db8::/33', '2001:db8:8000::/33']), ['192.0.128.0/23', '2001:db8::/32']);
  assert.deepEqual(call('net.cidr_merge', setArg(['10.0.0.1', '10.0.0.2'])), ['10.0.0.1/32', '10.0.0.2/32']);
});

test('net.cidr_contains_matches pairs the keys of containing and contained entries', () => {
  assert.deepEqual(call('net.cidr_contains_matches', ['10.0.0.0/8', '192.168.0.0/16'], { x: '10.1.2.3', y: ['192.168.7.0/24', 'label'] }), [[0, 'x'], [1, 'y']]);
  assert.deepEqual(call('net.cidr_contains_matches', '10.0.0.0/8', '10.1.2.3'), [['10.0.0.0/8', '10.1.2.3']]);
});

test('regex.replace expands groups, find_all_string_submatch_n reports them, template_match mixes literal and regex', () => {
  assert.equal(call('regex.replace', 'abc-def', '([a-z]+)-([a-z]+)', '$2-${1}'), 'def-abc');
  assert.deepEqual(call('regex.find_all_string_submatch_n', 'a(x*)b', '-ab-axxb-', -1), [['ab', ''], ['axxb', 'xx']]);
  assert.deepEqual(call('regex.find_all_string_submatch_n', 'a(x*)b', '-ab-axxb-', 1), [['ab', '']]);
  assert.equal(call('regex.template_match', 'urn:foo-{[a-z]+}:bar', 'urn:foo-baz:bar', '{', '}'), true);
  assert.equal(call('regex.template_match', 'urn:foo-{[a-z]+}:bar', 'urn:foo-b4z:bar', '{', '}'), false);
});

test('glob.match treats a hyphen as a literal character and as a delimiter', () => {
  assert.equal(call('glob.match', 'a-*', null, 'a-b'), true);
  assert.equal(call('glob.match', '*', ['-'], 'a-b'), false);
});
