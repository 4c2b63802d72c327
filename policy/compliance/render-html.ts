// A compliance report as one self-contained, printable HTML page: inline
// CSS and SVG, no script to run, no URL to fetch (a Content-Security-Policy
// forbids both), so the file reads the same offline, in a mail client and
// printed to PDF (./render-pdf.ts prints this page). Every string from the
// report is escaped: paths, reasons and identities come from network traffic.
// The exact report rides along (./embedded-report.ts) for `report verify`.

import type { ControlResult, ReportFile } from './contract.ts';
import { embeddedReportScript } from './embedded-report.ts';
import { evidenceChart, formatCount } from './evidence-chart.ts';
import { escapeHtml as esc } from './html-escape.ts';
import { REPORT_CSS } from './report-css.ts';

export { readEmbeddedReport } from './embedded-report.ts';

export interface TapPointer { proxy: string; seq: number; ts: number }

export interface HtmlOptions {
  /** A link to one stored tap (the UI's tap explorer); counterexamples that point at a tap link there. */
  tapLink?: (p: TapPointer) => string;
}

/** Word, mark and CSS class of each status: the word and mark carry the meaning, the colour only repeats it. */
const STATUS: Record<string, { word: string; mark: string }> = {
  pass: { word: 'PASS', mark: '✓' },
  fail: { word: 'FAIL', mark: '✗' },
  not_applicable: { word: 'NOT APPLICABLE', mark: '–' },
  insufficient_evidence: { word: 'INSUFFICIENT EVIDENCE', mark: '?' },
};

export const statusWord = (status: string): string => STATUS[status]?.word ?? status.toUpperCase();

const FRAMEWORKS: Record<string, string> = {
  pci_dss_4_0: 'PCI DSS 4.0', soc2: 'SOC 2', nist_800_207: 'NIST SP 800-207', nist_800_204: 'NIST SP 800-204',
};

/** Fields with short values: wrapped only between words, so "payments-v2" or "inbound" stays whole. */
const WORD_FIELDS = new Set([
  'proxy', 'seq', 'src_service', 'dst_service', 'direction', 'method', 'status', 'decision', 'tls_version', 'field', 'rule', 'problem',
  'stream', 'batch', 'last_seq', 'version', 'kind', 'subject', 'actor',
]);

/** Counterexample columns after proxy, seq and time, in this order; fields not named here follow as first seen. */
const FIELD_ORDER = [
  'ref', 'src_service', 'dst_service', 'direction', 'method', 'path', 'status', 'decision', 'decision_reason',
  'tls_version', 'src_identity', 'field', 'rule', 'excerpt', 'problem', 'detail',
];

export function renderHtml(report: ReportFile, opts: HtmlOptions = {}): string {
  const b = report.body;
  const period = `${iso(b.period.from)} – ${iso(b.period.until)}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Compliance report ${esc(period)}</title>
<style>${REPORT_CSS}</style>
${embeddedReportScript(report)}
</head><body>
<header>
<h1>Compliance report</h1>
<p class="period">${esc(period)} <span class="muted">(UTC; from inclusive, until exclusive)</span></p>
<dl class="meta">
<dt>Report</dt><dd class="mono">${esc(b.id)}</dd>
<dt>Pack</dt><dd>${esc(b.pack.name)} <span class="mono muted">${esc(b.pack.digest)}</span> (${esc(b.pack.controls)} controls)</dd>
<dt>meshlens</dt><dd>${esc(b.meshlens_version)}</dd>
<dt>Issued</dt><dd>${esc(iso(b.issued_at))} by ${esc(b.issued_by)}</dd>
<dt>SHA-256</dt><dd class="mono stamp">${esc(report.sha256)}</dd>
</dl>
<p class="muted">The SHA-256 is over the canonical JSON of the report body (keys sorted, no whitespace); the body is embedded in this file, and <code>meshlens report verify</code> checks it.</p>
</header>
${totalsLine(b.totals)}
${glance(b.controls)}
${b.controls.map((c) => controlSection(c, opts)).join('\n')}
<section class="block"><h2>Policies and configuration in force</h2>
${policiesTable(b.policies)}
<p>Control-plane configuration version ${esc(b.config.version_at_start)} at the start of the period, ${esc(b.config.version_at_end)} at its end.</p>
<h3>Configuration in force at the start</h3>${objectTable(b.changes.at_start, 'No configuration change was recorded before the period.')}
<h3>Changes during the period</h3>${objectTable(b.changes.during, 'No configuration change during the period.')}
</section>
<section class="block"><h2>Audit chains</h2>
${chainSummary(b.chain)}
<h3>Chain heads at ${esc(iso(b.period.until))}</h3>${objectTable(b.chain_heads, 'No stored batch before the end of the period.')}
</section>
<section class="block"><h2>Evidence read</h2>${definitionList(b.evidence_counts)}</section>
</body></html>
`;
}

