// A sidecar's start with `--state-dir`: the streams earlier processes left
// in `<state-dir>/spool/` (a crash, or a close that could not deliver
// everything) are finished before they are forgotten. For each one, a
// TapEmitter continues the *old* stream: it re-sends the frame that was in
// flight as it was (same stream, batch number and hash: the collector
// stores it, or answers duplicate if it already had), seals the taps never
// sealed into the next batches of that stream (same proxy, seq and
// prev_hash continuing), and deletes the spool once all are acknowledged.
// The process's own new stream runs beside it from the start.
//
// Taps a damaged spool lost (./tap-spool-read.ts) are reported in a `lost`
// counter, which the collector records as loss: in the old stream's, when
// it gets a new batch (it has unsealed taps), else in the new stream's
// first batch (`carriedLost`). Two steps, so that a crash between them
// reports a loss twice rather than never: open() reads the spools and
// reports what to carry; start(), called once the new stream's spool
// exists with that counter, rewrites the old ones (dropping the damage) or
// deletes those with nothing left to send.

import { rmSync } from 'node:fs';
import { basename } from 'node:path';
import type { TapPublisher } from '../../ingest/index.ts';
import { openSpoolDir, type SpoolDir } from './tap-spool-dir.ts';
import { SPOOL_SUFFIX } from './tap-spool-format.ts';
import { readSpool, type RecoveredStream } from './tap-spool-read.ts';
import type { TapSpoolOptions } from './tap-spool.ts';
import { TapEmitter, type TapEmitterCounters, type TapEmitterOptions } from './taps.ts';

type EmitterSettings = Pick<TapEmitterOptions, 'bufferSize' | 'batchSize' | 'maxBatchSize' | 'lingerMs' | 'retryInitialMs' | 'retryMaxMs' | 'onRejected' | 'onSpoolError' | 'signer'>;

export interface TapRecoveryOptions {
  stateDir: string;
  spool: Omit<TapSpoolOptions, 'dir'>;
  publisher: TapPublisher;
  emitter: EmitterSettings;
  log: (line: string) => void;
}

export interface TapRecoveryStats {
  /** Streams found in the spool at start, and those still being delivered. */
  streams_found: number;
  streams_open: number;
  /** Frames in flight sent again as they were, and taps sealed anew into old streams. */
  frames_resent: number;
  taps_resealed: number;
  /** Taps counted lost for damaged records; records dropped. */
  lost_on_read: number;
  records_dropped: number;
  /** Of lost_on_read, what the new stream reports. */
  carried_lost: number;
  resumed: { stream: string; taps: TapEmitterCounters }[];
}

export class TapRecovery {
  /** For the new stream's emitter. */
  readonly spool: TapSpoolOptions;
  readonly carriedLost: number;
  readonly #dir: SpoolDir;
  readonly #o: TapRecoveryOptions;
  readonly #found: RecoveredStream[] = [];
  readonly #unusable: string[] = [];
  readonly #resumed: { stream: string; emitter: TapEmitter }[] = [];
  readonly #stats: Omit<TapRecoveryStats, 'streams_open' | 'resumed'>;

