// Renders the alerts panel: open alerts first (subject, since, score /
// threshold, explanation, model version), then recent resolved ones. Under
// each, an empty ul.alert-actions that alert-actions.js fills with the
// actions the alert caused.
// Test hooks: #alerts, li.alert[data-id][data-subject][data-state].

/** @param {HTMLElement} root @param {{open: object[], resolved: object[]}} snapshot */
export function renderAlerts(root, snapshot) {
  const open = root.querySelector('.alerts-open');
  const resolved = root.querySelector('.alerts-resolved');
  open.replaceChildren(...(snapshot.open.length ? snapshot.open.map(item) : [note('no open alerts')]));
  resolved.replaceChildren(...(snapshot.resolved.length ? snapshot.resolved.map(item) : [note('none yet')]));
  root.dataset.open = String(snapshot.open.length);
}

function item(a) {
  const li = document.createElement('li');
  li.className = `alert ${a.state}`;
  li.dataset.id = a.id;
  li.dataset.subject = a.subject;
  li.dataset.state = a.state;
  li.dataset.scope = a.scope;
  const head = document.createElement('div');
  head.className = 'alert-head';
  const subject = document.createElement('b');
  subject.textContent = a.subject.replace('→', ' → ');
  const when = document.createElement('span');
  when.className = 'alert-when';
  when.textContent = a.state === 'open'
    ? `since ${clock(a.opened_at)}`
    : `${clock(a.opened_at)} – ${clock(a.resolved_at)} (${minutes(a.resolved_at - a.opened_at)})`;
  const score = document.createElement('span');
  score.className = 'alert-score';
  score.textContent = `score ${a.score.toFixed(2)} / ${a.threshold.toFixed(2)}`;
  head.append(subject, when, score);
  const text = document.createElement('div');
  text.className = 'alert-text';
  text.textContent = a.explanation;
  const model = document.createElement('span');
  model.className = 'alert-model';
  model.textContent = `model ${a.model_version}`;
  text.append(' ', model);
  const actions = document.createElement('ul');
  actions.className = 'alert-actions';
  actions.setAttribute('aria-label', 'actions this alert caused');
  actions.hidden = true;
  li.append(head, text, actions);
  return li;
}

function note(text) {
  const li = document.createElement('li');
  li.className = 'placeholder';
  li.textContent = text;
  return li;
}

const clock = (ms) => new Date(ms).toLocaleTimeString();
const minutes = (ms) => (ms < 60_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 60_000).toFixed(1)} min`);
