// The chain audit's check of stored signatures (./chain-audit.ts calls it
// per stream when given a trust bundle). Re-hashing rows proves that rows
// and hashes agree, not that the hashes are the ones the sidecar sealed:
// someone who rewrote a row AND every hash from its batch to the head
// leaves a consistent chain. What they cannot make is the sidecar's
// signature over a new hash. So each signed chain record of the period is
// checked again, as the collector checked its frame (./batch-verifier.ts):
//
//   1. the certificate named by its fingerprint (signer_cert) is stored in
//      tap_signers (./sql-signers.ts), and its leaf's DER hashes to that
//      fingerprint; else bad_signature ("… not stored");
//   2. the leaf is the record's signer (SPIFFE id) and the stream's proxy
//      (subject CN);
//   3. the signature verifies over the STORED hash with the leaf's key;
//   4. the chain leads to the trust bundle at the time the batch was first
//      received (a leaf expired less than the grace before it is judged at
//      its expiry, as the collector did). A chain whose top is issued by no
//      root of the bundle is 'unverifiable', not bad: its root may have
//      left the bundle after a CA rotation. A forger's own CA lands there
//      too, so unverifiable is never a pass (trail_integrity says so).
//
// Each of 1-3 failing is bad_signature. A certificate is parsed once, its
// chain walked once per validity window; a record costs one ECDSA verify.

import { X509Certificate, verify, type KeyObject } from 'node:crypto';
import { IdentityError, readSvid, type Svid, type TrustBundle } from '../identity/index.ts';
import { signedMessage } from './batch-signer.ts';
import { DEFAULT_EXPIRED_GRACE_MS } from './batch-verifier.ts';
import type { ChainAudit, ChainAuditSource, ChainProblem } from './chain-audit.ts';
import { FIRST_TAPS_SQL, readSigners, SIGNED_RECORDS_SQL, type StoredSigner } from './sql-signers.ts';
import { JSON_NUMBERS } from './sql.ts';

export interface SignatureAuditOptions {
  /** The roots the collector believed signatures under (or a function giving them), as Collector's `trust`. */
  trust: TrustBundle | (() => TrustBundle);
  /** As the collector's expiredGraceMs (default DEFAULT_EXPIRED_GRACE_MS). */
  expiredGraceMs?: number;
  /** Signed records read per query (default 1000). */
  pageRecords?: number;
}

interface SignedRecord { batch: number; first_seq: number; events: number; hash: string; signer: string; cert: string; sig: string; received: number }

/** A stored certificate, parsed: its chain and leaf key, or why it cannot be used. */
type Parsed =
  | { ok: true; chain: X509Certificate[]; key: KeyObject; svid: Svid; /** Times the chain was seen to verify in: [from, until]. */ valid: [number, number] | null }
  | { ok: false; why: string };

/** The oldest certificate kept, and how many. */
const KEPT_SINCE_SQL = `SELECT min(first_seen) AS since, count() AS n FROM tap_signers ${JSON_NUMBERS}`;

type Verdict = { kind: 'verified' } | { kind: 'bad_signature' | 'unverifiable'; detail: string };

const short = (h: string) => `${h.slice(0, 12)}…`;
const fp = (f: string) => `${f.slice(0, 23)}…`;
const iso = (ms: number) => new Date(ms).toISOString();

export class SignatureAudit {
  readonly #src: ChainAuditSource;
  readonly #bundle: TrustBundle;
  readonly #graceMs: number;
  readonly #page: number;
  /** Parsed certificates by fingerprint (null: not stored), across streams. */
  readonly #certs = new Map<string, Parsed | null>();
  /**
   * When the store began keeping certificates (the oldest first_seen;
   * Infinity when it holds none): a batch received before it was stored by
   * a collector that kept only fingerprints, so its certificate is missing
   * honestly. Read once per audit.
   */
  #keptSince: number | null = null;

  constructor(src: ChainAuditSource, opts: SignatureAuditOptions) {
    this.#src = src;
    this.#bundle = typeof opts.trust === 'function' ? opts.trust() : opts.trust; // one bundle for the whole audit
    this.#graceMs = opts.expiredGraceMs ?? DEFAULT_EXPIRED_GRACE_MS;
    this.#page = opts.pageRecords ?? 1000;
  }

