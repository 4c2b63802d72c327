import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { wasmRuntime } from '../policy/index.ts';

const ROOT = join(import.meta.dirname, '..');
// Build (or find cached) the WASM runtime here, so the spawned command does not wait on it.
test.before(() => wasmRuntime());

test('the demo shop\'s authorization policy passes its own test_* rules through `meshlens policy test demo/policy`', async () => {
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['bin/meshlens.js', 'policy', 'test', 'demo/policy'], { cwd: ROOT }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.ok(lines.slice(0, -1).every((l) => l.startsWith('PASS data.meshlens.authz_test.test_')), r.stdout);
  assert.ok(lines.length >= 6, 'the rules the README promises are tested');
  assert.match(lines.at(-1)!, /^\d+ passed, 0 failed$/);
});
