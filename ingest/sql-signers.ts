// The certificates tap batches were signed under (tap_signers, ./sql.ts),
// and the signed chain records the signature audit (./signature-audit.ts)
// checks against them. tap_batches keeps only a certificate's fingerprint;
// without the certificate a stored signature could never be checked again,
// so someone who rewrote rows and every hash after them would pass the
// chain audit.
//
// The same text for both dialects ({name:Type} placeholders become
// literals on 18.16, ./sql-literal.ts, which has no arrays: a list of
// fingerprints is one placeholder each).

import { IngestError } from './errors.ts';
import { JSON_NUMBERS } from './sql.ts';

/** One signer's certificate as the collector stored it when it first believed a signature by it. */
export interface StoredSigner {
  /** SHA-256 of the leaf's DER, colon hex as node prints it (tap_batches.signer_cert). */
  fingerprint: string;
  /** Base64 DER certificates as the frame's signature line carried them: the leaf first, then intermediates. */
  x5c: string[];
  /** The leaf's SPIFFE id and subject CN (the proxy). */
  uri: string;
  proxy: string;
  /** When the collector first wrote it, epoch ms. */
  first_seen: number;
}

/** Fingerprints asked for in one query (one placeholder each). */
const PER_QUERY = 200;
/** Versions of one fingerprint read back: an honest store has one (or copies of it). */
const MAX_VERSIONS = 10;

type Rows = <T>(what: string, sql: string, params: Record<string, unknown>) => Promise<T[]>;

/** A tap_signers row; refuses a signer the audit could never use. */
export function signerRow(s: StoredSigner): Record<string, unknown> {
  const problems: string[] = [];
  if (typeof s.fingerprint !== 'string' || !/^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/.test(s.fingerprint)) problems.push('fingerprint: must be a SHA-256 fingerprint, colon hex');
  if (!Array.isArray(s.x5c) || s.x5c.length === 0 || !s.x5c.every((c) => typeof c === 'string' && c.length > 0)) problems.push('x5c: must be 1 or more base64 DER certificates, the leaf first');
  if (typeof s.uri !== 'string' || typeof s.proxy !== 'string') problems.push('uri, proxy: must be strings');
  if (!Number.isSafeInteger(s.first_seen) || s.first_seen < 0) problems.push('first_seen: must be epoch milliseconds');
  if (problems.length > 0) throw new IngestError('INGEST_ERR_MALFORMED', `signer ${String(s.fingerprint).slice(0, 32)}: ${problems.join('; ')}`);
  return { fingerprint: s.fingerprint, x5c: s.x5c, uri: s.uri, proxy: s.proxy, first_seen: s.first_seen };
}

/**
 * The stored versions of each fingerprint asked for: an honest store has
 * one per fingerprint (copies collapse here, the oldest first_seen kept);
 * a rewritten one may have more, and the audit judges each.
 */
export async function readSigners(rows: Rows, fingerprints: readonly string[]): Promise<StoredSigner[]> {
  const out = new Map<string, StoredSigner>();
  const wanted = [...new Set(fingerprints)];
  for (let i = 0; i < wanted.length; i += PER_QUERY) {
    const part = wanted.slice(i, i + PER_QUERY);
    const params = Object.fromEntries(part.map((f, j) => [`f${j}`, f]));
    const sql = `
SELECT fingerprint, x5c, uri, proxy, first_seen FROM tap_signers
WHERE fingerprint IN (${part.map((_, j) => `{f${j}:String}`).join(', ')})
ORDER BY fingerprint, first_seen LIMIT ${MAX_VERSIONS} BY fingerprint ${JSON_NUMBERS}`;
    const got = await rows<StoredSigner>(`reading ${part.length} signer certificate${part.length === 1 ? '' : 's'} (first: ${part[0]})`, sql, params);
    for (const r of got) {
      const s = { fingerprint: r.fingerprint, x5c: r.x5c, uri: r.uri, proxy: r.proxy, first_seen: Number(r.first_seen) };
      const key = JSON.stringify([s.fingerprint, s.x5c, s.uri, s.proxy]);
      if (!out.has(key)) out.set(key, s);
    }
  }
  return [...out.values()];
}

/**
 * Signed chain records of one stream's batches of the period (received in
 * it, or holding a tap whose ts is in it: the chain audit's period,
 * ./sql-chain-audit.ts), from batch {from_batch} on, up to {limit}: every
 * distinct (hash, signer, certificate, signature) of a batch, with when it
 * was first received.
 */
export const SIGNED_RECORDS_SQL = `
SELECT batch, hash AS r_hash, signer AS r_signer, signer_cert AS r_cert, signature AS r_sig, min(received_at) AS first_received,
  any(first_seq) AS r_first_seq, any(events) AS r_events
FROM tap_batches
WHERE proxy = {proxy:String} AND stream = {stream:String} AND signer != '' AND batch >= {from_batch:UInt64}
  AND (batch IN (SELECT batch FROM (
        SELECT batch, min(received_at) AS received FROM tap_batches WHERE proxy = {proxy:String} AND stream = {stream:String} GROUP BY batch
      ) WHERE received >= {from:UInt64} AND received < {until:UInt64})
    OR batch IN (SELECT batch FROM taps WHERE proxy = {proxy:String} AND stream = {stream:String} AND ts >= {from:UInt64} AND ts < {until:UInt64}))
GROUP BY batch, hash, signer, signer_cert, signature
ORDER BY batch, first_received LIMIT {limit:UInt32} ${JSON_NUMBERS}`;

/** The ts of the first stored tap (lowest seq) of each of a stream's batches {lo}..{hi} that has any. */
export const FIRST_TAPS_SQL = `
SELECT batch, argMin(ts, seq) AS first_ts FROM taps
WHERE proxy = {proxy:String} AND stream = {stream:String} AND batch >= {lo:UInt64} AND batch <= {hi:UInt64}
GROUP BY batch ${JSON_NUMBERS}`;
