// The compliance evidence queries (issue 14): what a report checks, read
// from the raw taps and records the store holds, in both dialects. Values
// come in as {name:Type} parameters like every other query (./sql-literal.ts
// turns them into literals on legacy servers); the regular expressions are
// constants of this file, quoted as literals.
//
// Raw taps, not rollups: the rollups carry neither TLS nor identity. Reads
// of taps collapse duplicates the way countTaps does (FINAL on the
// 'replacing' layout, see ./sql.ts), and every answer is bounded: counts
// are aggregates, samples come through LIMIT n BY (18.16 has it too).
//
// Secrets are looked for in SQL (re2 match/extract, on both dialects) and
// never leave it: a finding carries the rule that fired and the matched
// value redacted ("eyJh…(152 chars)"), and every pointer's path has secret
// values cut out. Headers are a JSON string column; modern servers split it
// with JSONExtractKeysAndValues, 18.16 (no JSONExtract*) with a regex over
// the `"name":"value"` pairs JSON.stringify writes, each string unescaped by
// visitParamExtractString. 18.16 prefilters a regex's literal part case-
// sensitively even under (?i) (measured: match('HELLO', '(?i)hello') = 0),
// so each (?i) pattern here has its literals inside an alternation, which
// turns the prefilter off; the store suite checks upper-case secrets.

import { rowToAlert } from './alert-row.ts';
import { IngestError } from './errors.ts';
import { FORBIDDEN_HEADERS } from './schema/v1.ts';
import { quoteString } from './sql-literal.ts';
import { JSON_NUMBERS, type SqlDialect, type StoreLayout } from './sql.ts';
import type {
  ChainHead, EvidenceEdge, LossRecord, RejectCounts, SecretFinding, SecretFindings, SecretRule, StoredAlert, StoreRetention, TapPointer,
} from './store.ts';

type Row = Record<string, unknown>;
/** Reads the rows of one query; failures name `what` (SqlTapStore's own reader). */
export type ReadRows = (what: string, sql: string, params: Record<string, unknown>) => Promise<Row[]>;

const QUERY_KEYS = 'token|access_token|id_token|password|passwd|pwd|secret|api_key|apikey|key|auth|session|sig|signature';
const JWT = String.raw`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`;
const AWS_KEY = 'AKIA[0-9A-Z]{16}';

/** The rules in the order they are tried, and what each matches: a field's value, or (secret_header) a header's name. */
export const SECRET_RULES: readonly { rule: SecretRule; pattern: string; quotes: string | null }[] = [
  { rule: 'private_key', pattern: '-----BEGIN [A-Z ]*PRIVATE KEY-----', quotes: '-----BEGIN [A-Z ]*PRIVATE KEY-----[^-]*(?:-----END [A-Z ]*PRIVATE KEY-----)?' },
  { rule: 'aws_access_key', pattern: AWS_KEY, quotes: AWS_KEY },
  { rule: 'jwt', pattern: JWT, quotes: JWT },
  // quotes null: the whole value is the secret.
  { rule: 'bearer_basic', pattern: '(?i)^(bearer|basic) ', quotes: null },
  { rule: 'secret_query_key', pattern: `(?i)[?&](${QUERY_KEYS})=`, quotes: `(?i)[?&](?:${QUERY_KEYS})=([^&#]*)` },
  { rule: 'secret_header', pattern: `(?i)^(${[...FORBIDDEN_HEADERS].join('|')})$|token|secret|password|api-key`, quotes: null },
];

const lit = quoteString;
const RULE = `multiIf(${SECRET_RULES.map(({ rule, pattern }) => (rule === 'secret_header'
  ? `name != '' AND value != '' AND match(name, ${lit(pattern)}), ${lit(rule)}`
  : `match(value, ${lit(pattern)}), ${lit(rule)}`)).join(', ')}, '')`;
