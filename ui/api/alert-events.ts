// Alerts on the page's event stream (/api/events, beside `graph`): open and
// recent resolved alerts, read from the store and pushed when they change
// (./polled-events.ts).
//
//   event: alerts  data: {open: AlertRecord[], resolved: AlertRecord[]}   (newest change first)

import type { StoredAlert, TapStore } from '../../ingest/index.ts';
import { PolledEvents, type PolledEventOptions } from './polled-events.ts';

export const OPEN_SHOWN = 50;
export const RESOLVED_SHOWN = 10;

export interface AlertSnapshot { open: StoredAlert[]; resolved: StoredAlert[] }

export class AlertEventStream extends PolledEvents {
  constructor(store: TapStore, opts: PolledEventOptions) {
    super('alerts', () => readSnapshot(store), opts);
  }
}

/**
 * Open alerts, then resolved ones, as one consistent picture. Resolving is
 * final for an alert id, so an alert resolved between the two reads shows
 * only as resolved; reading open first means no alert can fall between the
 * lists (resolved read first, then open, would miss one resolved in between).
 */
export async function readSnapshot(store: Pick<TapStore, 'alerts'>): Promise<AlertSnapshot> {
  const open = await store.alerts({ state: 'open', limit: OPEN_SHOWN });
  const resolved = await store.alerts({ state: 'resolved', limit: RESOLVED_SHOWN });
  const done = new Set(resolved.map((a) => a.id));
  return { open: open.filter((a) => !done.has(a.id)), resolved };
}
