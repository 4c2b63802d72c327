// One tap event <-> one `taps` row. Rows are flat and carry every column;
// fields a kind lacks take the column defaults. Reading back keeps only the
// fields of the event's kind, so the tap explorer shows what was recorded.

import type { TapBatch } from './batch.ts';
import type { TapKind } from './schema/v1.ts';

const COMMON_FIELDS = [
  'v', 'kind', 'proxy', 'seq', 'ts', 'direction', 'conn_id',
  'src_service', 'src_instance', 'src_addr', 'src_port',
  'dst_service', 'dst_instance', 'dst_addr', 'dst_port',
] as const;

/** Optional fields stored as '' when absent; dropped again on read when ''. */
const OPTIONAL_COMMON = ['src_identity', 'dst_identity', 'tls_version'] as const;

const KIND_FIELDS: Record<TapKind, { required: readonly string[]; optional: readonly string[] }> = {
  'l4.open': { required: [], optional: [] },
  'l4.close': { required: ['bytes_in', 'bytes_out', 'duration_ms', 'end'], optional: ['error'] },
  'l7.request': {
    required: ['method', 'authority', 'path', 'status', 'latency_ms', 'req_bytes', 'resp_bytes', 'upstream', 'retries', 'trace_id'],
    optional: ['headers', 'decision', 'decision_reason', 'error'],
  },
};

/** A batch's events as `taps` rows (stream and batch added, headers as a JSON string). */
export function batchRows(batch: TapBatch): Record<string, unknown>[] {
  return batch.events.map((e) => {
    const row: Record<string, unknown> = { ...e, stream: batch.stream, batch: batch.batch };
    if (e.kind === 'l7.request') row.headers = JSON.stringify(e.headers ?? {});
    return row;
  });
}

/**
 * A batch's events as JSONEachRow text for `taps`: the same rows as
 * batchRows, as objects separated by commas (ClickHouse's JSONEachRow
 * reader skips a comma between rows, 18.16 included). One JSON.stringify
 * over the whole batch rather than one per row: profiled, per-row
 * serialization (the client's, or ours) cost ~5 µs per tap of the
 * collector's ~40, the bulk call ~4.
 */
export function batchJsonRows(batch: TapBatch): string {
  const { stream, batch: n } = batch;
  return JSON.stringify(batch.events.map((e) => (e.kind === 'l7.request' && e.headers !== undefined
    ? { stream, batch: n, ...e, headers: JSON.stringify(e.headers) }
    : { stream, batch: n, ...e }))).slice(1, -1);
}

/** A stored row as the event it came from, plus `stream` and `batch`. */
export function rowToTap(row: Record<string, unknown>): Record<string, unknown> {
  const kind = row.kind as TapKind;
  const spec = KIND_FIELDS[kind] ?? { required: [], optional: [] };
  const out: Record<string, unknown> = { stream: row.stream, batch: row.batch };
  for (const f of [...COMMON_FIELDS, ...spec.required]) out[f] = row[f];
  for (const f of [...OPTIONAL_COMMON, ...spec.optional]) {
    const val = row[f];
    if (f === 'headers') {
      const h = typeof val === 'string' && val !== '' ? JSON.parse(val) as Record<string, string> : {};
      if (Object.keys(h).length > 0) out.headers = h;
    } else if (val !== '' && val !== undefined) {
      out[f] = val;
    }
  }
  return out;
}
