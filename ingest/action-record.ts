// The record of a tuning action (mesh/control/tuning/ decides and applies
// them): one ActionRecord per state an action passes through, stored as a
// row of the `actions` table (./sql.ts) and read back newest state per id
// (./sql-actions.ts). The check here runs before anything is written, so a
// record the store holds always reads back as the same record: every string
// bounded, every JSON column a JSON object (or array) that survives its text
// unchanged and stays under ACTION_LIMITS.jsonBytes.

import { isDeepStrictEqual } from 'node:util';
import { IngestError } from './errors.ts';

export const ACTION_KINDS = ['shift', 'eject', 'scale', 'ratelimit'] as const;
/** In lifecycle order: of two states written at the same ms (the engine avoids it), the later here reads as newer. */
export const ACTION_STATES = ['proposed', 'refused', 'dry_run', 'awaiting_approval', 'applied', 'verified', 'reverted', 'rejected', 'failed', 'expired'] as const;
export const ACTION_MODES = ['off', 'dry-run', 'approve', 'auto'] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];
export type ActionState = (typeof ACTION_STATES)[number];
export type ActionMode = (typeof ACTION_MODES)[number];

export interface ActionRecord {
  /** One per action; its rows are its states. */
  id: string;
  state: ActionState;
  /** Epoch ms; the newest row per id wins. Two states of one id at the same ms are the writer's to avoid: it makes this strictly grow. */
  updated_at: number;
  /** Epoch ms, the same in every state of an action (retention counts from it). */
  proposed_at: number;
  kind: ActionKind;
  /** The service (shift, scale, ratelimit) or instance (eject) it acts on. */
  subject: string;
  /** The service concerned (for an instance: its service). */
  service: string;
  /** The mode its kind was in when it was decided. */
  mode: ActionMode;
  /** What is (to be) applied, after guardrails: a JSON object. */
  params: unknown;
  /** What the policy asked for, before guardrails: a JSON object. */
  requested: unknown;
  /** '' or which bound clipped or refused it and how. */
  guardrail: string;
  /** The policy's explanation. */
  reason: string;
  /** Alerts that caused it. */
  alert_ids: string[];
  /** Figures that caused it: a JSON object. */
  evidence: unknown;
  /** sha256 (hex) of the tuning policy bundle that decided it; '' for an operator's own action. */
  policy_digest: string;
  /** Config snapshot versions before / after applying (0 when not applied). */
  config_before: number;
  config_after: number;
  /** When each affected sidecar ACKed config_after. */
  acks: { proxy: string; at: number }[];
  /** Verification verdict, revert reason, error, who approved/rejected. */
  detail: string;
  /** 'engine', or 'operator' for approvals/rejections/manual actions. */
  actor: string;
}

/** Bounds of a record: characters of each string field, bytes of each JSON column's text, entries of the lists. */
export const ACTION_LIMITS = {
  chars: { id: 200, subject: 300, service: 200, guardrail: 2_000, reason: 4_000, detail: 4_000, actor: 200, alert_id: 300, ack_proxy: 300 },
  jsonBytes: 32_768,
  alertIds: 64,
  acks: 512,
} as const;

const FIELDS: readonly (keyof ActionRecord)[] = [
  'id', 'state', 'updated_at', 'proposed_at', 'kind', 'subject', 'service', 'mode', 'params', 'requested', 'guardrail',
  'reason', 'alert_ids', 'evidence', 'policy_digest', 'config_before', 'config_after', 'acks', 'detail', 'actor',
];
const JSON_OBJECTS = ['params', 'requested', 'evidence'] as const;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const CONTROL = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (v === null || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? 'an array' : `an object (${Object.getPrototypeOf(v)?.constructor?.name ?? 'no prototype'})`;
}
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

/** Problems of a string: '' when fine. `line`: one line of text (no control characters), as names are. */
function textProblem(v: unknown, max: number, opts: { empty: boolean; line: boolean }): string {
  if (typeof v !== 'string') return `must be a string, got ${typeof v}`;
  if (!opts.empty && v === '') return 'must not be empty';
  if (v.length > max) return `must be at most ${max} characters, got ${v.length}`;
  // A lone surrogate has no UTF-8 form: it would not read back as written.
  if (LONE_SURROGATE.test(v)) return 'must be well-formed text (no lone surrogates)';
  if (opts.line && CONTROL.test(v)) return 'must not hold control characters';
  return '';
}

const epochMsProblem = (v: unknown) => (Number.isSafeInteger(v) && (v as number) > 0 ? '' : `must be epoch ms (an integer > 0), got ${show(v)}`);

/** Problems of a value kept as JSON text: '' when it reads back equal and fits. */
function jsonProblem(v: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(v);
  } catch (e) {
    return `is not JSON: ${(e as Error).message}`;
  }
  if (text === undefined || !isDeepStrictEqual(JSON.parse(text), v)) {
    return 'must survive JSON text unchanged (no undefined, NaN, Infinity, -0, functions or class instances)';
  }
  const bytes = Buffer.byteLength(text);
  return bytes > ACTION_LIMITS.jsonBytes ? `is ${bytes} bytes as JSON, at most ${ACTION_LIMITS.jsonBytes}` : '';
}

