// `meshlens demo-apps --spec <json>`: runs demo workload instances in one
// process (each its own HTTP server, each behind its own sidecar). Faults
// count from the mesh's start (spec.epoch_ms), not this process's, so an
// instance started later by a scale-up sees the same schedule.

import { faultEffect } from './faults.ts';
import { startWorkload, type Workload } from './workload.ts';
import type { AppSpec } from './instance.ts';

export async function runDemoApps(specJson: string, log: (line: string) => void): Promise<{ close(): Promise<void> }> {
  let specs: AppSpec[];
  try {
    specs = JSON.parse(specJson);
    if (!Array.isArray(specs)) throw new Error('must be an array');
  } catch (e) {
    throw new Error(`demo-apps --spec: not a JSON array of app specs (${(e as Error).message})`);
  }
  const workloads: Workload[] = [];
  for (const s of specs) {
    const plan = s.faults;
    const target = { service: s.service.name, instance: s.instance, version: s.version };
    const fault = plan ? () => faultEffect(plan, target, Date.now() - s.epoch_ms) : undefined;
    const w = await startWorkload({ service: s.service, port: s.port, httpProxy: s.httpProxy, fault });
    workloads.push(w);
    const what = s.service.background_rps ? `calls [${s.service.calls.join(', ')}] ${s.service.background_rps}/s on a timer` : `calls [${s.service.calls.join(', ')}]`;
    log(`app ${s.instance} (${s.version}) listening on ${w.url}, ${what} via ${s.httpProxy}`);
  }
  return { close: async () => { await Promise.all(workloads.map((w) => w.close())); } };
}
