// For CLI tests that talk to a running control plane: `meshlens control` on
// `dataDir` (free ports, no models, no scheduled reports, plus `extra`
// flags) as a child process, ready once its /healthz answers through the
// operator client (which needs the token file it writes).

import { Child, freePorts } from '../../demo/index.ts';
import { controlClient } from '../control-client.ts';

export interface ControlChild {
  child: Child;
  /** Its https:// address. */
  url: string;
  /** What it printed so far. */
  lines: string[];
  stop(): Promise<void>;
}

export async function startControlChild(dataDir: string, extra: string[] = []): Promise<ControlChild> {
  const [port, ui] = await freePorts(2);
  const url = `https://127.0.0.1:${port}`;
  const lines: string[] = [];
  const child = new Child('control', ['control', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--ui', `127.0.0.1:${ui}`, '--no-models', '--report-every', 'off', ...extra], (l) => lines.push(l));
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await (await controlClient({ url, dataDir })).request('GET', '/healthz')).status === 200) break;
    } catch { /* not up yet: no token file, or nothing listening */ }
    if (!child.running || Date.now() > deadline) {
      await child.stop();
      throw new Error(`meshlens control did not come up:\n${lines.slice(-30).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, url, lines, stop: () => child.stop() };
}
