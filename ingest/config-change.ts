// The control plane's change log (mesh/control/config-log.ts records it):
// one ConfigChange per change to what sidecars enforce, kept in the
// `config_changes` table (./sql.ts) and read back per report period
// (./sql-changes.ts). Checked before anything is written, so a stored
// change always reads back as the same record.

import { IngestError } from './errors.ts';

export const CONFIG_CHANGE_KINDS = ['authz_policy', 'tuning_policy', 'route', 'ejection', 'ratelimit', 'resilience', 'registry'] as const;
export type ConfigChangeKind = (typeof CONFIG_CHANGE_KINDS)[number];

/** The subject of a record that states its kind's whole state (at startup, at a checkpoint, and always for the two policies). */
export const WHOLE_KIND = '*';

export interface ConfigChange {
  /** Epoch ms the change was made. */
  ts: number;
  /** The control plane's snapshot version after the change (the tuning policy, which sidecars never see: the version in force). */
  version: number;
  kind: ConfigChangeKind;
  /**
   * What changed: the service (route, ratelimit, registry) or instance
   * (ejection), or WHOLE_KIND ('*'): then `detail` is the kind's whole
   * state, and older records of single subjects of that kind are no
   * longer in force.
   */
  subject: string;
  /** sha256 (hex) of the policy bundle in force after the change; '' for no policy and for the other kinds. */
  digest: string;
  /** Who made it: 'operator', 'tuning', 'startup', 'checkpoint', 'sidecar' (registry), 'expiry' (an ejection ran out). */
  actor: string;
  /** The subject's state after the change as JSON text ('null': nothing set any more). */
  detail: string;
}

/** What configChanges(from, until) answers. */
export interface ConfigChanges {
  /**
   * The records in force when the period began: the newest per (kind,
   * subject) with ts < from, less those a newer '*' record of their kind
   * replaced; by kind, then subject.
   */
  at_start: ConfigChange[];
  /** Records with from <= ts < until, oldest first. */
  during: ConfigChange[];
}

export const CONFIG_CHANGE_LIMITS = { subjectChars: 300, actorChars: 200, detailBytes: 65_536 } as const;

const FIELDS = ['ts', 'version', 'kind', 'subject', 'digest', 'actor', 'detail'];
const SHA256_HEX = /^[0-9a-f]{64}$/;
const CONTROL = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : typeof v === 'object' && v !== null ? 'an object' : String(v));

/** '' when `v` is one line of text of 1..max characters that reads back as written. */
export function lineProblem(v: unknown, max: number): string {
  if (typeof v !== 'string') return `must be a string, got ${show(v)}`;
  if (v === '') return 'must not be empty';
  if (v.length > max) return `must be at most ${max} characters, got ${v.length}`;
  if (LONE_SURROGATE.test(v)) return 'must be well-formed text (no lone surrogates)';
  return CONTROL.test(v) ? 'must not hold control characters' : '';
}

/** '' when `v` is JSON text of at most maxBytes bytes (`shape` checks what it parses to, answering '' or a problem). */
export function jsonTextProblem(v: unknown, maxBytes: number, shape: (parsed: unknown) => string = () => ''): string {
  if (typeof v !== 'string') return `must be JSON text, got ${show(v)}`;
  if (LONE_SURROGATE.test(v)) return 'must be well-formed text (no lone surrogates)';
  const bytes = Buffer.byteLength(v);
  if (bytes > maxBytes) return `is ${bytes} bytes, at most ${maxBytes}`;
  try {
    return shape(JSON.parse(v));
  } catch (e) {
    return `is not JSON: ${(e as Error).message}`;
  }
}

export const epochMsProblem = (v: unknown, min = 1) =>
  (Number.isSafeInteger(v) && (v as number) >= min ? '' : `must be epoch ms (an integer >= ${min}), got ${show(v)}`);

/** Every problem of a would-be ConfigChange, each naming its field; [] when it may be stored. */
export function configChangeProblems(c: unknown): string[] {
  if (c === null || typeof c !== 'object' || Array.isArray(c)) return [`config change must be an object, got ${show(c)}`];
  const r = c as Record<string, unknown>;
  const out: string[] = [];
  const add = (field: string, problem: string) => { if (problem) out.push(`${field} ${problem}`); };
  for (const k of Object.keys(r)) if (!FIELDS.includes(k)) out.push(`${k} is not a field of a config change`);
  add('ts', epochMsProblem(r.ts));
  if (!Number.isSafeInteger(r.version) || (r.version as number) < 0) out.push(`version must be a config version (an integer >= 0), got ${show(r.version)}`);
  if (!(CONFIG_CHANGE_KINDS as readonly unknown[]).includes(r.kind)) out.push(`kind must be one of ${CONFIG_CHANGE_KINDS.join(', ')}, got ${show(r.kind)}`);
  add('subject', lineProblem(r.subject, CONFIG_CHANGE_LIMITS.subjectChars));
  if (r.digest !== '' && !(typeof r.digest === 'string' && SHA256_HEX.test(r.digest))) out.push(`digest must be '' or a sha256 in lowercase hex, got ${show(r.digest)}`);
  add('actor', lineProblem(r.actor, CONFIG_CHANGE_LIMITS.actorChars));
  add('detail', jsonTextProblem(r.detail, CONFIG_CHANGE_LIMITS.detailBytes));
  return out;
}

/** The config_changes row of a change; throws INGEST_ERR_MALFORMED naming every problem. */
export function configChangeRow(c: ConfigChange): Record<string, unknown> {
  const problems = configChangeProblems(c);
  if (problems.length > 0) {
    const what = typeof c?.kind === 'string' && typeof c?.subject === 'string' ? `${c.kind.slice(0, 40)} ${JSON.stringify(c.subject.slice(0, 80))}` : '?';
    throw new IngestError('INGEST_ERR_MALFORMED', `config change ${what}: ${problems.join('; ')}`);
  }
  return { ts: c.ts, version: c.version, kind: c.kind, subject: c.subject, digest: c.digest, actor: c.actor, detail: c.detail };
}

/** A stored row as the change it was written from. */
export function rowToConfigChange(row: Record<string, unknown>): ConfigChange {
  return {
    ts: Number(row.ts), version: Number(row.version), kind: row.kind as ConfigChangeKind, subject: String(row.subject),
    digest: String(row.digest), actor: String(row.actor), detail: String(row.detail),
  };
}

/** The newest record per (kind, subject), less single-subject records older than their kind's newest '*' record. */
export function inForce(newestPerSubject: readonly ConfigChange[]): ConfigChange[] {
  const whole = new Map(newestPerSubject.filter((c) => c.subject === WHOLE_KIND).map((c) => [c.kind, c]));
  return newestPerSubject.filter((c) => {
    const w = whole.get(c.kind);
    return c.subject === WHOLE_KIND || !w || c.ts > w.ts || (c.ts === w.ts && c.version >= w.version);
  });
}
