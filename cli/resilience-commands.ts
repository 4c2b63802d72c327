// `meshlens control resilience get|set|clear`: per-route timeout and retry
// overrides (PUT /v1/resilience/<service>, mesh/control/route-resilience-api.ts)
// through the control plane's operator API (HTTPS checked against
// <data-dir>/ca/bundle.pem, the token in <data-dir>/operator-token). The
// control plane judges every rule; this only shapes the request and prints
// the problems it names.
//
// `set` with --path changes one rule (the one of that path and methods) and
// keeps the others; with --rules or --rules-file it replaces them all.

import { readFileSync } from 'node:fs';
import { OPERATOR_CLIENT_FLAGS, controlClientOf, operatorCall } from './control-client.ts';
import { parseFlags, UsageError, type FlagSpec, type FlagValues } from './flags.ts';

const SUMMARY = 'Per-route timeouts and retries of a service, applied by its callers\' sidecars: meshlens control resilience get|set|clear.';
export const RESILIENCE_USAGE = [
  'usage: meshlens control resilience get [<service>] [--json]',
  '       meshlens control resilience set <service> --path /prefix [--methods GET,HEAD] [--timeout-ms N] [--per-try-timeout-ms N] [--no-retry]',
  '       meshlens control resilience set <service> --rules \'[{"path_prefix": "/search", "request_timeout_ms": 2000}]\' | --rules-file rules.json',
  '       meshlens control resilience clear <service> [--path /prefix [--methods GET]]',
].join('\n');

const CLIENT_FLAGS: FlagSpec[] = [
  ...OPERATOR_CLIENT_FLAGS,
  { name: 'json', type: 'bool', default: false, help: 'print the API\'s JSON instead of a table' },
];

const RULE_FLAGS: FlagSpec[] = [
  ...CLIENT_FLAGS,
  { name: 'path', type: 'string', help: 'the rule\'s path prefix (a plain prefix of the normalised path, starting with "/")' },
  { name: 'methods', type: 'string', help: 'only these methods, comma-separated (default: every method)' },
  { name: 'timeout-ms', type: 'int', help: 'request timeout over every try, instead of the cluster\'s' },
  { name: 'per-try-timeout-ms', type: 'int', help: 'each try until its response head, instead of the retry policy\'s' },
  { name: 'retry', type: 'bool', help: '--no-retry: these requests are never retried' },
  { name: 'rules', type: 'string', help: 'every rule of the service as JSON (replaces them all)' },
  { name: 'rules-file', type: 'string', help: 'the same, from a JSON file' },
];

type Rule = { path_prefix: string; methods?: string[]; [k: string]: unknown };

const call = async (f: FlagValues, method: string, path: string, body?: unknown) => operatorCall(await controlClientOf(f), method, path, body);

const servicePath = (service: string) => `/v1/resilience/${encodeURIComponent(service)}`;
const sameRule = (a: Rule, b: Rule) => a.path_prefix === b.path_prefix && (a.methods ?? []).join() === (b.methods ?? []).join();

/** One line per rule: what it matches and what it changes. */
export function describeRule(r: Rule): string {
  const what = [
    r.request_timeout_ms !== undefined ? `timeout ${r.request_timeout_ms} ms` : '',
    r.per_try_timeout_ms !== undefined ? `per try ${r.per_try_timeout_ms} ms` : '',
    r.retry === false ? 'no retries' : r.retry !== undefined ? `retry ${JSON.stringify(r.retry)}` : '',
  ].filter(Boolean).join(', ');
  return `${(r.methods ?? ['*']).join(',').padEnd(10)} ${r.path_prefix}*  ${what}`;
}

function ruleFromFlags(f: FlagValues, problems: string[]): Rule {
  const rule: Rule = { path_prefix: String(f.path) };
  if (f.methods !== undefined) rule.methods = String(f.methods).split(',').map((m) => m.trim().toUpperCase());
  if (f['timeout-ms'] !== undefined) rule.request_timeout_ms = f['timeout-ms'];
  if (f['per-try-timeout-ms'] !== undefined) rule.per_try_timeout_ms = f['per-try-timeout-ms'];
  if (f.retry === false) rule.retry = false;
  if (f.retry === true) problems.push('--retry: the cluster\'s retries are what a rule without --no-retry keeps; say --no-retry, or give a policy with --rules');
  return rule;
}

