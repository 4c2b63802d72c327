// `meshlens replay`: run the live anomaly detector over stored history on a
// simulated clock, as if it had started at --from, and print what it would
// have said: each training and each alert opened or resolved, stamped with
// the simulated time. Nothing is written to the store; models go to a
// temporary directory (or --model-dir). It answers "what would the detector
// have made of last night's incident with this build's models?" in minutes,
// without waiting for the incident to happen again. With the tuning engine
// (--tuning, the default) it also prints the actions the engine would have
// taken, all in dry-run (./replay-tuning.ts).

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLiveDetector, type AlertRecord } from '../models/index.ts';
import type { FlagSpec, FlagValues } from './flags.ts';
import { MODEL_TIMING_FLAGS, modelTiming, modelTimingProblems } from './models.ts';
import { replayTuning } from './replay-tuning.ts';
import { openStore, requireValid, STORE_FLAGS, storeProblems } from './store.ts';
import type { ActionRecord } from '../ingest/index.ts';
import { DEFAULT_TUNING_POLICY_DIR } from '../mesh/control/index.ts';
import { COMMAND_SUMMARIES } from './command-summaries.ts';

export const REPLAY_SUMMARY = COMMAND_SUMMARIES.replay;

export const REPLAY_FLAGS: FlagSpec[] = [
  ...STORE_FLAGS,
  { name: 'from', type: 'string', help: 'simulated start: ISO time or epoch ms (the detector starts then, with no models)' },
  { name: 'until', type: 'string', help: 'simulated end: ISO time or epoch ms (default: now)' },
  ...MODEL_TIMING_FLAGS,
  { name: 'model-dir', type: 'string', help: 'keep the trained models here (default: a temporary directory, removed at the end)' },
  { name: 'tuning', type: 'bool', default: true, help: 'also print the actions the tuning engine would have taken (dry-run)' },
  { name: 'tuning-policy', type: 'string', default: DEFAULT_TUNING_POLICY_DIR, help: 'the tuning policy to replay: .rego file, directory or bundle' },
];

export interface ReplayResult { opened: AlertRecord[]; resolved: AlertRecord[]; openAtEnd: string[]; actions: ActionRecord[] }

function parseTime(name: string, v: string | undefined, problems: string[]): number {
  if (v === undefined) return NaN;
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(t)) problems.push(`--${name}: "${v}" is neither an ISO time nor epoch milliseconds`);
  return t;
}

export async function runReplay(f: FlagValues, out: (line: string) => void = console.log): Promise<ReplayResult> {
  const problems = storeProblems(f);
  if (f.from === undefined) problems.push('--from: required');
  const from = parseTime('from', f.from as string | undefined, problems);
  const until = f.until === undefined ? Date.now() : parseTime('until', String(f.until), problems);
  if (from >= until) problems.push(`--until: must be after --from`);
  problems.push(...modelTimingProblems(f));
  // Replaying an empty store would say nothing, quietly: a missing directory is a mistake.
  if (f.store === 'chdb' && !existsSync(String(f['data-dir']))) problems.push(`--data-dir: ${f['data-dir']} does not exist (replay reads a stored run)`);
  requireValid('replay', problems);

  const { store, describe } = await openStore(f);
  const modelDir = f['model-dir'] ? String(f['model-dir']) : await mkdtemp(join(tmpdir(), 'meshlens-replay-'));
  let t = from;
  const stamp = () => new Date(t).toISOString().slice(0, 19).replace('T', ' ');
  const result: ReplayResult = { opened: [], resolved: [], openAtEnd: [], actions: [] };
  out(`replay: ${describe}, ${new Date(from).toISOString()} → ${new Date(until).toISOString()}, models in ${modelDir}`);
  const tuning = f.tuning ? await replayTuning(store, String(f['tuning-policy']), () => t, out) : null;
  try {
    const live = await startLiveDetector({
      source: { series: (scope, a, b) => store.rollupSeries(scope, a, b) },
      sink: {
        write: async (a) => {
          tuning?.alert(a);
          if (a.state === 'resolved') result.resolved.push(a); else if (a.updated_at === a.opened_at) result.opened.push(a);
        },
      },
      modelDir, now: () => t, tickMs: 0,
      ...modelTiming(f),
      log: (line) => { if (!line.startsWith('models: loaded')) out(`${stamp()} ${line}`); },
    });
    // Training finishes before the clock moves on: the replay shows what the
    // detector decides, not how long a busy machine took to train.
    for (; t <= until; t += 10_000) { await live.tick(); await live.idle(); await tuning?.tick(); }
    result.openAtEnd = live.status().filter((s) => s.alert_open).map((s) => `${s.scope} ${s.subject}`);
    await live.close();
    await tuning?.close();
    result.actions = tuning?.actions() ?? [];
  } finally {
    await store.close();
    if (!f['model-dir']) await rm(modelDir, { recursive: true, force: true });
  }
  out(`replay: ${result.opened.length} alerts opened, ${result.resolved.length} resolved` +
    (result.openAtEnd.length ? `, open at the end: ${result.openAtEnd.join(', ')}` : ', none open at the end') +
    (tuning ? `; the tuning engine would have recorded ${result.actions.length} action states (dry-run)` : ''));
  return result;
}
