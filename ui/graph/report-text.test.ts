import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clauseLabels, counterexampleLine, evidenceBars, visibleText, formatPeriod, formatSpan, shortDigest, statusWord, totalsParts } from './index.ts';

test('statuses read as words; totals list the non-zero ones, worst first', () => {
  assert.deepEqual(['pass', 'fail', 'not_applicable', 'insufficient_evidence', 'odd'].map(statusWord), ['pass', 'fail', 'not applicable', 'insufficient evidence', 'odd']);
  assert.deepEqual(totalsParts({ pass: 3, fail: 1, not_applicable: 0, insufficient_evidence: 2 }).map((p) => [p.status, p.text]),
    [['fail', '1 fail'], ['insufficient_evidence', '2 insufficient evidence'], ['pass', '3 pass']]);
  assert.deepEqual(totalsParts({}), []);
  assert.deepEqual(totalsParts(null), []);
});

test('clauses are labelled by framework, with their text; an unknown framework keeps its key', () => {
  assert.deepEqual(clauseLabels({ pci_dss_4_0: [{ id: '4.2.1', text: 'Strong cryptography' }], soc2: [{ id: 'CC6.1', text: '' }], iso_27001: [{ id: 'A.8.20' }] }), [
    { label: 'PCI DSS 4.0 4.2.1', text: 'Strong cryptography' }, { label: 'SOC 2 CC6.1', text: '' }, { label: 'iso_27001 A.8.20', text: '' },
  ]);
  assert.deepEqual(clauseLabels({ soc2: 'CC6.1' }), []);
  assert.deepEqual(clauseLabels(undefined), []);
});

test('periods read in UTC with their length', () => {
  const from = Date.UTC(2026, 2, 2);
  assert.equal(formatPeriod(from, from + 7 * 86_400_000), '2026-03-02 00:00:00Z → 2026-03-09 00:00:00Z (7 d)');
  assert.deepEqual([3_600_000, 86_400_000, 5_400_000, 45_000, 36 * 3_600_000, 90 * 3_600_000].map(formatSpan), ['1 h', '24 h', '90 min', '45 s', '36 h', '90 h']);
  assert.equal(shortDigest('ab'.repeat(32)), 'abababababab');
});

test('a counterexample tap reads as one line: where, when, who called whom, what, the decision and the TLS; other fields follow by name', () => {
  const tap = {
    proxy: 'cart-1', seq: 1013, ts: Date.UTC(2026, 2, 2, 0, 37), src_service: 'external', dst_service: 'cart', direction: 'inbound',
    method: 'GET', path: '/items/1', status: 200, decision: 'allow', decision_reason: 'caller allowed', tls_version: '', src_identity: '',
  };
  assert.equal(counterexampleLine(tap), 'cart-1 #1013 · 2026-03-02 00:37:00Z · external → cart inbound · GET /items/1 → 200 · allow: caller allowed · no TLS');
  assert.equal(counterexampleLine({ ...tap, decision: 'deny', decision_reason: '', status: 403, tls_version: 'TLSv1.3', src_identity: 'spiffe://m/web' }),
    'cart-1 #1013 · 2026-03-02 00:37:00Z · external → cart inbound · GET /items/1 → 403 · deny (no reason) · TLSv1.3 spiffe://m/web');
  assert.equal(counterexampleLine({ proxy: 'catalog-2', seq: 4, ts: 0, method: '', path: '', status: 0, field: 'header:authorization', rule: 'bearer', excerpt: 'eyJh…120' }),
    'catalog-2 #4 · 1970-01-01 00:00:00Z · field: header:authorization · rule: bearer · excerpt: eyJh…120');
  assert.equal(counterexampleLine({ ref: 'chain cart-1/taps batch 41', ts: 0, problem: 'hash_mismatch', extra: { a: 1 } }),
    'chain cart-1/taps batch 41 · 1970-01-01 00:00:00Z · problem: hash_mismatch · extra: {"a":1}');
});

test('a hostile string stays the same string in the line (the page sets it as text)', () => {
  const path = '/search?q=</script><img src=x onerror=alert(1)>';
  assert.ok(counterexampleLine({ proxy: 'web-1', seq: 1, ts: 0, method: 'GET', path }).includes(`GET ${path}`));
});

test('bidi overrides and invisible controls from the network are written out, so they cannot reorder the line', () => {
  assert.equal(visibleText('no rule for "evil" \u202Egnp.exe'), 'no rule for "evil" \\u202egnp.exe');
  assert.equal(visibleText('a\u200bb\u2066c\u0000d\te'), 'a\\u200bb\\u2066c\\u0000d\te', 'a tab stays');
  assert.equal(counterexampleLine({ ref: 'x\u202e', detail: 'y\u2067' }), 'x\\u202e · detail: y\\u2067');
});

test('evidence bars are linear in the value, a non-zero one at least 2 px, zero none; non-numbers are left out', () => {
  const l = evidenceBars({ requests: 1000, plaintext_requests: 1, none: 0, note: 'x' }, { barMax: 200 });
  assert.deepEqual(l.bars.map((b) => [b.name, b.width, b.label, b.y]), [['requests', 200, '1,000', 0], ['plaintext_requests', 2, '1', 18], ['none', 0, '0', 36]]);
  assert.equal(l.height, 54);
  assert.ok(l.width > l.labelWidth + 200);
  assert.deepEqual(evidenceBars(undefined).bars, []);
});
