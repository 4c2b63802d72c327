// One compliance report on the Reports page: what it covers and who issued
// it, its stamp, downloads, and per control its status (colour and word),
// title, clauses, summary, a bar chart of its evidence and its
// counterexamples, each stored tap among them a link into the tap explorer.
// Report strings came from the network: all of them go in as text, their
// invisible controls (bidi overrides) written out.
//
// Test hooks: article.report-view[data-id], .report-sha256, a.download[data-format],
// li.control[data-id][data-status] with .status-word, .control-title, .control-summary,
// .control-error, ul.clauses li, svg.evidence-bars g.bar[data-name], ul.counterexamples li (a.tap-link)

import {
  clauseLabels, counterexampleLine, formatInstant, formatPeriod, REPORT_ID, shortDigest, STATUS_ORDER, statusWord, tapHref, totalsParts, visibleText,
} from '/graph.js';
import { el } from '/action-text.js';
import { drawEvidenceBars } from '/evidence-bars.js';

/** @param {HTMLElement} article @param {{body: object, sha256: string}} file */
export function renderReport(article, file) {
  const b = file.body;
  article.dataset.id = b.id;
  const head = el('header', 'report-head');
  head.append(el('h3', '', `Report ${b.id}`), meta(b, file.sha256), downloads(b.id), totals(b.totals));
  const controls = el('ol', 'controls');
  controls.setAttribute('aria-label', 'controls, failing first');
  controls.append(...worstFirst(b.controls).map(control));
  article.replaceChildren(head, controls);
}

function meta(b, sha256) {
  const dl = el('dl', 'report-meta');
  const item = (term, text, cls = '') => dl.append(el('dt', '', term), el('dd', cls, text));
  item('period', formatPeriod(b.period.from, b.period.until));
  item('pack', `${b.pack.name} · ${b.pack.controls} controls · digest ${shortDigest(b.pack.digest)}`);
  item('issued', `${formatInstant(b.issued_at)} by ${b.issued_by} · meshlens ${b.meshlens_version}`);
  item('SHA-256', sha256, 'report-sha256');
  const c = b.chain ?? {};
  item('audit chain', `${c.verified_batches} of ${c.batches} batches verified · ${c.events} taps · ${c.problems} problems · ${c.unaccounted_gaps} unaccounted gaps`);
  const counts = Object.entries(b.evidence_counts ?? {}).map(([k, v]) => `${k.replace(/_/g, ' ')} ${v}`).join(' · ');
  if (counts) item('evidence', counts);
  return dl;
}

function downloads(id) {
  const p = el('p', 'downloads');
  if (!REPORT_ID.test(id)) return p;
  p.append('download ');
  for (const [format, label] of [['html', 'HTML'], ['pdf', 'PDF'], ['json', 'JSON']]) {
    const a = el('a', 'download', label);
    a.href = `/api/reports/${id}/${format}`;
    a.dataset.format = format;
    p.append(a, ' ');
  }
  return p;
}

function totals(t) {
  const p = el('p', 'report-totals');
  p.append(...totalsParts(t).map((x) => el('span', `status-word status-${x.status}`, x.text)));
  return p;
}

/** Failing controls first, then the ones lacking evidence, then the rest; the pack's order within each. */
function worstFirst(controls) {
  const rank = (s) => { const i = STATUS_ORDER.indexOf(s); return i < 0 ? 0 : i; };
  return controls.map((c, i) => [c, i]).sort((a, b) => rank(a[0].status) - rank(b[0].status) || a[1] - b[1]).map(([c]) => c);
}

function control(c) {
  const li = el('li', `control status-${c.status}`);
  li.dataset.id = c.id;
  li.dataset.status = c.status;
  const head = el('div', 'control-head');
  head.append(el('span', `status-word status-${c.status}`, statusWord(c.status)), el('b', 'control-title', visibleText(c.title)), el('code', 'control-id', c.id));
  li.append(head);
  const clauses = clauseLabels(c.clauses);
  if (clauses.length) {
    const ul = el('ul', 'clauses');
    ul.setAttribute('aria-label', 'clauses');
    ul.append(...clauses.map((x) => { const item = el('li', '', visibleText(x.label)); if (x.text) item.title = visibleText(x.text); return item; }));
    li.append(ul);
  }
  if (c.description) li.append(el('p', 'control-description', visibleText(c.description)));
  li.append(el('p', 'control-summary', visibleText(c.summary)));
  if (c.error) li.append(el('p', 'control-error', `could not be evaluated: ${visibleText(c.error)}`));
  const body = el('div', 'control-body');
  const chart = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  chart.setAttribute('class', 'evidence-bars');
  drawEvidenceBars(chart, c.evidence);
  body.append(chart);
  const examples = Array.isArray(c.counterexamples) ? c.counterexamples : [];
  if (examples.length) body.append(counterexamples(examples, c.counterexamples_total));
  li.append(body);
  return li;
}

function counterexamples(list, total) {
  const wrap = el('div', 'counterexamples-wrap');
  const n = Number.isFinite(total) && total > list.length ? `${list.length} of ${total}` : String(list.length);
  wrap.append(el('h4', '', `counterexamples (${n})`));
  const ul = el('ul', 'counterexamples');
  for (const c of list) {
    const li = el('li');
    const href = tapHref(c);
    if (href) {
      const a = el('a', 'tap-link', counterexampleLine(c));
      a.href = href;
      a.title = 'show this tap in the tap explorer';
      li.append(a);
    } else {
      li.textContent = counterexampleLine(c);
    }
    ul.append(li);
  }
  wrap.append(ul);
  return wrap;
}
