// `meshlens control`: the embedded control plane process: ClickHouse through
// chdb, the tap collector, the control plane (registry, config streams) and
// the web UI, composed here and nowhere else.

import { resolve } from 'node:path';
import { Collector, createChdbStore, handleTapPost, type TapStore } from '../ingest/index.ts';
import { startControlPlane, type ControlPlane } from '../mesh/control/index.ts';
import { startUi } from '../ui/index.ts';
import { splitHostPort, type FlagSpec, type FlagValues } from './flags.ts';

export const CONTROL_FLAGS: FlagSpec[] = [
  { name: 'data-dir', type: 'string', env: 'MESHLENS_DATA_DIR', default: './.meshlens/data', help: 'where ClickHouse (chdb) keeps its data' },
  { name: 'listen', type: 'hostport', env: 'MESHLENS_CONTROL_LISTEN', default: '127.0.0.1:7071', help: 'control plane address (config streams, tap collector)' },
  { name: 'ui', type: 'hostport', env: 'MESHLENS_UI_LISTEN', default: '127.0.0.1:7070', help: 'web UI address' },
  { name: 'retention-days', type: 'int', env: 'MESHLENS_RETENTION_DAYS', default: 7, help: 'days raw taps are kept' },
];

export interface RunningControl {
  store: TapStore;
  collector: Collector;
  control: ControlPlane;
  uiUrl: string;
  close(): Promise<void>;
}

export async function runControl(f: FlagValues, log: (line: string) => void): Promise<RunningControl> {
  const dataDir = resolve(String(f['data-dir']));
  const store = createChdbStore({ dataDir, retentionDays: Number(f['retention-days']) });
  await store.init();
  const stored = await store.countTaps({});
  log(`store: ClickHouse (chdb) at ${dataDir}, ${stored} taps already stored`);

  const collector = new Collector(store);
  await collector.start();
  const listen = splitHostPort(String(f.listen));
  const control = await startControlPlane({
    host: listen.host, port: listen.port,
    taps: (req, res) => handleTapPost(collector, req, res),
    extraStatus: () => ({ collector: collector.counters() }),
  });
  log(`control plane: ${control.url} (config streams, tap collector)`);

  const uiAddr = splitHostPort(String(f.ui));
  // The UI's status: the control plane's, plus the tap loss ClickHouse has recorded.
  const uiStatus = {
    async status() {
      const lost = (await store.lossSummary()).reduce((n, l) => n + l.events, 0);
      return { ...control.status(), tap_lost_events: lost };
    },
  };
  const ui = await startUi({ store, host: uiAddr.host, port: uiAddr.port, control: uiStatus });
  log(`ui: ${ui.url}`);

  return {
    store, collector, control, uiUrl: ui.url,
    async close() {
      await ui.close();
      await control.close();
      await collector.close();
      await store.close();
    },
  };
}
