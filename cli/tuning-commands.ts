// `meshlens actions`, `meshlens rollout` and `meshlens tuning`: the operator
// side of the tuning engine, through the control plane's operator API (HTTPS
// checked against <data-dir>/ca/bundle.pem, the token in <data-dir>/operator-token).

import { OPERATOR_CLIENT_FLAGS, controlClientOf, operatorCall } from './control-client.ts';
import { parseFlags, UsageError, type FlagSpec, type FlagValues } from './flags.ts';
import { COMMAND_SUMMARIES } from './command-summaries.ts';

const CLIENT_FLAGS: FlagSpec[] = [
  ...OPERATOR_CLIENT_FLAGS,
  { name: 'json', type: 'bool', default: false, help: 'print the API\'s JSON instead of a table' },
];

const ACTIONS_FLAGS: FlagSpec[] = [
  ...CLIENT_FLAGS,
  { name: 'since', type: 'string', default: '1h', help: 'actions changed since: a duration back from now (90s, 15m, 2h, 7d) or a time (2026-12-07T10:00:00Z)' },
  { name: 'state', type: 'string', help: 'only actions now in this state (applied, verified, reverted, refused, dry_run, awaiting_approval, …)' },
  { name: 'kind', type: 'string', help: 'only this kind: shift, eject, scale, ratelimit' },
  { name: 'service', type: 'string', help: 'only actions on this service' },
  { name: 'limit', type: 'int', default: 50, help: 'most actions listed (newest first)' },
];

const ROLLOUT_FLAGS: FlagSpec[] = [
  ...CLIENT_FLAGS,
  { name: 'to', type: 'string', help: 'the version to roll out (an instance label version=…)' },
  { name: 'steps', type: 'string', default: '5,25,50,100', help: 'percent of traffic for the new version at each step' },
  { name: 'interval', type: 'string', default: '60s', help: 'time each step must stay healthy before the next (10s … 24h)' },
];

export const ACTIONS_SUMMARY = COMMAND_SUMMARIES.actions;
export const ROLLOUT_SUMMARY = COMMAND_SUMMARIES.rollout;
export const TUNING_SUMMARY = COMMAND_SUMMARIES.tuning;

const ROLLOUT_USAGE = 'usage: meshlens rollout start <service> --to <version> [--steps 5,25,50,100] [--interval 60s]\n       meshlens rollout status [--json]\n       meshlens rollout abort <service>';

/** Milliseconds of "90s", "15m", "2h", "7d"; NaN for anything else. */
export function parseDuration(text: string): number {
  const m = /^(\d{1,9})(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) return NaN;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms']!;
}

/** Epoch ms of `--since`: a duration back from `now`, or a date. */
export function parseSince(text: string, now = Date.now()): number {
  const d = parseDuration(text);
  if (Number.isFinite(d)) return now - d;
  const t = Date.parse(text);
  if (Number.isFinite(t) && /^\d{4}-\d{2}-\d{2}/.test(text)) return t;
  throw new UsageError([`--since: "${text.slice(0, 64)}" is neither a duration (90s, 15m, 2h, 7d) nor a time (2026-12-07T10:00:00Z)`], '');
}

interface ActionRow {
  id: string; state: string; kind: string; subject: string; mode: string; updated_at: number; reason: string; guardrail: string; detail: string;
  config_after: number; acks: unknown[];
}

export async function runActions(argv: string[]): Promise<void> {
  const f = parseFlags('actions', ACTIONS_SUMMARY, argv, ACTIONS_FLAGS);
  const q = new URLSearchParams({ since: String(parseSince(String(f.since))), limit: String(f.limit) });
  for (const k of ['state', 'kind', 'service'] as const) if (f[k]) q.set(k, String(f[k]));
  const body = await operatorCall(await controlClientOf(f), 'GET', `/v1/actions?${q}`);
  if (f.json) { console.log(JSON.stringify(body, null, 2)); return; }
  const rows = (body.actions as ActionRow[]) ?? [];
  if (rows.length === 0) { console.log(`no actions since ${new Date(parseSince(String(f.since))).toISOString()}`); return; }
  for (const a of rows) {
    const when = new Date(a.updated_at).toISOString().replace('T', ' ').slice(0, 19);
    const acks = a.config_after ? ` config v${a.config_after}, ${a.acks.length} ACKs` : '';
    console.log(`${when}  ${a.state.padEnd(17)} ${a.kind.padEnd(9)} ${a.subject.padEnd(22)} ${a.mode.padEnd(7)}${acks}  ${a.id}`);
    console.log(`    why: ${a.reason}`);
    if (a.guardrail) console.log(`    guardrail: ${a.guardrail}`);
    if (a.detail) console.log(`    ${a.detail}`);
  }
}