  private constructor(o: TapRecoveryOptions, dir: SpoolDir) {
    this.#o = o;
    this.#dir = dir;
    this.spool = { ...o.spool, dir: dir.path };
    let carried = 0;
    let lost = 0;
    let dropped = 0;
    for (const file of dir.left) {
      let r: ReturnType<typeof readSpool>;
      try {
        r = readSpool(file);
      } catch (e) {
        // Unreadable (permissions, not a file): left alone, and said so; it cannot be judged, so nothing is counted.
        o.log(`tap spool ${file}: cannot be read (${(e as Error).message}); left in place`);
        continue;
      }
      if (!r.ok) {
        o.log(`tap spool ${file}: unusable (${r.problem}); its ${r.lostTaps} unsent taps are counted lost`);
        carried += r.lostTaps;
        lost += r.lostTaps;
        this.#unusable.push(file);
        continue;
      }
      const s = r.stream;
      for (const p of s.problems) o.log(`tap spool ${file}: ${p}`);
      lost += s.lostOnRead;
      dropped += s.droppedRecords;
      if (s.lines.length > 0) s.chain.lost += s.lostOnRead;
      else carried += s.lostOnRead;
      this.#found.push(s);
    }
    this.carriedLost = carried;
    this.#stats = {
      streams_found: dir.left.length, frames_resent: 0, taps_resealed: 0,
      lost_on_read: lost, records_dropped: dropped, carried_lost: carried,
    };
  }

  /** Takes the spool directory (throws when another live sidecar holds it) and reads what is left in it. */
  static open(o: TapRecoveryOptions): TapRecovery {
    return new TapRecovery(o, openSpoolDir(o.stateDir));
  }

  /** Starts delivering the old streams; call once the new stream's emitter (with carriedLost) exists. */
  start(): void {
    for (const file of this.#unusable) this.#remove(file);
    // The old streams share the sidecar's publisher, which the new stream's emitter closes last.
    const shared: TapPublisher = { publish: (b, f) => this.#o.publisher.publish(b, f), close: async () => {}, maxFrameBytes: this.#o.publisher.maxFrameBytes };
    for (const s of this.#found) {
      const { proxy, stream } = s.chain;
      if (!s.inFlight && s.lines.length === 0) {
        this.#remove(s.file);
        continue;
      }
      let emitter: TapEmitter;
      try {
        // Its spool is rewritten from the recovered state (damage dropped) as `<stream>.spool`.
        emitter = new TapEmitter({
          ...this.#o.emitter, proxy, stream, publisher: shared, spool: this.spool,
          resume: { chain: s.chain, inFlight: s.inFlight, lines: s.lines },
        });
      } catch (e) {
        this.#o.log(`tap spool ${s.file}: cannot resume stream ${stream} (${(e as Error).message}); left in place for the next start`);
        continue;
      }
      if (basename(s.file) !== `${stream}${SPOOL_SUFFIX}`) this.#remove(s.file);
      this.#stats.frames_resent += s.inFlight ? 1 : 0;
      this.#stats.taps_resealed += s.lines.length;
      this.#o.log(`tap spool: resuming stream ${stream} of ${proxy} at batch ${s.chain.batch}, seq ${s.chain.seq}: ` +
        `${s.inFlight ? `frame of ${s.inFlight.batch.events.length} taps re-sent, ` : ''}${s.lines.length} taps to seal, lost ${s.chain.lost}`);
      void emitter.flush().then(() => emitter.close(0)).then(() => {
        const c = emitter.counters();
        if (c.spooled === 0) this.#o.log(`tap spool: stream ${stream} of ${proxy} delivered: ${c.acked} taps acknowledged, ${c.rejected} rejected`);
      }, (e: Error) => this.#o.log(`tap spool: stream ${stream} of ${proxy}: ${e.message}`));
      this.#resumed.push({ stream, emitter });
    }
  }

  #remove(file: string): void {
    try {
      rmSync(file, { force: true });
    } catch (e) {
      this.#o.log(`tap spool ${file}: cannot be removed (${(e as Error).message}); the next start reads it again`);
    }
  }

  stats(): TapRecoveryStats {
    const open = this.#resumed.filter((r) => r.emitter.counters().buffered > 0).length;
    return { ...this.#stats, streams_open: open, resumed: this.#resumed.map((r) => ({ stream: r.stream, taps: r.emitter.counters() })) };
  }

  /** Tries to finish the old streams until the deadline; what is left stays in their spools for the next start. */
  async close(deadlineMs: number): Promise<void> {
    await Promise.all(this.#resumed.map((r) => r.emitter.close(deadlineMs)));
  }

  /** Gives the spool directory up (after the new stream's emitter closed). */
  release(): void {
    this.#dir.release();
  }
}
