import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync, gzipSync } from 'node:zlib';
import { readBundle, writeBundle } from './bundle.ts';

test('a written bundle reads back: policy.wasm bytes, data, manifest with wasm entrypoints, Rego sources', () => {
  const wasm = new Uint8Array(1500).map((_, i) => i % 251);
  const gz = writeBundle(wasm, ['a/allow', 'a/deny'], { x: [1] }, { 'authz/a.rego': 'package a\n' });
  const b = readBundle(gz);
  assert.deepEqual(b.wasm, wasm);
  assert.deepEqual(b.data, { x: [1] });
  assert.deepEqual(b.manifest.wasm, [{ entrypoint: 'a/allow', module: '/policy.wasm' }, { entrypoint: 'a/deny', module: '/policy.wasm' }]);
  assert.equal(new TextDecoder().decode(b.files['authz/a.rego']), 'package a\n');
  const tar = gunzipSync(gz);
  assert.equal(tar.subarray(257, 262).toString(), 'ustar');
  assert.equal(tar.subarray(0, 10).toString(), '/data.json');
});

test('data.json files below the root land at their directory path, merged with the root data', () => {
  const gz = writeBundle(new Uint8Array([0, 97, 115, 109]), [], { top: 1 }, {});
  const tar = gunzipSync(gz);
  // Re-pack with an extra nested data.json, the way `opa build` lays out data from directories.
  const extra = writeBundle(new Uint8Array(0), [], {}, { 'svc/limits/data.json': '{"rps": 5}' });
  const nested = gunzipSync(extra);
  const nestedEntry = nested.subarray(512 + 512, 512 + 512 + 1024); // header + one block after /data.json
  const merged = Buffer.concat([tar.subarray(0, tar.length - 1024), nestedEntry, Buffer.alloc(1024)]);
  const b = readBundle(gzipSync(merged));
  assert.deepEqual(b.data, { top: 1, svc: { limits: { rps: 5 } } });
});

test('a bundle without policy.wasm is refused with a reason', () => {
  const tar = gunzipSync(writeBundle(new Uint8Array(0), [], {}, {}));
  assert.throws(() => readBundle(gzipSync(tar.subarray(0, 1024))), /no \/policy\.wasm/);
});