/** Every problem of a would-be ActionRecord, each naming its field; [] when it may be stored. */
export function actionRecordProblems(r: unknown): string[] {
  if (!isPlainObject(r)) return [`record must be a plain object, got ${show(r)}`];
  const out: string[] = [];
  const add = (field: string, problem: string) => { if (problem) out.push(`${field} ${problem}`); };
  for (const k of Object.keys(r)) if (!(FIELDS as readonly string[]).includes(k)) out.push(`${k} is not a field of an action record`);
  const { chars } = ACTION_LIMITS;
  for (const k of ['id', 'subject', 'service', 'actor'] as const) add(k, textProblem(r[k], chars[k], { empty: false, line: true }));
  for (const k of ['guardrail', 'reason', 'detail'] as const) add(k, textProblem(r[k], chars[k], { empty: true, line: false }));
  const oneOf = (k: string, allowed: readonly string[]) => {
    if (!allowed.includes(r[k] as string)) out.push(`${k} must be one of ${allowed.join(', ')}, got ${show(r[k])}`);
  };
  oneOf('state', ACTION_STATES);
  oneOf('kind', ACTION_KINDS);
  oneOf('mode', ACTION_MODES);
  add('updated_at', epochMsProblem(r.updated_at));
  add('proposed_at', epochMsProblem(r.proposed_at));
  if (Number.isSafeInteger(r.updated_at) && Number.isSafeInteger(r.proposed_at) && (r.updated_at as number) < (r.proposed_at as number)) {
    out.push(`updated_at ${r.updated_at} is before proposed_at ${r.proposed_at}`);
  }
  for (const k of ['config_before', 'config_after'] as const) {
    if (!Number.isSafeInteger(r[k]) || (r[k] as number) < 0) out.push(`${k} must be a config version (an integer >= 0), got ${show(r[k])}`);
  }
  if (r.policy_digest !== '' && !(typeof r.policy_digest === 'string' && SHA256_HEX.test(r.policy_digest))) {
    out.push(`policy_digest must be '' or a sha256 in lowercase hex, got ${show(r.policy_digest)}`);
  }
  for (const k of JSON_OBJECTS) add(k, isPlainObject(r[k]) ? jsonProblem(r[k]) : `must be a JSON object, got ${show(r[k])}`);
  if (!Array.isArray(r.alert_ids)) out.push(`alert_ids must be an array of alert ids, got ${show(r.alert_ids)}`);
  else if (r.alert_ids.length > ACTION_LIMITS.alertIds) out.push(`alert_ids must hold at most ${ACTION_LIMITS.alertIds} ids, got ${r.alert_ids.length}`);
  else r.alert_ids.forEach((a, i) => add(`alert_ids[${i}]`, textProblem(a, chars.alert_id, { empty: false, line: true })));
  if (!Array.isArray(r.acks)) out.push(`acks must be an array of {proxy, at}, got ${show(r.acks)}`);
  else if (r.acks.length > ACTION_LIMITS.acks) out.push(`acks must hold at most ${ACTION_LIMITS.acks} entries, got ${r.acks.length}`);
  else {
    const before = out.length;
    for (const [i, a] of (r.acks as unknown[]).entries()) {
      if (!isPlainObject(a) || Object.keys(a).some((k) => k !== 'proxy' && k !== 'at')) {
        out.push(`acks[${i}] must be {proxy, at}`);
        continue;
      }
      add(`acks[${i}].proxy`, textProblem(a.proxy, chars.ack_proxy, { empty: false, line: true }));
      add(`acks[${i}].at`, epochMsProblem(a.at));
    }
    if (out.length === before) add('acks', jsonProblem(r.acks)); // only its size is left to check
  }
  return out;
}

/** The actions table's row for one record (JSON columns as text); throws INGEST_ERR_MALFORMED naming every problem. */
export function actionToRow(r: ActionRecord): Record<string, unknown> {
  const problems = actionRecordProblems(r);
  if (problems.length > 0) {
    const id = typeof (r as { id?: unknown })?.id === 'string' ? JSON.stringify(r.id.slice(0, 80)) : '?';
    throw new IngestError('INGEST_ERR_MALFORMED', `action ${id}: ${problems.join('; ')}`);
  }
  return {
    ...r, params: JSON.stringify(r.params), requested: JSON.stringify(r.requested), evidence: JSON.stringify(r.evidence),
    acks: JSON.stringify(r.acks), alert_ids: [...r.alert_ids],
  };
}

/** A stored row as the record it was written from. */
export function rowToAction(row: Record<string, unknown>): ActionRecord {
  const json = (k: string) => {
    try {
      return JSON.parse(String(row[k]));
    } catch (e) {
      throw new IngestError('INGEST_ERR_MALFORMED', `action ${JSON.stringify(row.id)}: stored ${k} is not JSON: ${(e as Error).message}`);
    }
  };
  return {
    id: String(row.id), state: row.state as ActionState, updated_at: Number(row.updated_at), proposed_at: Number(row.proposed_at),
    kind: row.kind as ActionKind, subject: String(row.subject), service: String(row.service), mode: row.mode as ActionMode,
    params: json('params'), requested: json('requested'), guardrail: String(row.guardrail), reason: String(row.reason),
    alert_ids: (row.alert_ids as unknown[]).map(String), evidence: json('evidence'), policy_digest: String(row.policy_digest),
    config_before: Number(row.config_before), config_after: Number(row.config_after), acks: json('acks'),
    detail: String(row.detail), actor: String(row.actor),
  };
}
