// Alerts on the page's event stream (/api/events, beside `graph`): every
// `intervalMs` one read of open and recent resolved alerts from the store,
// pushed to every page only when something changed, and to a page on connect.
// Reading the store rather than listening to the detector means the page sees
// alerts written by any process (scaled out: a detector elsewhere).
//
//   event: alerts  data: {open: AlertRecord[], resolved: AlertRecord[]}   (newest change first)

import type { Response } from 'express';
import type { StoredAlert, TapStore } from '../../ingest/index.ts';
import { errorResponse } from './errors.ts';

export const OPEN_SHOWN = 50;
export const RESOLVED_SHOWN = 10;

export interface AlertSnapshot { open: StoredAlert[]; resolved: StoredAlert[] }

export class AlertEventStream {
  readonly #store: TapStore;
  readonly #intervalMs: number;
  readonly #onStoreError: (message: string) => void;
  readonly #clients = new Set<Response>();
  #timer: NodeJS.Timeout | null = null;
  #last: string | null = null;
  #reading: Promise<void> | null = null;
  #closed = false;
  /** `alerts` events written, for /api/status. */
  sent = 0;

  constructor(store: TapStore, opts: { intervalMs: number; onStoreError: (message: string) => void }) {
    this.#store = store;
    this.#intervalMs = opts.intervalMs;
    this.#onStoreError = opts.onStoreError;
  }

  /** Adds a stream the graph events already opened (headers written). */
  attach(res: Response): void {
    this.#clients.add(res);
    res.on('close', () => {
      this.#clients.delete(res);
      if (this.#clients.size === 0 && this.#timer) { clearInterval(this.#timer); this.#timer = null; }
    });
    if (this.#last !== null) this.#write([res], this.#last);
    else void this.#refresh();
    this.#timer ??= setInterval(() => void this.#refresh(), this.#intervalMs);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#clients.clear();
  }

  #refresh(): Promise<void> {
    this.#reading ??= (async () => {
      try {
        const data = JSON.stringify(await readSnapshot(this.#store));
        const changed = data !== this.#last;
        const fresh = this.#last === null;
        this.#last = data;
        if (changed || fresh) this.#write([...this.#clients], data);
      } catch (e) {
        // The graph events report the store's failure to the page; count and log here.
        const { body } = errorResponse(e);
        this.#onStoreError(`ui: alert events: ${body.code} ${body.message}`);
      }
    })().finally(() => { this.#reading = null; });
    return this.#reading;
  }

  #write(targets: Response[], data: string): void {
    if (this.#closed) return;
    for (const res of targets) {
      if (!this.#clients.has(res)) continue;
      res.write(`event: alerts\ndata: ${data}\n\n`);
      this.sent++;
    }
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
