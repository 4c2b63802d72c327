// `meshlens policy replay` as a user runs it: the real CLI as a child
// process, first alone over a chdb data dir seeded beforehand (it opens the
// store itself), then beside a running `meshlens control` on that data dir
// enforcing the current policy (the control plane holds the store, so the
// CLI asks it, and compares with the bundle it enforces).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Child, freePorts } from '../demo/index.ts';
import { createChdbStore } from '../ingest/index.ts';
import { wasmRuntime, type ReplayResult } from '../policy/index.ts';
import { CURRENT_REGO, DRAFT_REGO, knownRequests } from '../policy/testing/replay-policies.ts';
import { seedRequests, type SeededTap } from '../policy/testing/replay-seed.ts';
import { startControlChild, type ControlChild } from './testing/control-child.ts';

const BIN = fileURLToPath(new URL('../bin/meshlens.js', import.meta.url));

interface Run { code: number | null; stdout: string; stderr: string }

function meshlens(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

let dir: string;
let data: string;
let t0: number;
let ids: SeededTap[];
const iso = (ms: number) => new Date(ms).toISOString();
const period = () => ['--from', iso(t0), '--until', iso(t0 + 1000)];
const draftDir = () => join(dir, 'draft');
const currentFile = () => join(dir, 'current.rego');

before(async () => {
  await wasmRuntime();
  dir = mkdtempSync(join(tmpdir(), 'meshlens-replay-cli-'));
  data = join(dir, 'data');
  mkdirSync(draftDir());
  writeFileSync(join(draftDir(), 'authz.rego'), DRAFT_REGO);
  writeFileSync(currentFile(), CURRENT_REGO);
  t0 = Date.now() - 3_600_000;
  const store = createChdbStore({ dataDir: data });
  await store.init();
  try {
    ids = await seedRequests(store, knownRequests(t0));
  } finally {
    // chdb allows one process per data dir: the CLI and the control plane open it after this.
    await store.close();
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('with no control plane, the CLI opens the store itself', () => {
  test('--json against a policy file gives the flips the seed implies, with their taps as samples', async () => {
    const r = await meshlens('policy', 'replay', '--data-dir', data, '--policy', draftDir(), '--against', currentFile(), ...period(), '--json');
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as ReplayResult;
    assert.deepEqual([res.baseline, res.evaluated, res.flips], ['current_policy', 11, { allow_to_deny: 4, deny_to_allow: 1 }]);
    const del = res.groups.find((g) => g.method === 'DELETE')!;
    assert.deepEqual([del.src_service, del.dst_service, del.path, del.count, del.samples.map((s) => s.seq)], ['web', 'cart', '/items/7', 2, [ids[1].seq, ids[2].seq]]);
  });

  test('as text, without --against: compared with the recorded decisions, groups with sample tap ids, the notes, and progress on stderr', async () => {
    const r = await meshlens('policy', 'replay', '--data-dir', data, '--policy', join(draftDir(), 'authz.rego'), ...period());
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^replayed 11 of 11 inbound requests, /);
    assert.match(r.stdout, /against the decisions the taps recorded\nflips: 5 allow→deny, 2 deny→allow\n/);
    assert.match(r.stdout, new RegExp(`\\n {8}2  web → cart  DELETE /items/7  \\(caller allowed → nobody deletes from cart\\)\\n {11}e\\.g\\. cart-1/replay#${ids[1].seq} at `));
    assert.match(r.stdout, /deny → allow\n(.*\n)* {8}1  external → catalog  GET \/products/);
    assert.match(r.stdout, /notes:\n(.*\n)*  - Header "authorization" is never recorded in taps/);
    assert.match(r.stderr, /replay: 11 of 11 requests\n$/);
  });

  test('a draft that does not compile: file:line:col on stderr, exit 2; a missing --policy is a usage error, and no store is opened', async () => {
    const bad = join(dir, 'bad.rego');
    writeFileSync(bad, 'package meshlens.authz\n\ndecision := {"allow": true, "reason": why}\n');
    const r = await meshlens('policy', 'replay', '--data-dir', data, '--policy', bad, ...period());
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3:\\d+: `));
    const never = join(dir, 'never-opened');
    const u = await meshlens('policy', 'replay', '--data-dir', never, '--from', 'yesterday');
    assert.equal(u.code, 2, u.stderr);
    assert.match(u.stderr, /--policy: required/);
    assert.match(u.stderr, /--from: "yesterday" is neither/);
    assert.equal(existsSync(never), false);
  });
});

describe('with meshlens control running on the data dir, the CLI asks it', () => {
  let control: ControlChild;
  const where = () => ['--control', control.url, '--data-dir', data];

  before(async () => { control = await startControlChild(data, ['--policy', currentFile()]); });
  after(async () => { await control?.stop(); });

  test('by default the draft is compared with the bundle the control plane enforces; --against recorded with the taps\' decisions', async () => {
    const r = await meshlens('policy', 'replay', ...where(), '--policy', draftDir(), ...period(), '--json');
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as ReplayResult;
    assert.deepEqual([res.baseline, res.flips, res.recorded_disagreements], ['current_policy', { allow_to_deny: 4, deny_to_allow: 1 }, 1]);
    const rec = JSON.parse((await meshlens('policy', 'replay', ...where(), '--policy', draftDir(), '--against', 'recorded', ...period(), '--json')).stdout) as ReplayResult;
    assert.deepEqual([rec.baseline, rec.flips], ['recorded_decision', { allow_to_deny: 5, deny_to_allow: 2 }]);
  });

  test('a draft that does not compile comes back from the control plane as file:line:col, exit 2', async () => {
    const bad = join(dir, 'bad.rego');
    writeFileSync(bad, 'package meshlens.authz\n\ndecision := {"allow": true, "reason": why}\n');
    const r = await meshlens('policy', 'replay', ...where(), '--policy', bad, ...period());
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /bad\.rego:3:\d+: /);
  });
});
