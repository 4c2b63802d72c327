// The tap emitter's on-disk spool: one append-only file per stream,
// `<state-dir>/spool/<stream>.spool`, so unsent taps survive a crash of the
// sidecar (kill -9) and the next start re-sends them (./tap-spool-read.ts,
// ./tap-recovery.ts).
//
// The file is a log of records, one line each, tagged by their first byte
// (the format is ./tap-spool-format.ts):
//
//   c{…}   checkpoint, the first line: the chain so far (next batch, prev_hash, first unsettled seq, lost)
//   l[…]   a tap pushed and not yet sealed: its frame event line (positions give proxy and seq)
//   d{…}   events dropped (buffer or spool full): the stream's `lost` grows
//   f{…}   a sealed batch; the next `bytes` bytes are its frame exactly as the publisher sends it
//   a{…}   the batch in flight was acknowledged      r{…}   it was rejected for good (its events are lost)
//
// Write policy. Event lines are coalesced into one write() per event-loop
// turn (setImmediate), so a kill -9 loses only what was pushed in the turn
// it lands in. A frame is written synchronously, with everything pending
// before it, *before* it is handed to the publisher: a batch the collector
// may have seen is always on disk. write() puts the bytes in the kernel's
// page cache, which outlives the process; only a machine crash can lose
// them, and against that the file is fdatasync'ed every `fsyncMs` on the
// thread pool (default 1 s, so such a crash loses at most about the last
// second plus one sync; 0: after every write, on the event loop, several
// times slower: bench/spool.ts) and at close. The cost, measured by
// `npm run bench:spool` (2026-12-07): 3.3-4.3 CPU µs per tap on top of the
// emitter's own 2.1-2.7 (2.6x), most of it JSON.stringify of a second
// encoding of the tap (an object); since the record is the frame's event
// line, which the emitter makes anyway, it is the write alone. About 2×
// the line's bytes are written per tap (its record, then the frame).
//
// Bounds. Unsent data (unsealed event lines plus the frame in flight) may
// take at most half of `maxBytes`; a push beyond that is refused and the
// emitter drops and counts the tap, as for a full memory buffer. The file
// is compacted (rewritten from the emitter's state into a new file, renamed
// over the old one, so a crash leaves one or the other whole) when a write
// would take it past `maxBytes`, or once it passes `compactBytes` and holds
// more than four times its unsent data; so it never exceeds `maxBytes`.
// Compacting rewrites every unsent tap and the frame in flight, on the
// event loop, so under a backlog its cost grows with the backlog: at
// "twice" the file was rewritten each time its settled part reached the
// unsent part, up to one extra encoding per tap written (about 5% of a busy
// sidecar's CPU in a profile while taps queued); at "four times", a third
// of one. `compactBytes` sets how often a busy spool pays it: at 4 MiB,
// with frames of up to 4 MiB in flight, a sidecar at 15,000 taps/s
// compacted about once a second, 7 ms each (27 at worst), which was most
// of its p99; the default is now 64 MiB (a quarter of the default bound).
//
// A disk error after the start (full disk, I/O error) must not take the
// traffic down: the spool reports it once, stops writing, and the emitter
// carries on in memory (`intact` false). Errors while creating the file
// are thrown: the sidecar does not start on a state dir it cannot use.

import { join } from 'node:path';
import { SpoolFile, type SpoolFileCounters } from './tap-spool-file.ts';
import { checkpointRecord, frameRecord, lineRecord, SPOOL_SUFFIX, type SpoolCheckpoint } from './tap-spool-format.ts';

export interface TapSpoolOptions {
  /** The spool directory (`<state-dir>/spool`), created by openSpoolDir (./tap-spool-dir.ts). */
  dir: string;
  /** Hard bound on the file's size; unsent data may take half of it. */
  maxBytes: number;
  /** fdatasync at most this often while there are writes (0: after every write). */
  fsyncMs: number;
  /** Compact once the file is this big and mostly settled; default min(64 MiB, maxBytes / 4). */
  compactBytes?: number;
}

/** The emitter's state as a checkpoint holds it (read when compacting). */
export interface SpoolState extends Omit<SpoolCheckpoint, 'v' | 'proxy' | 'stream'> {
  inFlight: { frame: Buffer; events: number } | null;
  /** The event lines of the taps pushed and not yet sealed, in order. */
  queue: readonly string[];
}

export interface TapSpoolCounters extends SpoolFileCounters {
  /** Size of the spool file now (with what is pending). */
  bytes: number;
  /** Bytes of it still unsent (unsealed events, the frame in flight). */
  unsent_bytes: number;
  compactions: number;
  /** Taps refused because the spool was full (the emitter counts them as dropped too). */
  full: number;
  /** The disk error that stopped the spool, "" while it works. */
  error: string;
}

