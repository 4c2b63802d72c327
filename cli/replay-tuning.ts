// The tuning engine inside `meshlens replay`: on the replay's simulated
// clock, every action kind in dry-run, reading the stored rollups and the
// alerts the replayed detector raises. It records in memory and prints; the
// store and the mesh are never changed. The instances it sees are those the
// stored taps show answering at that moment (their callers' view), so an
// eject or scale proposal names real instances of the time.

import type { ActionRecord, StoredAlert, TapStore } from '../ingest/index.ts';
import {
  DEFAULT_TUNING_SETTINGS, storeSources, TUNING_ENTRYPOINT, TUNING_KINDS, TuningEngine, TuningPolicy, type MeshControl, type MeshView,
} from '../mesh/control/index.ts';
import { readPolicyBundle } from './authz-policy.ts';

export interface ReplayTuning {
  /** One evaluation at the simulated time. */
  tick(): Promise<void>;
  /** The alert states the replayed detector writes. */
  alert(a: StoredAlert): void;
  actions(): ActionRecord[];
  close(): Promise<void>;
}

/** How far back the instances of a moment are looked for. */
const INSTANCE_WINDOW_MS = 60_000;

export async function replayTuning(store: TapStore, policyPath: string, now: () => number, out: (line: string) => void): Promise<ReplayTuning> {
  const policy = new TuningPolicy(now);
  await policy.set((await readPolicyBundle(policyPath, TUNING_ENTRYPOINT, '--tuning-policy', `--tuning-policy takes Rego or a bundle with entrypoint ${TUNING_ENTRYPOINT}`)).bytes, policyPath);
  const open = new Map<string, StoredAlert>();
  const written: ActionRecord[] = [];
  let instances: { service: string; instance: string; version: string }[] = [];
  const view: MeshView = { instances: () => instances, routes: () => [], ejections: () => [], rateLimits: () => [] };
  const readOnly = () => { throw new Error('replay changes nothing'); };
  const mesh: MeshControl = { ...view, configVersion: () => 0, proxies: () => [], setRoute: readOnly, eject: readOnly, lift: readOnly, setRateLimits: readOnly };
  const sources = { ...storeSources(store), openAlerts: async () => [...open.values()] };
  const engine = new TuningEngine({
    settings: { ...DEFAULT_TUNING_SETTINGS, tickMs: 0, modes: Object.fromEntries(TUNING_KINDS.map((k) => [k, 'dry-run'])) as typeof DEFAULT_TUNING_SETTINGS.modes },
    policy, sources, mesh, now,
    records: {
      writeAction: async (r) => {
        written.push(r);
        out(`${new Date(r.updated_at).toISOString().slice(0, 19).replace('T', ' ')} tuning would ${r.state === 'refused' ? 'be refused' : ''} ${r.kind} ${r.subject}: ${r.reason}${r.guardrail ? ` [${r.guardrail}]` : ''}`.replace('would  ', 'would '));
      },
      actions: async () => [], actionHistory: async () => [],
    },
  });
  return {
    async tick() {
      const t = now();
      instances = (await store.instanceFigures(t - INSTANCE_WINDOW_MS, t)).map((r) => ({ service: r.service, instance: r.instance, version: r.version }));
      await engine.tick();
    },
    alert(a) { if (a.state === 'resolved') open.delete(a.id); else open.set(a.id, a); },
    actions: () => written,
    close: () => engine.close(),
  };
}