const MATCHED = `multiIf(${SECRET_RULES.filter((r) => r.quotes !== null).map((r) => `rule = ${lit(r.rule)}, extract(value, ${lit(r.quotes!)})`).join(', ')}, value)`;
// The first 4 characters, but never more than a third of the value: a short
// secret is not shown whole. (18.16 wants a constant length in substringUTF8.)
const PREFIX = `multiIf(${[4, 3, 2, 1].map((n) => `lengthUTF8(matched) >= ${3 * n}, substringUTF8(matched, 1, ${n})`).join(', ')}, '')`;
const EXCERPT = `concat(${PREFIX}, '…(', toString(lengthUTF8(matched)), ' chars)')`;

/** `col` with the values of secret query keys, JWTs and AWS keys cut out. */
const redacted = (col: string) => `replaceRegexpAll(replaceRegexpAll(replaceRegexpAll(${col},
  ${lit(`(?i)([?&](?:${QUERY_KEYS})=)[^&#]*`)}, ${lit('\\1…')}), ${lit(JWT)}, 'eyJ…'), ${lit(AWS_KEY)}, 'AKIA…')`;

const POINTER_COLUMNS = 'proxy, seq, ts, src_service, dst_service, direction, method, path, status, decision, decision_reason, tls_version, src_identity';
const POINTER = POINTER_COLUMNS.replace('path', `${redacted('path')} AS pointer_path`);

/** A headers JSON string as an array of (name, value). */
const JSON_STRING = String.raw`"(?:[^"\\]|\\.)*"`;
const unquote = (quoted: string) => `visitParamExtractString(concat('{"v":', ${quoted}, '}'), 'v')`;
const headerPairs = (d: SqlDialect) => (d === 'modern'
  ? "JSONExtractKeysAndValues(headers, 'String')"
  : `arrayMap(q -> (${unquote(`extract(q, ${lit(`^(${JSON_STRING}):`)})`)}, ${unquote(`extract(q, ${lit(`:(${JSON_STRING})$`)})`)}),
    extractAll(headers, ${lit(`${JSON_STRING}:${JSON_STRING}`)}))`);

const MTLS = "tls_version != '' AND src_identity != ''";
const L7 = "kind = 'l7.request'";
const UNDECIDED = "decision NOT IN ('allow', 'deny')";
const DENY_NO_REASON = "decision = 'deny' AND decision_reason = ''";
const PERIOD = 'ts >= {from:UInt64} AND ts < {until:UInt64}';
const INBOUND = `direction = 'inbound' AND kind IN ('l7.request', 'l4.open') AND ${PERIOD}`;

/** The SQL of one dialect and layout. */
export function evidenceSql(dialect: SqlDialect, layout: StoreLayout) {
  const final = layout === 'replacing' ? ' FINAL' : ''; // as countTaps (./sql.ts)
  // Every field of every l7 tap in the period as (field, name, value): the path, then each header.
  const scan = `
SELECT ${POINTER_COLUMNS}, arrayJoin(arrayConcat([('path', '', path)], arrayMap(p -> (concat('header:', p.1), p.1, p.2), ${headerPairs(dialect)}))) AS f,
  f.1 AS field, f.2 AS name, f.3 AS value
FROM taps${final} WHERE ${L7} AND ${PERIOD}`;
  const findings = `SELECT *, ${RULE} AS rule FROM (${scan})`;
  return {
    edges: `
SELECT src_service, dst_service,
  countIf(${L7}) AS requests, countIf(${L7} AND ${MTLS}) AS mtls_requests,
  countIf(kind = 'l4.open') AS connections, countIf(kind = 'l4.open' AND ${MTLS}) AS mtls_connections,
  countIf(${L7} AND decision = 'allow') AS allowed, countIf(${L7} AND decision = 'deny') AS denied, countIf(${L7} AND ${UNDECIDED}) AS undecided,
  countIf(${L7} AND ${DENY_NO_REASON}) AS denies_without_reason, countIf(${L7} AND (status >= 500 OR status = 0)) AS errors,
  min(ts) AS first_ts, max(ts) AS last_ts
FROM taps${final} WHERE ${INBOUND}
GROUP BY src_service, dst_service ORDER BY src_service, dst_service ${JSON_NUMBERS}`,
    // A tap is a sample of every kind it qualifies for.
    edgeSamples: `
SELECT sample, ${POINTER} FROM (
  SELECT ${POINTER_COLUMNS}, arrayJoin(arrayFilter(x -> x != '', [
    if(NOT (${MTLS}), 'plaintext', ''), if(${L7} AND ${UNDECIDED}, 'none', ''),
    if(${L7} AND ${DENY_NO_REASON}, 'deny_no_reason', ''), if(${L7} AND decision != 'deny', 'admitted', '')])) AS sample
  FROM taps${final} WHERE ${INBOUND})
ORDER BY src_service, dst_service, sample, ts, proxy, seq LIMIT {n:UInt32} BY src_service, dst_service, sample ${JSON_NUMBERS}`,
    scanned: `SELECT count() AS n FROM taps${final} WHERE ${L7} AND ${PERIOD} ${JSON_NUMBERS}`,
    secretsByRule: `SELECT rule, count() AS n FROM (${findings}) WHERE rule != '' GROUP BY rule ORDER BY rule ${JSON_NUMBERS}`,
    secretSamples: `
SELECT rule, field, ${EXCERPT} AS excerpt, ${POINTER}
FROM (SELECT *, ${MATCHED} AS matched FROM (${findings}) WHERE rule != '')
ORDER BY rule, ts, proxy, seq, field LIMIT {limit:UInt32} BY rule ${JSON_NUMBERS}`,
    // tap_loss: MergeTree with one record per insert (token dedup) on modern servers, ReplacingMergeTree on legacy.
    loss: `
SELECT proxy, stream, ts, from_seq, count, reason FROM tap_loss${dialect === 'legacy' ? ' FINAL' : ''}
WHERE ${PERIOD} ORDER BY ts, proxy, stream, from_seq ${JSON_NUMBERS}`,
    // tap_rejects is ReplacingMergeTree in every layout: a frame refused again is one row.
    rejects: `
SELECT code, count() AS frames FROM tap_rejects FINAL
WHERE received_at >= {from:UInt64} AND received_at < {until:UInt64} GROUP BY code ORDER BY code ${JSON_NUMBERS}`,
    ttls: `SELECT name, engine_full FROM system.tables WHERE database = currentDatabase() AND name IN ('taps', 'rollup_service_10s')`,
    oldestTap: `SELECT count() AS n, min(ts) AS oldest FROM taps ${JSON_NUMBERS}`,
    // chainHeads (./sql.ts) before `until`. A batch stored again later keeps
    // its first record only until a merge keeps the last (ReplacingMergeTree):
    // then it counts from the later received_at.
    chainHeadsAt: `
SELECT proxy, stream, max(b.batch) AS head_batch, argMax(b.hash, b.batch) AS head_hash,
  argMax(toInt64(b.first_seq) + toInt64(b.events) - 1, b.batch) AS last_seq, argMax(b.lost, b.batch) AS head_lost
FROM tap_batches AS b WHERE b.received_at < {until:UInt64} GROUP BY proxy, stream ORDER BY proxy, stream ${JSON_NUMBERS}`,
    // FINAL in a subquery, as alerts(): the period filter sees only each id's newest state.
    alertsInPeriod: `
SELECT id, scope, subject, state, opened_at, updated_at, resolved_at, score, threshold, features, explanation, model_version
FROM (SELECT * FROM alerts FINAL) WHERE opened_at < {until:UInt64} AND (resolved_at = 0 OR resolved_at >= {from:UInt64})
ORDER BY opened_at, id ${JSON_NUMBERS}`,
  };
}

/**
 * Days of the TTL in a table's engine_full (`TTL … + INTERVAL 7 DAY`, which
 * ClickHouse shows as `toIntervalDay(7)`); null when the table has no TTL.
 */
export function ttlDays(engineFull: string, table: string): number | null {
  const ttl = /\bTTL\b(.*?)(?:\bSETTINGS\b|$)/s.exec(engineFull);
  if (!ttl) return null;
  const m = /\+\s*(?:INTERVAL\s+(\d+)\s+(DAY|WEEK)|toInterval(Day|Week)\((\d+)\))/i.exec(ttl[1]);
  // A TTL read as "none" would claim nothing is deleted: refuse instead.
  if (!m) throw new IngestError('INGEST_ERR_STORE', `retention: cannot read the TTL of ${table}: ${ttl[0].trim().slice(0, 200)}`);
  const n = Number(m[1] ?? m[4]);
  return /week/i.test(m[2] ?? m[3]) ? n * 7 : n;
}

const pointer = (r: Row): TapPointer => ({
  proxy: String(r.proxy), seq: Number(r.seq), ts: Number(r.ts), src_service: String(r.src_service), dst_service: String(r.dst_service),
  direction: String(r.direction), method: String(r.method), path: String(r.pointer_path), status: Number(r.status), decision: String(r.decision),
  decision_reason: String(r.decision_reason), tls_version: String(r.tls_version), src_identity: String(r.src_identity),
});

/** Checks a period (epoch ms, from <= until) and a count; throws INGEST_ERR_CONFIG naming the method and every problem. */
function checked(what: string, p: { from?: number; until: number }, count?: [string, number]): void {
  const bad: string[] = [];
  for (const k of ['from', 'until'] as const) {
    if (k in p && !(Number.isSafeInteger(p[k]) && (p[k] as number) >= 0)) bad.push(`${k} must be epoch ms (an integer >= 0), got ${p[k]}`);
  }
  if (bad.length === 0 && p.from !== undefined && p.from > p.until) bad.push(`from ${p.from} is after until ${p.until}`);
  if (count && !(Number.isInteger(count[1]) && count[1] >= 0 && count[1] <= 0xffffffff)) bad.push(`${count[0]} must be an integer >= 0, got ${count[1]}`);
  if (bad.length > 0) throw new IngestError('INGEST_ERR_CONFIG', `${what}: ${bad.join('; ')}`);
}

/** The evidence reads of one store: SQL from evidenceSql, rows shaped as ./store.ts says. */
export class EvidenceReads {
  readonly #read: ReadRows;
  readonly #sql: ReturnType<typeof evidenceSql>;

  constructor(read: ReadRows, dialect: SqlDialect, layout: StoreLayout) {
    this.#read = read;
    this.#sql = evidenceSql(dialect, layout);
  }

  async edges(from: number, until: number, samplesPerEdge: number): Promise<EvidenceEdge[]> {
    checked('evidenceEdges', { from, until }, ['samplesPerEdge', samplesPerEdge]);
    const rows = await this.#read('reading evidence edges', this.#sql.edges, { from, until });
    const samples = samplesPerEdge === 0 ? [] : await this.#read('reading evidence edge samples', this.#sql.edgeSamples, { from, until, n: samplesPerEdge });
    const edges = new Map<string, EvidenceEdge>();
    for (const r of rows) {
      const n = (k: string) => Number(r[k]);
      edges.set(JSON.stringify([r.src_service, r.dst_service]), {
        src: String(r.src_service), dst: String(r.dst_service),
        requests: n('requests'), mtls_requests: n('mtls_requests'), plaintext_requests: n('requests') - n('mtls_requests'),
        connections: n('connections'), mtls_connections: n('mtls_connections'),
        allow: n('allowed'), deny: n('denied'), none: n('undecided'), denies_without_reason: n('denies_without_reason'), errors: n('errors'),
        first_ts: n('first_ts'), last_ts: n('last_ts'),
        samples: { plaintext: [], none: [], deny_no_reason: [], admitted: [] },
      });
    }
    for (const r of samples) {
      const e = edges.get(JSON.stringify([r.src_service, r.dst_service]));
      e?.samples[r.sample as keyof EvidenceEdge['samples']].push(pointer(r));
    }
    return [...edges.values()];
  }

  async secrets(from: number, until: number, limit: number): Promise<SecretFindings> {
    checked('secretFindings', { from, until }, ['limit', limit]);
    const [{ n: scanned }] = await this.#read('counting l7 taps scanned for secrets', this.#sql.scanned, { from, until });
    const counts = await this.#read('counting secret findings', this.#sql.secretsByRule, { from, until });
    const by_rule = Object.fromEntries(SECRET_RULES.map((r) => [r.rule, 0])) as Record<SecretRule, number>;
    for (const c of counts) by_rule[c.rule as SecretRule] = Number(c.n);
    const rows = limit === 0 ? [] : await this.#read('reading secret findings', this.#sql.secretSamples, { from, until, limit });
    // Up to `limit` of each rule came back; take them in turns, so that a rule that fired rarely is still shown.
    const lists = SECRET_RULES.map((r) => rows.filter((x) => x.rule === r.rule));
    const picked: Row[] = [];
    for (let i = 0; picked.length < limit && lists.some((l) => l.length > i); i++) {
      for (const l of lists) if (l.length > i && picked.length < limit) picked.push(l[i]);
    }
    const samples: SecretFinding[] = picked.map((r) => ({ ...pointer(r), field: String(r.field) as SecretFinding['field'], rule: r.rule as SecretRule, excerpt: String(r.excerpt) }));
    samples.sort((a, b) => a.ts - b.ts || (a.proxy < b.proxy ? -1 : a.proxy > b.proxy ? 1 : 0) || a.seq - b.seq || (a.field < b.field ? -1 : a.field > b.field ? 1 : 0));
    return { scanned: Number(scanned), findings: Object.values(by_rule).reduce((a, b) => a + b, 0), by_rule, samples };
  }

  async loss(from: number, until: number): Promise<LossRecord[]> {
    checked('lossRecords', { from, until });
    const rows = await this.#read('reading loss records', this.#sql.loss, { from, until });
    return rows.map((r) => ({
      proxy: String(r.proxy), stream: String(r.stream), ts: Number(r.ts), from_seq: Number(r.from_seq), count: Number(r.count), reason: String(r.reason),
    }));
  }

  async rejects(from: number, until: number): Promise<RejectCounts> {
    checked('rejectCounts', { from, until });
    const rows = await this.#read('counting refused frames', this.#sql.rejects, { from, until });
    const by_code = Object.fromEntries(rows.map((r) => [String(r.code), Number(r.frames)]));
    return { frames: Object.values(by_code).reduce((a, b) => a + b, 0), by_code };
  }

  async retention(): Promise<StoreRetention> {
    const tables = await this.#read('reading table TTLs', this.#sql.ttls, {});
    const days = (t: string) => {
      const row = tables.find((r) => r.name === t);
      if (!row) throw new IngestError('INGEST_ERR_STORE', `retention: table ${t} not found`);
      return ttlDays(String(row.engine_full), t);
    };
    const [{ n, oldest }] = await this.#read('reading the oldest tap', this.#sql.oldestTap, {});
    return { taps_days: days('taps'), rollup_days: days('rollup_service_10s'), oldest_tap_ts: Number(n) > 0 ? Number(oldest) : null };
  }

  async chainHeadsAt(until: number): Promise<ChainHead[]> {
    checked('chainHeadsAt', { until });
    const rows = await this.#read(`reading chain heads at ${until}`, this.#sql.chainHeadsAt, { until });
    return rows.map((r) => ({
      proxy: String(r.proxy), stream: String(r.stream), batch: Number(r.head_batch), hash: String(r.head_hash), last_seq: Number(r.last_seq), lost: Number(r.head_lost),
    }));
  }

  async alertsInPeriod(from: number, until: number): Promise<StoredAlert[]> {
    checked('alertsInPeriod', { from, until });
    return (await this.#read('reading alerts of the period', this.#sql.alertsInPeriod, { from, until })).map(rowToAlert);
  }
}
