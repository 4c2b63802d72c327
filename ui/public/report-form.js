// The "Issue report" form of the Reports page: the last hour, the last day
// or a period typed in (local time, as the browser's date fields give it),
// and the pack to run. The server checks the period (ui/api/reports.ts) and
// its refusal lists every problem, shown here as text.
//
// Test hooks: form.report-issue[data-period], input[name="period"] (hour|day|custom),
// input[name="from"|"until"], select[name="pack"], button.issue, .report-issue-note, ul.report-problems

import { el } from '/action-text.js';

const SPANS = { hour: 3_600_000, day: 86_400_000 };
/** "Last hour" ends a minute ago: taps of the last seconds are still on their way to the store (see docs/compliance.md). */
const SETTLE_MS = 60_000;

export class ReportForm {
  /**
   * @param {HTMLFormElement} form
   * @param {(path: string, init?: RequestInit) => Promise<any>} api
   * @param {(summary: {id: string}) => void} issued called with the new report's summary
   */
  constructor(form, api, issued) {
    this.form = form;
    this.api = api;
    this.issued = issued;
    this.fields = form.querySelector('fieldset');
    this.pack = form.elements.namedItem('pack');
    this.note = form.querySelector('.report-issue-note');
    this.problems = form.querySelector('ul.report-problems');
    this.busy = false;
    this.packs = [];
    form.addEventListener('change', () => this.#choice());
    form.addEventListener('submit', (ev) => { ev.preventDefault(); this.#submit(); });
    this.#choice();
  }

  /** @param {string[]} packs what the server offers; [] disables the form (`why` says so) */
  offer(packs, why = '') {
    if (packs.join('\n') !== this.packs.join('\n')) {
      const chosen = this.pack.value;
      this.pack.replaceChildren(...packs.map((p) => { const o = el('option', '', p); o.value = p; return o; }));
      if (packs.includes(chosen)) this.pack.value = chosen;
      this.packs = [...packs];
    }
    this.fields.disabled = this.busy || packs.length === 0;
    if (!this.busy) this.note.textContent = packs.length === 0 ? why : '';
  }

  #choice() {
    const choice = this.form.elements.namedItem('period').value;
    this.form.dataset.period = choice;
    const from = this.form.elements.namedItem('from');
    const until = this.form.elements.namedItem('until');
    if (choice === 'custom' && !from.value && !until.value) {
      const now = Date.now();
      from.value = localInput(now - SPANS.day);
      until.value = localInput(now);
    }
  }

  /** {from, until} in epoch ms, or a list of what is wrong with the typed period. */
  #period() {
    const choice = this.form.elements.namedItem('period').value;
    if (choice !== 'custom') {
      const until = Date.now() - SETTLE_MS;
      return { from: until - SPANS[choice], until };
    }
    const read = (name) => {
      const v = this.form.elements.namedItem(name).value;
      const ms = v ? new Date(v).getTime() : Number.NaN;
      return Number.isFinite(ms) ? ms : null;
    };
    const from = read('from');
    const until = read('until');
    const problems = [];
    if (from === null) problems.push('from: give a date and time');
    if (until === null) problems.push('until: give a date and time');
    return problems.length ? { problems } : { from, until };
  }

  async #submit() {
    if (this.busy) return;
    const period = this.#period();
    if (period.problems) return this.#show(period.problems);
    this.busy = true;
    this.fields.disabled = true;
    this.note.textContent = 'issuing: running every control over the recorded traffic…';
    try {
      const summary = await this.api('/api/reports', {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ from: period.from, until: period.until, pack: this.pack.value || undefined }),
      });
      this.#show([]);
      this.issued(summary);
    } catch (e) {
      this.#show(Array.isArray(e.problems) && e.problems.length ? e.problems : [e.message]);
    } finally {
      this.busy = false;
      this.fields.disabled = this.packs.length === 0;
      this.note.textContent = '';
    }
  }

  #show(problems) {
    this.problems.replaceChildren(...problems.map((p) => el('li', '', p)));
    this.problems.hidden = problems.length === 0;
  }
}

/** A local date and time as an <input type="datetime-local"> holds it: "2026-03-02T14:05". */
function localInput(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
