// `meshlens demo-apps --spec <json>`: runs the demo workloads of one host in
// one process (each its own HTTP server, each behind its own sidecar).

import { faultEffect } from './faults.ts';
import { startWorkload, type Workload } from './workload.ts';
import type { AppSpec } from './mesh.ts';

export async function runDemoApps(specJson: string, log: (line: string) => void): Promise<{ close(): Promise<void> }> {
  let specs: AppSpec[];
  try {
    specs = JSON.parse(specJson);
    if (!Array.isArray(specs)) throw new Error('must be an array');
  } catch (e) {
    throw new Error(`demo-apps --spec: not a JSON array of app specs (${(e as Error).message})`);
  }
  const workloads: Workload[] = [];
  const started = Date.now();
  for (const s of specs) {
    const plan = s.faults;
    const fault = plan ? () => faultEffect(plan, s.service.name, Date.now() - started) : undefined;
    const w = await startWorkload({ service: s.service, port: s.port, httpProxy: s.httpProxy, fault });
    workloads.push(w);
    log(`app ${s.service.name} listening on ${w.url}, calls [${s.service.calls.join(', ')}] via ${s.httpProxy}`);
  }
  return { close: async () => { await Promise.all(workloads.map((w) => w.close())); } };
}