export class TapSpool {
  readonly file: string;
  readonly #o: Required<TapSpoolOptions>;
  readonly #head: { proxy: string; stream: string };
  readonly #state: () => SpoolState;
  readonly #out: SpoolFile;
  /** Bytes of the checkpoint, of the frame record in flight, and of each unsealed event line, in order. */
  #fixedBytes = 0;
  #frameBytes = 0;
  #eventBytes: number[] = [];
  #eventHead = 0;
  #eventTotal = 0;
  #pending: string[] = [];
  #pendingBytes = 0;
  /** Drops not yet written (one `d` record per turn, however many). */
  #drops = 0;
  #flushTurn: NodeJS.Immediate | null = null;
  #fsyncTimer: NodeJS.Timeout | null = null;
  #closed = false;
  #broken = false;
  readonly #onError: (message: string) => void;
  #compactions = 0;
  #full = 0;
  #error = '';

  /** Creates (or rewrites, for a recovered stream) the stream's spool file from `state`; throws if it cannot. */
  constructor(opts: TapSpoolOptions, head: { proxy: string; stream: string }, state: () => SpoolState, onError: (message: string) => void = () => {}) {
    this.#o = { compactBytes: Math.min(64 * 1024 * 1024, Math.floor(opts.maxBytes / 4)), ...opts };
    this.#head = head;
    this.#state = state;
    this.#onError = onError;
    this.file = join(opts.dir, `${head.stream}${SPOOL_SUFFIX}`);
    this.#out = new SpoolFile(this.file);
    this.#compact();
    this.#compactions = 0; // the file's first writing is no compaction
    if (this.#o.fsyncMs > 0) {
      this.#fsyncTimer = setInterval(() => {
        if (!this.#broken) this.#out.syncInBackground((e) => this.#guard(() => { throw e; }));
      }, this.#o.fsyncMs);
      this.#fsyncTimer.unref();
    }
  }

  /** Bytes of unsent data: what the bound applies to. */
  get #unsent(): number { return this.#fixedBytes + this.#frameBytes + this.#eventTotal; }

