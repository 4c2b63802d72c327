// Writes the control plane's config changes (./config-watch.ts decides what
// they are) to a sink, the store's config_changes table, in the order they
// were made. Recording never blocks or breaks a push: record() only queues;
// one writer drains the queue, retrying a failed write a few times (not one
// the store refused as malformed: that would fail again), and counts what
// it wrote, retried, gave up on and dropped. A store down for long costs at
// most maxPending changes in memory; past that new ones are dropped, counted.

import type { ConfigChange } from '../../ingest/index.ts';

/** Where changes go: a TapStore is one. */
export interface ConfigChangeSink { writeConfigChange(c: ConfigChange): Promise<void> }

export interface ConfigLogOptions {
  /** Waits before each retry of a failed write; its length is the number of retries (default 100, 400, 1600 ms). */
  retryDelaysMs?: readonly number[];
  /** Changes waiting to be written past which new ones are dropped (default 10,000). */
  maxPending?: number;
  /** Longest close() waits for the queue to drain (default 5 s); what is left is dropped. */
  closeTimeoutMs?: number;
  log?: (m: string) => void;
}

export interface ConfigLogCounters {
  /** Changes queued, written, retries made, given up on after every attempt, and dropped (queue full, or left at close). */
  recorded: number;
  written: number;
  retries: number;
  failed: number;
  dropped: number;
  /** Waiting to be written now. */
  pending: number;
  last_error: string;
}

export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [100, 400, 1_600];
const DEFAULT_MAX_PENDING = 10_000;

export class ConfigLog {
  readonly #sink: ConfigChangeSink;
  readonly #delays: readonly number[];
  readonly #maxPending: number;
  readonly #closeTimeoutMs: number;
  readonly #log: (m: string) => void;
  readonly #queue: ConfigChange[] = [];
  #draining: Promise<void> | null = null;
  #closed = false;
  readonly #c = { recorded: 0, written: 0, retries: 0, failed: 0, dropped: 0, last_error: '' };

  constructor(sink: ConfigChangeSink, opts: ConfigLogOptions = {}) {
    this.#sink = sink;
    this.#delays = opts.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    this.#maxPending = opts.maxPending ?? DEFAULT_MAX_PENDING;
    this.#closeTimeoutMs = opts.closeTimeoutMs ?? 5_000;
    this.#log = opts.log ?? (() => {});
  }

  /** Queues a change to be written after those before it; never throws, never waits. */
  record(c: ConfigChange): void {
    if (this.#closed || this.#queue.length >= this.#maxPending) {
      // Log the first drop and then every 1000th, not each one.
      if (this.#c.dropped++ % 1000 === 0) this.#log(`dropped ${c.kind} ${c.subject} (version ${c.version}): ${this.#closed ? 'closed' : `${this.#maxPending} changes waiting`}; ${this.#c.dropped} dropped so far`);
      return;
    }
    this.#queue.push(c);
    this.#c.recorded++;
    this.#draining ??= this.#drain();
  }

  counters(): ConfigLogCounters {
    return { ...this.#c, pending: this.#queue.length };
  }

  /** Resolves once every change queued so far is written or given up on. */
  async flush(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  /** Takes no more changes and waits (at most closeTimeoutMs) for the queue to drain. */
  async close(): Promise<void> {
    this.#closed = true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => { timer = setTimeout(resolve, this.#closeTimeoutMs); timer.unref(); });
    await Promise.race([this.flush(), timeout]);
    clearTimeout(timer);
    if (this.#queue.length > 0) {
      this.#c.dropped += this.#queue.length;
      this.#log(`closed with ${this.#queue.length} changes not written`);
      this.#queue.length = 0;
    }
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      await this.#write(this.#queue[0]);
      this.#queue.shift();
    }
    this.#draining = null;
  }

  async #write(c: ConfigChange): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#sink.writeConfigChange(c);
        this.#c.written++;
        return;
      } catch (e) {
        this.#c.last_error = `${c.kind} ${c.subject} (version ${c.version}): ${(e as Error)?.message ?? String(e)}`.slice(0, 500);
        const final = (e as { retriable?: unknown })?.retriable === false;
        if (final || attempt >= this.#delays.length) {
          this.#c.failed++;
          this.#log(`could not write ${this.#c.last_error}${final ? '' : ` after ${attempt + 1} attempts`}`);
          return;
        }
        this.#c.retries++;
        await new Promise((resolve) => setTimeout(resolve, this.#delays[attempt]));
      }
    }
  }
}
