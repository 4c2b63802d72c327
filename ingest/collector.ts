// The collector: takes a received tap batch frame (./batch.ts), decodes and
// checks it and its hash chain, stores it, and only then reports it accepted. Outcomes are values
// (CollectorResult), never exceptions, and every outcome is counted.
//
// Batches of one (proxy, stream) are handled one at a time, in arrival
// order, so a chain is never checked against a head that a concurrent write
// is about to move. A store failure leaves the head where it was: the sender
// gets a retriable result and resends the same batch, which store dedup
// makes harmless even if part of it had landed.
//
// Many batches at once (acceptMany, the Kafka collector's path): each batch
// is decoded and chain-verified on its own, exactly as one by one
// (a batch is judged against the head its predecessor in the group moved,
// provisionally), then all the group's new batches go to the store in ONE
// writeBatches call. If that fails, every provisional head move is undone
// and every batch of the group gets the retriable store error, so the
// sender resends them all and they are judged afresh; what had landed is
// collapsed by the store's row keys (./sql.ts), in whatever new grouping.
//
// A gap in a stream (batches or seqs missing, see ./chain.ts) is accepted:
// the missing seqs are recorded as tap loss (reason 'sequence_gap') and the
// chain re-anchors at the batch that arrived.
//
// Who may write a stream: with `trust`, a batch is believed only if it is
// signed by the certificate of the proxy its header names
// (./batch-verifier.ts), and with a per-frame `sender` (the proxy the
// transport authenticated) only if the header names that sender. Both are
// checked after the frame's hash and before its events are parsed or its
// chain judged, so a refused batch changes nothing in any stream: a forged
// batch far ahead neither moves a head nor opens a gap. Every batch refused
// for good (signature, sender, chain, malformed) is written to tap_rejects
// with its reason before its result is given, then counted by code; if
// that write fails, the frame gets a retriable store error instead and
// comes again.
//
// The certificate of every signer is stored (tap_signers) before the first
// batch it signed, in the same write path, so the chain audit can check a
// stored signature again (./signature-audit.ts); if that write fails, the
// batches fail with it, retriably.

import type { Svid, TrustBundle } from '../identity/index.ts';
import type { BatchSigned, RowBatch } from './batch.ts';
import { decodeRowBatch, type FrameHead } from './batch-check.ts';
import { BatchVerifier, type BatchVerifierCounters } from './batch-verifier.ts';
import { ChainVerifier, type ChainOptions, type ChainVerdict } from './chain.ts';
import { asIngestError, IngestError, type IngestErrorCode } from './errors.ts';
import type { StoredSigner } from './sql-signers.ts';
import type { TapStore } from './store.ts';
import { LineChunks } from './line-chunks.ts';
import { rejectRow } from './tap-reject.ts';

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
  /** Refused frames written to tap_rejects (every final refusal of a frame the collector judged). */
  rejects_recorded: number;
  /** Signers' certificates written to tap_signers (once per certificate and collector process). */
  signers_recorded: number;
  /** Batch signatures that verified (with `trust`). */
  signatures_verified: number;
  /** Certificate chains walked to the trust bundle: once per certificate, the rest come from the cache. */
  certificate_chains_verified: number;
}

export interface CollectorOptions extends ChainOptions {
  /** Clock for loss and reject records and certificate validity (tests inject it). */
  now?: () => number;
  /**
   * The roots sidecar certificates chain to (or a function giving the
   * current bundle, asked per batch, so a CA rotation takes effect at
   * once). With it, every batch must be signed (schema 4) by a certificate
   * that chains to these roots and whose subject CN is the header's
   * proxy; anything else is refused with INGEST_ERR_SIGNATURE.
   *
   * WITHOUT it, batches are NOT authenticated: unsigned frames (schemas 2
   * and 3) are accepted as before and a schema 4 signature is read but not
   * checked, so whoever reaches the bus can write any proxy's taps. That
   * is for unit tests, benchmarks and a mesh without identities; a
   * collector that faces sidecars sets it.
   */
  trust?: TrustBundle | (() => TrustBundle);
  /** How long after its certificate expired a signed batch is still believed (default 24 h; see ./batch-verifier.ts). */
  expiredGraceMs?: number;
}

/** A verdict before it is counted: accepted, or refused with this error. */
type Outcome = CollectorResult | IngestError;

/** Fingerprints remembered as stored; past it the set starts again (writing a certificate again is harmless). */
const MAX_SIGNERS_KNOWN = 100_000;

