import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { call } from './test-helpers.ts';

test('crypto digests and HMACs return lowercase hex of the UTF-8 text', () => {
  assert.equal(call('crypto.md5', ''), 'd41d8cd98f00b204e9800998ecf8427e');
  assert.equal(call('crypto.sha256', 'abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(call('crypto.sha1', 'abc'), 'a9993e364706816aba3e25717850c26c9cd0d89d');
  assert.equal(call('crypto.hmac.sha256', 'The quick brown fox jumps over the lazy dog', 'key'), 'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8');
  assert.equal(call('crypto.hmac.equal', 'abc', 'abc'), true);
  assert.equal(call('crypto.hmac.equal', 'abc', 'ab'), false);
});

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const HS256 = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';

test('io.jwt.decode returns header, payload and the signature as hex', () => {
  const [h, p, sig] = call('io.jwt.decode', HS256) as [unknown, unknown, string];
  assert.deepEqual(h, { alg: 'HS256', typ: 'JWT' });
  assert.deepEqual(p, { sub: '1234567890', name: 'John Doe', iat: 1516239022 });
  assert.equal(sig, Buffer.from('SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c', 'base64url').toString('hex'));
  assert.throws(() => call('io.jwt.decode', 'abc'), /no period separators/);
  assert.throws(() => call('io.jwt.decode', `${b64({ alg: 'none' })}.${Buffer.from('[1]').toString('base64url')}.`), /payload/);
});

test('io.jwt.verify_hs256 accepts the right secret only', () => {
  assert.equal(call('io.jwt.verify_hs256', HS256, 'your-256-bit-secret'), true);
  assert.equal(call('io.jwt.verify_hs256', HS256, 'wrong'), false);
  const signed = `${b64({ alg: 'HS512' })}.${b64({ a: 1 })}`;
  assert.equal(call('io.jwt.verify_hs512', `${signed}.${createHmac('sha512', 's').update(signed).digest('base64url')}`, 's'), true);
});

test('io.jwt.verify_rs256, ps256 and es256 check against a PEM key or a JWK set', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const token = (alg: string, s: (d: Buffer) => Buffer) => { const d = `${b64({ alg })}.${b64({ sub: 'x' })}`; return `${d}.${s(Buffer.from(d)).toString('base64url')}`; };
  const rs = token('RS256', (d) => sign('sha256', d, rsa.privateKey));
  const ps = token('PS256', (d) => sign('sha256', d, { key: rsa.privateKey, padding: 6, saltLength: 32 }));
  const es = token('ES256', (d) => sign('sha256', d, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }));
  const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  assert.equal(call('io.jwt.verify_rs256', rs, pem), true);
  assert.equal(call('io.jwt.verify_ps256', ps, pem), true);
  assert.equal(call('io.jwt.verify_es256', es, JSON.stringify({ keys: [rsa.publicKey.export({ format: 'jwk' }), ec.publicKey.export({ format: 'jwk' })] })), true);
  assert.equal(call('io.jwt.verify_rs256', rs.slice(0, -4) + 'AAAA', pem), false);
  assert.equal(call('io.jwt.verify_es256', es, pem), false);
  assert.throws(() => call('io.jwt.verify_rs256', rs, 'not a key'), /failed to parse/);
});
