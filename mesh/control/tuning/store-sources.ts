// The tuning engine's signals, read from the store: rollups, per-version
// rollups, per-instance figures and open alerts. The store holds only taps
// from batches the collector verified (signature, sender, chain) and alerts
// the detector computed from them, so a forged tap or alert never gets here.

import type { TapStore } from '../../../ingest/index.ts';
import type { TuningSources } from './input.ts';

/** Most open alerts read per tick. */
const MAX_ALERTS = 200;

export function storeSources(store: Pick<TapStore, 'alerts' | 'rollupSeries' | 'versionRollups' | 'instanceFigures'>): TuningSources {
  return {
    async openAlerts() {
      return (await store.alerts({ state: 'open', limit: MAX_ALERTS })).map((a) => ({
        id: a.id, scope: a.scope, subject: a.subject, opened_at: a.opened_at, score: a.score, threshold: a.threshold,
        explanation: a.explanation, features: a.features,
      }));
    },
    async serviceRollups(from, until) {
      return (await store.rollupSeries('service', from, until)).map((r) => ({ ...r, service: r.subject }));
    },
    async edgeRollups(from, until) {
      return (await store.rollupSeries('edge', from, until)).map((r) => {
        const at = r.subject.indexOf('→');
        return { ...r, src: r.subject.slice(0, at), dst: r.subject.slice(at + 1) };
      });
    },
    versionRollups: (from, until) => store.versionRollups(from, until),
    instanceFigures: (from, until) => store.instanceFigures(from, until),
  };
}
