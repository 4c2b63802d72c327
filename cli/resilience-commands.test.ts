// `meshlens control resilience` against a real control plane, through its
// operator API with the token and CA bundle from a data dir, as an operator
// runs it.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { operatorToken } from '../access/index.ts';
import { startTestControl } from '../mesh/control/testing/mesh-clients.ts';
import { UsageError } from './flags.ts';
import { runResilience } from './resilience-commands.ts';
import { printed } from './testing/printed.ts';

async function controlWithDataDir(t: { after(fn: () => Promise<void>): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'meshlens-resilience-cli-'));
  const { token } = await operatorToken(join(dir, 'data'));
  const control = await startTestControl({ operatorToken: token });
  mkdirSync(join(dir, 'data', 'ca'), { recursive: true });
  writeFileSync(join(dir, 'data', 'ca', 'bundle.pem'), control.ca.bundle.toPem());
  t.after(async () => { await control.close(); rmSync(dir, { recursive: true, force: true }); });
  return { control, dir, client: ['--control', control.cp.url, '--data-dir', join(dir, 'data')] };
}

test('set adds or replaces one rule by path and methods and keeps the others, get lists them, clear removes one or all; the control plane holds exactly that', async (t) => {
  const { control, dir, client } = await controlWithDataDir(t);
  const out = await printed(() => runResilience(['set', 'cart', '--path', '/search', '--timeout-ms', '2000', ...client]));
  assert.match(out, /^route resilience of cart: 1 rule \(config version \d+\)\n {2}\* +\/search\* {2}timeout 2000 ms$/);
  await printed(() => runResilience(['set', 'cart', '--path', '/pay', '--methods', 'post', '--no-retry', ...client]));
  await printed(() => runResilience(['set', 'cart', '--path', '/search', '--timeout-ms', '1500', ...client]));
  assert.deepEqual(control.cp.status().route_resilience, [{ service: 'cart', rules: [
    { path_prefix: '/pay', methods: ['POST'], retry: false }, { path_prefix: '/search', request_timeout_ms: 1500 },
  ] }]);
  assert.equal(await printed(() => runResilience(['get', 'cart', ...client])), 'cart:\n  POST       /pay*  no retries\n  *          /search*  timeout 1500 ms');
  const json = JSON.parse(await printed(() => runResilience(['get', '--json', ...client])));
  assert.equal(json.resilience.length, 1);

  await printed(() => runResilience(['clear', 'cart', '--path', '/pay', '--methods', 'POST', ...client]));
  assert.deepEqual(control.cp.status().route_resilience, [{ service: 'cart', rules: [{ path_prefix: '/search', request_timeout_ms: 1500 }] }]);
  writeFileSync(join(dir, 'rules.json'), JSON.stringify({ rules: [{ path_prefix: '/', per_try_timeout_ms: 300 }] }));
  await printed(() => runResilience(['set', 'cart', '--rules-file', join(dir, 'rules.json'), ...client]));
  assert.deepEqual(control.cp.status().route_resilience, [{ service: 'cart', rules: [{ path_prefix: '/', per_try_timeout_ms: 300 }] }], '--rules-file replaces them all');
  assert.match(await printed(() => runResilience(['clear', 'cart', ...client])), /^route resilience of cart cleared/);
  assert.deepEqual(control.cp.status().route_resilience, []);
  assert.equal(await printed(() => runResilience(['get', ...client])), 'no route resilience set');
});

test('a bad rule, a crafted service name, a wrong token and mixed-up flags are refused with the problems named, and nothing is set', async (t) => {
  const { control, dir, client } = await controlWithDataDir(t);
  await assert.rejects(runResilience(['set', 'cart', '--path', 'search', '--per-try-timeout-ms', '999999999', ...client]), (e: Error) =>
    /^control plane answered 400: rules\[0\]\.path_prefix: "search" is not a path starting with "\/".*; rules\[0\]\.per_try_timeout_ms: must be an integer in 1\.\.86400000, got 999999999/.test(e.message));
  await assert.rejects(runResilience(['set', 'cart', '--rules', '[{"path_prefix": "/", "retry": {"attempts": 50}}]', ...client]), /rules\[0\]\.retry\.attempts: must be an integer in 1\.\.5, got 50/);
  // The name is one path segment, whatever it holds: never another route of the API.
  await assert.rejects(runResilience(['set', '../ratelimits/cart', '--path', '/', '--no-retry', ...client]), /control plane answered 400: service: "\.\.%2Fratelimits%2Fcart" is not 1-128/);
  await assert.rejects(runResilience(['clear', 'cart', '--path', '/nothing', ...client]), /cart has no rule for \* \/nothing\*/);
  const usage = (argv: string[], problem: RegExp) => assert.rejects(runResilience([...argv, ...client]), (e: unknown) => e instanceof UsageError && problem.test(e.problems.join('\n')));
  await usage(['set', 'cart'], /give --path \(one rule\) or --rules/);
  await usage(['set', 'cart', '--rules', '[]', '--path', '/'], /--rules replaces every rule/);
  await usage(['set', 'cart', '--timeout-ms', '5'], /--timeout-ms: belong to a rule; give --path too/);
  await usage(['set', 'cart', '--rules', '{not json'], /--rules: not JSON/);
  await usage(['set', '--path', '/', '--no-retry'], /name exactly one service/);
  await usage(['set', 'cart', '--path', '/', '--retry'], /--retry: the cluster's retries/);
  await usage(['clear', 'cart', '--rules', '[]'], /clear: takes only --path and --methods/);
  await usage(['drop', 'cart'], /expected get, set or clear, got "drop"/);

  writeFileSync(join(dir, 'data', 'operator-token'), 'guessed-token-guessed-token-guessed\n', { mode: 0o600 });
  await assert.rejects(runResilience(['set', 'cart', '--path', '/', '--no-retry', ...client]), /control plane answered 401/);
  const st = control.cp.status();
  assert.deepEqual([st.route_resilience, st.refused_changes.route_resilience, st.refused_operator_requests], [[], 3, 1]);
});
