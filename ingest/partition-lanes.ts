// The Kafka collector's records between the fetch and the offset commit.
//
// kafkajs runs one fetch loop per broker and fetches again only when the
// handlers of its last fetch have returned. If a handler waited for its
// records to be stored, every fetch waited for an INSERT, and the
// collector sat half idle between them (measured: 1 of 2 cores busy at
// 14k taps/s, groups of one record per partition). So a handler only
// queues its records here and returns; the lanes store them and commit:
//
// - one lane per partition, records in offset order; a lane has at most one
//   run of records in flight, so a stream's batches are judged in order and
//   a later record is never judged while an earlier one is unstored (it
//   would look like a gap);
// - a run is every record the lane has queued, submitted together to the
//   GroupCommit, which writes the runs of all lanes as one INSERT;
// - a final outcome (stored, duplicate, rejected for good) lets the offset
//   after it be committed; a retriable one (store down) stops the run there
//   and the rest is tried again, the same records, with backoff, never
//   skipped and never committed past;
// - queued bytes are bounded: past `maxQueuedBytes` the fetch handler waits
//   (wait()), which is backpressure on the fetch loop; a failed heartbeat
//   ends the wait, so a rebalance never waits for the store.
//
// Offsets are committed only for stored records, per partition in order,
// and never backwards within a generation (between two rebalances). A
// rebalance (reset()) drops what is queued and not yet submitted: kafkajs
// fetches a kept partition again from its committed offset, and a moved one
// belongs to another member now. Runs in flight finish but commit nothing
// more: kafkajs would send such a commit with the new generation, which the
// broker accepts for any partition, so a member that lost the partition
// could move its new owner's offset (measured on the mock: a stale commit of
// 15 landed, the new owner's commit of 1 followed, and the first member,
// given the partition back, never committed 15 again because it had once).
// A record stored twice that way is a duplicate by the chain verifier and
// by the store's row keys.

import type { CollectorResult } from './collector.ts';

export interface LaneRecord { offset: string; value: Buffer | null }

export interface PartitionLanesOptions {
  /** Judges one lane's run, one result per record, in order (GroupCommit behind it). Never throws. */
  judge: (records: LaneRecord[]) => Promise<CollectorResult[]>;
  /** Commits "everything before `offset`" for a partition. */
  commit: (partition: number, offset: string) => Promise<void>;
  /** A record rejected for good, or a commit or retry worth a line in the log. */
  log: (m: string) => void;
  maxQueuedBytes: number;
  retryInitialMs: number;
  retryMaxMs: number;
}

export interface LaneCounters {
  commits: number;
  commit_failures: number;
  store_retries: number;
  queued_bytes: number;
  last_error: string;
}

interface Lane { partition: number; queue: LaneRecord[]; bytes: number; busy: boolean; committed: bigint }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const size = (r: LaneRecord) => r.value?.length ?? 0;

export class PartitionLanes {
  readonly #o: PartitionLanesOptions;
  readonly #lanes = new Map<number, Lane>();
  readonly #runs = new Set<Promise<void>>();
  readonly #c: LaneCounters = { commits: 0, commit_failures: 0, store_retries: 0, queued_bytes: 0, last_error: '' };
  #waiters: (() => void)[] = [];
  /** Bumped by reset(): runs of an older generation stop retrying. */
  #generation = 0;
  #closed = false;

  constructor(opts: PartitionLanesOptions) {
    this.#o = opts;
  }

