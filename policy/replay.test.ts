import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createChdbStore, type TapStore } from '../ingest/index.ts';
import { loadAuthzPolicySource, RegoCompileError, replayPolicy, type AuthzPolicy, type ReplayGroup, type ReplayProgress } from './index.ts';
import { CURRENT_REGO, DRAFT_REGO, knownRequests, type KnownRequest } from './testing/replay-policies.ts';
import { seedRequests, type SeededTap } from './testing/replay-seed.ts';

const EP = 'meshlens/authz/decision';

describe('policy replay over a seeded chdb store', () => {
  let dir: string;
  let store: TapStore;
  let known: KnownRequest[];
  let ids: SeededTap[];
  let draft: AuthzPolicy;
  let current: AuthzPolicy;
  let t0: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshlens-replay-'));
    store = createChdbStore({ dataDir: dir });
    await store.init();
    t0 = Date.now() - 3_600_000;
    known = knownRequests(t0);
    // Beside them, what replay must leave alone: an outbound tap and inbound ones outside the period.
    ids = await seedRequests(store, [
      { ts: t0 - 1, src: 'web', dst: 'cart', method: 'DELETE', path: '/before', decision: 'allow' },
      ...known,
      { ts: t0 + 50, src: 'web', dst: 'cart', method: 'DELETE', path: '/outbound', decision: 'allow', direction: 'outbound' },
      { ts: t0 + 1000, src: 'web', dst: 'cart', method: 'DELETE', path: '/at-until', decision: 'allow' },
    ]);
    ids = ids.slice(1, 1 + known.length);
    draft = await loadAuthzPolicySource({ files: { 'draft.rego': DRAFT_REGO } }, EP);
    current = await loadAuthzPolicySource({ files: { 'current.rego': CURRENT_REGO } }, EP);
  });
  after(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The flip groups the seeded requests imply against `before` (the current policy's or the recorded decision). */
  function expectedGroups(before: (k: KnownRequest) => boolean): (Omit<ReplayGroup, 'samples'> & { ids: string[] })[] {
    const groups = new Map<string, Omit<ReplayGroup, 'samples'> & { ids: string[] }>();
    known.forEach((k, i) => {
      if (before(k) === k.draft) return;
      const flip = before(k) ? 'allow_to_deny' : 'deny_to_allow';
      const path = k.path.split('?')[0];
      const key = [flip, k.src, k.dst, k.method, path].join(' ');
      const g = groups.get(key) ?? { flip, src_service: k.src, dst_service: k.dst, method: k.method, path, count: 0, ids: [] };
      g.count++;
      g.ids.push(`${ids[i].proxy}:${ids[i].seq}`);
      groups.set(key, g);
    });
    return [...groups.values()];
  }

  const byKey = (a: { flip: string; src_service: string; method: string; path: string }, b: typeof a) =>
    [a.flip, a.src_service, a.method, a.path].join(' ').localeCompare([b.flip, b.src_service, b.method, b.path].join(' '));

  test('against the policy in force, every flip the draft makes is counted and grouped by caller, service, method and path, with its taps as samples', async () => {
    const progress: ReplayProgress[] = [];
    const r = await replayPolicy({ store, draft, current, from: t0, until: t0 + 1000, maxInputs: 4, onProgress: (p) => progress.push(p) });
    assert.equal(r.baseline, 'current_policy');
    assert.deepEqual([r.total, r.evaluated, r.truncated], [known.length, known.length, false]);
    // 11 distinct inputs at t0+0..10, at most 4 read at once: the fifth first appears 4 ms in, so the
    // period is cut in 64 (the most at once), and its first 15 ms in 5: [t0, t0+3), [t0+3, t0+6), ….
    assert.deepEqual(progress.map((p) => p.done), [0, 3, 6, 9, 11]);
    assert.ok(progress.every((p) => p.total === 11));
    assert.equal(r.inputs, 11);
    const want = expectedGroups((k) => k.current);
    assert.deepEqual(r.flips, { allow_to_deny: 4, deny_to_allow: 1 }, 'DELETE twice, curl, the refund; the public catalog');
    assert.deepEqual(
      r.groups.map((g) => ({ ...g, ids: g.samples.map((s) => `${s.proxy}:${s.seq}`), samples: undefined })).sort(byKey),
      want.map((g) => ({ ...g, samples: undefined })).sort(byKey));
    assert.equal(r.groups[0].count, 2, 'most flips first: the two DELETEs, one group whatever their query');
    const del = r.groups[0].samples[0];
    assert.deepEqual([del.before_reason, del.draft_reason, del.ts], ['caller allowed', 'nobody deletes from cart', t0 + 1]);
    assert.equal(r.recorded_disagreements, 1, 'only the request an older policy denied');
    assert.equal(r.draft_errors, 0);
    assert.equal(r.samples.length, 5);
  });

  test('against the recorded decisions, a request no policy decided counts as allowed and one an older policy denied flips to allow', async () => {
    const r = await replayPolicy({ store, draft, from: t0, until: t0 + 1000 });
    assert.equal(r.baseline, 'recorded_decision');
    assert.equal(r.current_digest, null);
    assert.equal(r.recorded_disagreements, null);
    assert.deepEqual(r.flips, { allow_to_deny: 5, deny_to_allow: 2 });
    const want = expectedGroups((k) => k.decision !== 'deny');
    assert.deepEqual(
      r.groups.map((g) => ({ ...g, ids: g.samples.map((s) => `${s.proxy}:${s.seq}`), samples: undefined })).sort(byKey),
      want.map((g) => ({ ...g, samples: undefined })).sort(byKey));
    assert.ok(r.notes.some((n) => /1 requests were recorded with no policy decision/.test(n)), r.notes.join('\n'));
  });

  test('the notes say plainly which headers the taps cannot carry and how often they carried the others', async () => {
    const r = await replayPolicy({ store, draft, current, from: t0, until: t0 + 1000 });
    const text = r.notes.join('\n');
    assert.match(text, /Header "authorization" is never recorded in taps/);
    assert.match(text, /Header "user-agent" is in 3 of 11 replayed requests/);
    assert.match(text, /Header "x-request-id" is in 1 of 11 replayed requests/);
    assert.match(text, /Compared with the policy enforced now \(bundle [0-9a-f]{12}\)/);
    const narrow = await replayPolicy({ store, draft, current, from: t0, until: t0 + 1000, headerAllow: ['x-request-id'] });
    assert.deepEqual(narrow.flips, { allow_to_deny: 3, deny_to_allow: 1 }, 'user-agent outside the policy\'s list: the curl request no longer flips');
  });

  test('a bound on requests cuts the replay short and says so; a draft that breaks the decision contract is counted as denying', async () => {
    const cut = await replayPolicy({ store, draft, current, from: t0, until: t0 + 1000, maxRequests: 5, maxInputs: 4 });
    assert.deepEqual([cut.total, cut.evaluated, cut.truncated], [11, 6, true], 'the slice that reaches the bound is the last');
    assert.ok(cut.notes.some((n) => n.startsWith('Cut short: 6 of the period\'s 11')));
    const broken = await loadAuthzPolicySource({ files: { 'b.rego': 'package meshlens.authz\n\ndecision := {"allow": "yes"} if input.request.path == "/pay"\n\ndecision := {"allow": true, "reason": "ok"} if input.request.path != "/pay"\n' } }, EP);
    const r = await replayPolicy({ store, draft: broken, current, from: t0, until: t0 + 1000 });
    assert.equal(r.draft_errors, 2);
    assert.deepEqual(r.groups.filter((g) => g.path === '/pay').map((g) => [g.flip, g.count, g.samples[0].draft_reason]), [['allow_to_deny', 2, 'policy_error']]);
  });

  test('a draft that does not compile is refused with file:line:col', async () => {
    await assert.rejects(loadAuthzPolicySource({ files: { 'draft.rego': 'package meshlens.authz\n\ndecision := {"allow": true, "reason": x}\n' } }, EP),
      (e: Error) => e instanceof RegoCompileError && /^draft\.rego:3:\d+: /.test(e.message));
  });
});
