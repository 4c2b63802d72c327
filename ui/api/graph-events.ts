// Server-sent events: every connected page gets the service graph on connect
// and then every `intervalMs`. One store read per tick per distinct window,
// however many pages watch, and never two reads of the same tick in flight.
//
//   event: graph   data: ServiceGraph JSON
//   event: failure data: {code, message}   (the store failed this tick; the stream stays open)

import type { Response } from 'express';
import type { ServiceGraph, TapStore } from '../../ingest/index.ts';
import { errorResponse } from './errors.ts';

export interface GraphEventOptions {
  intervalMs: number;
  onStoreError: (message: string) => void;
}

export class GraphEventStream {
  readonly #store: TapStore;
  readonly #opts: GraphEventOptions;
  readonly #clients = new Map<Response, number>();
  #timer: NodeJS.Timeout | null = null;
  #ticking = false;
  #closed = false;
  /** Events written, for /api/status. */
  sent = 0;

  constructor(store: TapStore, opts: GraphEventOptions) {
    this.#store = store;
    this.#opts = opts;
  }

  get clients(): number {
    return this.#clients.size;
  }

  attach(res: Response, windowS: number): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: ${this.#opts.intervalMs}\n\n`);
    this.#clients.set(res, windowS);
    res.on('close', () => this.#detach(res)); // the client hung up, or close() ended the stream
    void this.#push(new Map([[res, windowS]]));
    this.#timer ??= setInterval(() => this.#tick(), this.#opts.intervalMs);
  }

  /** Ends every stream so the HTTP server can close. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    for (const res of this.#clients.keys()) res.end();
    this.#clients.clear();
  }

  #detach(res: Response): void {
    this.#clients.delete(res);
    if (this.#clients.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  async #tick(): Promise<void> {
    if (this.#ticking) return; // the store is slower than the interval: skip, do not pile up reads
    this.#ticking = true;
    try {
      await this.#push(new Map(this.#clients));
    } finally {
      this.#ticking = false;
    }
  }

  async #push(targets: Map<Response, number>): Promise<void> {
    const windows = [...new Set(targets.values())];
    await Promise.all(windows.map(async (windowS) => {
      let frame: string;
      try {
        const graph: ServiceGraph = await this.#store.serviceGraph(windowS);
        frame = `event: graph\nid: ${graph.until}\ndata: ${JSON.stringify(graph)}\n\n`;
      } catch (e) {
        const { body } = errorResponse(e);
        this.#opts.onStoreError(`ui: graph event for window ${windowS}s: ${body.code} ${body.message}`);
        frame = `event: failure\ndata: ${JSON.stringify(body)}\n\n`;
      }
      if (this.#closed) return;
      for (const [res, w] of targets) {
        if (w !== windowS || !this.#clients.has(res)) continue;
        res.write(frame);
        this.sent++;
      }
    }));
  }
}