function rulesFromJson(f: FlagValues, problems: string[]): unknown {
  const text = f.rules !== undefined ? String(f.rules) : (() => {
    try { return readFileSync(String(f['rules-file']), 'utf8'); } catch (e) { problems.push(`--rules-file: ${(e as Error).message}`); return 'null'; }
  })();
  try {
    const v = JSON.parse(text) as unknown;
    // The API's own body shape is taken too: {"rules": [...]}.
    return v !== null && typeof v === 'object' && !Array.isArray(v) && 'rules' in v ? (v as { rules: unknown }).rules : v;
  } catch (e) {
    problems.push(`--rules${f.rules === undefined ? '-file' : ''}: not JSON: ${(e as Error).message}`);
    return null;
  }
}

export async function runResilience(argv: string[]): Promise<void> {
  const [verb, ...rest] = argv;
  const positional = rest[0] !== undefined && !rest[0].startsWith('-') ? [rest[0]] : [];
  const flags = rest.slice(positional.length);
  const service = positional[0];
  if (verb === 'get') {
    const f = parseFlags('control resilience get', SUMMARY, flags, CLIENT_FLAGS);
    const body = await call(f, 'GET', '/v1/resilience');
    const all = (body.resilience as { service: string; rules: Rule[] }[]).filter((s) => service === undefined || s.service === service);
    if (f.json) { console.log(JSON.stringify({ resilience: all, version: body.version }, null, 2)); return; }
    if (all.length === 0) { console.log(service ? `no route resilience set for ${service}` : 'no route resilience set'); return; }
    for (const s of all) {
      console.log(`${s.service}:`);
      for (const r of s.rules) console.log(`  ${describeRule(r)}`);
    }
    return;
  }
  if (verb !== 'set' && verb !== 'clear') throw new UsageError([`expected get, set or clear, got "${(verb ?? '').slice(0, 32)}"`], RESILIENCE_USAGE);
  const f = parseFlags(`control resilience ${verb}`, SUMMARY, flags, RULE_FLAGS);
  const problems: string[] = [];
  if (service === undefined) problems.push(`name exactly one service: meshlens control resilience ${verb} <service> …`);
  const json = f.rules !== undefined || f['rules-file'] !== undefined;
  const one = f.path !== undefined;
  const ruleFlags = ['methods', 'timeout-ms', 'per-try-timeout-ms', 'retry'].filter((k) => f[k] !== undefined);
  if (f.rules !== undefined && f['rules-file'] !== undefined) problems.push('--rules and --rules-file: give one of them');
  if (json && (one || ruleFlags.length > 0)) problems.push('--rules replaces every rule: give it without --path and the one-rule flags');
  if (!one && ruleFlags.length > 0) problems.push(`${ruleFlags.map((k) => `--${k}`).join(', ')}: belong to a rule; give --path too`);
  if (verb === 'set' && !json && !one) problems.push('set: give --path (one rule) or --rules / --rules-file (all of them)');
  if (verb === 'clear' && (json || ruleFlags.some((k) => k !== 'methods'))) problems.push('clear: takes only --path and --methods (which rule to remove)');
  const rule = one ? ruleFromFlags(f, problems) : null;
  const rules = json ? rulesFromJson(f, problems) : null;
  if (problems.length > 0) throw new UsageError(problems, RESILIENCE_USAGE);

  if (verb === 'clear' && !rule) {
    const r = await call(f, 'DELETE', servicePath(service!));
    console.log(f.json ? JSON.stringify(r, null, 2) : `route resilience of ${service} cleared (config version ${r.version}): its cluster's timeouts and retries for every request`);
    return;
  }
  let next: unknown = rules;
  if (rule) {
    // One rule changed, the others kept: read what is set, then put the whole list back.
    const current = ((await call(f, 'GET', '/v1/resilience')).resilience as { service: string; rules: Rule[] }[]).find((s) => s.service === service)?.rules ?? [];
    const others = current.filter((r) => !sameRule(r, rule));
    if (verb === 'clear' && others.length === current.length) throw new Error(`${service} has no rule for ${(rule.methods ?? ['*']).join(',')} ${rule.path_prefix}*`);
    next = verb === 'set' ? [...others, rule] : others;
  }
  const r = Array.isArray(next) && next.length === 0 && verb === 'clear'
    ? await call(f, 'DELETE', servicePath(service!))
    : await call(f, 'PUT', servicePath(service!), { rules: next });
  if (f.json) { console.log(JSON.stringify(r, null, 2)); return; }
  const set = (r.rules as Rule[] | undefined) ?? [];
  console.log(`route resilience of ${service}: ${set.length} rule${set.length === 1 ? '' : 's'} (config version ${r.version})`);
  for (const x of set) console.log(`  ${describeRule(x)}`);
}
