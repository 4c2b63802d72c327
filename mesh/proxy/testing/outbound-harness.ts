// One outbound sidecar (web-1) whose clusters the test pushes as config
// snapshots, with a recording collector: the set-up of the resilience tests
// (retries, balancing, outlier ejection, health checks, draining). Calls go
// to its outbound listener as a workload's would, `Host: <service>`.

import assert from 'node:assert/strict';
import type { L7RequestTap } from '../../../ingest/index.ts';
import type { Cluster, ConfigSnapshot, RouteResilienceRule } from '../../control/snapshot.ts';
import { startSidecar, type Sidecar } from '../index.ts';
import { startControlServer, type ControlServer } from './control-server.ts';
import { startRecordingCollector, type RecordingCollector } from './recording-collector.ts';
import { request, type Reply } from './servers.ts';

export interface Outbound {
  sidecar: Sidecar;
  control: ControlServer;
  collector: RecordingCollector;
  /** Pushes these clusters (a route each, by service name, with its `resilience` rules if named) as the next version and waits for its ACK. */
  push(clusters: Cluster[], resilience?: Record<string, RouteResilienceRule[]>): Promise<void>;
  call(service: string, opts?: { path?: string; method?: string; headers?: Record<string, string>; body?: string }): Promise<Reply>;
  /** The l7.request taps so far, after a flush; the collector found nothing wrong with the batches. */
  taps(): Promise<L7RequestTap[]>;
}

/** A cluster of endpoints on 127.0.0.1 (instance names `<service>-<port>` unless given), round robin unless `more` says otherwise. */
export function cluster(service: string, endpoints: (number | { instance: string; port: number })[], more: Partial<Cluster> = {}): Cluster {
  return {
    service, lb: 'round_robin', connect_timeout_ms: 1_000, request_timeout_ms: 10_000,
    endpoints: endpoints.map((e) => (typeof e === 'number' ? { instance: `${service}-${e}`, addr: '127.0.0.1', port: e } : { ...e, addr: '127.0.0.1' })),
    ...more,
  };
}

export async function outboundSidecar(t: { after(fn: () => Promise<void>): void }): Promise<Outbound> {
  const control = await startControlServer();
  const collector = await startRecordingCollector();
  const sidecar = await startSidecar({
    id: 'web-1', service: 'web', controlUrl: control.url, collectorUrl: collector.url, closeGraceMs: 200, controlRetryMaxMs: 50,
    taps: { lingerMs: 5 }, outbound: { host: '127.0.0.1', port: 0 },
  });
  t.after(async () => { await sidecar.close(); await collector.close(); await control.close(); });
  let version = 0;
  const port = sidecar.outboundAddress!.port;
  return {
    sidecar, control, collector,
    async push(clusters, resilience = {}) {
      const snapshot: ConfigSnapshot = {
        version: ++version, proxy: 'web-1', service: 'web', taps: { query_allow: [], header_allow: [] }, policy_digest: '',
        clusters, routes: clusters.map((c) => ({
          authority: c.service, backends: [{ cluster: c.service, weight: 1 }], ...(resilience[c.service] ? { resilience: resilience[c.service] } : {}),
        })),
      };
      await control.send(snapshot);
      const ack = await control.ackFor(version);
      assert.equal(ack.ok, true, `snapshot ${version} NACKed: ${ack.error}`);
    },
    call: (service, opts = {}) => request(port, { path: opts.path ?? '/', method: opts.method ?? 'GET', headers: { host: service, ...opts.headers }, body: opts.body }),
    async taps() {
      await sidecar.taps.flush();
      assert.deepEqual(collector.problems, []);
      return collector.events().filter((e): e is L7RequestTap => e.kind === 'l7.request');
    },
  };
}

/** Polls until `probe` holds (the test runner's timeout is the bound). */
export async function until(probe: () => boolean): Promise<void> {
  while (!probe()) await new Promise((r) => setTimeout(r, 5));
}
