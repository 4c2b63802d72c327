// Under each alert in the alerts panel, the actions it caused: the newest
// state of each action whose alert_ids hold the alert (GET /api/actions?alert=).
// Read once per alert, and again when an `actions` event carries an action
// naming it; the alerts panel redraws its lists from this cache.
//
// Test hooks: li.alert ul.alert-actions li.alert-action[data-id][data-state].

import { actionWhat, clock, el } from '/action-text.js';

const SHOWN = 5;

export class AlertActions {
  /** @param {(path: string) => Promise<any>} getJson */
  constructor(getJson) {
    this.getJson = getJson;
    /** alert id -> actions, or the read in flight */
    this.cache = new Map();
  }

  /** Fills every alert of the panel; reads what the cache lacks. */
  fill(root) {
    const shown = new Set();
    for (const li of root.querySelectorAll('li.alert')) {
      const id = li.dataset.id;
      shown.add(id);
      const known = this.cache.get(id);
      if (Array.isArray(known)) draw(li, known);
      else if (!known) this.#read(id, root);
    }
    for (const id of this.cache.keys()) if (!shown.has(id)) this.cache.delete(id);
  }

  /** An `actions` event: alerts named by its actions are read again. */
  changed(snapshot, root) {
    for (const a of snapshot.actions) for (const id of a.alert_ids) this.cache.delete(id);
    this.fill(root);
  }

  #read(id, root) {
    const reading = this.getJson(`/api/actions?alert=${encodeURIComponent(id)}&limit=${SHOWN}`).then(
      ({ actions }) => {
        if (this.cache.get(id) !== reading) return; // invalidated meanwhile: a newer read follows
        this.cache.set(id, actions);
        for (const li of root.querySelectorAll('li.alert')) if (li.dataset.id === id) draw(li, actions);
      },
      () => { if (this.cache.get(id) === reading) this.cache.delete(id); }, // tried again at the next redraw
    );
    this.cache.set(id, reading);
  }
}

function draw(li, actions) {
  const ul = li.querySelector('.alert-actions');
  ul.replaceChildren(...actions.map((a) => {
    const item = el('li', 'alert-action');
    item.dataset.id = a.id;
    item.dataset.state = a.state;
    const what = actionWhat(a);
    item.append(
      el('span', 'action-caused', '→'), el('span', 'action-kind', a.kind), el('b', '', a.subject),
      ...(what ? [el('span', 'action-what', what)] : []),
      el('span', `state-pill state-${a.state}`, a.state.replace(/_/g, ' ')), el('time', 'action-when', clock(a.updated_at)),
    );
    return item;
  }));
  ul.hidden = actions.length === 0;
}
