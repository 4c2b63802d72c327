// Proves from the store alone that a period's stored taps are what the
// sidecars sealed: every chain record (tap_batches) first received in
// [from, until) is re-hashed from its stored rows, exactly as the sidecar
// hashed its frame (./batch.ts batchHash: header and event lines, in the
// record's schema), and compared with the hash the collector checked and
// stored. Across records: prev_hash links (to the batch just before the
// period too), and the seqs and batch numbers no record holds (gaps), each
// `accounted` when a tap_loss record covers it.
//
// Re-hashing cannot see a rewritten chain of records, consistent from some
// batch to the head. With a trust bundle (`trust`) each signed record's
// stored signature is checked again over its stored hash, with the
// certificate the collector kept (./signature-audit.ts): bad_signature.
//
// Memory stays bounded: one stream at a time, its records in pages of
// `pageBatches` and its rows fetched for at most about `chunkEvents` events
// at once (a batch is never split), so a period of 10M taps is never held.
// Rows are read within the ts span their batches have in the period and a
// margin (./chain-audit-rows.ts: the taps key finds a time range, not a
// stream), and a batch missing seqs there is read again whole; an extra
// copy or version of a row stored outside that window is left to the audit
// of a period that holds its ts. Rows of a batch number without a chain
// record (extra_rows) are seen only between the batches audited, within
// their span.

import { batchHash, GENESIS_HASH, type BatchSchema } from './batch.ts';
import { chunkRows, SPAN_MARGIN_MS } from './chain-audit-rows.ts';
import { CHAIN_AUDIT_SQL as Q } from './sql-chain-audit.ts';
import { SignatureAudit, type SignatureAuditOptions } from './signature-audit.ts';
import type { SqlDialect } from './sql.ts';
import { floatText, presenceKnown, rowEvent } from './tap-row.ts';

export type ChainProblemKind = 'hash_mismatch' | 'broken_link' | 'missing_rows' | 'extra_rows' | 'bad_signature' | 'unverifiable';

/** One stored batch the audit could not prove as sealed. */
export interface ChainProblem {
  proxy: string;
  stream: string;
  batch: number;
  first_seq: number;
  /** Events its chain record says it holds. */
  events: number;
  /** Its first stored tap's ts, or when it was received if it has none. */
  ts: number;
  problem: ChainProblemKind;
  /** What was found, with the figures (seqs, hashes). */
  detail: string;
}

/** Seqs no stored batch holds, from_seq .. from_seq + count - 1 (count 0: only empty batches are missing). */
export interface ChainAuditGap {
  proxy: string;
  stream: string;
  from_seq: number;
  count: number;
  /** ts of the batch after the gap (its first tap, or when it was received). */
  ts: number;
  /** A tap_loss record (or several together) covers every seq of it. */
  accounted: boolean;
}

export interface ChainAudit {
  /** (proxy, stream) pairs with a batch received in the period. */
  streams: number;
  batches: number;
  /** Events their chain records say they hold. */
  events: number;
  /** Batches that hash as sealed, link to the batch before (when stored) and have no problem. */
  verified_batches: number;
  /** Batches stored without a verified signature (signer ''). */
  unsigned_batches: number;
  /** Stored signatures checked again and believed (with `trust`; 0 without). */
  verified_signatures: number;
  problems: ChainProblem[];
  gaps: ChainAuditGap[];
}

/** What the audit reads through: the store's dialect and its query runner. */
export interface ChainAuditSource {
  dialect: SqlDialect;
  rows<T>(what: string, sql: string, params: Record<string, unknown>): Promise<T[]>;
}

export interface ChainAuditOptions extends Partial<SignatureAuditOptions> { pageBatches?: number; chunkEvents?: number }

type Row = Record<string, unknown>;
interface BatchRec {
  batch: number; received_at: number; first_seq: number; events: number; hash: string; prev_hash: string; lost: number;
  schema: number; signer: string; versions: number;
  /** The ts span of its rows stored in the period and margin, and how many (0: none there). */
  span_from: number; span_to: number; span_rows: number;
}
interface Link { batch: number; hash: string; last_seq: number }

