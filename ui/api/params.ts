// Query-string validation for the JSON API. Each parser reports the first
// problem as UI_ERR_BAD_PARAM naming the parameter and what was received.

import { DECISIONS, DIRECTIONS, TAP_FLAGS, TAP_KINDS, type Direction, type TapFilter } from '../../ingest/index.ts';
import { UiError } from './errors.ts';

export const DEFAULT_WINDOW_S = 60;
export const MIN_WINDOW_S = 10;
export const MAX_WINDOW_S = 3600;
export const DEFAULT_TAP_LIMIT = 50;
export const MAX_TAP_LIMIT = 1000;

type Query = Record<string, unknown>;

/** `window` in seconds, an integer in 10..3600; 60 when absent. */
export function parseWindow(query: Query): number {
  return intParam(query, 'window', DEFAULT_WINDOW_S, MIN_WINDOW_S, MAX_WINDOW_S);
}

export interface TapQuery {
  filter: TapFilter;
  /** Taps where this service is the caller or the callee (TapFilter has no OR, so the route merges two reads). */
  service?: string;
  limit: number;
}

/**
 * `limit` (1..1000, default 50), `kind`, `direction`, `proxy`, `src`, `dst`, `decision`, `flag` (a data-plane
 * decision the tap's flags name: retried, ejected, …), `service`, `since` and `until` (epoch ms, since <= ts < until).
 */
export function parseTapQuery(query: Query): TapQuery {
  const limit = intParam(query, 'limit', DEFAULT_TAP_LIMIT, 1, MAX_TAP_LIMIT);
  const filter: TapFilter = {};
  const kind = oneOf(query, 'kind', TAP_KINDS);
  if (kind) filter.kind = kind;
  const direction = oneOf(query, 'direction', DIRECTIONS) as Direction | undefined;
  if (direction) filter.direction = direction;
  const proxy = name(query, 'proxy');
  if (proxy) filter.proxy = proxy;
  const src = name(query, 'src');
  if (src) filter.src_service = src;
  const dst = name(query, 'dst');
  if (dst) filter.dst_service = dst;
  const decision = oneOf(query, 'decision', DECISIONS);
  if (decision) filter.decision = decision;
  const flag = oneOf(query, 'flag', TAP_FLAGS);
  if (flag) filter.flag = flag;
  const since = epochMsParam(query, 'since');
  if (since !== undefined) filter.since = since;
  const until = epochMsParam(query, 'until');
  if (until !== undefined) filter.until = until;
  if (since !== undefined && until !== undefined && until <= since) {
    throw new UiError('UI_ERR_BAD_PARAM', `query parameter until (${until}) must be after since (${since})`);
  }
  const service = name(query, 'service');
  return service ? { filter, service, limit } : { filter, limit };
}

function single(query: Query, key: string): string | undefined {
  const v = query[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new UiError('UI_ERR_BAD_PARAM', `query parameter ${key}: give it once, as a plain value`);
  return v;
}

export function intParam(query: Query, key: string, dflt: number, min: number, max: number): number {
  const raw = single(query, key);
  if (raw === undefined || raw === '') return dflt;
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UiError('UI_ERR_BAD_PARAM', `query parameter ${key} must be an integer in ${min}..${max}, got ${JSON.stringify(raw.slice(0, 40))}`);
  }
  return n;
}

export function oneOf<T extends string>(query: Query, key: string, values: readonly T[]): T | undefined {
  const raw = single(query, key);
  if (raw === undefined || raw === '') return undefined;
  if (!(values as readonly string[]).includes(raw)) {
    throw new UiError('UI_ERR_BAD_PARAM', `query parameter ${key} must be one of ${values.join(', ')}, got ${JSON.stringify(raw.slice(0, 40))}`);
  }
  return raw as T;
}

/** Service and proxy names: what the tap schema allows (≤ 128 characters), printable. */
export function nameParam(query: Query, key: string): string | undefined { return name(query, key); }

function name(query: Query, key: string): string | undefined {
  const raw = single(query, key);
  if (raw === undefined || raw === '') return undefined;
  if (raw.length > 128 || /[\u0000-\u001f]/.test(raw)) {
    throw new UiError('UI_ERR_BAD_PARAM', `query parameter ${key} must be a name of at most 128 printable characters`);
  }
  return raw;
}

/** An optional epoch-ms time (an integer >= 0). */
export function epochMsParam(query: Query, key: string): number | undefined {
  const raw = single(query, key);
  if (raw === undefined || raw === '') return undefined;
  const n = /^\d{1,16}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n)) {
    throw new UiError('UI_ERR_BAD_PARAM', `query parameter ${key} must be epoch milliseconds (an integer >= 0), got ${JSON.stringify(raw.slice(0, 40))}`);
  }
  return n;
}

/** An optional id: at most `max` printable characters. */
export function idParam(query: Query, key: string, max: number): string | undefined {
  const raw = single(query, key);
  if (raw === undefined || raw === '') return undefined;
  return idText(raw, `query parameter ${key}`, max);
}

/** `raw` when it is 1..max printable characters; else UI_ERR_BAD_PARAM naming `what`. */
export function idText(raw: string, what: string, max: number): string {
  if (raw.length === 0 || raw.length > max || /[\u0000-\u001f\u007f]/.test(raw)) {
    throw new UiError('UI_ERR_BAD_PARAM', `${what} must be 1..${max} printable characters`);
  }
  return raw;
}

/** Refuses a query parameter the route does not know, naming it and the ones it does. */
export function onlyParams(query: Query, known: readonly string[]): void {
  const unknown = Object.keys(query).find((k) => !known.includes(k));
  if (unknown !== undefined) {
    throw new UiError('UI_ERR_BAD_PARAM', `query parameter ${JSON.stringify(unknown.slice(0, 40))} is not known here (known: ${known.join(', ')})`);
  }
}
