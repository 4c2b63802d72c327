import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readEmbeddedReport, renderHtml, statusWord } from './render-html.ts';
import { stampOf } from './stamp.ts';
import { HOSTILE_PATH, HOSTILE_REASON, HUGE_COUNT, sampleReport } from './testing/sample-report.ts';

const tapLink = (p: { proxy: string; seq: number; ts: number }) =>
  `/#taps?proxy=${encodeURIComponent(p.proxy)}&seq=${p.seq}&ts=${p.ts}`;

test('a hostile path and reason are shown as text: no markup, no script, no closed element from the report', () => {
  const html = renderHtml(sampleReport(), { tapLink });
  // The only <script> is the embedded JSON; the path's </script><script> does not open another.
  assert.equal(html.match(/<script/gi)?.length, 1);
  assert.equal(html.match(/<\/script/gi)?.length, 1);
  assert.ok(!html.includes('alert("x")'), 'the path reaches the page unescaped');
  assert.ok(html.includes('/search?q=&lt;/script&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;name=&#39;o&#39;&quot;x&quot;'));
  assert.ok(!html.includes('<b>bold</b>'));
  assert.ok(html.includes('&lt;b&gt;bold&lt;/b&gt;'));
  // The bidi override in the reason is made visible rather than reversing the text after it.
  const page = html.slice(html.indexOf('</head>'));
  assert.ok(!page.includes('\u202E'));
  assert.ok(page.includes('caller &quot;evil&quot; \\u202egnp.exe'));
  assert.ok(!html.includes('<!--'), 'a comment opener from the report reached the page');
});