const short = (h: string) => `${h.slice(0, 12)}…`;
const seqList = (seqs: number[]) => seqs.slice(0, 10).join(', ') + (seqs.length > 10 ? `, … (${seqs.length} in all)` : '');
const num = (v: unknown) => Number(v);

/** Whether loss records (sorted by from_seq) together cover from .. from + count - 1. */
export function lossCovers(loss: readonly { from_seq: number; count: number }[], from: number, count: number): boolean {
  let reached = from;
  for (const l of loss) {
    if (reached >= from + count) break;
    if (l.from_seq > reached) return false;
    reached = Math.max(reached, l.from_seq + l.count);
  }
  return reached >= from + count;
}

export async function auditChains(src: ChainAuditSource, from: number, until: number, opts: ChainAuditOptions = {}): Promise<ChainAudit> {
  const out: ChainAudit = { streams: 0, batches: 0, events: 0, verified_batches: 0, unsigned_batches: 0, verified_signatures: 0, problems: [], gaps: [] };
  const signatures = opts.trust ? new SignatureAudit(src, { ...opts, trust: opts.trust }) : null;
  const streams = await src.rows<{ proxy: string; stream: string }>('listing the streams of the chain audit', Q.streams, { from, until });
  for (const { proxy, stream } of streams) {
    out.streams++;
    await auditStream(src, proxy, stream, { from, until, pageBatches: opts.pageBatches ?? 10_000, chunkEvents: opts.chunkEvents ?? 50_000 }, out);
    await signatures?.stream(proxy, stream, from, until, out);
  }
  return out;
}

interface StreamWork { from: number; until: number; pageBatches: number; chunkEvents: number }

async function auditStream(src: ChainAuditSource, proxy: string, stream: string, w: StreamWork, out: ChainAudit): Promise<void> {
  const where = `${proxy}/${stream}`;
  const key = { proxy, stream };
  const loss = (await src.rows<{ from_seq: number; count: number }>(`reading the loss records of ${where}`, Q.loss, key))
    .map((l) => ({ from_seq: num(l.from_seq), count: num(l.count) }));
  const previous = async (before: number): Promise<Link | null> => {
    const [p] = await src.rows<Row>(`reading the batch of ${where} before batch ${before}`, Q.previous, { ...key, before });
    return p ? { batch: num(p.batch), hash: String(p.hash), last_seq: num(p.first_seq) + num(p.events) - 1 } : null;
  };
  const found: ChainProblem[] = [];
  let prev: Link | null | undefined; // undefined: not looked up yet
  for (let fromBatch = 0; ;) {
    const page = (await src.rows<Row>(`reading the chain records of ${where} from batch ${fromBatch}`, Q.batches, {
      ...key, from_batch: fromBatch, from: w.from, until: w.until, lo_ts: Math.max(0, w.from - SPAN_MARGIN_MS), hi_ts: w.until + SPAN_MARGIN_MS, limit: w.pageBatches,
    })).map(toRec);
    if (page.length === 0) break;
    // Batches whose rows come in one query: about chunkEvents events, at least one batch.
    const chunks: BatchRec[][] = [];
    for (let i = 0, j; i < page.length; i = j) {
      j = i + 1;
      for (let n = page[i].events; j < page.length && n + page[j].events <= w.chunkEvents; j++) n += page[j].events;
      chunks.push(page.slice(i, j));
    }
    // The next chunk's rows are read while this one is hashed: the store and this thread work side by side.
    const read = (chunk: BatchRec[] | undefined) => {
      if (!chunk) return null;
      const rows = chunkRows(src, where, key, chunk);
      rows.catch(() => {}); // awaited below; failing while the chunk before is checked is not unhandled
      return rows;
    };
    let next = read(chunks[0]);
    for (let k = 0; k < chunks.length; k++) {
      const chunk = chunks[k];
      const byBatch = await next!;
      next = read(chunks[k + 1]);
      for (const rec of chunk) {
        if (prev === undefined || (prev !== null && rec.batch > prev.batch + 1)) prev = await previous(rec.batch);
        const got = byBatch.get(rec.batch) ?? [];
        byBatch.delete(rec.batch);
        const ts = got.length > 0 ? num(got[0].ts) : rec.received_at;
        const problems: ChainProblem[] = [];
        const problem = (kind: ChainProblemKind, detail: string) => problems.push({
          proxy, stream, batch: rec.batch, first_seq: rec.first_seq, events: rec.events, ts, problem: kind, detail,
        });
        checkLink(rec, prev, problem, (from_seq, count) => out.gaps.push({ proxy, stream, from_seq, count, ts, accounted: lossCovers(loss, from_seq, count) }));
        checkRows(src.dialect, proxy, stream, rec, got, problem);
        out.batches++;
        out.events += rec.events;
        if (rec.signer === '') out.unsigned_batches++;
        if (problems.length === 0) out.verified_batches++;
        found.push(...problems);
        prev = { batch: rec.batch, hash: rec.hash, last_seq: rec.first_seq + rec.events - 1 };
      }
      // Rows of batch numbers in the chunk with no record received in the period: extra, unless a record exists outside it.
      for (const [b, orphan] of byBatch) {
        const rec = await previous(b + 1);
        if (rec?.batch === b) continue;
        found.push({
          proxy, stream, batch: b, first_seq: num(orphan[0].seq), events: 0, ts: num(orphan[0].ts), problem: 'extra_rows',
          detail: `${orphan.length} stored rows (seq ${seqList(orphan.map((r) => num(r.seq)))}) of batch ${b}, which has no chain record`,
        });
      }
    }
    fromBatch = page[page.length - 1].batch + 1;
  }
  out.problems.push(...found.sort((a, b) => a.batch - b.batch)); // stable: a batch's problems stay in the order found
}

