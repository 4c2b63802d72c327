import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeTarget } from './stages/normalize-path.ts';

const target = (t: string) => {
  const n = normalizeTarget(t);
  return 'problem' in n ? `refused: ${n.problem}` : n.target;
};

test('spells the same path one way: merged slashes, decoded unreserved escapes, dot segments removed', () => {
  const same: [string, string][] = [
    ['//checkout', '/checkout'],
    ['/%63heckout', '/checkout'],
    ['/healthz/../checkout', '/checkout'],
    ['/a/./b/../../checkout', '/checkout'],
    ['/%2e%2e/checkout', '/checkout'],
    ['/.%2E/checkout', '/checkout'],
    ['///a//b///c', '/a/b/c'],
    ['/a//../b', '/b'],
    ['/%7Euser/%41%5a%30%2D%5F', '/~user/AZ0-_'],
  ];
  for (const [raw, want] of same) assert.equal(target(raw), want, raw);
});

test('keeps reserved escapes escaped, upper-cased, and leaves the query as sent', () => {
  assert.equal(target('/a%2a%3f%25b'), '/a%2A%3F%25b', '%25 stays one escape: never decoded twice');
  assert.equal(target('/caf%c3%a9'), '/caf%C3%A9');
  assert.equal(target('/search/../items?q=a//b&x=%2e%2e'), '/items?q=a//b&x=%2e%2e');
  assert.equal(target('/items?id=3#frag'), '/items?id=3', 'a fragment is not part of a request target');
});

test('clamps dot segments above the root and keeps a trailing slash where RFC 3986 §5.2.4 does', () => {
  assert.equal(target('/..'), '/');
  assert.equal(target('/../../etc/passwd'), '/etc/passwd');
  assert.equal(target('/a/b/..'), '/a/');
  assert.equal(target('/a/.'), '/a/');
  assert.equal(target('/a/'), '/a/');
  assert.equal(target('/'), '/');
});

test('turns absolute-form into origin-form and names the authority it parsed itself', () => {
  assert.deepEqual(normalizeTarget('http://Catalog:8080//items/./x?id=1'), { target: '/items/x?id=1', authority: 'catalog', host: 'Catalog:8080' });
  assert.deepEqual(normalizeTarget('http://catalog'), { target: '/', authority: 'catalog', host: 'catalog' });
  assert.deepEqual(normalizeTarget('HTTP://catalog?x=1'), { target: '/?x=1', authority: 'catalog', host: 'catalog' });
  assert.deepEqual(normalizeTarget('http://[::1]:80/a'), { target: '/a', authority: '::1', host: '[::1]:80' });
});

test('refuses what has no safe single spelling', () => {
  const refused: [string, RegExp][] = [
    ['/a%2Fb', /encoded slash \(%2F\)/],
    ['/a%2fb', /encoded slash \(%2f\)/],
    ['/a\\b', /backslash/],
    ['/a%5cb', /encoded backslash/],
    ['/a%00b', /encoded control character \(%00\)/],
    ['/a%0d%0ab', /encoded control character \(%0d\)/],
    ['/a%7Fb', /encoded control character/],
    ['/a%zzb', /malformed percent-escape/],
    ['/a%4', /malformed percent-escape/],
    ['/a\u0001b', /control, space or not ASCII/],
    ['/caf\u00e9', /control, space or not ASCII/],
    ['*', /not origin-form/],
    ['catalog:80', /not origin-form/],
    ['ftp://catalog/a', /not origin-form/],
    ['http://evil@catalog/a', /authority "evil@catalog" is not host\[:port\]/],
    ['http://catalog\\@evil/a', /is not host\[:port\]/],
    ['http:///a', /authority "" is not host\[:port\]/],
  ];
  for (const [raw, why] of refused) assert.match(target(raw), new RegExp(`^refused: .*${why.source}`), raw);
});
