// `--tuning-config <file.json>`: the tuning engine's windows and bounds, for
// operators who need other than the defaults (and tests that cannot wait a
// minute per watch window). Every key is checked; an unknown one is an error,
// not ignored. An ejection lasts at least 25 s: its verification needs one
// whole 10 s rollup bucket inside it, after 5 s for the change to settle.
//
//   {"recent_s": 30, "baseline_s": 600, "lag_s": 20, "watch_s": 60, "approval_ttl_s": 300,
//    "bounds": {"max_shift_step": 50, "cooldown_s": 60, "max_actions_per_minute": 6,
//               "min_replicas": 1, "max_replicas": 8, "max_scale_step": 2,
//               "max_ejected_share": 0.5, "eject_base_s": 30, "eject_max_s": 300,
//               "eject_memory_s": 900, "min_rate_limit_rps": 1}}

import { readFileSync } from 'node:fs';
import { DEFAULT_TUNING_SETTINGS, type TuningSettings } from '../mesh/control/index.ts';

type Bounds = TuningSettings['bounds'];

const TOP: Record<string, [keyof TuningSettings, number, number, number]> = {
  recent_s: ['recentS', 10, 3600, 1], baseline_s: ['baselineS', 60, 86_400, 1], lag_s: ['lagMs', 0, 600, 1000],
  watch_s: ['watchS', 10, 3600, 1], approval_ttl_s: ['approvalTtlS', 10, 86_400, 1],
};
const BOUNDS: Record<string, [keyof Bounds, number, number]> = {
  max_shift_step: ['maxShiftStep', 1, 100], cooldown_s: ['cooldownS', 0, 86_400], max_actions_per_minute: ['maxActionsPerMinute', 1, 1000],
  min_replicas: ['minReplicas', 0, 1000], max_replicas: ['maxReplicas', 1, 1000], max_scale_step: ['maxScaleStep', 1, 1000],
  max_ejected_share: ['maxEjectedShare', 0, 1], eject_base_s: ['ejectBaseS', 25, 86_400], eject_max_s: ['ejectMaxS', 1, 86_400],
  eject_memory_s: ['ejectMemoryS', 0, 7 * 86_400], min_rate_limit_rps: ['minRateLimitRps', 0.001, 1e6],
};

/** The settings a config file gives over `base`; throws naming every problem (file, key, value). */
export function readTuningConfig(path: string, base: TuningSettings = DEFAULT_TUNING_SETTINGS): TuningSettings {
  let raw: unknown;
  try { raw = JSON.parse(readFileSync(path, 'utf8')); } catch (e) { throw new Error(`--tuning-config ${path}: ${(e as Error).message}`); }
  const problems: string[] = [];
  const out: TuningSettings = { ...base, bounds: { ...base.bounds } };
  const num = (at: string, v: unknown, lo: number, hi: number) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) { problems.push(`${at}: must be a number in ${lo}..${hi}, got ${JSON.stringify(v)}`); return undefined; }
    return v;
  };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`--tuning-config ${path}: must be a JSON object`);
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'bounds') {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) { problems.push('bounds: must be an object'); continue; }
      for (const [bk, bv] of Object.entries(v)) {
        const spec = BOUNDS[bk];
        if (!spec) { problems.push(`bounds.${bk}: unknown (known: ${Object.keys(BOUNDS).join(', ')})`); continue; }
        const n = num(`bounds.${bk}`, bv, spec[1], spec[2]);
        if (n !== undefined) out.bounds[spec[0]] = n;
      }
      continue;
    }
    const spec = TOP[k];
    if (!spec) { problems.push(`${k}: unknown (known: ${[...Object.keys(TOP), 'bounds'].join(', ')})`); continue; }
    const n = num(k, v, spec[1], spec[2]);
    if (n !== undefined) (out as unknown as Record<string, number>)[spec[0]] = n * spec[3];
  }
  if (out.bounds.minReplicas > out.bounds.maxReplicas) problems.push(`bounds: min_replicas ${out.bounds.minReplicas} is above max_replicas ${out.bounds.maxReplicas}`);
  if (problems.length) throw new Error(`--tuning-config ${path}: ${problems.join('; ')}`);
  return out;
}