test('the page fetches nothing and runs nothing: no external URL, a CSP of default-src none', () => {
  const html = renderHtml(sampleReport(), { tapLink });
  assert.ok(html.includes(`content="default-src 'none'; style-src 'unsafe-inline'"`));
  assert.deepEqual(html.match(/https?:|(href|src)="\/\//gi) ?? [], []);
  assert.ok(!/\b(src|srcset)=/i.test(html));
});

test('the embedded report reads back exactly, and its canonical JSON hashes to the stamp', () => {
  const report = sampleReport();
  const back = readEmbeddedReport(renderHtml(report, { tapLink }));
  assert.ok(back);
  assert.deepEqual(back, report);
  assert.equal(stampOf(back.body), report.sha256);
  const path = back.body.controls.find((c) => c.id === 'deny_has_reason')!.counterexamples[0].path;
  assert.equal(path, HOSTILE_PATH);
  assert.ok((path as string).includes('\u2028'));
});

test('the embedded JSON has no raw <, >, &, U+2028 or U+2029 for an HTML parser to act on', () => {
  const html = renderHtml(sampleReport());
  const start = html.indexOf('<script type="application/json" id="meshlens-report">');
  const json = html.slice(html.indexOf('>', start) + 1, html.indexOf('</script>', start));
  assert.ok(json.length > 1000);
  assert.ok(!/[<>&\u2028\u2029]/.test(json));
  assert.ok(json.includes('\\u003c/script\\u003e'));
});

test('readEmbeddedReport answers null for a page without a report and for one whose JSON was cut', () => {
  assert.equal(readEmbeddedReport('<!doctype html><p>hello</p>'), null);
  const html = renderHtml(sampleReport());
  const cut = html.replace(/("sha256":"[0-9a-f]{64}")\}<\/script>/, '$1</script>');
  assert.notEqual(cut, html);
  assert.equal(readEmbeddedReport(cut), null);
});

test('every control id, title and status word appears, and the totals line counts each status', () => {
  const report = sampleReport();
  const html = renderHtml(report);
  for (const c of report.body.controls) {
    assert.ok(html.includes(`id="control-${c.id}"`), `no section for ${c.id}`);
    assert.ok(html.includes(`>${c.id}<`), `control id ${c.id} not shown`);
    assert.ok(html.includes(`status-${c.status}">`), `no ${c.status} badge for ${c.id}`);
  }
  for (const w of ['PASS', 'FAIL', 'NOT APPLICABLE', 'INSUFFICIENT EVIDENCE']) assert.ok(html.includes(w), `status word ${w} missing`);
  assert.equal(statusWord('not_applicable'), 'NOT APPLICABLE');
  const totals = html.match(/<p class="totals">(.*?)<\/p>/)?.[1] ?? '';
  assert.match(totals, /8 controls:/);
  assert.match(totals, /✓ PASS<\/span> 1 · .*✗ FAIL<\/span> 4 · .*NOT APPLICABLE<\/span> 1 · .*INSUFFICIENT EVIDENCE<\/span> 2/);
  assert.ok(html.includes('Control error:'));
  assert.ok(html.includes(report.sha256));
  assert.ok(html.includes('2026-03-02T00:00:00.000Z – 2026-03-09T00:00:00.000Z'));
});

test('each tap counterexample links to its tap through tapLink; one that is not a tap has no link', () => {
  const report = sampleReport();
  const html = renderHtml(report, { tapLink });
  const links = [...html.matchAll(/<a href="(\/#taps\?[^"]*)">(\d+)<\/a>/g)];
  const pointers = report.body.controls.flatMap((c) => c.counterexamples).filter((x) => typeof x.proxy === 'string');
  assert.equal(links.length, pointers.length);
  const first = pointers[0] as { proxy: string; seq: number; ts: number };
  assert.equal(links[0][1], `/#taps?proxy=${first.proxy}&amp;seq=${first.seq}&amp;ts=${first.ts}`);
  assert.equal(links[0][2], String(first.seq));
  assert.ok(html.includes('chain cart-1/taps batch 41'));
  assert.equal(renderHtml(report).match(/#taps\?/g), null, 'links without a tapLink');
});

test('a tapLink answering a javascript: URL gives no link', () => {
  const html = renderHtml(sampleReport(), { tapLink: () => 'java\tscript:alert(1)' });
  assert.ok(!html.includes('<a href="java'));
});

test('the counterexample table says how many of the total it shows and drops columns empty in every row', () => {
  const html = renderHtml(sampleReport());
  assert.ok(html.includes('Counterexamples (the first 20 of 213)'));
  const section = html.slice(html.indexOf('id="control-no_secrets_in_taps"'), html.indexOf('id="control-tap_chain_integrity"'));
  const head = section.match(/<table class="cx"><thead><tr>(.*?)<\/tr>/)?.[1] ?? '';
  assert.ok(head.startsWith('<th>proxy</th><th>seq</th><th>time (UTC)</th>'), head);
  assert.ok(head.includes('<th>excerpt</th>'));
  assert.ok(!section.includes('<th>ref</th>'));
  // Deny counterexamples are all POSTs denied at payments-v2's inbound side: said once, not per row.
  const deny = html.slice(html.indexOf('id="control-deny_has_reason"'), html.indexOf('id="control-no_secrets_in_taps"'));
  assert.match(deny, /In every row: .*direction <strong>inbound<\/strong>.*decision <strong>deny<\/strong>/);
  assert.ok(!deny.includes('<th>decision</th>'));
  assert.ok(deny.includes('<th>decision reason</th>'));
});

test('the evidence chart labels a zero and a huge count, and draws no bar for the zero', () => {
  const html = renderHtml(sampleReport());
  const chain = html.slice(html.indexOf('id="control-tap_chain_integrity"'));
  const svg = chain.slice(chain.indexOf('<svg'), chain.indexOf('</svg>'));
  assert.ok(svg.includes(`>${HUGE_COUNT.toLocaleString('en-US')}</text>`));
  const auth = html.slice(html.indexOf('id="control-authz_decision_recorded"'));
  const authSvg = auth.slice(auth.indexOf('<svg'), auth.indexOf('</svg>'));
  // four counts, four tracks; three non-zero bars; the zero labelled at the start of its track
  assert.equal(authSvg.match(/fill="#eef1f4"/g)?.length, 4);
  assert.equal(authSvg.match(/fill="#4a6fa5"/g)?.length, 3);
  assert.ok(authSvg.includes('x="214.0" y="68">0</text>'));
  assert.ok(html.includes('No evidence counts recorded.'));
});

test('policy digests, configuration versions, chain heads and the chain verdict are shown', () => {
  const report = sampleReport();
  const html = renderHtml(report);
  assert.ok(html.includes(report.body.policies.authz.digests[1]));
  assert.ok(html.includes('configuration version 41 at the start of the period, 44 at its end'));
  for (const h of report.body.chain_heads) assert.ok(html.includes(h.hash), `chain head ${h.proxy} missing`);
  assert.ok(html.includes('PROBLEMS FOUND'));
  assert.ok(html.includes('18,421 of 18,422 batches re-hashed and verified'));
  assert.ok(!HOSTILE_REASON.includes('&') && html.includes('no rule for caller &quot;evil&quot;'));
});
