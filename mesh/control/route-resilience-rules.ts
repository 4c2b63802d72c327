// What a list of RouteResilienceRule (./snapshot.ts) must look like, and
// which rule a request takes. One set of rules for the operator API
// (PUT /v1/resilience/<service>), ControlPlane.setRouteResilience and the
// sidecar's snapshot check (mesh/proxy/config-validate.ts), so a list the
// control plane takes is never NACKed for its rules.
//
// A rule is judged against the cluster it overrides (its request timeout and
// retry policy), because what it leaves alone is inherited: a per-try timeout
// longer than the request timeout in force would never fire, and one without
// any retry policy in force would bound nothing.
//
// Which rule a request takes: the one with the LONGEST path_prefix the
// request's normalised path starts with; between two of the same prefix, the
// one naming the request's method before the one naming none. No two rules
// may share a prefix and a method, so at most one is ever the best.

import { retryProblems, type RetryPolicy } from './resilience.ts';
import type { RouteResilienceRule } from './snapshot.ts';

/** Most rules one service may carry. */
export const MAX_ROUTE_RESILIENCE_RULES = 64;
/** Methods a rule may name. CONNECT is not one: it is never routed by path. */
export const RULE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE'] as const;

const DAY_MS = 24 * 3600 * 1000;
const MAX_PREFIX = 256;
const FIELDS = ['path_prefix', 'methods', 'request_timeout_ms', 'per_try_timeout_ms', 'retry'];
// A path as the sidecar sees it after normalisation: visible ASCII, no query or fragment.
const PREFIX = /^\/[\x21-\x7e]*$/;

const shown = (v: unknown) => JSON.stringify(typeof v === 'string' ? v.slice(0, 80) : v) ?? 'nothing';
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isMs = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= DAY_MS;

/** What a rule inherits from the cluster it overrides. */
export interface OverriddenCluster { request_timeout_ms: number; retry?: RetryPolicy }

/** Every problem with `rules` for `cluster`, each naming its field under `at` ("rules", "routes[2].resilience"); [] when they can be taken. */
export function routeResilienceProblems(rules: unknown, at: string, cluster: OverriddenCluster): string[] {
  if (!Array.isArray(rules)) return [`${at}: must be an array of {path_prefix, methods?, request_timeout_ms?, per_try_timeout_ms?, retry?}`];
  const problems: string[] = [];
  if (rules.length > MAX_ROUTE_RESILIENCE_RULES) problems.push(`${at}: ${rules.length} rules, at most ${MAX_ROUTE_RESILIENCE_RULES}`);
  const seen = new Map<string, number>();
  for (const [i, r] of rules.slice(0, MAX_ROUTE_RESILIENCE_RULES + 1).entries()) {
    const rat = `${at}[${i}]`;
    if (!isObj(r)) { problems.push(`${rat}: must be an object`); continue; }
    problems.push(...ruleProblems(r, rat, cluster));
    if (typeof r.path_prefix !== 'string') continue;
    const methods = Array.isArray(r.methods) ? r.methods.filter((m): m is string => typeof m === 'string') : ['*'];
    for (const m of new Set(methods)) {
      const key = `${m} ${r.path_prefix}`;
      if (seen.has(key)) problems.push(`${rat}: the same path_prefix ${shown(r.path_prefix)}${m === '*' ? ' and no methods' : ` and method ${m}`} as ${at}[${seen.get(key)}]`);
      else seen.set(key, i);
    }
  }
  return problems;
}

