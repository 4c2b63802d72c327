// What a list of RateLimitRule (./snapshot.ts) must look like. One set of
// rules for the operator API, ControlPlane.setRateLimits and the sidecar's
// snapshot check (mesh/proxy/config-validate.ts), so a list the control plane
// takes is never NACKed for its rules.

import { isName } from '../../identity/index.ts';

/** Most rules one service may carry. */
export const MAX_RATE_LIMIT_RULES = 64;
/** Largest rps and burst: beyond this a bucket limits nothing a sidecar could carry. */
export const MAX_RATE = 1_000_000;
const MAX_PREFIX = 256;
const FIELDS = new Set(['caller', 'path_prefix', 'rps', 'burst']);
// A path as the sidecar sees it after normalisation: visible ASCII, no query or fragment.
const PREFIX = /^\/[\x21-\x7e]*$/;

const shown = (v: unknown) => JSON.stringify(typeof v === 'string' ? v.slice(0, 80) : v) ?? 'nothing';

/** The key no two rules may share: who and which paths. */
export const ruleKey = (r: { caller?: string; path_prefix?: string }) => `${r.caller ?? '*'} ${r.path_prefix ?? ''}`;

/** Every problem with `rules`, each naming its field under `at` ("rules", "rate_limits"); [] when they can be taken. */
export function rateLimitProblems(rules: unknown, at: string): string[] {
  if (!Array.isArray(rules)) return [`${at}: must be an array of {caller?, path_prefix?, rps, burst}`];
  const problems: string[] = [];
  if (rules.length > MAX_RATE_LIMIT_RULES) problems.push(`${at}: ${rules.length} rules, at most ${MAX_RATE_LIMIT_RULES}`);
  const seen = new Map<string, number>();
  for (const [i, r] of rules.slice(0, MAX_RATE_LIMIT_RULES + 1).entries()) {
    const rat = `${at}[${i}]`;
    if (r === null || typeof r !== 'object' || Array.isArray(r)) { problems.push(`${rat}: must be an object`); continue; }
    const o = r as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!FIELDS.has(k)) problems.push(`${rat}: unknown field ${shown(k)} (only caller, path_prefix, rps, burst)`);
    if (o.caller !== undefined && (typeof o.caller !== 'string' || !isName(o.caller))) problems.push(`${rat}.caller: ${shown(o.caller)} is not a service name (1-128 of [A-Za-z0-9._-])`);
    if (o.path_prefix !== undefined && (typeof o.path_prefix !== 'string' || o.path_prefix.length > MAX_PREFIX || !PREFIX.test(o.path_prefix) || /[?#]/.test(o.path_prefix))) {
      problems.push(`${rat}.path_prefix: ${shown(o.path_prefix)} is not a path starting with "/" (at most ${MAX_PREFIX} visible ASCII characters, no "?" or "#")`);
    }
    if (typeof o.rps !== 'number' || !Number.isFinite(o.rps) || o.rps <= 0 || o.rps > MAX_RATE) problems.push(`${rat}.rps: must be a number in (0, ${MAX_RATE}], got ${shown(o.rps)}`);
    if (typeof o.burst !== 'number' || !Number.isInteger(o.burst) || o.burst < 1 || o.burst > MAX_RATE) problems.push(`${rat}.burst: must be an integer in 1..${MAX_RATE}, got ${shown(o.burst)}`);
    const key = ruleKey(o as { caller?: string; path_prefix?: string });
    if (seen.has(key)) problems.push(`${rat}: the same caller and path_prefix as ${at}[${seen.get(key)}]`);
    else seen.set(key, i);
  }
  return problems;
}
