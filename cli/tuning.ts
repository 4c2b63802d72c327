// The tuning engine's flags on `meshlens control` and `meshlens up`, and what
// they become: the engine's settings, its policy bundle, its signals and
// records (the store) and its scale actuator.
//
// A new install (`meshlens control`) runs every action kind in dry-run: the
// engine records what it would do and changes nothing until an operator has
// read the record and chosen `auto` or `approve`, kind by kind. `meshlens up`
// (the demo) runs `auto`, so the loop is seen closing.

import { readFileSync } from 'node:fs';
import type { TapStore } from '../ingest/index.ts';
import {
  DEFAULT_TUNING_POLICY_DIR, DEFAULT_TUNING_SETTINGS, inClusterAccess, KubernetesScaleActuator, parseModes, storeSources, TUNING_ENTRYPOINT, TUNING_MODES,
  type ControlPlaneOptions, type ScaleActuator,
} from '../mesh/control/index.ts';
import { readPolicyBundle } from './authz-policy.ts';
import type { FlagSpec, FlagValues } from './flags.ts';
import { readTuningConfig } from './tuning-config.ts';

export const SCALERS = ['none', 'demo', 'kubernetes'] as const;

export const TUNING_FLAGS: FlagSpec[] = [
  { name: 'tuning', type: 'bool', default: true, help: 'run the tuning engine (Rego decides shift, eject, scale and rate-limit actions from alerts and rollups)' },
  { name: 'tuning-policy', type: 'string', env: 'MESHLENS_TUNING_POLICY', default: DEFAULT_TUNING_POLICY_DIR, help: `tuning policy: .rego file, directory or OPA bundle .tar.gz (entrypoint ${TUNING_ENTRYPOINT}); default: the shipped one` },
  { name: 'tuning-mode', type: 'string', env: 'MESHLENS_TUNING_MODE', default: 'dry-run', help: `mode of every action kind (${TUNING_MODES.join(', ')}), or per kind: "dry-run,eject=auto,scale=approve"` },
  { name: 'tuning-config', type: 'string', env: 'MESHLENS_TUNING_CONFIG', help: 'JSON file of the engine\'s windows and bounds (docs/tuning.md); default: the built-in ones' },
  { name: 'tuning-data', type: 'string', env: 'MESHLENS_TUNING_DATA', help: 'JSON file given to the tuning policy as its data, e.g. {"tuning": {"target_rps_per_replica": 40}}' },
  { name: 'tuning-tick-s', type: 'int', env: 'MESHLENS_TUNING_TICK_S', default: 10, help: 'seconds between evaluations of the tuning policy (an alert change evaluates at once)' },
  { name: 'scaler', type: 'string', env: 'MESHLENS_SCALER', default: 'none', help: `what carries out scale actions: ${SCALERS.join(', ')} (kubernetes: the Deployment named after the service, in this pod's namespace)` },
];

export function tuningProblems(f: FlagValues): string[] {
  if (!f.tuning) return [];
  const p: string[] = [];
  try { parseModes(String(f['tuning-mode'])); } catch (e) { p.push(`--tuning-mode: ${(e as Error).message}`); }
  const tick = Number(f['tuning-tick-s']);
  if (!(tick >= 1 && tick <= 3600)) p.push(`--tuning-tick-s: 1 to 3600 seconds, got ${f['tuning-tick-s']}`);
  if (!(SCALERS as readonly string[]).includes(String(f.scaler))) p.push(`--scaler: one of ${SCALERS.join(', ')}, got "${f.scaler}"`);
  if (f['tuning-config']) { try { readTuningConfig(String(f['tuning-config'])); } catch (e) { p.push((e as Error).message); } }
  if (f['tuning-data']) { try { tuningData(String(f['tuning-data'])); } catch (e) { p.push((e as Error).message); } }
  return p;
}

/**
 * The control plane's tuning options from the flags; undefined with
 * --no-tuning. `demoScaler` is asked at each scale action (the demo mesh
 * starts after the control plane).
 */
export async function tuningOptions(f: FlagValues, store: TapStore, demoScaler: () => ScaleActuator | null): Promise<ControlPlaneOptions['tuning']> {
  if (!f.tuning) return undefined;
  const policyBundle = await readPolicyBundle(String(f['tuning-policy']), TUNING_ENTRYPOINT, '--tuning-policy',
    `--tuning-policy takes a .rego file, a directory of them, or an OPA bundle (.tar.gz) with entrypoint ${TUNING_ENTRYPOINT}`,
    f['tuning-data'] ? tuningData(String(f['tuning-data'])) : undefined);
  const base = f['tuning-config'] ? readTuningConfig(String(f['tuning-config'])) : DEFAULT_TUNING_SETTINGS;
  const settings = { ...base, tickMs: Number(f['tuning-tick-s']) * 1000, modes: parseModes(String(f['tuning-mode'])) };
  return { settings, policyBundle, sources: storeSources(store), records: store, scaler: scalerOf(String(f.scaler), demoScaler) };
}

/** The policy data file: a JSON object. */
function tuningData(path: string): object {
  let v: unknown;
  try { v = JSON.parse(readFileSync(path, 'utf8')); } catch (e) { throw new Error(`--tuning-data ${path}: ${(e as Error).message}`); }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`--tuning-data ${path}: must be a JSON object`);
  return v;
}

function scalerOf(kind: string, demo: () => ScaleActuator | null): ScaleActuator | null {
  if (kind === 'kubernetes') return new KubernetesScaleActuator({ access: inClusterAccess() });
  if (kind !== 'demo') return null;
  const need = () => {
    const s = demo();
    if (!s) throw new Error('the demo mesh is not running: nothing to scale');
    return s;
  };
  return { replicas: (svc) => need().replicas(svc), scale: (svc, n) => need().scale(svc, n), describe: () => demo()?.describe() ?? 'demo supervisor (not started)' };
}
