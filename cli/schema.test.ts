import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const meshlens = (...args: string[]) => spawnSync(process.execPath, ['bin/meshlens.js', ...args], {
  cwd: new URL('..', import.meta.url).pathname, encoding: 'utf8',
});

test('meshlens schema prints the single-node DDL, and with --cluster the Distributed-over-Replicated DDL', () => {
  const single = meshlens('schema');
  assert.equal(single.status, 0, single.stderr);
  assert.match(single.stdout, /^CREATE DATABASE IF NOT EXISTS meshlens;/);
  assert.match(single.stdout, /CREATE TABLE IF NOT EXISTS meshlens\.taps \(/);
  assert.match(single.stdout, /non_replicated_deduplication_window/);
  const legacy = meshlens('schema', '--legacy', '--cluster', 'prod');
  assert.equal(legacy.status, 0, legacy.stderr);
  assert.match(legacy.stdout, /ReplicatedReplacingMergeTree/);
  assert.match(legacy.stdout, /ENGINE = Distributed\(prod, meshlens, taps_local/);
  assert.doesNotMatch(legacy.stdout, / TTL /);
});

test('meshlens schema refuses a database name that is not an identifier, with exit code 2', () => {
  const r = meshlens('schema', '--database', 'a-b');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /database must match/);
});
