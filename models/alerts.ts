// Alert lifecycle for one detector: scores in, alerts out (open → resolved).
// This is the shape the live path (rollups from ClickHouse every 10 s) plugs
// into: push each WindowScore, store/emit the returned transitions.

import type { Detector, WindowScore } from './detector.ts';
import { AlertHysteresis } from './hysteresis.ts';

export interface Alert {
  subject: string;
  state: 'open' | 'resolved';
  openedAt: number;
  resolvedAt?: number;
  /** Highest score seen while open, and the threshold it is compared with. */
  score: number;
  threshold: number;
  /** Features that contributed most when the alert opened. */
  features: string[];
  summary: string;
}

export class AlertTracker {
  private readonly h: AlertHysteresis;
  private current: Alert | undefined;
  private counts = { scored: 0, opened: 0, resolved: 0, skipped: 0 };

  constructor(private readonly det: Detector) {
    this.h = new AlertHysteresis(det.threshold, det.meta.hysteresis);
  }

  /** Feeds one scored window; returns the alert when it opens or resolves. */
  push(w: WindowScore): Alert | undefined {
    if (!Number.isFinite(w.score)) { this.counts.skipped++; return undefined; }
    this.counts.scored++;
    const t = this.h.push(w.score, w.ts);
    if (this.current) this.current.score = Math.max(this.current.score, w.score);
    if (t?.kind === 'open') {
      this.counts.opened++;
      this.current = {
        subject: this.det.meta.subject, state: 'open', openedAt: w.ts, score: w.score, threshold: w.threshold,
        features: w.top.map((f) => f.name), summary: this.det.explain(w.top),
      };
      return { ...this.current };
    }
    if (t?.kind === 'close' && this.current) {
      this.counts.resolved++;
      const done: Alert = { ...this.current, state: 'resolved', resolvedAt: w.ts };
      this.current = undefined;
      return done;
    }
    return undefined;
  }

  get open(): Alert | undefined { return this.current ? { ...this.current } : undefined; }

  /** Takes over an alert that was open before a restart; it resolves like any other. */
  resume(a: Alert): void {
    this.current = { ...a, state: 'open' };
    this.h.resumeOpen();
  }
  stats(): { scored: number; opened: number; resolved: number; skipped: number } { return { ...this.counts }; }
}
