// Tap emitters with a spool for the spool's tests, composed as the sidecar
// composes them (./../sidecar.ts): TapRecovery.open, the new stream's
// emitter, recovery.start(). A "crash" is an emitter abandoned without
// close(), its publisher cut so it sends nothing more, as a killed process
// would; what it left is only what the spool wrote.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedPublisher, type PublishResult, type TapBatch, type TapPublisher } from '../../../ingest/index.ts';
import { TapRecovery } from '../tap-recovery.ts';
import { TapEmitter, type TapInput } from '../taps.ts';

export const openTap = (i: number): TapInput => ({
  v: 1, kind: 'l4.open', ts: 1_700_000_000_000 + i, direction: 'inbound', conn_id: `c${i}`,
  src_service: 'web', src_instance: 'web-1', src_addr: '127.0.0.1', src_port: 40000,
  dst_service: 'cart', dst_instance: 'cart-1', dst_addr: '127.0.0.1', dst_port: 8080,
});

/** A publisher that forwards to `url` until cut(), then never answers again (the process is gone). */
export function cuttablePublisher(url: string | null): TapPublisher & { frames: Buffer[]; cut(): void } {
  const real = url ? new EmbeddedPublisher(url, { timeoutMs: 2_000 }) : null;
  let cut = url === null;
  const frames: Buffer[] = [];
  return {
    frames,
    cut: () => { cut = true; },
    publish(b: TapBatch, frame?: Buffer): Promise<PublishResult> {
      frames.push(frame!);
      return cut || !real ? new Promise<never>(() => {}) : real.publish(b, frame);
    },
    close: async () => { await real?.close(); },
    maxFrameBytes: real?.maxFrameBytes ?? 4 * 1024 * 1024,
  };
}

/** batchSize also caps batches behind a backlog (maxBatchSize), so the tests' batch shapes stay fixed. */
export interface SpoolSettings { batchSize?: number; bufferSize?: number; maxBytes?: number; compactBytes?: number; lingerMs?: number }

/** Starts a "sidecar's" taps on `stateDir`: recovery of what is there, then the new stream. */
export function startSpooledTaps(stateDir: string, publisher: TapPublisher, stream: string, o: SpoolSettings = {}) {
  const lines: string[] = [];
  const emitter = {
    bufferSize: o.bufferSize ?? 10_000, batchSize: o.batchSize ?? 3, maxBatchSize: o.batchSize ?? 3, lingerMs: o.lingerMs ?? 60_000, retryInitialMs: 10, retryMaxMs: 50,
  };
  const recovery = TapRecovery.open({
    stateDir, publisher, emitter, log: (l) => lines.push(l),
    spool: { maxBytes: o.maxBytes ?? 8 * 1024 * 1024, fsyncMs: 0, ...(o.compactBytes ? { compactBytes: o.compactBytes } : {}) },
  });
  const taps = new TapEmitter({ proxy: 'cart-1', stream, publisher, ...emitter, spool: recovery.spool, initialLost: recovery.carriedLost });
  recovery.start();
  return {
    taps, recovery, lines,
    /** Flushes the old streams and the new one, then closes all as the sidecar does. */
    async close(deadlineMs = 5_000) {
      await recovery.close(deadlineMs);
      await taps.close(deadlineMs);
      recovery.release();
    },
  };
}

/** Lets the spool's once-per-turn write happen. */
export const nextTurn = () => new Promise((r) => setImmediate(r));

export function tempStateDir(): { path: string; spool: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'meshlens-spool-'));
  return { path, spool: join(path, 'spool'), remove: () => rmSync(path, { recursive: true, force: true }) };
}
