// Tap emitter: numbers a sidecar's events, batches them, seals each batch into
// the hash chain and ships it, one batch in flight at a time so the chain
// arrives in order.
//
//   push(event)  encodes the event into its frame event line at once (the
//                line is all the emitter keeps: the spool writes it, a batch
//                is sealed from it); a full buffer drops the event and counts it
//   flush()      resolves once everything pushed before it is acknowledged or
//                has failed for good (rejected)
//   close()      flush with a deadline, then stop
//
// Chain rules (agreed with ingest/batch.ts):
// - a retriable failure resends the *same* sealed batch (same number, same hash);
// - a non-retriable rejection means the collector did not store the batch: its
//   events count as rejected and as lost, and the next batch reuses the batch
//   number, chains from the last *acknowledged* hash and reuses the rejected
//   events' seqs (events still queued are renumbered), because the collector's
//   chain verifier (ingest/chain.ts) wants first_seq = last stored seq + 1;
//   only `lost` grows.
// - dropped events (buffer full) never get a seq either, for the same reason.
//
// Batch size. A batch goes out when `batchSize` taps wait or `lingerMs`
// after the first. Behind a backlog (the collector slower than the traffic
// for a while, or away), a batch takes up to `maxBatchSize` taps, within
// the publisher's frame bound: with one batch in flight, the stream's rate
// is a batch per round trip, and the embedded collector's round trip is its
// group linger (200 ms) plus an INSERT, so batches of 1,000 capped a sidecar
// near 4,000 taps/s (measured: 2,600/s under bench:proxy's load, the rest
// piling up in memory and the spool).
//
// With a spool (./tap-spool.ts, `--state-dir`), every pushed tap, sealed
// frame and settled batch is also written to disk, so a crash loses only
// the taps pushed in its last event-loop turn; the next start resumes the
// stream from the spool (`resume`, ./tap-recovery.ts). close() then leaves
// what it could not deliver in the spool (counted `spooled`, not lost).

import {
  eventLine, GENESIS_HASH, LineSealer, sealLines, type BatchSigner, type L4CloseTap, type L4OpenTap, type L7RequestTap, type SealedHead, type TapEvent, type TapPublisher,
} from '../../ingest/index.ts';
import type { RecoveredStream } from './tap-spool-read.ts';
import { TapSpool, type TapSpoolCounters, type TapSpoolOptions } from './tap-spool.ts';

/** Event lines sealed per step of a big batch (about 1 ms each). */
const SEAL_STEP = 1_000;

/** Taps a batch may take behind a backlog unless the options say otherwise (--tap-batch-max). */
export const DEFAULT_MAX_BATCH_SIZE = 10_000;

/** A batch sealed and in flight: its head, its frame (a retry resends it), and how many taps of each kind it carries. */
type Sealed = { batch: SealedHead; frame: Buffer; kinds: Record<string, number> };
type Unnumbered<T> = T extends unknown ? Omit<T, 'proxy' | 'seq'> : never;
/** What stages push: a tap without the emitter-assigned proxy and seq. */
export type TapInput = Unnumbered<L4OpenTap | L4CloseTap | L7RequestTap>;

export interface TapEmitterOptions {
  proxy: string;
  stream: string;
  /** null: no collector configured; events are counted as not_shipped. */
  publisher: TapPublisher | null;
  enabled?: boolean;
  bufferSize: number;
  batchSize: number;
  /** Behind a backlog, a batch takes up to this many taps (within the publisher's maxFrameBytes); default 10,000, never below batchSize. */
  maxBatchSize?: number;
  lingerMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
  /** Called when a batch is rejected for good, so the sidecar can log it. */
  onRejected?: (batch: SealedHead, code: string, message: string) => void;
  /** Keep unsent taps on disk too (`<state-dir>/spool/<stream>.spool`). */
  spool?: TapSpoolOptions;
  /** Continue a stream an earlier process left in its spool (stream and proxy must be the spool's) instead of starting one. */
  resume?: Pick<RecoveredStream, 'chain' | 'inFlight' | 'lines'>;
  /** Taps already lost when the stream starts (a damaged spool of an earlier process): the first batch reports them. */
  initialLost?: number;
  /** Called once if the spool fails (a disk error): the emitter carries on in memory only. */
  onSpoolError?: (message: string) => void;
  /**
   * Signs each batch with the sidecar's key as it is sealed (frame schema 4);
   * asked per batch, so a renewed certificate signs from the next batch on.
   * Absent or null: unsigned frames, which a collector with a trust bundle refuses.
   */
  signer?: () => BatchSigner | null;
}