export class Collector {
  readonly #counters: Omit<CollectorCounters, keyof BatchVerifierCounters> = {
    batches_accepted: 0, batches_duplicate: 0, batches_stale: 0, batches_after_gap: 0, events_gap_lost: 0,
    batches_rejected: 0, events_written: 0, rejected_by_code: {}, rejects_recorded: 0, signers_recorded: 0,
  };
  /** Fingerprints of the certificates this collector stored in tap_signers. */
  readonly #signersStored = new Set<string>();
  readonly #store: TapStore;
  readonly #now: () => number;
  readonly #chainOpts: ChainOptions;
  readonly #signatures: BatchVerifier | null;
  /** Tail of the work queue of each stream; deleted when the stream goes idle. */
  readonly #tails = new Map<string, Promise<unknown>>();
  #chain: Promise<ChainVerifier> | null = null;
  #closed = false;

  /** The store stays owned by the caller: close() does not close it. */
  constructor(store: TapStore, opts: CollectorOptions = {}) {
    this.#store = store;
    this.#now = opts.now ?? Date.now;
    this.#chainOpts = { behindHead: opts.behindHead };
    this.#signatures = opts.trust ? new BatchVerifier(opts.trust, { expiredGraceMs: opts.expiredGraceMs, now: this.#now }) : null;
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

  /**
   * Decodes, checks, verifies and stores one batch frame. Never throws.
   * `sender`: the proxy id the transport authenticated, if any (see acceptMany).
   */
  async accept(frame: Uint8Array, sender?: string): Promise<CollectorResult> {
    return (await this.acceptMany([frame], [sender]))[0];
  }

  /**
   * Decodes and verifies each batch frame (each stream's in chain order),
   * stores the new ones in one store write, and returns one result per
   * frame, in order. Never throws. `senders[i]`, when set, is the proxy id
   * the transport authenticated for frames[i] (the mTLS peer of POST
   * /v1/taps): a frame whose header names another proxy is refused
   * (INGEST_ERR_SENDER). Kafka records have none.
   */
  async acceptMany(frames: readonly Uint8Array[], senders: readonly (string | undefined)[] = []): Promise<CollectorResult[]> {
    const results: Outcome[] = new Array(frames.length);
    /** SPIFFE id of each frame's certificate, once believed (for tap_rejects). */
    const signers: string[] = new Array(frames.length).fill('');
    const checked: { i: number; batch: RowBatch }[] = [];
    // Each batch's events become rows as soon as they are decoded (schema 3
    // lines without ever being event objects), and what is parsed dies
    // young: a group holds tens of thousands of taps until its INSERT, and
    // holding them as objects made the garbage collector copy them out of
    // the young generation (measured, 100k taps: decode + encode 11-12 µs
    // per tap holding all of them, 8 µs encoding each batch at once).
    // (Rows take fewer bytes than their JSON, so a small group fits one chunk.)
    const rows = new LineChunks(Math.min(1 << 20, frames.reduce((n, f) => n + f.byteLength, 0)));
    for (let i = 0; i < frames.length; i++) {
      if (this.#closed) {
        results[i] = new IngestError('INGEST_ERR_CLOSED', 'collector is closed');
        continue;
      }
      try {
        const admit = (f: FrameHead) => this.#admit(f, senders[i], (svid) => { signers[i] = svid.uri; });
        checked.push({ i, batch: decodeRowBatch(frames[i], rows, admit) });
      } catch (e) {
        results[i] = asIngestError(e, 'collector: checking batch');
      }
    }
    if (checked.length > 0) await this.#judge(checked, results);
    await this.#recordRejects(frames, senders, signers, results);
    return results.map((r) => (r instanceof IngestError ? this.refuse(r) : r));
  }

  /** The sender and signature checks of one frame (decodeRowBatch's `admit`): who signed it, or a refusal. */
  #admit(f: FrameHead, sender: string | undefined, believed: (svid: Svid) => void): BatchSigned | undefined {
    if (sender !== undefined && f.header.proxy !== sender) {
      throw new IngestError('INGEST_ERR_SENDER',
        `${f.label}: sent over a connection authenticated as ${sender}, but the header names proxy ${f.header.proxy}; a sidecar sends only its own batches`);
    }
    return this.#signatures?.verify(f, believed);
  }

  /** Judges and stores the decoded batches, each stream's one group at a time; fills in their outcomes. */
  async #judge(checked: { i: number; batch: RowBatch }[], results: Outcome[]): Promise<void> {
    // Wait until every stream of the group is idle, then hold them all: a
    // stream's batches are judged one group (or one accept) at a time.
    const keys = [...new Set(checked.map(({ batch: b }) => `${b.proxy}\u0000${b.stream}`))];
    const idle = Promise.all(keys.map((k) => this.#tails.get(k)));
    const run = idle.then(() => this.#acceptInOrder(checked.map((c) => c.batch)));
    const tail = run.catch(() => undefined);
    for (const k of keys) this.#tails.set(k, tail);
    const judged = await run;
    for (const k of keys) if (this.#tails.get(k) === tail) this.#tails.delete(k);
    checked.forEach((c, j) => { results[c.i] = judged[j]; });
  }

  /**
   * Writes a tap_rejects row for every frame refused for good; if that
   * fails, those frames get the (retriable) store error instead, so they
   * come again rather than be refused unrecorded.
   */
  async #recordRejects(frames: readonly Uint8Array[], senders: readonly (string | undefined)[], signers: string[], results: Outcome[]): Promise<void> {
    const refused = results.flatMap((r, i) => (r instanceof IngestError && !r.retriable ? [i] : []));
    if (refused.length === 0) return;
    const at = this.#now();
    const rows = refused.map((i) => rejectRow(frames[i], results[i] as IngestError, at, { sender: senders[i], signer: signers[i] }));
    try {
      await this.#store.recordRejects(rows);
      this.#counters.rejects_recorded += rows.length;
    } catch (e) {
      const err = asIngestError(e, `collector: recording ${rows.length} refused batch frame${rows.length === 1 ? '' : 's'} in tap_rejects`);
      for (const i of refused) results[i] = err;
    }
  }

  async #acceptInOrder(group: RowBatch[]): Promise<Outcome[]> {
    const where = (b: RowBatch) => `collector: batch ${b.batch} of ${b.proxy}/${b.stream}`;
    let chain: ChainVerifier;
    try {
      chain = await this.#verifier();
    } catch (e) {
      return group.map((b) => asIngestError(e, where(b)));
    }
    const verdicts: (ChainVerdict | IngestError)[] = [];
    const undo: (() => void)[] = [];
    const fresh: RowBatch[] = [];
    const losses: Parameters<TapStore['recordLoss']>[0][] = [];
    for (const b of group) {
      let verdict: ChainVerdict;
      try {
        verdict = chain.check(b);
      } catch (e) {
        verdicts.push(asIngestError(e, where(b)));
        continue;
      }
      verdicts.push(verdict);
      if (verdict.kind === 'duplicate') continue;
      if (verdict.gap && verdict.gap.count > 0) {
        losses.push({ proxy: b.proxy, stream: b.stream, ts: this.#now(), from_seq: verdict.gap.from_seq, count: verdict.gap.count, reason: 'sequence_gap' });
      }
      if (verdict.newlyLost > 0) {
        losses.push({ proxy: b.proxy, stream: b.stream, ts: this.#now(), from_seq: b.first_seq, count: verdict.newlyLost, reason: 'sidecar_dropped' });
      }
      undo.push(chain.advance(b)); // provisional: the next batch of the stream is judged against it
      fresh.push(b);
    }
    try {
      // Loss first: if the batch write then fails, the resend records the
      // same loss again and the store dedups it; the other order could lose it.
      for (const loss of losses) await this.#store.recordLoss(loss);
      await this.#storeSigners(fresh);
      if (fresh.length > 0) await this.#store.writeBatches(fresh);
    } catch (e) {
      for (const u of undo.reverse()) u();
      const err = asIngestError(e, fresh.length === 1 ? where(fresh[0]) : `collector: ${fresh.length} batches from ${where(fresh[0]).slice(11)} on`);
      return group.map(() => err);
    }
    return group.map((b, j) => {
      const v = verdicts[j];
      if (v instanceof IngestError) return v;
      if (v.kind === 'duplicate') {
        this.#counters.batches_duplicate++;
        if (v.stale) this.#counters.batches_stale++;
        return { ok: true, duplicate: true, events: b.count };
      }
      if (v.gap) {
        this.#counters.batches_after_gap++;
        this.#counters.events_gap_lost += v.gap.count;
      }
      this.#counters.batches_accepted++;
      this.#counters.events_written += b.count;
      return { ok: true, duplicate: false, events: b.count };
    });
  }

  /** Stores the certificates of the batches' signers not stored yet, before the batches that name them. */
  async #storeSigners(batches: readonly RowBatch[]): Promise<void> {
    const fresh = new Map<string, StoredSigner>();
    for (const b of batches) {
      const s = b.signed;
      if (!s || !b.signature || this.#signersStored.has(s.fingerprint) || fresh.has(s.fingerprint)) continue;
      fresh.set(s.fingerprint, { fingerprint: s.fingerprint, x5c: b.signature.x5c, uri: s.uri, proxy: s.proxy, first_seen: this.#now() });
    }
    if (fresh.size === 0) return;
    await this.#store.writeSigners([...fresh.values()]);
    if (this.#signersStored.size + fresh.size > MAX_SIGNERS_KNOWN) this.#signersStored.clear();
    for (const f of fresh.keys()) this.#signersStored.add(f);
    this.#counters.signers_recorded += fresh.size;
  }

  /** Counts a refusal and returns it as a result; the HTTP edge uses it for body errors too. */
  refuse(e: IngestError): CollectorResult {
    this.#counters.batches_rejected++;
    this.#counters.rejected_by_code[e.code] = (this.#counters.rejected_by_code[e.code] ?? 0) + 1;
    return { ok: false, code: e.code, status: e.status, retriable: e.retriable, message: e.message };
  }

  /** A snapshot of the counters (a copy: later batches do not change it). */
  counters(): CollectorCounters {
    const s = this.#signatures?.counters ?? { signatures_verified: 0, certificate_chains_verified: 0 };
    return { ...this.#counters, ...s, rejected_by_code: { ...this.#counters.rejected_by_code } };
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
