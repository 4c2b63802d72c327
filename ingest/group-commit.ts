// Group commit for the Kafka collector: the handlers of the partitions a
// member consumes (running concurrently) each submit their decoded records,
// and the records of all of them go to the Collector as ONE acceptMany, so
// ClickHouse sees one INSERT per group instead of one per tap batch.
// Measured on chdb: an insert costs ~50 ms whatever its size up to tens of
// thousands of rows, so one insert per batch capped ingest near 4k taps/s.
//
// When a group goes out: `lingerMs` after its first submission, or at once
// when it reaches `maxBytes` of frames; but never while `maxWrites` groups
// are being written already, so a busy store makes groups larger.
// Why linger as long as 500 ms by default: ClickHouse pays per INSERT (a
// part per table and view, merged again later), and that cost dominated
// at a few thousand rows per insert (measured on 18.16: server CPU 18 s
// per million taps at 5,000 rows per insert, 8 s at 50,000; in
// bench:ingest, 11.7 s at 200 ms linger and ~19k rows per insert, 8.7-10.3
// s at 500 ms and 25k). Taps reach the collector after their sidecar's own
// linger (seconds), so half a second more is not what anyone waits for.
//
// Why more than one write at a time (default 2): kafkajs runs one fetch
// loop per broker, and each waits until every record of its last fetch is
// handled, i.e. stored. With one write at a time, a broker's records that
// arrived during another broker's write waited for it, and the pipeline sat
// half idle (measured: 1 of 2 cores busy at 14k taps/s). Concurrent groups
// never share a stream: a partition is in one group at a time (its handler
// waits for its results), a stream is in one partition, and the Collector
// orders batches per stream anyway. Each submitter gets its own records'
// results, in order, and commits its own partition's offsets.

import type { Collector, CollectorResult } from './collector.ts';
import { asIngestError } from './errors.ts';

export interface GroupCommitOptions {
  /** How long a group waits for more submissions after its first (default 500 ms). */
  lingerMs?: number;
  /** Frame bytes that close a group at once (default 16 MiB). */
  maxBytes?: number;
  /** Groups written at the same time (default 2). */
  maxWrites?: number;
}

/** Default linger of a group (see the header). */
export const DEFAULT_GROUP_LINGER_MS = 500;

interface Pending { bodies: Uint8Array[]; senders: readonly (string | undefined)[] | undefined; resolve: (r: CollectorResult[]) => void }

export class GroupCommit {
  readonly #collector: Collector;
  readonly #lingerMs: number;
  readonly #maxBytes: number;
  #pending: Pending[] = [];
  #bytes = 0;
  /** When the pending group's first submission came (performance.now()). */
  #since = 0;
  #timer: NodeJS.Timeout | null = null;
  #writing = 0;
  readonly #maxWrites: number;
  /** Groups written and records in them, for the collector's counters. */
  groups = 0;
  grouped = 0;

  constructor(collector: Collector, opts: GroupCommitOptions = {}) {
    this.#collector = collector;
    this.#lingerMs = opts.lingerMs ?? DEFAULT_GROUP_LINGER_MS;
    this.#maxBytes = opts.maxBytes ?? 16 * 1024 * 1024;
    this.#maxWrites = opts.maxWrites ?? 2;
  }

  /**
   * Judges `bodies` (batch frames of one partition, in order) with the next
   * group; one result each. `senders`: the proxy each body's transport
   * authenticated, if any (Collector.acceptMany).
   */
  submit(bodies: Uint8Array[], bytes: number, senders?: readonly (string | undefined)[]): Promise<CollectorResult[]> {
    if (bodies.length === 0) return Promise.resolve([]);
    return new Promise((resolve) => {
      if (this.#pending.length === 0) this.#since = performance.now();
      this.#pending.push({ bodies, senders, resolve });
      this.#bytes += bytes;
      this.#schedule();
    });
  }

  /** Sends the pending group now if it is full or old enough, else times it. */
  #schedule(): void {
    if (this.#writing >= this.#maxWrites || this.#pending.length === 0) return; // a write calls again when it ends
    const wait = this.#bytes >= this.#maxBytes ? 0 : this.#lingerMs - (performance.now() - this.#since);
    if (wait <= 0) this.#go();
    else this.#timer ??= setTimeout(() => { this.#timer = null; this.#go(); }, wait);
  }

  #go(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#writing >= this.#maxWrites || this.#pending.length === 0) return;
    const group = this.#pending;
    this.#pending = [];
    this.#bytes = 0;
    this.#writing++;
    const bodies = group.flatMap((p) => p.bodies);
    const senders = group.flatMap((p) => p.bodies.map((_, i) => p.senders?.[i]));
    this.groups++;
    this.grouped += bodies.length;
    void this.#collector.acceptMany(bodies, senders).catch((e: unknown) => {
      // acceptMany never throws; should it, every record gets a retriable result rather than a hang.
      const err = asIngestError(e, 'collector: group commit');
      return bodies.map(() => this.#collector.refuse(err));
    }).then((results) => {
      let at = 0;
      for (const p of group) {
        p.resolve(results.slice(at, at + p.bodies.length));
        at += p.bodies.length;
      }
    }).finally(() => {
      this.#writing--;
      this.#schedule();
    });
  }
}