function toRec(r: Row): BatchRec {
  return {
    batch: num(r.batch), received_at: num(r.first_received), first_seq: num(r.b_first_seq), events: num(r.b_events), hash: String(r.b_hash),
    prev_hash: String(r.b_prev_hash), lost: num(r.b_lost), schema: num(r.b_schema), signer: String(r.b_signer), versions: num(r.versions),
    span_from: num(r.span_from), span_to: num(r.span_to), span_rows: num(r.span_rows),
  };
}

/** The link to the stored batch before (prev: null when there is none) and the seqs between them. */
function checkLink(rec: BatchRec, prev: Link | null, problem: (k: ChainProblemKind, d: string) => void, gap: (from: number, count: number) => void): void {
  if (prev === null) {
    if (rec.batch === 0 && rec.prev_hash !== GENESIS_HASH) problem('broken_link', `batch 0 has prev_hash ${short(rec.prev_hash)}, not the genesis hash (64 zeros)`);
    if (rec.batch > 0 || rec.first_seq > 0) gap(0, rec.first_seq);
    return;
  }
  const next = prev.last_seq + 1;
  if (rec.batch === prev.batch + 1 && rec.prev_hash !== prev.hash) {
    problem('broken_link', `prev_hash ${short(rec.prev_hash)} is not the stored hash ${short(prev.hash)} of batch ${prev.batch}`);
  }
  if (rec.first_seq < next) problem('broken_link', `first_seq ${rec.first_seq} overlaps batch ${prev.batch}, which ends at seq ${prev.last_seq}`);
  else if (rec.first_seq > next || rec.batch > prev.batch + 1) gap(next, rec.first_seq - next);
}

