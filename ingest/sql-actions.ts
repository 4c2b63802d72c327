// The queries of the actions table (./sql.ts): each action's newest state,
// filtered, and one action's every state. Values come in as {name:Type}
// parameters like every other query (./sql-literal.ts on legacy servers).
//
// The table keeps every state as its own row (key id, updated_at, state), so
// the newest state per id is picked by LIMIT 1 BY, not by FINAL; FINAL only
// collapses a row written twice (legacy servers have no insert dedup). Both
// work on 18.16 and on ClickHouse 26.

import { ACTION_KINDS, ACTION_STATES, type ActionKind, type ActionState } from './action-record.ts';
import { IngestError } from './errors.ts';
import { JSON_NUMBERS } from './sql.ts';

export interface ActionQuery {
  /** updated_at of the newest state: since <= updated_at < until (epoch ms). */
  since?: number;
  until?: number;
  state?: ActionState;
  kind?: ActionKind;
  service?: string;
  /** Records whose alert_ids contain this alert id. */
  alert?: string;
  limit: number;
}

/** Each filter as its condition on the newest state; the only conditions a WHERE may hold. */
const FILTERS = {
  since: 'updated_at >= {since:UInt64}',
  until: 'updated_at < {until:UInt64}',
  state: 'state = {state:String}',
  kind: 'kind = {kind:String}',
  service: 'service = {service:String}',
  alert: 'has(alert_ids, {alert:String})',
} as const;
type FilterKey = keyof typeof FILTERS;

// Of two states of one id at the same ms (the writer avoids them), the
// later in lifecycle order reads as newer, the same way on every read.
const RANK = `indexOf([${ACTION_STATES.map((s) => `'${s}'`).join(', ')}], state)`;

/** One action's every state, oldest first. */
export const ACTION_HISTORY_SQL = `
SELECT * FROM actions FINAL WHERE id = {id:String} ORDER BY updated_at, ${RANK} ${JSON_NUMBERS}`;

/** The SQL and parameters of actions(opts); throws INGEST_ERR_CONFIG naming every bad option. */
export function actionsQuery(opts: ActionQuery): { sql: string; params: Record<string, unknown> } {
  const bad: string[] = [];
  const ms = (k: 'since' | 'until') => {
    const v = opts[k];
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0)) bad.push(`${k} must be epoch ms (an integer >= 0), got ${v}`);
  };
  ms('since');
  ms('until');
  if (!Number.isInteger(opts.limit) || opts.limit < 0 || opts.limit > 0xffffffff) bad.push(`limit must be an integer >= 0, got ${opts.limit}`);
  if (opts.state !== undefined && !ACTION_STATES.includes(opts.state)) bad.push(`state must be one of ${ACTION_STATES.join(', ')}, got ${JSON.stringify(opts.state)}`);
  if (opts.kind !== undefined && !ACTION_KINDS.includes(opts.kind)) bad.push(`kind must be one of ${ACTION_KINDS.join(', ')}, got ${JSON.stringify(opts.kind)}`);
  for (const k of ['service', 'alert'] as const) if (opts[k] !== undefined && typeof opts[k] !== 'string') bad.push(`${k} must be a string`);
  if (bad.length > 0) throw new IngestError('INGEST_ERR_CONFIG', `actions: ${bad.join('; ')}`);
  const keys = (Object.keys(FILTERS) as FilterKey[]).filter((k) => opts[k] !== undefined);
  const where = keys.length > 0 ? ` WHERE ${keys.map((k) => FILTERS[k]).join(' AND ')}` : '';
  const sql = `
SELECT * FROM (SELECT * FROM actions FINAL ORDER BY id, updated_at DESC, ${RANK} DESC LIMIT 1 BY id)${where}
ORDER BY updated_at DESC, id LIMIT {limit:UInt32} ${JSON_NUMBERS}`;
  return { sql, params: Object.fromEntries([...keys.map((k) => [k, opts[k]]), ['limit', opts.limit]]) };
}
