// Renders the newest taps into the table body. Plain DOM: a table needs no d3.
// Test hooks: tr[data-proxy][data-seq], tr.pointed (aria-current) for the tap a link pointed at.

import { formatLatency, isPointedTap } from '/graph.js';

/**
 * @param {HTMLTableSectionElement} tbody @param {Record<string, unknown>[]} taps
 * @param {{proxy: string, seq: number, ts: number} | null} [pointed] the tap to mark (a report's link to it)
 * @param {string} [none] what an empty table says (default: waiting for traffic)
 */
export function renderTaps(tbody, taps, pointed = null, none = 'waiting for traffic…') {
  if (taps.length === 0) {
    tbody.replaceChildren(row([cell(pointed ? 'no taps of this proxy around that time: they may have expired' : none, '', 7)], 'placeholder'));
    return;
  }
  tbody.replaceChildren(...taps.map((t) => tapRow(t, isPointedTap(t, pointed), [
    cell(clock(Number(t.ts))),
    cell(String(t.kind), 'kind'),
    cell(String(t.proxy), 'kind'),
    flow(t),
    cell(t.kind === 'l7.request' ? `${t.method} ${t.path}` : '', 'path', 1, t.kind === 'l7.request' ? `${t.method} ${t.authority}${t.path}` : ''),
    statusCell(t),
    cell(latency(t), 'num'),
  ])));
}

function tapRow(t, isPointed, cells) {
  const tr = row(cells, isPointed ? 'pointed' : '');
  tr.dataset.proxy = String(t.proxy);
  tr.dataset.seq = String(t.seq);
  if (isPointed) tr.setAttribute('aria-current', 'true');
  return tr;
}

function flow(t) {
  const td = cell(`${t.src_service} → ${t.dst_service}`);
  const dir = document.createElement('span');
  dir.className = 'dir';
  dir.textContent = t.direction === 'inbound' ? 'in' : 'out';
  td.append(dir);
  return td;
}

function statusCell(t) {
  const td = cell('', 'num');
  if (t.kind === 'l7.request') {
    const status = Number(t.status);
    const pill = document.createElement('span');
    pill.className = `status-pill ${status === 0 || status >= 500 ? 'fail' : status >= 400 ? 'client' : 'ok'}`;
    pill.textContent = status === 0 ? 'reset' : String(status);
    const why = [t.error, t.decision && t.decision !== 'none' ? `policy ${t.decision}: ${t.decision_reason ?? ''}` : ''].filter(Boolean);
    if (why.length > 0) pill.title = why.join(' — ');
    td.append(pill);
    if (t.flags) {
      // The data plane's decisions on the request (retried, per_try_timeout, breaker_open, …).
      const flags = document.createElement('span');
      flags.className = 'flags';
      flags.textContent = String(t.flags).replaceAll(',', ' · ');
      td.append(flags);
    }
    if (t.decision === 'deny') {
      const badge = document.createElement('span');
      badge.className = 'denied';
      badge.textContent = 'denied';
      badge.title = String(t.decision_reason ?? '');
      td.append(badge);
    }
  } else if (t.kind === 'l4.close') {
    td.textContent = String(t.end ?? '');
  }
  return td;
}

function latency(t) {
  if (t.kind === 'l7.request') return formatLatency(Number(t.latency_ms));
  if (t.kind === 'l4.close') return formatLatency(Number(t.duration_ms));
  return '';
}

/** Local wall-clock time with milliseconds: taps of one call are often within the same second. */
function clock(ms) {
  const d = new Date(ms);
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

function row(cells, className) {
  const tr = document.createElement('tr');
  if (className) tr.className = className;
  tr.append(...cells);
  return tr;
}

function cell(text, className = '', colSpan = 1, title = '') {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  if (colSpan > 1) td.colSpan = colSpan;
  if (title) td.title = title;
  return td;
}
