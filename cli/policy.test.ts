import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readBundle, wasmRuntime } from '../policy/index.ts';

const ROOT = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'meshlens-policy-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
// Build (or find cached) the WASM runtime once here, so the spawned commands do not each wait on it.
test.before(() => wasmRuntime());

const AUTHZ = 'package authz\n\ndefault allow := false\n\nallow if input.method == "GET"\n\nallow if input.user in data.admins\n\nreason := "admin" if input.user in data.admins\n';
writeFileSync(join(dir, 'authz.rego'), AUTHZ);
writeFileSync(join(dir, 'get.json'), '{"method":"GET"}');
writeFileSync(join(dir, 'root.json'), '{"method":"POST","user":"root"}');
writeFileSync(join(dir, 'admins.json'), '{"admins":["root"]}');

function meshlens(args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['bin/meshlens.js', 'policy', ...args], { cwd: ROOT }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
    child.stdin!.end(stdin ?? '');
  });
}

test('policy eval on Rego prints only the result set as JSON and exits 0 ([] when undefined)', async () => {
  const get = await meshlens(['eval', '--policy', join(dir, 'authz.rego'), '--entrypoint', 'authz/allow', '--input', join(dir, 'get.json')]);
  assert.equal(get.code, 0, get.stderr);
  assert.equal(get.stdout, '[{"result":true}]\n');
  const undef = await meshlens(['eval', '--policy', dir, '--entrypoint', 'authz/reason', '--input', '-'], '{"user":"root"}');
  assert.equal(undef.code, 0, undef.stderr);
  assert.equal(undef.stdout, '[]\n', 'no --data: data.admins is undefined');
  const withData = await meshlens(['eval', '--policy', dir, '--entrypoint', 'data.authz.reason', '--input', '-', '--data', join(dir, 'admins.json')], '{"user":"root"}');
  assert.equal(withData.stdout, '[{"result":"admin"}]\n', withData.stderr);
});

test('policy eval --strict-builtin-errors turns a builtin\'s error into a failed evaluation (exit 1, the error on stderr); without it the rule is undefined', async () => {
  writeFileSync(join(dir, 'units.rego'), 'package u\n\nbytes := units.parse_bytes(input.size)\n');
  writeFileSync(join(dir, 'bad-size.json'), '{"size":"twelve"}');
  const args = ['eval', '--policy', join(dir, 'units.rego'), '--entrypoint', 'u/bytes', '--input', join(dir, 'bad-size.json')];
  const lenient = await meshlens(args);
  assert.equal(lenient.code, 0, lenient.stderr);
  assert.equal(lenient.stdout, '[]\n');
  const strict = await meshlens([...args, '--strict-builtin-errors']);
  assert.equal(strict.code, 1);
  assert.equal(strict.stdout, '');
  assert.match(strict.stderr, /meshlens policy eval: .*units\.parse_bytes/);
  const fine = await meshlens(['eval', '--policy', join(dir, 'units.rego'), '--entrypoint', 'u/bytes', '--input', '-', '--strict-builtin-errors'], '{"size":"12KB"}');
  assert.equal(fine.stdout, '[{"result":12000}]\n', fine.stderr);
});

test('policy build writes an OPA bundle whose policy.wasm and data.json eval reads through the SDK', async () => {
  const out = join(dir, 'bundle.tar.gz');
  const b = await meshlens(['build', join(dir, 'authz.rego'), '-e', 'authz/allow', '-e', 'authz/reason', '-o', out, '--data', join(dir, 'admins.json')]);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(b.stdout, '');
  const tar = gunzipSync(readFileSync(out));
  assert.equal(tar.length % 512, 0, 'tar is made of 512-byte blocks');
  const bundle = readBundle(readFileSync(out));
  assert.deepEqual(bundle.manifest, { revision: '', roots: [''], wasm: [{ entrypoint: 'authz/allow', module: '/policy.wasm' }, { entrypoint: 'authz/reason', module: '/policy.wasm' }] });
  assert.deepEqual(bundle.data, { admins: ['root'] });
  assert.ok(Object.keys(bundle.files).some((f) => f.endsWith('authz.rego')), 'the Rego source travels in the bundle');
  const r = await meshlens(['eval', '--policy', out, '--entrypoint', 'authz/reason', '--input', join(dir, 'root.json')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '[{"result":"admin"}]\n');
});

test('policy eval of a Rego compile error exits 2 with file:line:col on stderr and nothing on stdout', async () => {
  const bad = join(dir, 'bad', 'x.rego');
  spawnSync('mkdir', ['-p', join(dir, 'bad')]);
  writeFileSync(bad, 'package x\n\np if {\n  input.a ==\n}\n');
  const r = await meshlens(['eval', '--policy', bad, '--entrypoint', 'x/p', '--input', join(dir, 'get.json')]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5:1: rego_parse_error: `));
});

test('policy test runs test_* rules, prints one line each and the totals, and exits 1 when one fails', async () => {
  const t = join(dir, 'tests');
  spawnSync('mkdir', ['-p', t]);
  writeFileSync(join(t, 'authz.rego'), AUTHZ);
  writeFileSync(join(t, 'authz_test.rego'), 'package authz\n\ntest_get if allow with input as {"method": "GET"}\n\ntest_post_denied if not allow with input as {"method": "POST"}\n\ntest_admin if allow with input as {"user": "root"} with data.admins as ["root"]\n\ntest_broken if allow with input as {"method": "PUT"}\n');
  const r = await meshlens(['test', t]);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    'PASS data.authz.test_get', 'PASS data.authz.test_post_denied', 'PASS data.authz.test_admin', 'FAIL data.authz.test_broken (undefined)', '3 passed, 1 failed',
  ]);
  writeFileSync(join(t, 'authz_test.rego'), 'package authz\n\ntest_get if allow with input as {"method": "GET"}\n');
  const ok = await meshlens(['test', t]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, 'PASS data.authz.test_get\n1 passed, 0 failed\n');
});

const opa = spawnSync('opa', ['version'], { encoding: 'utf8' });
test('policy eval gives the same answers for a bundle built by `opa build -t wasm` and by meshlens', { skip: opa.status === 0 ? false : 'the opa binary is not on PATH (OPA\'s Go compiler cannot be installed here)' }, async () => {
  const opaBundle = join(dir, 'opa-bundle.tar.gz');
  const src = join(dir, 'opa-src');
  spawnSync('mkdir', ['-p', src]);
  writeFileSync(join(src, 'authz.rego'), AUTHZ);
  const built = spawnSync('opa', ['build', '-t', 'wasm', '-e', 'authz/allow', '-e', 'authz/reason', '-o', opaBundle, src], { encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr);
  const ours = join(dir, 'ours.tar.gz');
  assert.equal((await meshlens(['build', src, '-e', 'authz/allow', '-e', 'authz/reason', '-o', ours])).code, 0);
  for (const ep of ['authz/allow', 'authz/reason']) {
    for (const input of ['get.json', 'root.json']) {
      const args = ['--entrypoint', ep, '--input', join(dir, input), '--data', join(dir, 'admins.json')];
      const a = await meshlens(['eval', '--policy', opaBundle, ...args]);
      const b = await meshlens(['eval', '--policy', ours, ...args]);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.stdout, a.stdout, `${ep} on ${input}`);
    }
  }
});
