// `meshlens policy replay`: a draft authorization policy over the recorded
// inbound requests of a period (policy/replay.ts), beside the policy in
// force; prints every flip grouped by caller, service, method and path.
//
// With a control plane running (--control, credentials from --data-dir) the
// CLI asks it (POST /v1/policy/replay): it holds the store and the bundle
// enforced now, the default to compare with. When none answers, the CLI
// opens the store itself and compares with --against, or with the decisions
// the taps recorded.

import { readFileSync, statSync } from 'node:fs';
import { AUTHZ_ENTRYPOINT } from '../mesh/control/index.ts';
import {
  DEFAULT_POLICY_HEADERS, loadAuthzPolicySource, RegoCompileError, replayPolicy, type PolicySource, type ReplayResult,
} from '../policy/index.ts';
import { COMMAND_SUMMARIES } from './command-summaries.ts';
import { listFlag, parseFlags, UsageError, type FlagSpec, type FlagValues } from './flags.ts';
import { readRegoFiles } from './policy.ts';
import { reachControl } from './report.ts';
import { openStore, STORE_FLAGS } from './store.ts';
import { parseSince } from './tuning-commands.ts';

const FLAGS: FlagSpec[] = [
  { name: 'policy', type: 'string', help: 'the draft: a .rego file, a directory of them, or an OPA bundle (.tar.gz) with entrypoint ' + AUTHZ_ENTRYPOINT },
  { name: 'from', type: 'string', default: '24h', help: 'start of the period: a duration back from now (90m, 24h) or a time (2026-12-07T00:00:00Z)' },
  { name: 'until', type: 'string', default: 'now', help: 'end of the period (excluded): a duration back from now, a time, or now' },
  { name: 'against', type: 'string', help: 'the policy to compare with (a .rego file, directory or bundle), or "recorded" for the decisions the taps recorded (default: the control plane\'s enforced bundle; in-process: recorded)' },
  { name: 'header-allow', type: 'string', help: `the sidecars' --policy-header-allow, if not the default (${DEFAULT_POLICY_HEADERS.join(',')})` },
  { name: 'control', type: 'string', env: 'MESHLENS_CONTROL_URL', default: 'https://127.0.0.1:7071', help: 'control plane URL (asked first)' },
  ...STORE_FLAGS,
  { name: 'json', type: 'bool', default: false, help: 'print the result as JSON' },
];

const SUMMARY = `${COMMAND_SUMMARIES.policy}\nreplay: a draft policy over the recorded inbound requests of a period, and every decision it flips.`;

export async function replayCommand(argv: string[]): Promise<void> {
  const f = parseFlags('policy replay', SUMMARY, argv, FLAGS);
  const now = Date.now();
  const problems: string[] = [];
  const edge = (flag: 'from' | 'until') => {
    const text = String(f[flag]);
    if (flag === 'until' && text === 'now') return now;
    try { return parseSince(text, now); } catch {
      problems.push(`--${flag}: "${text.slice(0, 64)}" is neither a duration back from now (90m, 24h, 7d) nor a time (2026-12-07T00:00:00Z)`);
      return NaN;
    }
  };
  const from = edge('from'), until = edge('until');
  if (until <= from) problems.push(`--until (${iso(until)}) must be later than --from (${iso(from)})`);
  if (f.policy === undefined) problems.push('--policy: required (the draft)');
  const draft = f.policy === undefined ? undefined : sourceOf(String(f.policy), '--policy', problems);
  const against = f.against === undefined || f.against === 'recorded' ? f.against as 'recorded' | undefined : sourceOf(String(f.against), '--against', problems);
  const headerAllow = f['header-allow'] === undefined ? undefined : listFlag(f, 'header-allow').map((h) => h.toLowerCase());
  if (problems.length) throw new UsageError(problems, 'run `meshlens policy replay --help` for the flags');

  const control = await reachControl(f);
  const result = control
    ? await viaControl(control, { from, until, draft: wire(draft!), against: against === undefined ? 'current' : typeof against === 'string' ? against : wire(against), header_allow: headerAllow })
    : await inProcess(f, from, until, draft!, typeof against === 'object' ? against : undefined, headerAllow, Boolean(f.json));
  if (!result) return;
  if (f.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else process.stdout.write(describe(result));
}

function sourceOf(path: string, flag: string, problems: string[]): PolicySource | undefined {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) { problems.push(`${flag} ${path}: no such file or directory`); return undefined; }
  if (path.endsWith('.tar.gz') || path.endsWith('.tgz')) return { bundle: readFileSync(path) };
  try { return { files: readRegoFiles([path]) }; } catch (e) {
    problems.push(`${flag} ${path}: ${e instanceof UsageError ? e.problems.join('; ') : (e as Error).message}`);
    return undefined;
  }
}

