// `meshlens up`: the whole loop on one machine — the embedded control plane
// (store, collector, UI) plus the demo mesh and its load generator.

import { startDemoMesh, startLoad, type DemoMesh, type LoadGenerator } from '../demo/index.ts';
import { CONTROL_FLAGS, runControl } from './control.ts';
import type { FlagSpec, FlagValues } from './flags.ts';

export const UP_FLAGS: FlagSpec[] = [
  ...CONTROL_FLAGS,
  { name: 'demo', type: 'bool', default: true, help: 'run the demo application (5 services with sidecars)' },
  { name: 'load-rps', type: 'int', env: 'MESHLENS_LOAD_RPS', default: 100, help: 'demo load: requests per second into web (each fans out to 4 more calls)' },
];

export async function runUp(f: FlagValues, log: (line: string) => void): Promise<{ close(): Promise<void> }> {
  const started = Date.now();
  const core = await runControl(f, log);
  let mesh: DemoMesh | undefined;
  let load: LoadGenerator | undefined;
  let report: NodeJS.Timeout | undefined;
  const close = async () => {
    if (report) clearInterval(report);
    await load?.stop();
    await mesh?.close();
    await core.close();
  };
  try {
    if (f.demo) {
      log('demo: starting 5 services, each behind its own sidecar …');
      const sidecarFlags = f.bus === 'kafka' ? ['--bus', 'kafka', '--brokers', String(f.brokers), '--topic', String(f.topic)] : [];
      mesh = await startDemoMesh({ controlUrl: core.control.url, log, sidecarFlags });
      log(`demo: mesh ready in ${((Date.now() - started) / 1000).toFixed(1)} s, front door ${mesh.ingressUrl}`);
      const rps = Number(f['load-rps']);
      if (rps > 0) {
        load = startLoad({ target: mesh.ingressUrl, rps });
        log(`load: ${rps} req/s into web`);
      }
    }
    log(`meshlens is up: open ${core.uiUrl} (Ctrl-C stops)`);
    let lastWritten = 0;
    report = setInterval(() => {
      const c = core.collector.counters();
      const rate = (c.events_written - lastWritten) / 10;
      lastWritten = c.events_written;
      const l = load?.stats();
      log(`taps: ${c.events_written} written (${rate.toFixed(0)}/s), ${c.batches_rejected} batches rejected` +
        (l ? `; load: ${l.completed} done, ${l.failed} failed, ${l.skipped} skipped` : ''));
    }, 10_000);
    report.unref();
  } catch (e) {
    await close();
    throw e;
  }
  return { close };
}
