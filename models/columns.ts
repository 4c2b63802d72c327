// What a feature column measures, read from its name, so a CSV from another
// exporter gets the same treatment as the mesh's own rollups. Two things
// depend on it (see features.ts):
//   - the request-rate column (`requests`, `rps`, `request_rate`, `qps`, …):
//     only a drop counts, and it divides the volume columns;
//   - volume columns, counts or totals per step that grow with traffic
//     (bytes in/out, connections, retries, denies, error counts): they become
//     per-request ratios, so a flash crowd that brings proportionally more of
//     everything is normal, while exfiltration (more bytes out per request)
//     or a connection leak stands out. Connections per request only count
//     when they rise.
// A name is split into lower-case words (`txBytes`, `tx-bytes`, `TX_BYTES`
// all give tx, bytes). Anything not recognised passes through unchanged:
// p50/p99 latency, error rates, CPU, queue depth.

export type VolumeKind = 'bytes' | 'connections' | 'retries' | 'denies' | 'errors';

export interface ColumnPlan {
  /** The request-rate column, or null when none is recognised (then nothing is divided). */
  requests: string | null;
  /** Volume columns divided by the request column, with what each counts. */
  perRequest: { name: string; kind: VolumeKind }[];
}

const REQUEST_WORDS = new Set(['requests', 'request', 'reqs', 'req', 'rps', 'qps', 'tps', 'rpm', 'throughput', 'calls', 'hits', 'traffic']);
/** Words that may sit beside a request word without changing what the column is. */
const RATE_WORDS = new Set(['rate', 'count', 'counts', 'total', 'num', 'n', 'per', 's', 'sec', 'secs', 'second', 'seconds', 'ps',
  'min', 'minute', 'm', 'http', 'grpc', 'incoming', 'inbound', 'served', 'received', 'step', 'bucket', '10s', '1m']);
const VOLUME_WORDS: [VolumeKind, Set<string>][] = [
  ['bytes', new Set(['bytes', 'byte', 'octets', 'kb', 'mb', 'kib', 'mib', 'bandwidth', 'payload'])],
  ['connections', new Set(['connections', 'connection', 'conns', 'conn', 'sockets', 'socket'])],
  ['retries', new Set(['retries', 'retry', 'retried', 'retransmits', 'retransmissions'])],
  ['denies', new Set(['denies', 'deny', 'denied', 'rejected', 'rejects', 'rejections', 'forbidden'])],
  ['errors', new Set(['errors', 'error', 'errs', 'err', 'failures', 'failed', 'fails', '5xx'])],
];
/**
 * Words that make a column a ratio, an average or a size already: never divided
 * again. `rate` is per second for retries or bytes, a fraction for errors.
 */
const NOT_VOLUME = new Set(['ratio', 'pct', 'percent', 'percentage', 'fraction', 'share', 'avg', 'average', 'mean',
  'median', 'size', 'p50', 'p90', 'p95', 'p99', 'p999', 'max', 'latency', 'ms', 'duration', 'time', 'per']);
const TIME_UNITS = new Set(['s', 'sec', 'second', 'min', 'minute', 'step', 'bucket']);

/** `txBytes_per-s` → ['tx', 'bytes', 'per', 's']. */
export function nameWords(name: string): string[] {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
}

export function isRequestColumn(name: string): boolean {
  const w = nameWords(name);
  return w.some((x) => REQUEST_WORDS.has(x)) && w.every((x) => REQUEST_WORDS.has(x) || RATE_WORDS.has(x));
}

/** What a volume column counts, or null when the name is not a count that grows with traffic. */
export function volumeKind(name: string): VolumeKind | null {
  const w = nameWords(name);
  // "per second" is still a volume; "per request" (or any other per) is a ratio already.
  const per = w.indexOf('per');
  if (per >= 0 && !TIME_UNITS.has(w[per + 1])) return null;
  if (w.some((x, i) => NOT_VOLUME.has(x) && !(per >= 0 && (i === per || i === per + 1)))) return null;
  for (const [kind, words] of VOLUME_WORDS) {
    if (w.some((x) => words.has(x))) return kind === 'errors' && w.includes('rate') ? null : kind;
  }
  return null;
}

/** The plan for a set of columns: the first request column (an exact `requests` first) and the volumes. */
export function planColumns(names: readonly string[]): ColumnPlan {
  const requests = names.includes('requests') ? 'requests' : names.find(isRequestColumn) ?? null;
  if (requests === null) return { requests, perRequest: [] };
  const perRequest = names.flatMap((name) => {
    const kind = name === requests ? null : volumeKind(name);
    return kind ? [{ name, kind }] : [];
  });
  return { requests, perRequest };
}

/** The plan models saved before `planColumns` used: exact rollup names only. */
export function legacyPlan(names: readonly string[]): ColumnPlan {
  if (!names.includes('requests')) return { requests: null, perRequest: [] };
  const kinds: Record<string, VolumeKind> = { bytes_in: 'bytes', bytes_out: 'bytes', connections: 'connections', retries: 'retries', denies: 'denies' };
  return { requests: 'requests', perRequest: names.filter((n) => n in kinds).map((name) => ({ name, kind: kinds[name] })) };
}
