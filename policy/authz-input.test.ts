import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authzInput, DEFAULT_POLICY_HEADERS } from './index.ts';

test('a live request and its tap rebuild the same input document: query and fragment dropped, only allow-listed headers, repeated ones joined', () => {
  const live = authzInput({
    src_service: 'web', src_identity: 'spiffe://t/ns/default/sa/web', dst_service: 'cart', method: 'POST', target: '/items/7?force=1&page=2#top',
    headers: { 'user-agent': 'curl/8', 'x-request-id': 'r1', accept: '*/*', 'content-type': ['a', 'b'], authorization: undefined },
  }, DEFAULT_POLICY_HEADERS);
  assert.deepEqual(live, {
    source: { service: 'web', identity: 'spiffe://t/ns/default/sa/web' },
    destination: { service: 'cart' },
    request: { method: 'POST', path: '/items/7', headers: { 'content-type': 'a, b', 'user-agent': 'curl/8', 'x-request-id': 'r1' } },
  });
  // The tap of that request: path with its allow-listed query key, captured headers.
  const tapped = authzInput({
    src_service: 'web', src_identity: 'spiffe://t/ns/default/sa/web', dst_service: 'cart', method: 'POST', target: '/items/7?page=2',
    headers: { 'user-agent': 'curl/8', 'x-request-id': 'r1', 'content-type': 'a, b' },
  }, DEFAULT_POLICY_HEADERS);
  assert.deepEqual(tapped, live);
});

test('an external caller has identity ""; an absolute-form target keeps only its path; an unreadable one is "/"', () => {
  const ext = authzInput({ src_service: 'external', dst_service: 'web', method: 'GET', target: 'http://shop.example/checkout?x=1' }, []);
  assert.deepEqual(ext, { source: { service: 'external', identity: '' }, destination: { service: 'web' }, request: { method: 'GET', path: '/checkout', headers: {} } });
  assert.equal(authzInput({ src_service: 'a', dst_service: 'b', target: 'no scheme' }, []).request.path, '/');
  assert.deepEqual(authzInput({ src_service: 'a', dst_service: 'b', headers: { constructor: 'x' } }, ['constructor', 'toString']).request.headers, { constructor: 'x' },
    'a name the allow-list holds is read from the headers themselves, never from Object.prototype');
});