export async function runRollout(argv: string[]): Promise<void> {
  const [verb, ...rest] = argv;
  // The service comes first: `meshlens rollout start payments --to v2`.
  const positional = rest[0] !== undefined && !rest[0].startsWith('-') ? [rest[0]] : [];
  const flagsOnly = rest.slice(positional.length);
  if (verb === 'start') {
    const f = parseFlags('rollout start', ROLLOUT_SUMMARY, flagsOnly, ROLLOUT_FLAGS);
    const problems: string[] = [];
    if (positional.length !== 1) problems.push('name exactly one service: meshlens rollout start <service> --to <version>');
    if (!f.to) problems.push('--to: required (the version to roll out)');
    const steps = String(f.steps).split(',').map((s) => Number(s.trim()));
    if (steps.some((s) => !Number.isInteger(s))) problems.push(`--steps: whole percentages separated by commas, got "${f.steps}"`);
    const interval = parseDuration(String(f.interval));
    if (!Number.isFinite(interval) || interval % 1000 !== 0) problems.push(`--interval: whole seconds as 90s, 2m or 1h, got "${f.interval}"`);
    if (problems.length) throw new UsageError(problems, ROLLOUT_USAGE);
    const r = await operatorCall(await controlClientOf(f), 'POST', '/v1/rollouts', { service: positional[0], to: f.to, steps, interval_s: interval / 1000 }, [201]);
    if (f.json) { console.log(JSON.stringify(r, null, 2)); return; }
    console.log(`rollout of ${r.service} from ${r.from} to ${r.to} started: steps ${(r.steps as number[]).join(', ')}% every ${r.interval_s} s while the judge says healthy`);
    return;
  }
  if (verb === 'status') {
    const f = parseFlags('rollout status', ROLLOUT_SUMMARY, flagsOnly, CLIENT_FLAGS);
    const body = await operatorCall(await controlClientOf(f), 'GET', '/v1/tuning');
    const rollouts = (body.rollouts as Record<string, unknown>[]) ?? [];
    if (f.json) { console.log(JSON.stringify({ rollouts }, null, 2)); return; }
    if (rollouts.length === 0) { console.log('no rollouts'); return; }
    for (const r of rollouts) console.log(`${String(r.service).padEnd(16)} ${r.from} → ${r.to}  ${String(r.state).padEnd(12)} ${r.weight}% (step ${Number(r.step) + 1} of ${(r.steps as number[]).length})  ${r.detail}`);
    return;
  }
  if (verb === 'abort') {
    const f = parseFlags('rollout abort', ROLLOUT_SUMMARY, flagsOnly, CLIENT_FLAGS);
    if (positional.length !== 1) throw new UsageError(['name exactly one service'], ROLLOUT_USAGE);
    await operatorCall(await controlClientOf(f), 'DELETE', `/v1/rollouts/${encodeURIComponent(positional[0])}`);
    console.log(`rollout of ${positional[0]} halted where it was (the weights stay; shift them with PUT /v1/routes/${positional[0]})`);
    return;
  }
  throw new UsageError([`expected start, status or abort, got "${verb ?? ''}"`], ROLLOUT_USAGE);
}

export async function runTuning(argv: string[]): Promise<void> {
  const [verb, ...rest] = argv;
  const usage = 'usage: meshlens tuning status|pause|resume [--json]';
  if (!['status', 'pause', 'resume'].includes(verb ?? '')) throw new UsageError([`expected status, pause or resume, got "${verb ?? ''}"`], usage);
  const f = parseFlags(`tuning ${verb}`, TUNING_SUMMARY, rest, CLIENT_FLAGS);
  const body = verb === 'status' ? await operatorCall(await controlClientOf(f), 'GET', '/v1/tuning') : await operatorCall(await controlClientOf(f), 'POST', `/v1/tuning/${verb}`);
  if (f.json) { console.log(JSON.stringify(body, null, 2)); return; }
  const paused = body.paused as { by: string; at: number } | null;
  const policy = body.policy as { source: string; digest: string };
  const c = body.counters as Record<string, number>;
  console.log(`tuning engine: ${paused ? `PAUSED by ${paused.by} at ${new Date(paused.at).toISOString()}` : 'running'}, every ${Number(body.tick_ms) / 1000} s`);
  console.log(`policy: ${policy.source} (${policy.digest.slice(0, 12)})`);
  console.log(`modes: ${Object.entries(body.modes as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  console.log(`actions: ${c.applied} applied, ${c.verified} verified, ${c.reverted} reverted, ${c.refused} refused, ${c.dry_run} dry-run, ${c.awaiting_approval} awaiting approval, ${c.failed} failed; ${c.malformed} malformed proposals`);
}
