// Store behaviours of the compliance evidence reads (./sql-evidence.ts):
// edges from inbound taps, secrets in paths and headers, loss, refused
// frames, retention, chain heads and alerts of a period. Run inside the
// shared store suite (./store-suite.ts) so they hold on chdb and on the
// 18.16 server alike.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeBatch } from './batch.ts';
import { IngestError } from './errors.ts';
import { sampleChain, sampleL4Open, sampleL7 } from './sample-taps.ts';
import type { L7RequestTap } from './schema/v1.ts';
import { ttlDays } from './sql-evidence.ts';
import type { StoredAlert, TapStore } from './store.ts';
import { rejectRow } from './tap-reject.ts';

const MTLS = { tls_version: 'TLSv1.3', src_identity: 'spiffe://meshlens.local/ns/default/sa/caller' };
const ids = (ps: readonly { proxy: string; seq: number }[]) => ps.map((p) => `${p.proxy}#${p.seq}`);

export function evidenceStoreTests(openStore: (now?: () => number) => Promise<TapStore>): void {
  test('evidenceEdges counts each edge from the callee\'s inbound taps in [from, until) (mTLS, decisions, errors), each batch once, with oldest-first samples', async () => {
    const s = await openStore();
    const t0 = Math.floor(Date.now() / 10_000) * 10_000 - 120_000;
    const [from, until] = [t0, t0 + 60_000];
    const web = (ts: number, over: Partial<L7RequestTap> = {}) => sampleL7({ ts, direction: 'inbound', src_service: 'web', dst_service: 'cart', ...over });
    const cart = sampleChain('cart-1', 'c1', [[
      sampleL4Open({ ts: t0 + 1, direction: 'inbound', src_service: 'web', dst_service: 'cart', conn_id: 'm1', ...MTLS }), // seq 0
      web(t0 + 2, { ...MTLS, decision: 'allow' }), web(t0 + 3, { ...MTLS, decision: 'allow' }), // 1, 2
      web(t0 + 4, { ...MTLS, decision: 'deny', decision_reason: 'cart: only web may call', status: 403 }), // 3
      sampleL4Open({ ts: t0 + 5, direction: 'inbound', src_service: 'web', dst_service: 'cart', conn_id: 'p1' }), // 4: plaintext
      web(t0 + 6, { status: 503, path: '/items?token=abc123&page=2' }), // 5: plaintext, no decision, a secret in its path
      web(t0 + 7, { status: 0, decision: 'none' }), // 6
      web(t0 + 8, { tls_version: 'TLSv1.3', decision: 'allow' }), // 7: TLS without a client identity is not mTLS
      sampleL7({ ts: t0 + 9, direction: 'outbound', src_service: 'cart', dst_service: 'payments', ...MTLS }), // 8: cart as a caller
      web(t0 - 1, MTLS), web(until, MTLS), // 9, 10: outside the period
    ]]);
    const payments = sampleChain('payments-1', 'p1', [[
      sampleL7({ ts: t0 + 10, direction: 'inbound', src_service: 'cart', dst_service: 'payments', ...MTLS, decision: 'deny', status: 403 }),
      sampleL7({ ts: t0 + 11, direction: 'inbound', src_service: 'cart', dst_service: 'payments', ...MTLS, decision: 'deny', decision_reason: '', status: 403 }),
      sampleL7({ ts: t0 + 12, direction: 'inbound', src_service: 'cart', dst_service: 'payments', ...MTLS, decision: 'allow' }),
    ]]);
    const front = sampleChain('web-1', 'w1', [[
      sampleL4Open({ ts: t0 + 20, direction: 'inbound', src_service: 'external', dst_service: 'web' }),
      sampleL7({ ts: t0 + 21, direction: 'inbound', src_service: 'external', dst_service: 'web', decision: 'allow' }),
      sampleL7({ ts: t0 + 22, direction: 'outbound', src_service: 'web', dst_service: 'cart', ...MTLS }), // web's view of web→cart
    ]]);
    await s.writeBatch(cart[0]);
    await s.writeBatches([payments[0], cart[0], front[0]]); // cart's batch again, inside another group

    const edges = await s.evidenceEdges(from, until, 2);
    const counts = edges.map(({ samples: _, ...e }) => e);
    const edge = (src: string, dst: string, requests: number, mtls: number, conns: number, mtlsConns: number, allow: number, deny: number, none: number,
      noReason: number, errors: number, first: number, last: number) => ({
      src, dst, requests, mtls_requests: mtls, plaintext_requests: requests - mtls, connections: conns, mtls_connections: mtlsConns,
      allow, deny, none, denies_without_reason: noReason, errors, first_ts: t0 + first, last_ts: t0 + last,
    });
    assert.deepEqual(counts, [
      edge('cart', 'payments', 3, 3, 0, 0, 1, 2, 0, 2, 0, 10, 12),
      edge('external', 'web', 1, 0, 1, 0, 1, 0, 0, 0, 0, 20, 21),
      edge('web', 'cart', 6, 3, 2, 1, 3, 1, 2, 0, 2, 1, 8),
    ]);
    const samples = Object.fromEntries(edges.map((e) => [`${e.src}>${e.dst}`, Object.fromEntries(Object.entries(e.samples).map(([k, v]) => [k, ids(v)]))]));
    assert.deepEqual(samples, {
      'cart>payments': { plaintext: [], none: [], deny_no_reason: ['payments-1#0', 'payments-1#1'], admitted: ['payments-1#2'] },
      'external>web': { plaintext: ['web-1#0', 'web-1#1'], none: [], deny_no_reason: [], admitted: ['web-1#1'] },
      'web>cart': { plaintext: ['cart-1#4', 'cart-1#5'], none: ['cart-1#5', 'cart-1#6'], deny_no_reason: [], admitted: ['cart-1#1', 'cart-1#2'] },
    }, 'samplesPerEdge 2: the two oldest of each kind');
    assert.deepEqual(edges[0].samples.deny_no_reason[0], {
      proxy: 'payments-1', seq: 0, ts: t0 + 10, src_service: 'cart', dst_service: 'payments', direction: 'inbound', method: 'GET', path: '/items',
      status: 403, decision: 'deny', decision_reason: '', tls_version: MTLS.tls_version, src_identity: MTLS.src_identity,
    });
    assert.deepEqual(edges[1].samples.plaintext[0], {
      proxy: 'web-1', seq: 0, ts: t0 + 20, src_service: 'external', dst_service: 'web', direction: 'inbound', method: '', path: '',
      status: 0, decision: '', decision_reason: '', tls_version: '', src_identity: '',
    }, 'an l4 pointer: no method, path or status');
    assert.equal(edges[2].samples.none[0].path, '/items?token=…&page=2', 'a pointer\'s path never carries a secret value');

    const byDefault = await s.evidenceEdges(from, until);
    assert.deepEqual(ids(byDefault[2].samples.plaintext), ['cart-1#4', 'cart-1#5', 'cart-1#6'], 'three samples by default');
    assert.deepEqual((await s.evidenceEdges(from, until, 0)).map((e) => e.samples.admitted.length), [0, 0, 0]);
    assert.deepEqual((await s.evidenceEdges(until, until + 60_000)).map((e) => [e.src, e.dst, e.requests, ids(e.samples.admitted)]), [['web', 'cart', 1, ['cart-1#10']]],
      'the tap at until is in the next period');
    await assert.rejects(s.evidenceEdges(until, from), { code: 'INGEST_ERR_CONFIG' });
    await assert.rejects(s.evidenceEdges(from, until, -1), { code: 'INGEST_ERR_CONFIG' });
  });

  test('secretFindings names the rule that fired on each path and header of the period\'s l7 taps and returns only redacted excerpts, never the secret', async () => {
    const s = await openStore();
    const t0 = Math.floor(Date.now() / 10_000) * 10_000 - 120_000;
    const [from, until] = [t0, t0 + 60_000];
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLWJ5dGVz';
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----';
    const odd = 'Hunter2"ü\\x'; // a quote, a non-ASCII letter, a backslash: JSON-escaped in the headers column
    const secrets = ['s3cr3tvalue', jwt, 'dXNlcjpwYXNzd29yZA', 'AKIAABCDEFGHIJKLMNOP', 'MIIBOgIBAAJBAKj34', 'Hunter2', 'zzzzzzzz'];
    const l7 = (ts: number, path: string, headers?: Record<string, string>) => sampleL7({ ts, path, ...(headers ? { headers } : {}) });
    const [b] = sampleChain('web-1', 's1', [[
      l7(t0 + 1, '/login?user=bob&TOKEN=s3cr3tvalue'), // 0: an upper-case key
      l7(t0 + 2, '/me?apikey=zzzzzzzz', { 'x-auth-token': jwt, 'x-user': 'u1' }), // 1: two fields
      l7(t0 + 3, '/items', { 'x-forwarded-credentials': 'BASIC dXNlcjpwYXNzd29yZA==' }), // 2
      l7(t0 + 4, '/keys/AKIAABCDEFGHIJKLMNOP/rotate'), // 3
      l7(t0 + 5, '/items', { 'x-debug-blob': pem }), // 4
      l7(t0 + 6, '/items', { 'x-session-secret': odd }), // 5
      l7(t0 + 7, '/search?keyword=tokens&page=2&sig', { 'x-api-version': '2', 'x-request-id': 'abc' }), // 6: nothing secret
      l7(t0 + 8, '/items', { 'x-csrf-token': '' }), // 7: a secret-looking name, but empty
      sampleL4Open({ ts: t0 + 9 }), // 8: not a request
      l7(until, '/late?token=zzzzzzzz'), // 9: after the period
    ]]);
    await s.writeBatch(b);
    await s.writeBatch(b); // twice: found once

    const found = await s.secretFindings(from, until);
    assert.equal(found.scanned, 8);
    assert.deepEqual(found.by_rule, { private_key: 1, aws_access_key: 1, jwt: 1, bearer_basic: 1, secret_query_key: 2, secret_header: 1 });
    assert.equal(found.findings, 7);
    assert.deepEqual(found.samples.map((f) => [f.seq, f.field, f.rule, f.excerpt]), [
      [0, 'path', 'secret_query_key', 's3c…(11 chars)'],
      [1, 'header:x-auth-token', 'jwt', `eyJh…(${jwt.length} chars)`],
      [1, 'path', 'secret_query_key', 'zz…(8 chars)'],
      [2, 'header:x-forwarded-credentials', 'bearer_basic', 'BASI…(26 chars)'],
      [3, 'path', 'aws_access_key', 'AKIA…(20 chars)'],
      [4, 'header:x-debug-blob', 'private_key', `----…(${pem.length} chars)`],
      [5, 'header:x-session-secret', 'secret_header', `Hun…(${odd.length} chars)`],
    ]);
    assert.deepEqual(found.samples.map((f) => f.path).filter((p) => p !== '/items'), ['/login?user=bob&TOKEN=…', '/me?apikey=…', '/me?apikey=…', '/keys/AKIA…/rotate']);
    const shown = JSON.stringify(found);
    for (const secret of secrets) assert.ok(!shown.includes(secret), `${secret} must not be returned`);

    const few = await s.secretFindings(from, until, 3);
    assert.deepEqual(few.samples.map((f) => f.rule).sort(), ['aws_access_key', 'jwt', 'private_key'], 'a limit takes the rules in turn, so a rare rule still shows');
    assert.equal(few.findings, 7, 'the limit bounds samples, not counts');
    assert.deepEqual(await s.secretFindings(until, until + 1), {
      scanned: 1, findings: 1, by_rule: { private_key: 0, aws_access_key: 0, jwt: 0, bearer_basic: 0, secret_query_key: 1, secret_header: 0 },
      samples: [{ ...found.samples[0], seq: 9, ts: until, path: '/late?token=…', excerpt: 'zz…(8 chars)' }],
    });
    await assert.rejects(s.secretFindings(from, until, 1.5), { code: 'INGEST_ERR_CONFIG' });
  });

  test('lossRecords and rejectCounts give the loss records and distinct refused frames of [from, until), a loss or frame recorded twice counting once', async () => {
    const s = await openStore();
    const t0 = Math.floor(Date.now() / 10_000) * 10_000 - 120_000;
    const [from, until] = [t0, t0 + 60_000];
    const gap = { proxy: 'web-1', stream: 's1', ts: t0 + 100, from_seq: 10, count: 4, reason: 'sequence_gap' };
    await s.recordLoss(gap);
    await s.recordLoss({ ...gap, ts: t0 + 105 }); // the same loss, seen again on a resent batch
    await s.recordLoss({ proxy: 'cart-1', stream: 's2', ts: t0 + 200, from_seq: 0, count: 2, reason: 'sidecar_dropped' });
    await s.recordLoss({ ...gap, from_seq: 90, ts: t0 - 1 });
    await s.recordLoss({ ...gap, from_seq: 95, ts: until });
    const loss = await s.lossRecords(from, until);
    assert.deepEqual(loss.map(({ ts: _, ...r }) => r), [
      { proxy: 'web-1', stream: 's1', from_seq: 10, count: 4, reason: 'sequence_gap' },
      { proxy: 'cart-1', stream: 's2', from_seq: 0, count: 2, reason: 'sidecar_dropped' },
    ]);
    assert.ok([t0 + 100, t0 + 105].includes(loss[0].ts), `the ts of one of its records, got ${loss[0].ts - t0}`);
    assert.equal(loss[1].ts, t0 + 200);

    const frame = (n: number) => encodeBatch(sampleChain('web-1', 's9', [[sampleL7({ path: `/p${n}` })]])[0]);
    const unsigned = rejectRow(frame(1), new IngestError('INGEST_ERR_SIGNATURE', 'unsigned'), t0 + 10, { sender: 'web-1' });
    await s.recordRejects([
      unsigned,
      rejectRow(Buffer.from('not json\n'), new IngestError('INGEST_ERR_NOT_JSON', 'not JSON'), t0 + 20, {}),
      rejectRow(frame(2), new IngestError('INGEST_ERR_SIGNATURE', 'unsigned'), t0 + 30, {}),
      rejectRow(frame(3), new IngestError('INGEST_ERR_CHAIN', 'broken'), until, {}),
    ]);
    await s.recordRejects([{ ...unsigned, received_at: t0 + 40 }]); // redelivered: the same frame
    assert.deepEqual(await s.rejectCounts(from, until), { frames: 3, by_code: { INGEST_ERR_NOT_JSON: 1, INGEST_ERR_SIGNATURE: 2 } });
    assert.deepEqual(await s.rejectCounts(until, until + 1), { frames: 1, by_code: { INGEST_ERR_CHAIN: 1 } });
    assert.deepEqual(await s.rejectCounts(t0 - 60_000, t0), { frames: 0, by_code: {} });
    await assert.rejects(s.lossRecords(Number.NaN, 1), { code: 'INGEST_ERR_CONFIG' });
  });

  test('retention reads the TTL days of taps and rollups (none on 18.16) and the oldest tap kept; chainHeadsAt gives the heads as they stood before a time', async () => {
    const t0 = Math.floor(Date.now() / 10_000) * 10_000 - 120_000;
    let clock = t0 + 1_000;
    const s = await openStore(() => clock);
    const dialect = (s as unknown as { dialect: string | null }).dialect;
    const days = dialect === 'legacy' ? { taps_days: null, rollup_days: null } : { taps_days: 7, rollup_days: 30 };
    assert.deepEqual(await s.retention(), { ...days, oldest_tap_ts: null }, `a fresh ${dialect} store`);

    const a = sampleChain('web-1', 'sa', [[sampleL7({ ts: t0 + 5 }), sampleL7({ ts: t0 + 1 })], [sampleL7({ ts: t0 + 9 })]]);
    const b = sampleChain('cart-1', 'sb', [[sampleL7({ ts: t0 + 7 })]]);
    await s.writeBatch(a[0]);
    clock = t0 + 2_000;
    await s.writeBatches([a[1], b[0]]);
    assert.deepEqual(await s.retention(), { ...days, oldest_tap_ts: t0 + 1 });
    assert.deepEqual(await s.chainHeadsAt(t0 + 1_000), [], 'before any batch was received');
    assert.deepEqual(await s.chainHeadsAt(t0 + 1_500), [{ proxy: 'web-1', stream: 'sa', batch: 0, hash: a[0].hash, last_seq: 1, lost: 0 }]);
    assert.deepEqual(await s.chainHeadsAt(t0 + 2_001), [
      { proxy: 'cart-1', stream: 'sb', batch: 0, hash: b[0].hash, last_seq: 0, lost: 0 },
      { proxy: 'web-1', stream: 'sa', batch: 1, hash: a[1].hash, last_seq: 2, lost: 0 },
    ]);
    assert.deepEqual(await s.chainHeadsAt(t0 + 2_001), await s.chainHeads());

    assert.equal(ttlDays('ReplacingMergeTree ORDER BY (a) TTL toDateTime(intDiv(ts, 1000)) + toIntervalDay(7) SETTINGS index_granularity = 8192', 'taps'), 7);
    assert.equal(ttlDays('MergeTree ORDER BY a TTL toDateTime(intDiv(ts, 1000)) + INTERVAL 2 WEEK', 'taps'), 14);
    assert.equal(ttlDays('ReplacingMergeTree PARTITION BY toDate(x) ORDER BY (a) SETTINGS index_granularity = 8192', 'taps'), null);
    assert.throws(() => ttlDays('MergeTree ORDER BY a TTL toDateTime(ts) + toIntervalHour(36)', 'taps'), { code: 'INGEST_ERR_STORE' }, 'a TTL it cannot read is never "no TTL"');
  });

  test('alertsInPeriod gives the newest state of every alert open at some time in [from, until), by opened_at', async () => {
    const s = await openStore();
    const t0 = Math.floor(Date.now() / 10_000) * 10_000 - 600_000;
    const [from, until] = [t0 + 100_000, t0 + 200_000];
    const alert = (id: string, opened: number, resolved: number | null, updated = resolved ?? opened): StoredAlert => ({
      id, scope: 'service', subject: 'payments', state: resolved === null ? 'open' : 'resolved', opened_at: t0 + opened, updated_at: t0 + updated,
      resolved_at: resolved === null ? null : t0 + resolved, score: 3, threshold: 1, features: [{ name: 'p99_ms', share: 1 }], explanation: 'slow', model_version: 'm1',
    });
    for (const a of [
      alert('before', 10_000, 90_000), // resolved before the period
      alert('still-open', 20_000, null), // opened before, never resolved
      alert('across-from', 30_000, 100_000), // resolved exactly at from: open inside
      alert('inside', 150_000, 160_000),
      alert('at-until', 200_000, null), // opened at until: after the period
      alert('reopened-late', 50_000, null), // was open, and its newest state...
      alert('reopened-late', 50_000, 99_999), // ...says it was resolved just before from
    ]) await s.writeAlert(a);
    const got = await s.alertsInPeriod(from, until);
    assert.deepEqual(got.map((a) => [a.id, a.state, a.resolved_at === null ? null : a.resolved_at - t0]), [
      ['still-open', 'open', null], ['across-from', 'resolved', 100_000], ['inside', 'resolved', 160_000],
    ]);
    assert.deepEqual(got[2], alert('inside', 150_000, 160_000));
    await assert.rejects(s.alertsInPeriod(-1, until), { code: 'INGEST_ERR_CONFIG' });
  });
}
