// The Actions panel: the tuning engine's switch and modes, its rollouts in
// progress, and a timeline of its actions (newest first) with Approve and
// Reject on those awaiting approval. Every string from the engine or its
// policy (reasons above all) goes in as text, never as markup.
//
// Test hooks: #actions, li.action[data-id][data-state][data-kind] with
// button.approve / button.reject, li.rollout[data-service][data-state],
// button.engine-switch[data-paused]; the start form's in rollout-form.js.

import { actionWhat, clock, el } from '/action-text.js';
import { RolloutForm } from '/rollout-form.js';

export class ActionsPanel {
  /**
   * @param {HTMLElement} root the #actions section
   * @param {(path: string, init?: RequestInit) => Promise<any>} api fetches JSON, throws Error("CODE: message") on failure
   */
  constructor(root, api) {
    this.root = root;
    this.api = api;
    this.list = root.querySelector('.actions-list');
    this.rollouts = root.querySelector('.rollouts');
    this.error = root.querySelector('.actions-error');
    this.engineState = root.querySelector('.engine-state');
    this.modes = root.querySelector('.engine-modes');
    this.switch = root.querySelector('.engine-switch');
    this.switch.addEventListener('click', () => this.#toggle());
    this.startForm = new RolloutForm(root.querySelector('form.rollout-start'), api, () => this.refreshTuning());
  }

  /** @param {unknown} control the control plane's status the page polls: what the start form offers */
  showControl(control) {
    this.startForm.offer(control);
  }

  /** @param {{actions: object[]}} snapshot the newest state of each action, newest first */
  showActions(snapshot) {
    const rows = snapshot.actions.map((a) => this.#row(a));
    this.list.replaceChildren(...(rows.length ? rows : [el('li', 'placeholder', 'no actions yet')]));
    this.root.dataset.waiting = String(snapshot.actions.filter((a) => a.state === 'awaiting_approval').length);
  }

  /** @param {object | null} tuning the engine's status; null when no engine runs behind this UI */
  showTuning(tuning) {
    this.root.dataset.engine = tuning ? (tuning.paused ? 'paused' : 'running') : 'none';
    this.startForm.engine(this.root.dataset.engine);
    this.switch.hidden = !tuning;
    if (!tuning) {
      this.engineState.textContent = 'no tuning engine runs behind this UI';
      this.modes.textContent = '';
      this.rollouts.replaceChildren();
      this.rollouts.hidden = true;
      return;
    }
    const paused = tuning.paused;
    this.switch.dataset.paused = String(Boolean(paused));
    this.switch.textContent = paused ? 'Resume' : 'Pause';
    this.switch.setAttribute('aria-pressed', String(Boolean(paused)));
    this.engineState.textContent = paused ? `paused by ${paused.by} since ${clock(paused.at)}` : 'running';
    this.modes.textContent = `modes: ${Object.entries(tuning.modes ?? {}).map(([kind, mode]) => `${kind} ${mode}`).join(' · ')}`;
    const rollouts = Array.isArray(tuning.rollouts) ? tuning.rollouts : [];
    this.rollouts.replaceChildren(...rollouts.map((r) => this.#rollout(r)));
    this.rollouts.hidden = rollouts.length === 0;
  }

  async refresh() {
    try {
      this.showActions(await this.api('/api/actions?limit=50'));
    } catch (e) {
      this.#fail(`cannot load the actions: ${e.message}`);
    }
  }

  async refreshTuning() {
    try {
      this.showTuning((await this.api('/api/tuning')).tuning);
    } catch { /* the header's status line reports an unreachable server */ }
  }

  #row(a) {
    const li = el('li', `action state-${a.state}`);
    li.dataset.id = a.id;
    li.dataset.state = a.state;
    li.dataset.kind = a.kind;
    const head = el('div', 'action-head');
    const when = el('time', 'action-when', clock(a.updated_at));
    when.dateTime = new Date(a.updated_at).toISOString();
    head.append(when, el('span', 'action-kind', a.kind), el('b', 'action-subject', a.subject));
    const what = actionWhat(a);
    if (what) head.append(el('span', 'action-what', what));
    head.append(el('span', `state-pill state-${a.state}`, a.state.replace(/_/g, ' ')), el('span', 'action-mode', `mode ${a.mode}`));
    li.append(head);
    if (a.reason) li.append(el('div', 'action-reason', a.reason));
    if (a.guardrail) li.append(el('div', 'action-guardrail', `${a.state === 'refused' ? 'refused' : 'clipped'}: ${a.guardrail}`));
    if (a.detail) li.append(el('div', 'action-detail', a.detail));
    const meta = [];
    if (a.config_after > 0) meta.push(`config v${a.config_before} → v${a.config_after}`, `${a.acks.length} sidecar${a.acks.length === 1 ? '' : 's'} ACKed`);
    if (a.alert_ids.length) meta.push(`${a.alert_ids.length} alert${a.alert_ids.length === 1 ? '' : 's'}`);
    meta.push(`by ${a.actor}`);
    li.append(el('div', 'action-meta', meta.join(' · ')));
    if (a.state === 'awaiting_approval') {
      const approve = el('button', 'approve', 'Approve');
      const reject = el('button', 'reject', 'Reject');
      for (const [b, verb] of [[approve, 'approve'], [reject, 'reject']]) {
        b.type = 'button';
        b.addEventListener('click', () => this.#decide(a.id, verb, [approve, reject]));
      }
      const buttons = el('div', 'action-buttons');
      buttons.append(approve, reject);
      li.append(buttons);
    }
    return li;
  }

  #rollout(r) {
    const li = el('li', 'rollout');
    li.dataset.service = r.service;
    li.dataset.state = r.state;
    const steps = Array.isArray(r.steps) ? r.steps : [];
    const head = el('div', 'rollout-head');
    head.append(
      el('b', '', `rollout of ${r.service}: ${r.from} → ${r.to}`),
      el('span', '', `step ${r.step + 1} of ${steps.length} (${steps.join(', ')}%)`),
      el('span', '', `${r.to} at ${r.weight}%`),
    );
    const judge = r.judge && typeof r.judge === 'object' ? r.judge : null;
    const verdict = el('span', `judge judge-${judge?.verdict ?? 'none'}`, judge ? `judge: ${judge.verdict}` : 'judge: not yet');
    if (judge && Array.isArray(judge.reasons)) verdict.title = judge.reasons.join('\n');
    head.append(verdict, el('span', `state-pill rollout-${r.state}`, r.state.replace(/_/g, ' ')));
    if (r.state === 'progressing') {
      const abort = el('button', 'abort', 'Abort');
      abort.type = 'button';
      abort.addEventListener('click', () => this.#abort(r.service, abort));
      head.append(abort);
    }
    li.append(head);
    if (r.detail) li.append(el('div', 'rollout-detail', r.detail));
    return li;
  }

  async #decide(id, verb, buttons) {
    for (const b of buttons) b.disabled = true;
    try {
      await this.api(`/api/actions/${encodeURIComponent(id)}/${verb}`, { method: 'POST' });
      this.error.hidden = true;
      await this.refresh();
    } catch (e) {
      this.#fail(`${verb} failed: ${e.message}`);
      for (const b of buttons) b.disabled = false;
    }
  }

  async #toggle() {
    const verb = this.switch.dataset.paused === 'true' ? 'resume' : 'pause';
    this.switch.disabled = true;
    try {
      this.showTuning(await this.api(`/api/tuning/${verb}`, { method: 'POST' }));
      this.error.hidden = true;
    } catch (e) {
      this.#fail(`${verb} failed: ${e.message}`);
    } finally {
      this.switch.disabled = false;
    }
  }

  async #abort(service, button) {
    button.disabled = true;
    try {
      await this.api(`/api/rollouts/${encodeURIComponent(service)}`, { method: 'DELETE' });
      this.error.hidden = true;
      await this.refreshTuning();
    } catch (e) {
      this.#fail(`abort failed: ${e.message}`);
      button.disabled = false;
    }
  }

  #fail(message) {
    this.error.textContent = message;
    this.error.hidden = false;
  }
}
