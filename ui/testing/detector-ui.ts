// A UI over a real chdb store of shop traffic, with a real live detector
// behind POST /api/models/retrain (no model trained: retrain requests are
// recorded and passed on), for the tests that try the UI's access rules.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChdbStore, type TapStore } from '../../ingest/index.ts';
import { startLiveDetector } from '../../models/index.ts';
import { startUi, type RunningUi, type UiOptions } from '../server.ts';
import { shopTrafficBatches } from './shop-traffic.ts';

export interface DetectorUi {
  ui: RunningUi;
  store: TapStore;
  /** Every subject POST /api/models/retrain handed to the detector ('*' = all). */
  retrains: string[];
  /** The UI's log lines. */
  logs: string[];
  close(): Promise<void>;
}

export async function startDetectorUi(prefix: string, opts: Omit<UiOptions, 'store' | 'models' | 'log'> = {}): Promise<DetectorUi> {
  const dir = await mkdtemp(join(tmpdir(), `meshlens-${prefix}-`));
  const store = createChdbStore({ dataDir: join(dir, 'chdb') });
  await store.init();
  for (const b of shopTrafficBatches({ now: Date.now() - 1000 })) await store.writeBatch(b);
  const live = await startLiveDetector({
    source: { series: (scope, f, u) => store.rollupSeries(scope, f, u) }, sink: { write: (a) => store.writeAlert(a) },
    modelDir: join(dir, 'models'), tickMs: 0, lagMs: 0, trainAfterMs: 3_600_000, retrainEveryMs: 3_600_000, minHistoryRows: 1000, log: () => {},
  });
  await live.tick();
  const retrains: string[] = [];
  const logs: string[] = [];
  const models = { retrain: (subject?: string) => { retrains.push(subject ?? '*'); return live.retrain(subject); } };
  const ui = await startUi({ port: 0, ...opts, store, models, log: (m) => logs.push(m) });
  return {
    ui, store, retrains, logs,
    async close() {
      await ui.close();
      await live.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
