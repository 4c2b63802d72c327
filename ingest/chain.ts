// Per (proxy, stream) hash-chain verifier. Knows the last accepted batch of
// every stream (recovered from store.chainHeads() at start) and judges the
// next one:
//   - recomputed hash must equal the batch's hash (else: altered batch);
//   - no head yet: must be batch 0 with prev_hash GENESIS_HASH;
//   - same number as the head: same hash is an honest resend (duplicate),
//     a different hash is a conflicting copy;
//   - head + 1: prev_hash must be the head's hash and first_seq head's last_seq + 1;
//   - anything else is a gap (ahead) or a stale batch (behind).
// Every rejection is INGEST_ERR_CHAIN naming proxy, stream, batch and what
// was expected. The head only moves by advance(), after the batch is stored.

import { batchHash, GENESIS_HASH, type TapBatch } from './batch.ts';
import { IngestError } from './errors.ts';
import type { ChainHead } from './store.ts';

export type ChainVerdict =
  | { kind: 'duplicate' }
  /** `newlyLost`: how much the cumulative lost counter grew since the head (0 if not). */
  | { kind: 'next'; newlyLost: number };

const key = (proxy: string, stream: string) => `${proxy}\u0000${stream}`;
const short = (h: string) => h.slice(0, 12);

export class ChainVerifier {
  readonly #heads = new Map<string, ChainHead>();

  constructor(heads: readonly ChainHead[] = []) {
    for (const h of heads) this.#heads.set(key(h.proxy, h.stream), { ...h });
  }

  head(proxy: string, stream: string): ChainHead | undefined {
    const h = this.#heads.get(key(proxy, stream));
    return h && { ...h };
  }

  /** Judges a shape-checked batch; throws IngestError INGEST_ERR_CHAIN when it breaks the chain. */
  check(b: TapBatch): ChainVerdict {
    const where = `batch ${b.batch} of ${b.proxy}/${b.stream}`;
    const fail = (what: string) => new IngestError('INGEST_ERR_CHAIN', `${where}: ${what}`);
    const recomputed = batchHash(b);
    if (recomputed !== b.hash) {
      throw fail(`hash mismatch: content hashes to ${short(recomputed)}…, batch says ${short(b.hash)}… (batch altered after sealing)`);
    }
    const head = this.#heads.get(key(b.proxy, b.stream));
    if (!head) {
      if (b.batch !== 0) throw fail(`expected batch 0 (no earlier batch of this stream is stored), got ${b.batch}`);
      if (b.prev_hash !== GENESIS_HASH) throw fail(`batch 0 must have prev_hash GENESIS_HASH (64 zeros), got ${short(b.prev_hash)}…`);
      return { kind: 'next', newlyLost: b.lost };
    }
    if (b.batch === head.batch) {
      if (b.hash === head.hash) return { kind: 'duplicate' };
      throw fail(`already accepted with hash ${short(head.hash)}…, this copy has ${short(b.hash)}…`);
    }
    if (b.batch < head.batch) throw fail(`stale: the stream is already at batch ${head.batch}`);
    if (b.batch > head.batch + 1) throw fail(`batch gap: expected batch ${head.batch + 1}, got ${b.batch}`);
    if (b.prev_hash !== head.hash) {
      throw fail(`prev_hash ${short(b.prev_hash)}… does not match hash ${short(head.hash)}… of batch ${head.batch}`);
    }
    if (b.first_seq !== head.last_seq + 1) {
      throw fail(`first_seq ${b.first_seq}, expected ${head.last_seq + 1} (batch ${head.batch} ended at seq ${head.last_seq})`);
    }
    if (b.lost < head.lost) throw fail(`lost counter went down from ${head.lost} to ${b.lost} (it is cumulative)`);
    return { kind: 'next', newlyLost: b.lost - head.lost };
  }

  /** Moves the stream's head to a batch that check() judged 'next' and that is now stored. */
  advance(b: TapBatch): void {
    this.#heads.set(key(b.proxy, b.stream), {
      proxy: b.proxy, stream: b.stream, batch: b.batch, hash: b.hash,
      last_seq: b.first_seq + b.events.length - 1, lost: b.lost,
    });
  }
}
