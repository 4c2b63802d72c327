// Shape check of one received batch: the batch fields, every event through
// validateTap, and events matching the batch (same proxy, contiguous seq).
// Stateless; the hash chain is ingest/chain.ts's job.

import type { TapBatch } from './batch.ts';
import { IngestError } from './errors.ts';
import { validateTap } from './schema/v1.ts';

/** Problems listed in one error message before "and N more". */
const MAX_LISTED = 10;

const HASH_RE = /^[0-9a-f]{64}$/;
const isUint = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isName = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 128;

const BATCH_FIELDS: Record<string, [(v: unknown) => boolean, string]> = {
  schema: [(v) => v === 1, 'must be 1'],
  proxy: [isName, 'must be a string of 1..128 characters'],
  stream: [isName, 'must be a string of 1..128 characters'],
  batch: [isUint, 'must be an integer >= 0'],
  first_seq: [isUint, 'must be an integer >= 0'],
  lost: [isUint, 'must be an integer >= 0'],
  events: [Array.isArray, 'must be an array'],
  prev_hash: [(v) => typeof v === 'string' && HASH_RE.test(v), 'must be 64 lower-case hex digits'],
  hash: [(v) => typeof v === 'string' && HASH_RE.test(v), 'must be 64 lower-case hex digits'],
};

/** "batch 3 of web-1/s1", with whatever identity fields are readable. */
export function batchLabel(o: Record<string, unknown>): string {
  const part = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v).slice(0, 128) : '?');
  return `batch ${part(o.batch)} of ${part(o.proxy)}/${part(o.stream)}`;
}

function listed(problems: string[]): string {
  const more = problems.length - MAX_LISTED;
  return problems.slice(0, MAX_LISTED).join('; ') + (more > 0 ? `; and ${more} more` : '');
}

/** The body as a TapBatch, or an IngestError naming every problem found (up to MAX_LISTED). */
export function checkBatch(body: unknown): TapBatch {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new IngestError('INGEST_ERR_MALFORMED', 'tap batch must be a JSON object');
  }
  const o = body as Record<string, unknown>;
  const label = batchLabel(o);
  if (o.schema !== 1) {
    throw new IngestError('INGEST_ERR_SCHEMA_VERSION', `${label}: schema ${JSON.stringify(o.schema)} is not supported (this collector reads schema 1)`);
  }
  const problems: string[] = [];
  for (const [field, [ok, msg]] of Object.entries(BATCH_FIELDS)) {
    if (o[field] === undefined) problems.push(`${field}: missing`);
    else if (!ok(o[field])) problems.push(`${field}: ${msg}`);
  }
  for (const field of Object.keys(o)) if (!(field in BATCH_FIELDS)) problems.push(`${field}: unknown field`);
  if (problems.length > 0) throw new IngestError('INGEST_ERR_MALFORMED', `${label}: ${listed(problems)}`);

  const events = o.events as unknown[];
  for (let i = 0; i < events.length && problems.length < MAX_LISTED + 1; i++) {
    const e = events[i] as Record<string, unknown>;
    const seq = e !== null && typeof e === 'object' && e.seq !== undefined ? ` (seq ${String(e.seq).slice(0, 32)})` : '';
    for (const p of validateTap(events[i])) problems.push(`event ${i}${seq}: ${p}`);
  }
  if (problems.length > 0) throw new IngestError('INGEST_ERR_MALFORMED', `${label}: ${listed(problems)}`);

  const b = o as unknown as TapBatch;
  b.events.forEach((e, i) => {
    if (e.proxy !== b.proxy) problems.push(`event ${i} (seq ${e.seq}): proxy ${e.proxy} differs from the batch's ${b.proxy}`);
    if (e.seq !== b.first_seq + i) problems.push(`event ${i}: seq ${e.seq}, expected ${b.first_seq + i} (first_seq ${b.first_seq} + ${i})`);
  });
  if (problems.length > 0) throw new IngestError('INGEST_ERR_SEQ', `${label}: ${listed(problems)}`);
  return b;
}