  /** False once a disk error stopped the spool: what is unsent is then in memory only. */
  get intact(): boolean { return !this.#broken; }

  /**
   * Records a pushed tap; false when the spool is full (the caller drops
   * the tap and calls dropped()). A broken spool takes everything: the
   * emitter's memory bound still applies.
   */
  add(eventLine: string): boolean {
    if (this.#broken) return true;
    if (this.#closed) return false;
    const line = lineRecord(eventLine);
    const n = Buffer.byteLength(line);
    if (this.#unsent + n > this.#o.maxBytes / 2) { this.#full++; return false; }
    // Compacting writes the queue as it is, before this tap joins it; the tap's line follows.
    this.#guard(() => this.#maybeCompact(n));
    this.#eventBytes.push(n);
    this.#eventTotal += n;
    this.#append(line, n);
    return true;
  }

  /** Taps dropped (the emitter's lost counter already has them). */
  dropped(n: number): void {
    if (this.#closed || this.#broken || n <= 0) return;
    this.#drops += n;
    this.#flushSoon();
  }

  /**
   * A batch was sealed from the first `events` unsealed taps and is about to
   * be published: its frame is on disk (with everything pending before it)
   * when this returns. The emitter's state already has it in flight.
   */
  sealed(frame: Buffer, events: number): void {
    if (this.#closed || this.#broken) return;
    const taken = this.#takeEvents(events);
    const record = frameRecord(frame.length, events, events);
    const n = Buffer.byteLength(record) + frame.length;
    this.#guard(() => {
      if (this.#maybeCompact(n - taken)) return; // the checkpoint holds the frame in flight
      this.#frameBytes = n;
      this.#write([Buffer.from(this.#takePending() + record), frame]);
    });
  }

  /** The batch in flight was stored; `nextSeq` is the seq after its last event. */
  acked(batch: number, hash: string, nextSeq: number): void {
    this.#settle(`a{"batch":${batch},"hash":"${hash}","next_seq":${nextSeq}}\n`);
  }

  /** The batch in flight was refused for good: its `events` taps are lost and their seqs reused. */
  rejected(batch: number, events: number): void {
    this.#settle(`r{"batch":${batch},"events":${events}}\n`);
  }

  counters(): TapSpoolCounters {
    return {
      ...this.#out.counters, bytes: this.#out.size + this.#pendingBytes, unsent_bytes: this.#unsent,
      compactions: this.#compactions, full: this.#full, error: this.#error,
    };
  }

  /**
   * Writes what is pending, syncs and closes the file; `keep` false deletes
   * it (nothing left to send), true leaves it for the next start.
   */
  close(keep: boolean): void {
    if (this.#closed) return;
    if (keep) this.#guard(() => { this.#flush(); this.#out.sync(); });
    this.#closed = true;
    if (this.#flushTurn) clearImmediate(this.#flushTurn);
    if (this.#fsyncTimer) clearInterval(this.#fsyncTimer);
    this.#guard(() => (keep ? this.#out.close() : this.#out.remove()));
  }

  #settle(line: string): void {
    if (this.#closed || this.#broken) return;
    this.#frameBytes = 0;
    this.#guard(() => { if (!this.#maybeCompact(line.length)) this.#append(line, line.length); });
  }

  /** Runs a disk operation; an error stops the spool (reported once) instead of reaching the request path. */
  #guard(op: () => unknown): void {
    if (this.#broken) return;
    try {
      op();
    } catch (e) {
      this.#broken = true;
      this.#error = `tap spool ${this.file}: ${(e as Error).message}; unsent taps are kept in memory only from now on`;
      if (this.#fsyncTimer) clearInterval(this.#fsyncTimer);
      try { this.#out.close(); } catch { /* already unusable; reported below */ }
      this.#onError(this.#error);
    }
  }

  /** Pending lines and drops as one string, cleared. */
  #takePending(): string {
    const drops = this.#drops > 0 ? `d{"n":${this.#drops}}\n` : '';
    const text = drops + this.#pending.join('');
    this.#drops = 0;
    this.#pending = [];
    this.#pendingBytes = 0;
    return text;
  }

  /** Forgets the sizes of the first `n` unsealed event lines; returns their bytes. */
  #takeEvents(n: number): number {
    let bytes = 0;
    for (let i = 0; i < n && this.#eventHead < this.#eventBytes.length; i++) bytes += this.#eventBytes[this.#eventHead++];
    this.#eventTotal -= bytes;
    if (this.#eventHead > 4096 && this.#eventHead * 2 > this.#eventBytes.length) {
      this.#eventBytes = this.#eventBytes.slice(this.#eventHead);
      this.#eventHead = 0;
    }
    return bytes;
  }

  #append(line: string, n: number): void {
    this.#pending.push(line);
    this.#pendingBytes += n;
    this.#flushSoon();
  }

  /** One write at the end of this event-loop turn, whatever was pushed in it. */
  #flushSoon(): void {
    this.#flushTurn ??= setImmediate(() => { this.#flushTurn = null; this.#guard(() => this.#flush()); });
  }

  #flush(): void {
    if ((this.#pending.length === 0 && this.#drops === 0) || this.#closed || this.#broken) return;
    this.#write([Buffer.from(this.#takePending())]);
  }

  #write(bufs: Buffer[]): void {
    this.#out.append(bufs);
    if (this.#o.fsyncMs === 0) this.#out.sync();
  }

  /** Compacts when writing `n` more bytes calls for it; true when it did (the state then already holds the change). */
  #maybeCompact(n: number): boolean {
    const size = this.#out.size + this.#pendingBytes;
    const settledMost = size >= this.#o.compactBytes && size > 4 * this.#unsent;
    if (size + n <= this.#o.maxBytes && !settledMost) return false;
    this.#compact();
    return true;
  }

  /**
   * Rewrites the file from the emitter's state: checkpoint, the frame in
   * flight (if any) and the unsealed taps. What was pending is part of that
   * state, so it is dropped, not written.
   */
  #compact(): void {
    const s = this.#state();
    const bufs: Buffer[] = [Buffer.from(checkpointRecord({ v: 1, ...this.#head, batch: s.batch, prev_hash: s.prev_hash, seq: s.seq, lost: s.lost }))];
    let frameBytes = 0;
    if (s.inFlight) {
      const rec = Buffer.from(frameRecord(s.inFlight.frame.length, s.inFlight.events, 0));
      bufs.push(rec, s.inFlight.frame);
      frameBytes = rec.length + s.inFlight.frame.length;
    }
    const eventBytes: number[] = [];
    for (const l of s.queue) {
      const line = Buffer.from(lineRecord(l));
      bufs.push(line);
      eventBytes.push(line.length);
    }
    this.#out.replace(bufs);
    this.#takePending();
    this.#fixedBytes = bufs[0].length;
    this.#frameBytes = frameBytes;
    this.#eventBytes = eventBytes;
    this.#eventHead = 0;
    this.#eventTotal = eventBytes.reduce((a, b) => a + b, 0);
    this.#compactions++;
  }
}