const wire = (s: PolicySource) => ('bundle' in s ? { bundle: Buffer.from(s.bundle).toString('base64') } : { files: s.files });

/** A compile error is the user's input problem: file:line:col on stderr, exit 2. */
function compileError(message: string): undefined {
  process.stderr.write(message + '\n');
  process.exitCode = 2;
  return undefined;
}

async function viaControl(c: NonNullable<Awaited<ReturnType<typeof reachControl>>>, body: object): Promise<ReplayResult | undefined> {
  const r = await c.request('POST', '/v1/policy/replay', body);
  const b = r.body as { code?: string; message?: string; loc?: unknown };
  if (r.status === 400 && b.loc) return compileError(b.message!);
  if (r.status !== 200) throw new Error(`control plane answered ${r.status}: ${typeof r.body === 'string' ? r.body.slice(0, 300) : b.message ?? JSON.stringify(b).slice(0, 300)}`);
  return r.body as ReplayResult;
}

async function inProcess(f: FlagValues, from: number, until: number, draftSrc: PolicySource, againstSrc: PolicySource | undefined, headerAllow: string[] | undefined, quiet: boolean): Promise<ReplayResult | undefined> {
  let draft, current;
  try {
    draft = await loadAuthzPolicySource(draftSrc, AUTHZ_ENTRYPOINT);
    current = againstSrc ? await loadAuthzPolicySource(againstSrc, AUTHZ_ENTRYPOINT) : null;
  } catch (e) {
    if (e instanceof RegoCompileError) return compileError(e.message);
    throw e;
  }
  const { store } = await openStore(f);
  try {
    let shown = 0;
    return await replayPolicy({
      store, draft, current, from, until, headerAllow,
      onProgress: quiet ? undefined : ({ done, total }) => {
        // A line a second at most, and the last one.
        if (done === total || Date.now() - shown >= 1000) { shown = Date.now(); process.stderr.write(`replay: ${done} of ${total} requests\n`); }
      },
    });
  } finally {
    await store.close();
  }
}

const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString().replace('.000Z', 'Z') : String(ms));

/** The result as text: the totals, each flip group with its sample taps, then the notes. */
export function describe(r: ReplayResult): string {
  const out: string[] = [];
  out.push(`replayed ${r.evaluated} of ${r.total} inbound requests, ${iso(r.from)} .. ${iso(r.until)}, in ${(r.elapsed_ms / 1000).toFixed(1)} s (${r.rate_per_s}/s)`);
  out.push(`draft ${r.draft_digest.slice(0, 12)} against ${r.baseline === 'current_policy' ? `the policy in force (bundle ${r.current_digest!.slice(0, 12)})` : 'the decisions the taps recorded'}`);
  out.push(`flips: ${r.flips.allow_to_deny} allow→deny, ${r.flips.deny_to_allow} deny→allow${r.draft_errors ? `; the draft failed on ${r.draft_errors} (denied as policy_error)` : ''}`);
  for (const flip of ['allow_to_deny', 'deny_to_allow'] as const) {
    const groups = r.groups.filter((g) => g.flip === flip);
    if (!groups.length) continue;
    out.push('', flip === 'allow_to_deny' ? 'allow → deny' : 'deny → allow');
    for (const g of groups) {
      out.push(`  ${String(g.count).padStart(7)}  ${g.src_service} → ${g.dst_service}  ${g.method} ${g.path}  (${g.samples[0].before_reason || '-'} → ${g.samples[0].draft_reason || '-'})`);
      out.push(`           e.g. ${g.samples.map((s) => `${s.proxy}/${s.stream}#${s.seq} at ${iso(s.ts)}`).join(', ')}`);
    }
  }
  if (r.groups_left_off) out.push(`  … and ${r.groups_left_off} more groups (--json has the first ones only too)`);
  out.push('', 'notes:', ...r.notes.map((n) => `  - ${n}`));
  return out.join('\n') + '\n';
}
