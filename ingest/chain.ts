// Per (proxy, stream) hash-chain verifier. Knows the last accepted batch of
// every stream (recovered from store.chainHeads() at start) and judges the
// next one.
//
// Two kinds of trouble, treated differently:
//
// - Tampering is rejected (INGEST_ERR_CHAIN) and the head stays put: a batch
//   whose bytes do not hash to its own `hash` (altered after sealing; found
//   by decodeBatch, ./batch-check.ts, before a batch gets here); a batch
//   that directly follows the head (head + 1) but whose prev_hash is
//   not the head's hash (a broken link with nothing missing in between); a
//   second, different copy of the head batch; a seq range that overlaps
//   what is already stored; a cumulative `lost` counter that went down.
//
// - A gap is *loss*, not tampering: batches or seqs are missing between the
//   head and this batch (a batch number ahead of head + 1, first_seq ahead of
//   last_seq + 1, or a stream whose first stored batch is not batch 0). The
//   verdict reports the missing seq range, the collector records it as tap
//   loss (store.recordLoss, reason 'sequence_gap'), and the chain re-anchors
//   at this batch. Why: on a bus (Kafka) a batch the collector rejected, or
//   one the topic's retention removed, is gone for good and never resent,
//   so a verifier that refused everything after a gap would wedge that
//   sidecar's stream forever. Over the embedded HTTP bus a gap cannot
//   happen honestly (the sidecar resends until acknowledged), and it is
//   still never silent: it is counted and stored as loss. The price: across
//   a gap the missing batches' hashes are unknown, so prev_hash is not
//   checked there; a forged batch far ahead would be accepted, with a loss
//   record that shows exactly which seqs it skipped.
//
// - A batch behind the head (a batch number lower than the head's) is a
//   redelivery on an at-least-once bus: after a rebalance or restart a
//   collector re-reads from the last committed offset, which may lie behind
//   the heads it reloads. `behindHead: 'duplicate'` (the Kafka collector)
//   treats it as already stored; the default 'reject' (embedded bus, where
//   the sender never goes backwards) keeps refusing it.
//
// Every rejection names proxy, stream, batch and what was expected. The head
// only moves by advance(), after the batch is stored.

import { eventCount, GENESIS_HASH, type StorableBatch } from './batch.ts';
import { IngestError } from './errors.ts';
import type { ChainHead } from './store.ts';

/** Seqs missing before a batch: from_seq .. from_seq + count - 1. */
export interface ChainGap { from_seq: number; count: number; /** Batch numbers skipped. */ batches: number }

export type ChainVerdict =
  | { kind: 'duplicate'; /** true when behind the head rather than equal to it. */ stale?: boolean }
  /** `newlyLost`: how much the cumulative lost counter grew since the head (0 if not); `gap`: missing seqs, if any. */
  | { kind: 'next'; newlyLost: number; gap?: ChainGap };

export interface ChainOptions {
  /** What a batch behind the head is: a rejection (default) or an at-least-once redelivery. */
  behindHead?: 'reject' | 'duplicate';
}

const key = (proxy: string, stream: string) => `${proxy}\u0000${stream}`;
const short = (h: string) => h.slice(0, 12);

export class ChainVerifier {
  readonly #heads = new Map<string, ChainHead>();
  readonly #behindHead: 'reject' | 'duplicate';

  constructor(heads: readonly ChainHead[] = [], opts: ChainOptions = {}) {
    for (const h of heads) this.#heads.set(key(h.proxy, h.stream), { ...h });
    this.#behindHead = opts.behindHead ?? 'reject';
  }

  head(proxy: string, stream: string): ChainHead | undefined {
    const h = this.#heads.get(key(proxy, stream));
    return h && { ...h };
  }

  /**
   * Judges a decoded batch (decodeBatch: its bytes hash to its `hash`);
   * throws IngestError INGEST_ERR_CHAIN when it breaks the chain.
   */
  check(b: StorableBatch): ChainVerdict {
    const where = `batch ${b.batch} of ${b.proxy}/${b.stream}`;
    const fail = (what: string) => new IngestError('INGEST_ERR_CHAIN', `${where}: ${what}`);
    const head = this.#heads.get(key(b.proxy, b.stream));
    if (!head) {
      if (b.batch === 0) {
        if (b.prev_hash !== GENESIS_HASH) throw fail(`batch 0 must have prev_hash GENESIS_HASH (64 zeros), got ${short(b.prev_hash)}…`);
        if (b.first_seq !== 0) return { kind: 'next', newlyLost: b.lost, gap: { from_seq: 0, count: b.first_seq, batches: 0 } };
        return { kind: 'next', newlyLost: b.lost };
      }
      // The stream's first batches never arrived (rejected, or gone from the bus): anchor here.
      return { kind: 'next', newlyLost: b.lost, gap: { from_seq: 0, count: b.first_seq, batches: b.batch } };
    }
    if (b.batch === head.batch) {
      if (b.hash === head.hash) return { kind: 'duplicate' };
      throw fail(`already accepted with hash ${short(head.hash)}…, this copy has ${short(b.hash)}…`);
    }
    if (b.batch < head.batch) {
      if (this.#behindHead === 'duplicate') return { kind: 'duplicate', stale: true };
      throw fail(`stale: the stream is already at batch ${head.batch}`);
    }
    const expectedSeq = head.last_seq + 1;
    if (b.first_seq < expectedSeq) {
      throw fail(`first_seq ${b.first_seq} overlaps stored events (batch ${head.batch} ended at seq ${head.last_seq})`);
    }
    if (b.batch === head.batch + 1 && b.prev_hash !== head.hash) {
      throw fail(`prev_hash ${short(b.prev_hash)}… does not match hash ${short(head.hash)}… of batch ${head.batch}`);
    }
    if (b.lost < head.lost) throw fail(`lost counter went down from ${head.lost} to ${b.lost} (it is cumulative)`);
    const newlyLost = b.lost - head.lost;
    const skipped = b.batch - head.batch - 1;
    if (skipped === 0 && b.first_seq === expectedSeq) return { kind: 'next', newlyLost };
    return { kind: 'next', newlyLost, gap: { from_seq: expectedSeq, count: b.first_seq - expectedSeq, batches: skipped } };
  }

  /**
   * Moves the stream's head to a batch that check() judged 'next' and that
   * is stored (or about to be, in the same write as the batches judged
   * against it). Returns how to put the head back if that write fails.
   */
  advance(b: StorableBatch): () => void {
    const k = key(b.proxy, b.stream);
    const before = this.#heads.get(k);
    this.#heads.set(k, {
      proxy: b.proxy, stream: b.stream, batch: b.batch, hash: b.hash,
      last_seq: b.first_seq + eventCount(b) - 1, lost: b.lost,
    });
    return () => {
      if (before) this.#heads.set(k, before);
      else this.#heads.delete(k);
    };
  }
}