  /**
   * Checks the signed records of one stream's batches of [from, until),
   * after the chain audit of that stream: adds its problems among the
   * stream's (the last in out.problems), counts verified_signatures, and
   * takes a batch with a new problem out of verified_batches.
   */
  async stream(proxy: string, stream: string, from: number, until: number, out: ChainAudit): Promise<void> {
    const found: ChainProblem[] = [];
    for (let fromBatch = 0; ;) {
      const page = (await this.#src.rows<Record<string, unknown>>(`reading the signed chain records of ${proxy}/${stream} from batch ${fromBatch}`, SIGNED_RECORDS_SQL,
        { proxy, stream, from_batch: fromBatch, from, until, limit: this.#page })).map(toRecord);
      if (page.length === 0) break;
      // A full page may end inside a batch's versions: leave that batch to the next page (unless it is all there is).
      const last = page[page.length - 1].batch;
      const whole = page.length < this.#page || page[0].batch === last ? page : page.filter((r) => r.batch !== last);
      await this.#load(whole.map((r) => r.cert));
      if (this.#keptSince === null) {
        const [r] = await this.#src.rows<{ since: number | null; n: number }>('reading when certificates were first kept', KEPT_SINCE_SQL, {});
        this.#keptSince = Number(r?.n ?? 0) > 0 ? Number(r.since) : Infinity;
      }
      const bad: { rec: SignedRecord; v: Exclude<Verdict, { kind: 'verified' }> }[] = [];
      for (const rec of whole) {
        const v = this.#judge(proxy, rec);
        if (v.kind === 'verified') out.verified_signatures++;
        else bad.push({ rec, v });
      }
      if (bad.length > 0) {
        const ts = await this.#firstTaps(proxy, stream, bad[0].rec.batch, bad[bad.length - 1].rec.batch);
        for (const { rec, v } of bad) {
          found.push({ proxy, stream, batch: rec.batch, first_seq: rec.first_seq, events: rec.events, ts: ts.get(rec.batch) ?? rec.received, problem: v.kind, detail: v.detail });
        }
      }
      fromBatch = whole[whole.length - 1].batch + 1;
    }
    if (found.length === 0) return;
    // This stream's problems are the last in the list, sorted by batch: merge ours in (stable, so a batch's chain problems stay first).
    let start = out.problems.length;
    while (start > 0 && out.problems[start - 1].proxy === proxy && out.problems[start - 1].stream === stream) start--;
    const mine = out.problems.splice(start);
    const before = new Map(mine.map((p) => [p.batch, p]));
    for (const p of found) p.ts = before.get(p.batch)?.ts ?? p.ts;
    const newlyBad = new Set(found.filter((p) => !before.has(p.batch)).map((p) => p.batch));
    out.verified_batches -= newlyBad.size;
    out.problems.push(...[...mine, ...found].sort((a, b) => a.batch - b.batch));
  }

  /** Reads the certificates not yet known. */
  async #load(fingerprints: string[]): Promise<void> {
    const missing = [...new Set(fingerprints)].filter((f) => !this.#certs.has(f));
    if (missing.length === 0) return;
    const stored = await readSigners((what, sql, params) => this.#src.rows(what, sql, params), missing);
    for (const f of missing) this.#certs.set(f, parse(f, stored.filter((s) => s.fingerprint === f)));
  }

  #judge(proxy: string, rec: SignedRecord): Verdict {
    const bad = (why: string): Verdict => ({ kind: 'bad_signature', detail: `signed by ${rec.signer} with certificate ${fp(rec.cert)}: ${why}` });
    const c = this.#certs.get(rec.cert);
    if (!c && rec.received < this.#keptSince!) {
      return { kind: 'unverifiable', detail: `signed by ${rec.signer} with certificate ${fp(rec.cert)}, stored before this store kept certificates (tap_signers): its signature cannot be checked again` };
    }
    if (!c) return bad('the certificate is not stored (tap_signers), so its signature cannot be checked again');
    if (!c.ok) return bad(c.why);
    if (c.svid.uri !== rec.signer) return bad(`the stored certificate is of ${c.svid.uri}, not of the signer the record names`);
    if (c.svid.proxy !== proxy) return bad(`the stored certificate is ${c.svid.proxy}'s, not ${proxy}'s`);
    let ok = false;
    try { ok = verify('sha256', signedMessage(rec.hash), c.key, Buffer.from(rec.sig, 'base64')); } catch { /* a malformed signature does not verify */ }
    if (!ok) return bad(`the signature does not verify over its stored hash ${short(rec.hash)} with ${c.svid.proxy}'s key: the hash (or the signature) was rewritten after the collector checked it`);
    // Judged when first received; a leaf expired less than the grace before, at its expiry (./batch-verifier.ts).
    const at = rec.received > c.svid.notAfter && rec.received - c.svid.notAfter <= this.#graceMs ? c.svid.notAfter : rec.received;
    if (c.valid && at >= c.valid[0] && at <= c.valid[1]) return { kind: 'verified' };
    const chained = this.#chain(c.chain, at);
    if (chained === null) {
      c.valid = validity(this.#bundle, c.chain);
      return { kind: 'verified' };
    }
    const when = `when the batch was received (${iso(rec.received)}${at === rec.received ? '' : `, judged at the leaf's expiry ${iso(at)}`})`;
    return chained.rootGone
      ? { kind: 'unverifiable', detail: `signed by ${rec.signer} with certificate ${fp(rec.cert)}, whose signature verifies, but ${chained.why} ${when}; the signature cannot be traced to a root of this bundle` }
      : bad(`${chained.why} ${when}`);
  }

  /** null when the chain leads to the bundle at `at`; else why, and whether its root is simply not in the bundle. */
  #chain(chain: X509Certificate[], at: number): { why: string; rootGone: boolean } | null {
    try {
      this.#bundle.verify(chain, at);
      return null;
    } catch (e) {
      if (!(e instanceof IdentityError)) throw e;
      // Walk the links the chain itself holds; a top that no root of the bundle issued (by name) is a root gone, not a forgery we can tell.
      for (let i = 0; i < chain.length; i++) {
        const c = chain[i];
        if (this.#bundle.roots.some((r) => c.checkIssued(r))) return { why: e.message, rootGone: false };
        const next = chain[i + 1];
        if (!next) {
          return { why: `its root (${c.issuer.replace(/\n/g, ', ')}) is not in the trust bundle (one that left it after a CA rotation, or one it never held)`, rootGone: true };
        }
        if (!next.ca || !c.checkIssued(next) || !c.verify(next.publicKey)) return { why: e.message, rootGone: false };
      }
      return { why: e.message, rootGone: false };
    }
  }

  async #firstTaps(proxy: string, stream: string, lo: number, hi: number): Promise<Map<number, number>> {
    const rows = await this.#src.rows<{ batch: number; first_ts: number }>(`reading the first taps of batches ${lo}..${hi} of ${proxy}/${stream}`, FIRST_TAPS_SQL, { proxy, stream, lo, hi });
    return new Map(rows.map((r) => [Number(r.batch), Number(r.first_ts)]));
  }
}

function toRecord(r: Record<string, unknown>): SignedRecord {
  return {
    batch: Number(r.batch), first_seq: Number(r.r_first_seq), events: Number(r.r_events), hash: String(r.r_hash), signer: String(r.r_signer), cert: String(r.r_cert), sig: String(r.r_sig), received: Number(r.first_received),
  };
}

/** The stored version of `fingerprint` whose leaf is that certificate, parsed; null when none is stored. */
function parse(fingerprint: string, versions: StoredSigner[]): Parsed | null {
  if (versions.length === 0) return null;
  const whys: string[] = [];
  for (const v of versions) {
    let chain: X509Certificate[];
    try {
      chain = v.x5c.map((c) => new X509Certificate(Buffer.from(c, 'base64')));
    } catch (e) {
      whys.push(`the stored x5c holds something that is not a DER X.509 certificate (${(e as Error).message})`);
      continue;
    }
    if (chain[0].fingerprint256 !== fingerprint) {
      whys.push(`the stored certificate is another one (its DER hashes to ${fp(chain[0].fingerprint256)})`);
      continue;
    }
    try {
      return { ok: true, chain, key: chain[0].publicKey, svid: readSvid(chain[0]), valid: null };
    } catch (e) {
      if (!(e instanceof IdentityError)) throw e;
      whys.push(e.message);
    }
  }
  return { ok: false, why: whys.join('; ') };
}

/**
 * Where a chain that verified once verifies: while every certificate in it
 * and the root that issued it are valid (TrustBundle.verify depends on the
 * time only through those). [from, until], epoch ms.
 */
function validity(bundle: TrustBundle, chain: X509Certificate[]): [number, number] {
  let from = -Infinity;
  let until = Infinity;
  for (const c of chain) {
    from = Math.max(from, Date.parse(c.validFrom));
    until = Math.min(until, Date.parse(c.validTo));
    const root = bundle.roots.find((r) => c.checkIssued(r) && c.verify(r.publicKey));
    if (root) return [from, Math.min(until, Date.parse(root.validTo))];
  }
  return [from, until];
}
