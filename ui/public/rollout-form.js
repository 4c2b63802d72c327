// The Actions panel's "Start a rollout" form. What it offers comes from the
// control plane's status the page already polls (rolloutChoices in /graph.js:
// the services with two or more versions, each without the version carrying
// the most traffic, which the engine rolls out from). Steps that are not whole
// numbers are refused here, without a request; the engine checks the rest and
// each of its `problems` is shown as text, never as markup. A status poll that
// changes none of the choices leaves the operator's picks alone.
//
// Test hooks: form.rollout-start with select[name=service], select[name=to],
// input[name=steps], input[name=interval_s], button.start, fieldset:disabled,
// ul.rollout-problems li.

import { parseSteps, rolloutChoices } from '/graph.js';
import { el } from '/action-text.js';

const WHY_DISABLED = { none: 'needs a tuning engine', paused: 'resume the engine to start one' };

export class RolloutForm {
  /**
   * @param {HTMLFormElement} form
   * @param {(path: string, init?: RequestInit) => Promise<any>} api fetches JSON; its Error carries the answer's `problems`
   * @param {() => Promise<void>} started called after a rollout started (the panel reloads its list)
   */
  constructor(form, api, started) {
    this.form = form;
    this.api = api;
    this.started = started;
    this.fields = form.querySelector('fieldset');
    this.service = form.elements.namedItem('service');
    this.to = form.elements.namedItem('to');
    this.steps = form.elements.namedItem('steps');
    this.interval = form.elements.namedItem('interval_s');
    this.submit = form.querySelector('button.start');
    this.note = form.querySelector('.rollout-start-note');
    this.problems = form.querySelector('.rollout-problems');
    /** @type {{service: string, targets: string[]}[]} */
    this.choices = [];
    this.choicesKey = '';
    /** 'running' | 'paused' | 'none' */
    this.engineState = 'none';
    this.busy = false;
    this.service.addEventListener('change', () => this.#fillTargets());
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.#start();
    });
  }

  /** @param {unknown} control the control plane's status (null when none is attached) */
  offer(control) {
    const choices = rolloutChoices(control);
    const key = JSON.stringify(choices);
    if (key === this.choicesKey) return;
    this.choicesKey = key;
    this.choices = choices;
    const [service, to] = [this.service.value, this.to.value];
    this.service.replaceChildren(...choices.map((c) => option(c.service)));
    if (choices.some((c) => c.service === service)) this.service.value = service;
    this.#fillTargets(to);
    this.#sync();
  }

  /** @param {'running' | 'paused' | 'none'} state */
  engine(state) {
    this.engineState = state;
    this.#sync();
  }

  #fillTargets(keep = this.to.value) {
    const targets = this.choices.find((c) => c.service === this.service.value)?.targets ?? [];
    this.to.replaceChildren(...targets.map(option));
    if (targets.includes(keep)) this.to.value = keep;
  }

  #sync() {
    this.fields.disabled = this.engineState !== 'running' || this.busy;
    this.submit.disabled = this.choices.length === 0;
    this.note.textContent = WHY_DISABLED[this.engineState] ?? (this.choices.length ? '' : 'no service runs two versions');
  }

  async #start() {
    const steps = parseSteps(this.steps.value);
    const interval = this.interval.valueAsNumber;
    const problems = [];
    if (!this.service.value || !this.to.value) problems.push('service, to: choose a service and the version to roll out to');
    if ('problem' in steps) problems.push(steps.problem);
    if (!Number.isFinite(interval)) problems.push('interval: must be a number of seconds, e.g. 60');
    if (problems.length) {
      this.#show(problems);
      return;
    }
    const body = { service: this.service.value, to: this.to.value, steps: steps.steps, interval_s: interval };
    this.busy = true;
    this.#sync();
    try {
      await this.api('/api/rollouts', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      this.form.reset();
      this.#fillTargets();
      this.#show([]);
      await this.started();
    } catch (e) {
      this.#show(Array.isArray(e.problems) && e.problems.length ? e.problems.map(String) : [`start failed: ${e.message}`]);
    } finally {
      this.busy = false;
      this.#sync();
    }
  }

  #show(problems) {
    this.problems.replaceChildren(...problems.map((p) => el('li', '', p)));
    this.problems.hidden = problems.length === 0;
  }
}

function option(text) {
  const o = el('option', '', text);
  o.value = text;
  return o;
}
