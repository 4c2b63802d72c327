// An event on the page's stream (/api/events, beside `graph`) that follows
// something kept in the store: every `intervalMs` one read, pushed to every
// page only when it changed, and to a page on connect. Reading the store
// rather than listening to its writer means the page sees what any process
// wrote (scaled out: a detector or a tuning engine elsewhere).

import type { Response } from 'express';
import { errorResponse } from './errors.ts';

export interface PolledEventOptions {
  intervalMs: number;
  onStoreError: (message: string) => void;
}

export class PolledEvents {
  readonly #name: string;
  readonly #read: () => Promise<unknown>;
  readonly #opts: PolledEventOptions;
  readonly #clients = new Set<Response>();
  #timer: NodeJS.Timeout | null = null;
  #last: string | null = null;
  #reading: Promise<void> | null = null;
  #closed = false;
  /** Events written, for /api/status. */
  sent = 0;

  /** `name`: the SSE event name; `read`: the snapshot, as JSON-able data. */
  constructor(name: string, read: () => Promise<unknown>, opts: PolledEventOptions) {
    this.#name = name;
    this.#read = read;
    this.#opts = opts;
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
    this.#timer ??= setInterval(() => void this.#refresh(), this.#opts.intervalMs);
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
        const data = JSON.stringify(await this.#read());
        const changed = data !== this.#last;
        this.#last = data;
        if (changed) this.#write([...this.#clients], data);
      } catch (e) {
        // The graph events report the store's failure to the page; count and log here.
        const { body } = errorResponse(e);
        this.#opts.onStoreError(`ui: ${this.#name} events: ${body.code} ${body.message}`);
      }
    })().finally(() => { this.#reading = null; });
    return this.#reading;
  }

  #write(targets: Response[], data: string): void {
    if (this.#closed) return;
    for (const res of targets) {
      if (!this.#clients.has(res)) continue;
      res.write(`event: ${this.#name}\ndata: ${data}\n\n`);
      this.sent++;
    }
  }
}
