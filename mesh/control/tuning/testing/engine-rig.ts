// A tuning engine for tests on real parts: a real control plane with real
// sidecars (catalog-1 and -2 at v1, payments-1 at v1 and -2 at v2, a web-1
// caller; payments routed v1:100 / v2:0), a real chdb store for signals and
// records, and (with `collector`) the embedded tap collector on the control
// plane's POST /v1/taps, believing only the mesh CA's signatures. The
// engine's clock can be moved forward past a watch window.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Collector, createChdbStore, handleTapPost, type ActionRecord, type TapStore } from '../../../../ingest/index.ts';
import { startSmallMesh, type SmallMesh } from '../../../proxy/testing/small-mesh.ts';
import type { CertificateAuthority } from '../../../../identity/index.ts';
import type { TuningEngine } from '../engine.ts';
import { DEFAULT_TUNING_SETTINGS, type TuningSettings } from '../settings.ts';
import { storeSources } from '../store-sources.ts';
import { constantPolicy, tuningBundle } from './tuning-bundle.ts';

export interface Rig {
  mesh: SmallMesh; engine: TuningEngine; store: TapStore; collector: Collector | null;
  clock: { skew: number }; now(): number; records(): Promise<ActionRecord[]>;
}

export interface RigOptions {
  /** The policy proposes exactly these actions every tick; or `rego`, a whole policy. */
  actions?: unknown[];
  rego?: string;
  settings?: Partial<TuningSettings>;
  collector?: boolean;
}

export async function tuningRig(t: { after(fn: () => Promise<void>): void }, o: RigOptions): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'meshlens-tuning-'));
  const store = createChdbStore({ dataDir: join(dir, 'chdb') });
  await store.init();
  t.after(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });
  const clock = { skew: 0 };
  const now = () => Date.now() + clock.skew;
  let ca: CertificateAuthority | undefined;
  const collector = o.collector ? new Collector(store, { trust: () => ca!.bundle }) : null;
  if (collector) { await collector.start(); t.after(() => collector.close()); }
  const mesh = await startSmallMesh(t, {
    ...(collector ? { taps: (req, res, sender) => handleTapPost(collector, req, res, { sender }) } : {}),
    tuning: {
      settings: { ...DEFAULT_TUNING_SETTINGS, tickMs: 0, lagMs: 0, watchS: 20, ackTimeoutMs: 10_000, ...o.settings },
      policyBundle: await tuningBundle(o.rego ?? constantPolicy(o.actions ?? [])), sources: storeSources(store), records: store, now,
    },
  });
  ca = mesh.control.ca;
  const engine = mesh.control.cp.tuning!;
  await mesh.instance('catalog', 'catalog-1', undefined, { version: 'v1' });
  await mesh.instance('catalog', 'catalog-2', undefined, { version: 'v1' });
  await mesh.instance('payments', 'payments-1', undefined, { version: 'v1' });
  await mesh.instance('payments', 'payments-2', undefined, { version: 'v2' });
  await mesh.caller('web', 'web-1');
  // As a demo or a cautious operator starts: every request to v1 until something moves it.
  mesh.control.cp.setRouteWeights('payments', [{ version: 'v1', weight: 100 }, { version: 'v2', weight: 0 }]);
  await mesh.settled();
  const records = async () => { await engine.book.flush(); return store.actions({ limit: 100 }); };
  return { mesh, engine, store, collector, clock, now, records };
}
