// The collector: takes a received tap batch, checks its shape and its hash
// chain, stores it, and only then reports it accepted. Outcomes are values
// (CollectorResult), never exceptions, and every outcome is counted.
//
// Batches of one (proxy, stream) are handled one at a time, in arrival
// order, so a chain is never checked against a head that a concurrent write
// is about to move. A store failure leaves the head where it was: the sender
// gets a retriable result and resends the same batch, which store dedup
// makes harmless even if part of it had landed.
//
// A gap in a stream (batches or seqs missing, see ./chain.ts) is accepted:
// the missing seqs are recorded as tap loss (reason 'sequence_gap') and the
// chain re-anchors at the batch that arrived.

import type { TapBatch } from './batch.ts';
import { checkBatch } from './batch-check.ts';
import { ChainVerifier, type ChainOptions } from './chain.ts';
import { asIngestError, IngestError, type IngestErrorCode } from './errors.ts';
import type { TapStore } from './store.ts';

export type CollectorResult =
  | { ok: true; duplicate: boolean; events: number }
  | { ok: false; code: IngestErrorCode; status: number; retriable: boolean; message: string };

export interface CollectorCounters {
  batches_accepted: number;
  /** Includes batches_stale. */
  batches_duplicate: number;
  /** Redeliveries behind a stream's head (only with behindHead 'duplicate'). */
  batches_stale: number;
  /** Accepted batches that followed a gap; their missing seqs are in events_gap_lost. */
  batches_after_gap: number;
  events_gap_lost: number;
  /** Every batch not accepted, final or retriable; broken down in rejected_by_code. */
  batches_rejected: number;
  events_written: number;
  rejected_by_code: Record<string, number>;
}

export interface CollectorOptions extends ChainOptions {
  /** Clock for loss records (tests inject it). */
  now?: () => number;
}

export class Collector {
  readonly #counters: CollectorCounters = {
    batches_accepted: 0, batches_duplicate: 0, batches_stale: 0, batches_after_gap: 0, events_gap_lost: 0,
    batches_rejected: 0, events_written: 0, rejected_by_code: {},
  };
  readonly #store: TapStore;
  readonly #now: () => number;
  readonly #chainOpts: ChainOptions;
  /** Tail of the work queue of each stream; deleted when the stream goes idle. */
  readonly #tails = new Map<string, Promise<unknown>>();
  #chain: Promise<ChainVerifier> | null = null;
  #closed = false;

  /** The store stays owned by the caller: close() does not close it. */
  constructor(store: TapStore, opts: CollectorOptions = {}) {
    this.#store = store;
    this.#now = opts.now ?? Date.now;
    this.#chainOpts = { behindHead: opts.behindHead };
  }

  /** Recovers the chains from the store; accept() does this itself on first use. */
  async start(): Promise<void> {
    await this.#verifier();
  }

  /**
   * Forgets the chain heads it holds and reads them again from the store,
   * after the batches in progress are done. For a bus whose streams move
   * between collectors (Kafka partitions on rebalance): another collector
   * may have advanced a stream meanwhile. Never throws: if the store is
   * down, the next batch tries again (and gets a retriable result).
   */
  async reload(): Promise<void> {
    await this.flush();
    this.#chain = null;
    await this.#verifier().catch(() => undefined);
  }

  #verifier(): Promise<ChainVerifier> {
    this.#chain ??= this.#store.chainHeads().then(
      (heads) => new ChainVerifier(heads, this.#chainOpts),
      (e) => {
        this.#chain = null; // try again on the next batch
        throw asIngestError(e, 'collector: recovering chain heads from the store');
      },
    );
    return this.#chain;
  }

  /** Checks, verifies and stores one batch (a parsed JSON body). Never throws. */
  async accept(body: unknown): Promise<CollectorResult> {
    if (this.#closed) return this.refuse(new IngestError('INGEST_ERR_CLOSED', 'collector is closed'));
    let batch: TapBatch;
    try {
      batch = checkBatch(body);
    } catch (e) {
      return this.refuse(asIngestError(e, 'collector: checking batch'));
    }
    const k = `${batch.proxy}\u0000${batch.stream}`;
    const run = (this.#tails.get(k) ?? Promise.resolve()).then(() => this.#acceptInOrder(batch));
    const tail = run.catch(() => undefined);
    this.#tails.set(k, tail);
    const result = await run;
    if (this.#tails.get(k) === tail) this.#tails.delete(k);
    return result;
  }

  async #acceptInOrder(b: TapBatch): Promise<CollectorResult> {
    try {
      const chain = await this.#verifier();
      const verdict = chain.check(b);
      if (verdict.kind === 'duplicate') {
        this.#counters.batches_duplicate++;
        if (verdict.stale) this.#counters.batches_stale++;
        return { ok: true, duplicate: true, events: b.events.length };
      }
      // Loss first: if the batch write then fails, the resend records the
      // same loss again and the store dedups it; the other order could lose it.
      if (verdict.gap && verdict.gap.count > 0) {
        await this.#store.recordLoss({
          proxy: b.proxy, stream: b.stream, ts: this.#now(), from_seq: verdict.gap.from_seq, count: verdict.gap.count, reason: 'sequence_gap',
        });
      }
      if (verdict.newlyLost > 0) {
        await this.#store.recordLoss({
          proxy: b.proxy, stream: b.stream, ts: this.#now(), from_seq: b.first_seq, count: verdict.newlyLost, reason: 'sidecar_dropped',
        });
      }
      await this.#store.writeBatch(b);
      chain.advance(b);
      if (verdict.gap) {
        this.#counters.batches_after_gap++;
        this.#counters.events_gap_lost += verdict.gap.count;
      }
      this.#counters.batches_accepted++;
      this.#counters.events_written += b.events.length;
      return { ok: true, duplicate: false, events: b.events.length };
    } catch (e) {
      return this.refuse(asIngestError(e, `collector: batch ${b.batch} of ${b.proxy}/${b.stream}`));
    }
  }

  /** Counts a refusal and returns it as a result; the HTTP edge uses it for body errors too. */
  refuse(e: IngestError): CollectorResult {
    this.#counters.batches_rejected++;
    this.#counters.rejected_by_code[e.code] = (this.#counters.rejected_by_code[e.code] ?? 0) + 1;
    return { ok: false, code: e.code, status: e.status, retriable: e.retriable, message: e.message };
  }

  /** A snapshot of the counters (a copy: later batches do not change it). */
  counters(): CollectorCounters {
    return { ...this.#counters, rejected_by_code: { ...this.#counters.rejected_by_code } };
  }

  /** Resolves when every batch received so far has its outcome. */
  async flush(): Promise<void> {
    while (this.#tails.size > 0) await Promise.all([...this.#tails.values()]);
  }

  /** Refuses new batches (retriable), waits for the ones in progress. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }
}