function ruleProblems(r: Record<string, unknown>, at: string, cluster: OverriddenCluster): string[] {
  const p: string[] = [];
  for (const k of Object.keys(r)) if (!FIELDS.includes(k)) p.push(`${at}: unknown field ${shown(k)} (only ${FIELDS.join(', ')})`);
  if (typeof r.path_prefix !== 'string' || r.path_prefix.length > MAX_PREFIX || !PREFIX.test(r.path_prefix) || /[?#]/.test(r.path_prefix)) {
    p.push(`${at}.path_prefix: ${shown(r.path_prefix)} is not a path starting with "/" (at most ${MAX_PREFIX} visible ASCII characters, no "?" or "#")`);
  }
  if (r.methods !== undefined) {
    if (!Array.isArray(r.methods) || r.methods.length === 0) p.push(`${at}.methods: must be a non-empty array of ${RULE_METHODS.join(', ')} (or absent: every method)`);
    else {
      for (const [j, m] of r.methods.entries()) {
        if (!(RULE_METHODS as readonly unknown[]).includes(m)) p.push(`${at}.methods[${j}]: ${shown(m)} is not one of ${RULE_METHODS.join(', ')}`);
        else if (r.methods.indexOf(m) !== j) p.push(`${at}.methods[${j}]: ${shown(m)} is named twice`);
      }
    }
  }
  if (r.request_timeout_ms === undefined && r.per_try_timeout_ms === undefined && r.retry === undefined) {
    p.push(`${at}: overrides nothing (name request_timeout_ms, per_try_timeout_ms or retry)`);
  }
  if (r.request_timeout_ms !== undefined && !isMs(r.request_timeout_ms)) p.push(`${at}.request_timeout_ms: must be an integer in 1..${DAY_MS}, got ${shown(r.request_timeout_ms)}`);
  if (r.per_try_timeout_ms !== undefined && !isMs(r.per_try_timeout_ms)) p.push(`${at}.per_try_timeout_ms: must be an integer in 1..${DAY_MS}, got ${shown(r.per_try_timeout_ms)}`);
  const timeout = isMs(r.request_timeout_ms) ? r.request_timeout_ms : cluster.request_timeout_ms;
  if (r.retry !== undefined && r.retry !== false) p.push(...retryProblems(r.retry, `${at}.retry`, timeout));
  const retry = r.retry === undefined ? cluster.retry : r.retry === false ? undefined : r.retry as Partial<RetryPolicy>;
  if (r.per_try_timeout_ms !== undefined) {
    if (r.retry === false) p.push(`${at}.per_try_timeout_ms: retry is false, so there are no tries to bound (a single try is bounded by request_timeout_ms)`);
    else if (!retry) p.push(`${at}.per_try_timeout_ms: the cluster has no retry policy to bound the tries of; give retry too`);
    else if (isObj(r.retry) && r.retry.per_try_timeout_ms !== undefined) p.push(`${at}.per_try_timeout_ms: also given as retry.per_try_timeout_ms; name it once`);
    else if (isMs(r.per_try_timeout_ms) && r.per_try_timeout_ms > timeout) {
      p.push(`${at}.per_try_timeout_ms: ${r.per_try_timeout_ms} is more than the request timeout in force (${timeout}), which bounds every try together`);
    }
  } else if (r.retry === undefined && isMs(r.request_timeout_ms) && retry?.per_try_timeout_ms !== undefined && retry.per_try_timeout_ms > r.request_timeout_ms) {
    p.push(`${at}.request_timeout_ms: ${r.request_timeout_ms} is less than the cluster's retry.per_try_timeout_ms (${retry.per_try_timeout_ms}); give per_try_timeout_ms too`);
  }
  return p;
}

/** `rules` in the order a request tries them: longest prefix first, a rule naming methods before one naming none; a new array. */
export function matchOrder<R extends { path_prefix: string; methods?: readonly string[] }>(rules: readonly R[]): R[] {
  return [...rules].sort((a, b) => b.path_prefix.length - a.path_prefix.length || (a.methods ? 0 : 1) - (b.methods ? 0 : 1));
}

/** The rule a request takes from rules in matchOrder, or undefined. */
export function matchingRule<R extends { path_prefix: string; methods?: readonly string[] }>(ordered: readonly R[], method: string, path: string): R | undefined {
  for (const r of ordered) if (path.startsWith(r.path_prefix) && (r.methods === undefined || r.methods.includes(method))) return r;
  return undefined;
}

/** What a request taking `rule` runs with: its request timeout and retry policy (undefined: no retries). */
export function overridden(rule: RouteResilienceRule, cluster: OverriddenCluster): { request_timeout_ms: number; retry?: RetryPolicy } {
  const base = rule.retry === false ? undefined : rule.retry ?? cluster.retry;
  const retry = base && rule.per_try_timeout_ms !== undefined ? { ...base, per_try_timeout_ms: rule.per_try_timeout_ms } : base;
  return { request_timeout_ms: rule.request_timeout_ms ?? cluster.request_timeout_ms, ...(retry ? { retry } : {}) };
}
