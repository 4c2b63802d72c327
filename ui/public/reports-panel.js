// The Reports page: the compliance reports issued so far, newest first, the
// form that issues one (report-form.js), and one report opened below them
// (report-view.js). A report carries request paths and policy reasons from
// the network: everything from one goes in as text, never as markup.
//
// Test hooks: #reports[data-service="ready"|"none"|"error"], table.reports-list tr.report[data-id]
// (aria-selected on the open one), .reports-error; the form's and the view's in their files.

import { formatInstant, formatPeriod, reportHref, shortDigest, totalsParts } from '/graph.js';
import { el } from '/action-text.js';
import { ReportForm } from '/report-form.js';
import { renderReport } from '/report-view.js';

const LISTED = 50;

export class ReportsPanel {
  /**
   * @param {HTMLElement} root the #reports section
   * @param {(path: string, init?: RequestInit) => Promise<any>} api fetches JSON, throws Error("CODE: message") on failure
   */
  constructor(root, api) {
    this.root = root;
    this.api = api;
    this.rows = root.querySelector('table.reports-list tbody');
    this.view = root.querySelector('article.report-view');
    this.error = root.querySelector('.reports-error');
    this.form = new ReportForm(root.querySelector('form.report-issue'), api, (summary) => { location.hash = reportHref(summary.id); });
    /** The report the page asks for (from its URL fragment); null: none. */
    this.wanted = null;
  }

  /** Lists the reports and opens `id` below them (null: closes the open one). */
  async show(id) {
    this.wanted = id;
    await this.refresh();
    if (id === null) {
      this.view.hidden = true;
      this.view.replaceChildren();
      delete this.view.dataset.id;
      return;
    }
    try {
      const file = await this.api(`/api/reports/${encodeURIComponent(id)}`);
      if (this.wanted !== id) return; // the operator opened another one meanwhile
      renderReport(this.view, file);
      this.view.hidden = false;
    } catch (e) {
      if (this.wanted === id) this.#fail(`cannot open report ${id}: ${e.message}`);
    }
  }

  async refresh() {
    try {
      const { reports, packs } = await this.api(`/api/reports?limit=${LISTED}`);
      this.root.dataset.service = 'ready';
      this.form.offer(packs);
      this.#list(reports);
      this.error.hidden = true;
    } catch (e) {
      const none = e.message.startsWith('UI_ERR_NO_REPORTS');
      this.root.dataset.service = none ? 'none' : 'error';
      this.form.offer([], none ? 'needs a report service' : '');
      this.#fail(none
        ? 'No report service runs behind this UI: meshlens up and meshlens control run one when they have a store. `meshlens report` issues one from the command line.'
        : `cannot load the reports: ${e.message}`);
    }
  }

  #list(reports) {
    if (reports.length === 0) {
      const td = el('td', '', 'no reports yet: issue one above');
      td.colSpan = 6;
      this.rows.replaceChildren(el('tr', 'placeholder'));
      this.rows.firstChild.append(td);
      return;
    }
    this.rows.replaceChildren(...reports.map((r) => this.#row(r)));
  }

  #row(r) {
    const tr = el('tr', 'report');
    tr.dataset.id = r.id;
    tr.setAttribute('aria-selected', String(r.id === this.wanted));
    const link = el('a', 'report-link', formatInstant(r.issued_at));
    link.href = reportHref(r.id);
    link.title = r.id;
    const totals = el('td', 'report-totals');
    const parts = totalsParts(r.totals);
    totals.append(...(parts.length ? parts : [{ status: 'none', text: 'no controls' }]).map((p) => el('span', `status-word status-${p.status}`, p.text)));
    const digest = el('td', 'digest', shortDigest(r.sha256));
    digest.title = `SHA-256 ${r.sha256}`;
    const first = el('td');
    first.append(link);
    tr.append(first, el('td', 'period', formatPeriod(r.from, r.until)), el('td', '', r.pack), totals, digest, el('td', 'by', r.issued_by));
    tr.addEventListener('click', (ev) => { if (ev.target !== link) location.hash = reportHref(r.id); });
    return tr;
  }

  #fail(message) {
    this.error.textContent = message;
    this.error.hidden = false;
  }
}
