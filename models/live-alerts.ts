// One subject's alert lifecycle in the live path: window scores in, alert
// records out. Open when AlertTracker opens, an update at most every
// `updateEveryMs` of bucket time while open (score = highest so far), and
// resolved when AlertTracker closes. Times are bucket times, so updated_at
// only grows and a store keyed by id with updated_at as version keeps the
// newest state.

import { AlertTracker } from './alerts.ts';
import type { Detector, WindowScore } from './detector.ts';
import type { AlertRecord, LiveScope } from './live-types.ts';

export class LiveAlerts {
  readonly tracker: AlertTracker;
  #open: AlertRecord | undefined;
  #lastWrite = 0;

  constructor(
    readonly scope: LiveScope,
    readonly subject: string,
    readonly det: Detector,
    readonly modelVersion: string,
    readonly updateEveryMs: number,
  ) {
    this.tracker = new AlertTracker(det);
  }

  get open(): AlertRecord | undefined { return this.#open ? { ...this.#open } : undefined; }

  /** Takes over an alert left open by a detector that stopped: same id, updated and resolved from here on. */
  resume(rec: AlertRecord): void {
    this.tracker.resume({
      subject: rec.subject, state: 'open', openedAt: rec.opened_at, score: rec.score, threshold: rec.threshold,
      features: rec.features.map((f) => f.name), summary: rec.explanation,
    });
    this.#open = { ...rec, state: 'open', resolved_at: null };
    this.#lastWrite = rec.updated_at;
  }

  /** Feeds one scored window; returns the record to write, if any. */
  push(w: WindowScore): AlertRecord | undefined {
    const t = this.tracker.push(w);
    if (t?.state === 'open') {
      this.#open = {
        id: `${this.scope}:${this.subject}:${t.openedAt}`, scope: this.scope, subject: this.subject, state: 'open',
        opened_at: t.openedAt, updated_at: w.ts, resolved_at: null, score: t.score, threshold: t.threshold,
        features: w.top.map((f) => ({ name: f.name, share: f.share })), explanation: t.summary, model_version: this.modelVersion,
      };
      this.#lastWrite = w.ts;
      return { ...this.#open };
    }
    if (!this.#open) return undefined;
    if (t?.state === 'resolved') {
      const done: AlertRecord = { ...this.#open, state: 'resolved', updated_at: w.ts, resolved_at: t.resolvedAt ?? w.ts, score: t.score };
      this.#open = undefined;
      return done;
    }
    if (Number.isFinite(w.score)) this.#open.score = Math.max(this.#open.score, w.score);
    if (w.ts - this.#lastWrite < this.updateEveryMs) return undefined;
    this.#lastWrite = w.ts;
    this.#open.updated_at = w.ts;
    return { ...this.#open };
  }
}