  counters(): LaneCounters {
    return { ...this.#c };
  }

  /** Queues a partition's fetched records (in offset order) and starts its lane if idle. */
  push(partition: number, records: readonly LaneRecord[]): void {
    if (this.#closed || records.length === 0) return;
    let lane = this.#lanes.get(partition);
    if (!lane) this.#lanes.set(partition, lane = { partition, queue: [], bytes: 0, busy: false, committed: -1n });
    for (const r of records) {
      lane.queue.push(r);
      lane.bytes += size(r);
      this.#c.queued_bytes += size(r);
    }
    this.#start(lane);
  }

  /**
   * Resolves when queued bytes are under the bound (or at once), calling
   * `tick` (the fetch handler's heartbeat) every `tickMs` meanwhile. A failing
   * tick ends the wait with its error: the group is rebalancing, and the
   * handler must return so kafkajs can rejoin instead of waiting out a store
   * outage while the group waits for this member.
   */
  async wait(tick: () => Promise<void>, tickMs: number): Promise<void> {
    while (!this.#closed && this.#c.queued_bytes > this.#o.maxQueuedBytes) {
      await Promise.race([new Promise<void>((r) => this.#waiters.push(r)), sleep(tickMs)]);
      await tick();
    }
  }

  /**
   * After a rebalance: forget what is queued and not submitted (it will be
   * fetched again from the group's committed offset, the only one that counts
   * from now on); runs in flight commit nothing more.
   */
  reset(): void {
    this.#generation++;
    for (const lane of this.#lanes.values()) lane.committed = -1n;
    this.#dropQueued();
  }

  /** Stops: queued records are dropped (uncommitted), runs in flight end after their current attempt and commit what it stored (the member is still in the group). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#dropQueued();
    await Promise.allSettled([...this.#runs]);
  }

  #dropQueued(): void {
    for (const lane of this.#lanes.values()) {
      this.#c.queued_bytes -= lane.bytes; // a run in flight takes its own bytes off when it ends
      lane.queue = [];
      lane.bytes = 0;
    }
    this.#wake();
  }

  #wake(): void {
    this.#waiters.splice(0).forEach((w) => w());
  }

  #start(lane: Lane): void {
    if (lane.busy || lane.queue.length === 0 || this.#closed) return;
    lane.busy = true;
    const records = lane.queue;
    const bytes = lane.bytes;
    lane.queue = [];
    lane.bytes = 0;
    const run = this.#run(lane, records, this.#generation).finally(() => {
      this.#runs.delete(run);
      this.#c.queued_bytes -= bytes;
      lane.busy = false;
      this.#wake();
      this.#start(lane);
    });
    this.#runs.add(run);
  }

  /** Judges a run until every record has a final outcome; commits as it goes. */
  async #run(lane: Lane, records: LaneRecord[], generation: number): Promise<void> {
    let todo = records;
    let delay = this.#o.retryInitialMs;
    while (todo.length > 0) {
      const results = await this.#o.judge(todo);
      let done = 0;
      for (; done < todo.length; done++) {
        const r = results[done];
        if (!r.ok) {
          this.#c.last_error = `partition ${lane.partition} offset ${todo[done].offset}: ${r.code}: ${r.message}`;
          if (r.retriable) break;
          this.#o.log(`rejected ${this.#c.last_error}`);
        }
      }
      if (generation !== this.#generation) return; // outlived a rebalance: stored, not committed
      if (done > 0) await this.#commit(lane, todo[done - 1].offset, generation);
      todo = todo.slice(done);
      if (todo.length === 0 || this.#closed || generation !== this.#generation) return;
      // Store down: the same records again, with backoff, never skipped.
      this.#c.store_retries++;
      if (this.#c.store_retries === 1 || delay === this.#o.retryMaxMs) this.#o.log(`${this.#c.last_error}; retrying every ${delay} ms`);
      await sleep(delay);
      delay = Math.min(delay * 2, this.#o.retryMaxMs);
    }
  }

  async #commit(lane: Lane, lastOffset: string, generation: number): Promise<void> {
    const next = BigInt(lastOffset) + 1n;
    if (next <= lane.committed) return; // never backwards
    try {
      await this.#o.commit(lane.partition, next.toString());
      if (generation === this.#generation) lane.committed = next;
      this.#c.commits++;
    } catch (e) {
      // The records are stored; an uncommitted offset only means they may
      // be delivered again (a rebalance in progress, a partition moved).
      this.#c.commit_failures++;
      this.#o.log(`committing partition ${lane.partition} offset ${next}: ${(e as Error).message}`);
    }
  }
}