export interface TapEmitterCounters {
  /** Events accepted into the buffer (seq assigned). */
  emitted: number;
  acked: number;
  /** Dropped because the buffer was full. */
  dropped: number;
  /** In batches the collector refused for good. */
  rejected: number;
  /** Still undelivered when close() hit its deadline. */
  abandoned: number;
  /** Pushed with no collector configured. */
  not_shipped: number;
  /** Still undelivered when close() hit its deadline, but kept in the spool for the next start. */
  spooled: number;
  batches_sent: number;
  retries: number;
  buffered: number;
  /** dropped + rejected + abandoned, by tap kind: what ClickHouse will never see. */
  lost_by_kind: Record<string, number>;
  last_error: string;
  spool?: TapSpoolCounters;
}

export class TapEmitter {
  readonly #o: TapEmitterOptions;
  /** The event lines of the taps pushed and not sealed yet, in seq order (the first is seq #settledThrough + 1 when nothing is in flight). */
  #queue: string[] = [];
  #nextSeq = 0;
  #nextBatch = 0;
  #prevHash = GENESIS_HASH;
  #lost = 0;
  /** The batch being sent, with its frame (sealed and encoded once; a retry resends the same frame). */
  #inFlight: Sealed | null = null;
  /** A batch is being sealed from the front of the queue (#sealStep). */
  #sealing = false;
  /** Highest seq acknowledged or failed for good; -1 before any. */
  #settledThrough = -1;
  #linger: NodeJS.Timeout | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #retryDelay: number;
  #flushWaiters: { seq: number; resolve: () => void }[] = [];
  #urgent = 0;
  #closed = false;
  #closing: Promise<void> | null = null;
  readonly #spool: TapSpool | null = null;
  readonly #c: TapEmitterCounters = {
    emitted: 0, acked: 0, dropped: 0, rejected: 0, abandoned: 0, not_shipped: 0, spooled: 0,
    batches_sent: 0, retries: 0, buffered: 0, lost_by_kind: {}, last_error: '',
  };

  constructor(opts: TapEmitterOptions) {
    this.#o = opts;
    this.#retryDelay = opts.retryInitialMs;
    this.#lost = opts.initialLost ?? 0;
    if (opts.resume) this.#resume(opts.resume);
    if (opts.spool && opts.publisher && this.enabled) {
      this.#spool = new TapSpool(opts.spool, { proxy: opts.proxy, stream: opts.stream }, () => ({
        batch: this.#nextBatch, prev_hash: this.#prevHash, seq: this.#settledThrough + 1, lost: this.#lost,
        inFlight: this.#inFlight && { frame: this.#inFlight.frame, events: this.#inFlight.batch.count },
        queue: this.#queue,
      }), (m) => { this.#c.last_error = m; opts.onSpoolError?.(m); });
    }
    if (this.#inFlight) {
      this.#c.batches_sent++;
      void this.#attempt(this.#inFlight);
    }
  }

  get enabled(): boolean { return this.#o.enabled !== false; }

  push(input: TapInput): void {
    if (!this.enabled) return;
    if (this.#o.publisher === null) { this.#c.not_shipped++; return; }
    // The line leaves out proxy and seq (the frame's header gives them), so the input needs neither.
    const line = this.#closed || this.#pending() >= this.#o.bufferSize ? null : eventLine(input as TapEvent);
    if (line === null || this.#spool?.add(line) === false) {
      this.#c.dropped++;
      this.#lost++;
      this.#c.lost_by_kind[input.kind] = (this.#c.lost_by_kind[input.kind] ?? 0) + 1;
      this.#spool?.dropped(1);
      return;
    }
    this.#queue.push(line);
    this.#nextSeq++;
    this.#c.emitted++;
    this.#pump();
  }

  counters(): TapEmitterCounters {
    const c: TapEmitterCounters = { ...this.#c, buffered: this.#pending(), lost_by_kind: { ...this.#c.lost_by_kind } };
    if (this.#spool) c.spool = this.#spool.counters();
    return c;
  }

  /** Resolves when every event pushed so far is acknowledged or has failed for good. */
  flush(): Promise<void> {
    const seq = this.#nextSeq - 1;
    if (seq <= this.#settledThrough) return Promise.resolve();
    this.#urgent++;
    // A flush means "try now": a batch waiting out its retry backoff goes at once.
    if (this.#retryTimer && this.#inFlight) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
      void this.#attempt(this.#inFlight);
    }
    return new Promise<void>((resolve) => {
      this.#flushWaiters.push({ seq, resolve: () => { this.#urgent--; resolve(); } });
      this.#pump();
    });
  }

  /**
   * Flushes until `deadlineMs`, then counts what is left as abandoned (or,
   * with a spool, leaves it there as `spooled`) and stops.
   * Flushes again while events keep arriving (a closing listener's l4.close
   * taps land after the first flush began), so nothing is discarded uncounted.
   */
  close(deadlineMs = 2_000): Promise<void> {
    this.#closing ??= this.#close(deadlineMs);
    return this.#closing;
  }

  async #close(deadlineMs: number): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    while (this.#pending() > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((r) => { timer = setTimeout(r, deadline - Date.now()); });
      await Promise.race([this.flush(), timedOut]);
      clearTimeout(timer);
    }
    this.#closed = true;
    const left = this.#pending();
    this.#spool?.close(left > 0);
    if (left > 0 && this.#spool?.intact) {
      // On disk: the next start with this state dir sends them.
      this.#c.spooled = left;
      this.#c.last_error ||= `closed with ${left} taps undelivered after ${deadlineMs} ms; kept in ${this.#spool.file} for the next start`;
    } else if (left > 0) {
      this.#c.abandoned += left;
      this.#countLost(kindsOf(this.#queue));
      if (this.#inFlight) this.#countLost(this.#inFlight.kinds);
      this.#c.last_error ||= `closed with ${left} taps undelivered after ${deadlineMs} ms`;
    }
    this.#queue = [];
    this.#inFlight = null;
    for (const t of [this.#linger, this.#retryTimer]) if (t) clearTimeout(t);
    for (const w of this.#flushWaiters.splice(0)) w.resolve();
    await this.#o.publisher?.close();
  }

  #countLost(kinds: Record<string, number>): void {
    for (const [k, n] of Object.entries(kinds)) this.#c.lost_by_kind[k] = (this.#c.lost_by_kind[k] ?? 0) + n;
  }

  #pending(): number {
    return this.#queue.length + (this.#inFlight?.batch.count ?? 0);
  }

  #pump(): void {
    if (this.#inFlight || this.#sealing || this.#closed || this.#queue.length === 0) return;
    if (this.#queue.length < this.#o.batchSize && this.#urgent === 0) {
      this.#linger ??= setTimeout(() => { this.#linger = null; this.#sendNext(); }, this.#o.lingerMs);
      return;
    }
    this.#sendNext();
  }

  #sendNext(): void {
    if (this.#linger) { clearTimeout(this.#linger); this.#linger = null; }
    if (this.#inFlight || this.#sealing || this.#closed || this.#queue.length === 0) return;
    const n = this.#batchLength(this.#o.publisher!.maxFrameBytes);
    const sealer = new LineSealer({ ...this.#nextHead(), count: n }, this.#o.signer?.() ?? undefined);
    this.#sealing = true;
    this.#sealStep(sealer, n, 0);
  }

  /**
   * Seals the next SEAL_STEP of the batch's `n` lines, then lets requests
   * run before the next step: a batch of 10,000 taps sealed at once held
   * the event loop for ~8 ms (up to 45 under load), which was the sidecar's
   * p99. The lines are the first `n` of the queue and stay there until the
   * batch is sealed, so a spool compaction meanwhile still writes them as
   * unsealed. A batch of up to SEAL_STEP taps is sealed at once, in push().
   */
  #sealStep(sealer: LineSealer, n: number, done: number): void {
    if (this.#closed) { this.#sealing = false; return; }
    let sealed: Sealed;
    let lines: string[] = [];
    try {
      const end = Math.min(n, done + SEAL_STEP);
      sealer.add(this.#queue.slice(done, end));
      if (end < n) { setImmediate(() => this.#sealStep(sealer, n, end)); return; }
      this.#sealing = false;
      const frame = sealer.finish();
      lines = this.#queue.splice(0, n);
      sealed = { ...frame, kinds: kindsOf(lines) };
      // Measured in UTF-16 units, lines with non-ASCII text can still make a frame over the bound: halve until it fits.
      while (sealed.frame.length > this.#o.publisher!.maxFrameBytes && lines.length > 1) {
        this.#queue = lines.splice(lines.length >> 1).concat(this.#queue);
        sealed = this.#seal(lines);
      }
    } catch (e) {
      // A signer that cannot sign (say, a key gone bad): the taps stay queued, and sealing is tried again later.
      this.#sealing = false;
      this.#queue = lines.concat(this.#queue);
      this.#c.last_error = `sealing tap batch ${this.#nextBatch} of ${this.#o.proxy}: ${(e as Error).message}`;
      this.#retryTimer ??= setTimeout(() => { this.#retryTimer = null; this.#pump(); }, this.#o.retryMaxMs);
      return;
    }
    this.#inFlight = sealed;
    // On disk before the publisher sees it: a batch the collector may have stored is never lost to a crash.
    this.#spool?.sealed(sealed.frame, lines.length);
    this.#c.batches_sent++;
    void this.#attempt(sealed);
  }

  /**
   * Taps in the next batch: what waits, up to batchSize, or up to
   * maxBatchSize behind a backlog; and never more than fit in `maxFrameBytes`
   * (room kept for the header, hash and signature lines, whose x5c chain is
   * a few KB).
   */
  #batchLength(maxFrameBytes: number): number {
    const q = this.#queue;
    const most = Math.min(q.length, q.length > this.#o.batchSize ? Math.max(this.#o.batchSize, this.#o.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE) : q.length);
    const room = maxFrameBytes - 16 * 1024;
    let n = 0;
    for (let bytes = 0; n < most && (bytes += q[n].length + 1) <= room; n++);
    return Math.max(n, 1);
  }

  async #attempt(sealed: Sealed): Promise<void> {
    const { batch, frame } = sealed;
    const result = await this.#o.publisher!.publish(batch, frame);
    if (this.#inFlight !== sealed) return; // closed meanwhile
    const lastSeq = batch.first_seq + batch.count - 1;
    if (result.ok) {
      this.#c.acked += batch.count;
      this.#prevHash = batch.hash;
      this.#nextBatch = batch.batch + 1;
      this.#retryDelay = this.#o.retryInitialMs;
    } else if (result.retriable) {
      this.#c.retries++;
      this.#c.last_error = `tap batch ${batch.batch} from ${batch.proxy}: ${result.code}: ${result.message}`;
      this.#retryTimer = setTimeout(() => { this.#retryTimer = null; void this.#attempt(sealed); }, this.#retryDelay);
      this.#retryDelay = Math.min(this.#retryDelay * 2, this.#o.retryMaxMs);
      return;
    } else {
      this.#c.rejected += batch.count;
      this.#lost += batch.count;
      this.#countLost(sealed.kinds);
      this.#c.last_error = `tap batch ${batch.batch} from ${batch.proxy} rejected: ${result.code}: ${result.message}`;
      this.#o.onRejected?.(batch, result.code, result.message);
    }
    this.#inFlight = null;
    this.#settledThrough = lastSeq;
    this.#flushWaiters = this.#flushWaiters.filter((w) => (w.seq <= lastSeq ? (w.resolve(), false) : true));
    if (!result.ok) this.#giveBackSeqs(batch.count);
    // After the state has moved on: a compaction triggered here writes the settled state.
    if (result.ok) this.#spool?.acked(batch.batch, batch.hash, lastSeq + 1);
    else this.#spool?.rejected(batch.batch, batch.count);
    this.#pump();
  }

  /**
   * The one place a batch becomes a frame: what this returns is what the
   * spool stores and the publisher sends, byte for byte (a per-batch
   * signature belongs here). A recovered frame in flight is re-sent as it
   * was; only taps never sealed come through here again.
   */
  #seal(lines: string[]): Sealed {
    const { batch, frame } = sealLines({ ...this.#nextHead(), lines }, this.#o.signer?.() ?? undefined);
    return { batch, frame, kinds: kindsOf(lines) };
  }

  /** The header of the next batch (nothing in flight: its first seq follows the last settled one). */
  #nextHead() {
    return { proxy: this.#o.proxy, stream: this.#o.stream, batch: this.#nextBatch, first_seq: this.#settledThrough + 1, lost: this.#lost, prev_hash: this.#prevHash };
  }

  /** Takes over an earlier process's stream where its spool left it. */
  #resume(r: NonNullable<TapEmitterOptions['resume']>): void {
    this.#nextBatch = r.chain.batch;
    this.#prevHash = r.chain.prev_hash;
    this.#lost = r.chain.lost;
    this.#settledThrough = r.chain.seq - 1;
    let seq = r.chain.seq;
    if (r.inFlight) {
      const { events, ...head } = r.inFlight.batch;
      this.#inFlight = { batch: { ...head, count: events.length }, frame: r.inFlight.frame, kinds: countKinds(events.map((e) => e.kind)) };
      seq += events.length;
    }
    this.#queue = [...r.lines];
    seq += r.lines.length;
    this.#nextSeq = seq;
    this.#c.emitted = seq - r.chain.seq;
  }

  /** After a rejection: the rejected seqs were never stored, so later events move down to fill them. */
  #giveBackSeqs(n: number): void {
    // The queued lines carry no seq (the next header's first_seq gives theirs).
    for (const w of this.#flushWaiters) w.seq -= n;
    this.#nextSeq -= n;
    this.#settledThrough -= n;
  }
}

function countKinds(kinds: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of kinds) out[k] = (out[k] ?? 0) + 1;
  return out;
}

/** The kinds of the taps of event lines: each line's first value (`["l7.request",…`). */
const kindsOf = (lines: readonly string[]): Record<string, number> => countKinds(lines.map((l) => l.slice(2, l.indexOf('"', 2))));
