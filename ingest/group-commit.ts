// Group commit for the Kafka collector: the handlers of the partitions a
// member consumes (running concurrently) each submit their decoded records,
// and the records of all of them go to the Collector as ONE acceptMany, so
// ClickHouse sees one INSERT per group instead of one per tap batch.
// Measured on chdb: an insert costs ~50 ms whatever its size up to tens of
// thousands of rows, so one insert per batch capped ingest near 4k taps/s.
//
// When a group goes out:
// - while a write is in flight, submissions wait and join the next group,
//   which leaves as soon as that write ends (the store is the bottleneck:
//   the busier it is, the larger the groups);
// - when idle, `lingerMs` after the first submission, so partitions whose
//   fetches land together share a group;
// - at once when the group reaches `maxBytes` of record JSON.
// One group is written at a time. Each submitter gets its own records'
// results, in order, and commits its own partition's offsets.

import type { Collector, CollectorResult } from './collector.ts';
import { asIngestError } from './errors.ts';

export interface GroupCommitOptions {
  /** Wait for more submissions when idle (default 5 ms). */
  lingerMs?: number;
  /** Record bytes that close a group at once (default 16 MiB). */
  maxBytes?: number;
}

interface Pending { bodies: Uint8Array[]; resolve: (r: CollectorResult[]) => void }

export class GroupCommit {
  readonly #collector: Collector;
  readonly #lingerMs: number;
  readonly #maxBytes: number;
  #pending: Pending[] = [];
  #bytes = 0;
  #timer: NodeJS.Timeout | null = null;
  #writing = false;
  /** Groups written and records in them, for the collector's counters. */
  groups = 0;
  grouped = 0;

  constructor(collector: Collector, opts: GroupCommitOptions = {}) {
    this.#collector = collector;
    this.#lingerMs = opts.lingerMs ?? 5;
    this.#maxBytes = opts.maxBytes ?? 16 * 1024 * 1024;
  }

  /** Judges `bodies` (batch frames of one partition, in order) with the next group; one result each. */
  submit(bodies: Uint8Array[], bytes: number): Promise<CollectorResult[]> {
    if (bodies.length === 0) return Promise.resolve([]);
    return new Promise((resolve) => {
      this.#pending.push({ bodies, resolve });
      this.#bytes += bytes;
      if (this.#writing) return; // leaves when the write in flight ends
      if (this.#bytes >= this.#maxBytes) this.#go();
      else this.#timer ??= setTimeout(() => this.#go(), this.#lingerMs);
    });
  }

  #go(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#writing || this.#pending.length === 0) return;
    const group = this.#pending;
    this.#pending = [];
    this.#bytes = 0;
    this.#writing = true;
    const bodies = group.flatMap((p) => p.bodies);
    this.groups++;
    this.grouped += bodies.length;
    void this.#collector.acceptMany(bodies).catch((e: unknown) => {
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
      this.#writing = false;
      this.#go();
    });
  }
}