/** The batch's stored rows against its record: count, copies and versions, then the hash of the events they rebuild. */
function checkRows(dialect: SqlDialect, proxy: string, stream: string, rec: BatchRec, got: Row[], problem: (k: ChainProblemKind, d: string) => void): void {
  if (rec.versions > 1) problem('hash_mismatch', `its chain record is stored in ${rec.versions} different versions (hash, prev_hash, seqs or lost differ)`);
  const end = rec.first_seq + rec.events;
  const kept: Row[] = [];
  const extra: number[] = [];
  const versions: number[] = [];
  let copy = '';
  for (const r of got) {
    const seq = num(r.seq);
    if (seq < rec.first_seq || seq >= end) { extra.push(seq); continue; }
    const last = kept[kept.length - 1];
    if (last !== undefined && num(last.seq) === seq) {
      // Same seq again: a copy (a batch stored twice) or another version of the row.
      copy ||= JSON.stringify(last);
      if (JSON.stringify(r) !== copy && versions[versions.length - 1] !== seq) versions.push(seq);
      continue;
    }
    copy = '';
    kept.push(r);
  }
  if (kept.length < rec.events) {
    const have = new Set(kept.map((r) => num(r.seq)));
    const missing: number[] = [];
    for (let s = rec.first_seq; s < end && missing.length <= 10; s++) if (!have.has(s)) missing.push(s);
    problem('missing_rows', `${rec.events - kept.length} of its ${rec.events} rows are not stored (seq ${seqList(missing)})`);
  }
  if (extra.length > 0) problem('extra_rows', `${extra.length} stored rows of it lie outside its seqs ${rec.first_seq}..${end - 1} (seq ${seqList(extra)})`);
  if (versions.length > 0) problem('hash_mismatch', `rows stored in more than one version under one seq (seq ${seqList(versions)}): the batch was sealed with one`);
  if (kept.length !== rec.events || extra.length > 0 || versions.length > 0) return;

  const events = kept.map(rowEvent);
  const header = { proxy, stream, batch: rec.batch, first_seq: rec.first_seq, lost: rec.lost, prev_hash: rec.prev_hash, events };
  // A record stored before the schema column: a signed batch is 4; an unsigned one 3 (or 4 from a collector without a trust bundle, or 2).
  const schemas: BatchSchema[] = rec.schema === 2 || rec.schema === 3 || rec.schema === 4 ? [rec.schema] : rec.signer !== '' ? [4] : [3, 4, 2];
  let hash = '';
  try {
    for (const s of schemas) if ((hash = batchHash(header, s)) === rec.hash) return;
  } catch (e) {
    problem('hash_mismatch', `its stored rows do not make a batch: ${(e as Error).message}`);
    return;
  }
  const why = unverifiable(dialect, rec, kept);
  const rebuilt = `rebuilt from its ${rec.events} stored rows, it hashes to ${short(hash)} (schema ${schemas.join('/')}), its chain record says ${short(rec.hash)}`;
  problem(why.length > 0 ? 'unverifiable' : 'hash_mismatch', why.length > 0 ? `${rebuilt}; this store cannot rebuild it exactly: ${why.join('; ')}` : rebuilt);
}

/** Why a batch whose rebuilt hash differs may still be as sealed: what the store did not keep. */
function unverifiable(dialect: SqlDialect, rec: BatchRec, rows: Row[]): string[] {
  const why: string[] = [];
  if (rec.schema === 0) why.push('its chain record was stored before the schema column, so its frame schema is guessed');
  if (rec.schema === 2) why.push("schema 2 event lines are JSON objects in the sidecar's own key order, which rows do not keep (rebuilt in schema order)");
  const unknown = rows.filter((r) => !presenceKnown(r));
  if (unknown.length > 0) why.push(`${unknown.length} of its rows were stored before the present column, so an optional field sent as '' or {} reads as absent`);
  for (const r of rows) {
    const odd = Object.entries(r).find(([, v]) => typeof v === 'string' && v.includes('\uFFFD'));
    if (odd) { why.push(`seq ${num(r.seq)} holds U+FFFD in ${odd[0]}: text that was not valid UTF-16 (a lone surrogate) is stored as U+FFFD`); break; }
  }
  if (dialect === 'legacy') {
    for (const r of rows) {
      const f = (['latency_ms', 'duration_ms'] as const).find((k) => typeof r[k] === 'number' && !/^\d+(e-3)?$/.test(floatText(r[k] as number)));
      if (f) { why.push(`${f} ${String(r[f])} of seq ${num(r.seq)} is not a whole number of microseconds, and ClickHouse 18.16 stores such a number to within 2 ulp`); break; }
    }
  }
  return why;
}