function totalsLine(t: Record<string, number>): string {
  const n = Object.values(t).reduce((s, x) => s + x, 0);
  const parts = Object.keys(STATUS).map((s) => `${badge(s)} ${esc(formatCount(t[s] ?? 0))}`);
  return `<p class="totals"><strong>${esc(n)} controls:</strong> ${parts.join(' · ')}</p>`;
}

function glance(controls: readonly ControlResult[]): string {
  const rows = controls.map((c) => `<tr><td><a href="#${anchor(c.id)}" class="mono">${esc(c.id)}</a></td><td>${esc(c.title)}</td><td>${badge(c.status)}</td></tr>`);
  return `<table class="glance"><thead><tr><th>Control</th><th>Title</th><th>Status</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function controlSection(c: ControlResult, opts: HtmlOptions): string {
  const shown = c.counterexamples?.length ?? 0;
  const total = c.counterexamples_total ?? shown;
  const count = total > shown ? `the first ${formatCount(shown)} of ${formatCount(total)}` : formatCount(total);
  return `<section class="control status-${cls(c.status)}" id="${anchor(c.id)}">
<div class="control-head">
<h2>${badge(c.status)} ${esc(c.title)} <span class="mono muted id">${esc(c.id)}</span></h2>
${c.error ? `<p class="error"><strong>Control error:</strong> ${esc(c.error)}</p>` : ''}
<p class="summary">${esc(c.summary)}</p>
${c.description ? `<p class="muted">${esc(c.description)}</p>` : ''}
${clauses(c.clauses)}
</div>
<figure>${evidenceChart(c.evidence, `Evidence counts of ${c.id}`)}</figure>
${shown === 0 ? '<p class="muted">No counterexamples.</p>'
    : `<h3>Counterexamples (${esc(count)})</h3>${counterexampleTable(c.counterexamples, opts)}`}
</section>`;
}

function clauses(cl: ControlResult['clauses'] | undefined): string {
  const entries = Object.entries(cl ?? {}).filter(([, list]) => Array.isArray(list) && list.length > 0);
  if (entries.length === 0) return '';
  const rows = entries.map(([fw, list]) => {
    const items = list.map((x) => (typeof x === 'object' && x !== null
      ? `<li><strong>${esc(x.id)}</strong>${x.text ? ` ${esc(x.text)}` : ''}</li>`
      : `<li>${esc(x)}</li>`));
    return `<dt>${esc(FRAMEWORKS[fw] ?? fw)}</dt><dd><ul>${items.join('')}</ul></dd>`;
  });
  return `<dl class="clauses">${rows.join('')}</dl>`;
}

function counterexampleTable(rows: readonly Record<string, unknown>[], opts: HtmlOptions): string {
  const seen = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) seen.add(k);
  const lead = ['proxy', 'seq', 'ts'].filter((k) => seen.has(k));
  const rest = [...FIELD_ORDER.filter((k) => seen.has(k)), ...[...seen].filter((k) => !lead.includes(k) && !FIELD_ORDER.includes(k))];
  // A column empty in every row (method/path of l4 taps, say) says nothing; one with the same value in
  // every row (direction, decision) is said once above the table, leaving the width to what differs.
  const present = rest.filter((k) => rows.some((r) => !isEmpty(r[k])));
  const same = rows.length >= 3 ? present.filter((k) => rows.every((r) => cellText(r[k]) === cellText(rows[0][k]))) : [];
  const cols = [...lead, ...present.filter((k) => !same.includes(k))];
  const common = same.length === 0 ? ''
    : `<p class="common">In every row: ${same.map((k) => `${esc(label(k))} <strong>${esc(cellText(rows[0][k]))}</strong>`).join(' · ')}</p>`;
  const head = cols.map((k) => `<th>${esc(label(k))}</th>`).join('');
  const body = rows.map((r) => {
    const href = opts.tapLink && typeof r.proxy === 'string' && typeof r.seq === 'number' && typeof r.ts === 'number'
      ? safeHref(opts.tapLink({ proxy: r.proxy, seq: r.seq, ts: r.ts })) : null;
    const cells = cols.map((k) => {
      const text = k === 'ts' ? timeCell(r[k]) : esc(cellText(r[k]));
      return `<td${WORD_FIELDS.has(k) ? ' class="w"' : ''}>${href && k === 'seq' ? `<a href="${esc(href)}">${text}</a>` : text}</td>`;
    });
    return `<tr>${cells.join('')}</tr>`;
  });
  return `${common}<table class="cx"><thead><tr>${head}</tr></thead><tbody>${body.join('')}</tbody></table>`;
}

function policiesTable(p: Record<string, { digest_at_start: string; digests: string[] }>): string {
  const rows = Object.entries(p ?? {}).map(([kind, d]) => `<tr><td>${esc(kind)}</td><td class="mono">${esc(d.digest_at_start || '—')}</td>`
    + `<td class="mono">${(d.digests ?? []).map((x) => esc(x)).join('<br>') || '—'}</td></tr>`);
  if (rows.length === 0) return '<p class="muted">No policy digests recorded.</p>';
  return `<table><thead><tr><th>Policy</th><th>Digest at the start</th><th>Digests in force during the period</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function chainSummary(c: ReportFile['body']['chain']): string {
  const intact = c.problems === 0 && c.unaccounted_gaps === 0;
  const verdict = intact ? badge('pass', 'INTACT') : badge('fail', 'PROBLEMS FOUND');
  return `<p>${verdict} ${esc(formatCount(c.verified_batches))} of ${esc(formatCount(c.batches))} batches re-hashed and verified `
    + `(${esc(formatCount(c.events))} events, ${esc(formatCount(c.unsigned_batches ?? 0))} unsigned, ${esc(formatCount(c.verified_signatures ?? 0))} signatures checked again); `
    + `${esc(formatCount(c.problems))} chain problem(s); ${esc(formatCount(c.unaccounted_gaps))} sequence gap(s) with no loss record.</p>`;
}

/** A table of objects, one column per key (first seen order); times as ISO. */
function objectTable(rows: readonly unknown[], empty: string): string {
  const objs = (rows ?? []).filter((r): r is Record<string, unknown> => typeof r === 'object' && r !== null);
  if (objs.length === 0) return `<p class="muted">${esc(empty)}</p>`;
  const cols = [...new Set(objs.flatMap((r) => Object.keys(r)))];
  const head = cols.map((k) => `<th>${esc(label(k))}</th>`).join('');
  const cell = (r: Record<string, unknown>, k: string) => (isTime(k) ? timeCell(r[k]) : esc(cellText(r[k])));
  const body = objs.map((r) => `<tr>${cols.map((k) => `<td${WORD_FIELDS.has(k) ? ' class="w"' : ''}>${cell(r, k)}</td>`).join('')}</tr>`);
  return `<table><thead><tr>${head}</tr></thead><tbody>${body.join('')}</tbody></table>`;
}

function definitionList(o: Record<string, unknown>): string {
  const rows = Object.entries(o ?? {}).map(([k, v]) => `<dt>${esc(k.replace(/_/g, ' '))}</dt><dd>${esc(typeof v === 'number' ? formatCount(v) : cellText(v))}</dd>`);
  return `<dl class="meta">${rows.join('')}</dl>`;
}

function badge(status: string, word = statusWord(status)): string {
  return `<span class="badge status-${cls(status)}">${esc(STATUS[status]?.mark ?? '•')} ${esc(word)}</span>`;
}

const cls = (status: string): string => (status in STATUS ? status : 'unknown');
/** An element id from a control id: its own characters where safe, so `#mtls_everywhere` is stable. */
const anchor = (id: string): string => `control-${String(id).replace(/[^A-Za-z0-9_-]/g, (c) => `.${c.charCodeAt(0).toString(16)}`)}`;
const label = (k: string): string => (k === 'ts' ? 'time (UTC)' : k.replace(/_/g, ' '));
const isTime = (k: string): boolean => k === 'ts' || k.endsWith('_at');
const isEmpty = (v: unknown): boolean => v === undefined || v === null || v === '';

function cellText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A time in a table cell: the line may break after the date. */
const timeCell = (v: unknown): string => esc(iso(v)).replace(/^(\d{4}-\d\d-\d\dT)(?=\d)/, '$1<wbr>');

/** ISO 8601 UTC of epoch ms; anything else as written (a hostile or odd value is shown, not trusted). */
function iso(v: unknown): string {
  if (typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= 8.64e15) return new Date(v).toISOString();
  return cellText(v);
}

/** A link the page may carry; a script-running scheme is dropped (URL parsers ignore tabs and newlines in it). */
function safeHref(href: string): string | null {
  return /^(javascript|vbscript|data):/i.test(String(href).replace(/[\u0000-\u0020\u007f]/g, '')) ? null : href;
}
