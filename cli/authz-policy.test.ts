import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUTHZ_ENTRYPOINT } from '../mesh/control/index.ts';
import { readBundle } from '../policy/index.ts';
import { DEMO_POLICY_DIR, readAuthzPolicy } from './authz-policy.ts';
import { UsageError } from './flags.ts';

const dir = mkdtempSync(join(tmpdir(), 'meshlens-authz-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('--policy compiles a Rego directory into a bundle with the authz entrypoint, and takes a .tar.gz bundle byte for byte', async () => {
  const fromRego = await readAuthzPolicy(DEMO_POLICY_DIR);
  assert.deepEqual(readBundle(fromRego.bytes).manifest.wasm, [{ entrypoint: AUTHZ_ENTRYPOINT, module: '/policy.wasm' }]);
  const file = join(dir, 'authz.tar.gz');
  writeFileSync(file, fromRego.bytes);
  assert.deepEqual((await readAuthzPolicy(file)).bytes, fromRego.bytes);
});

test('--policy that is missing or does not compile is a usage error naming the path, file, line and column', async () => {
  await assert.rejects(readAuthzPolicy(join(dir, 'nope.rego')), (e: unknown) => e instanceof UsageError && /--policy .*nope\.rego: no such file/.test(e.message));
  const bad = join(dir, 'bad.rego');
  writeFileSync(bad, 'package meshlens.authz\n\ndecision := {"allow": \n');
  await assert.rejects(readAuthzPolicy(bad), (e: unknown) => e instanceof UsageError && e.problems[0].includes(`--policy ${bad}: ${bad}:`) && /:\d+:\d+:/.test(e.problems[0]));
});
