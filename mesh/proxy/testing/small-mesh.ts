// A small real mesh for tests of what the control plane pushes: a real
// control plane and CA; instances (a workload that answers its own proxy id,
// behind an inbound sidecar) and callers (a sidecar whose outbound listener
// the test calls as a workload would). Every sidecar holds an SVID of the
// control plane's CA, so every hop is mTLS and every callee knows its caller.

import type { ControlPlaneOptions } from '../../control/index.ts';
import { startTestControl, type TestControl } from '../../control/testing/mesh-clients.ts';
import { startSidecar, type Sidecar } from '../index.ts';
import { testIdentities } from './identities.ts';
import { request, startHttpServer, type Reply } from './servers.ts';

export interface Caller { sidecar: Sidecar; call(authority: string, path?: string): Promise<Reply> }

export interface SmallMesh {
  control: TestControl;
  /** An instance of `service`; its taps go to `collectorUrl` when given (else it records none). */
  instance(service: string, proxy: string, collectorUrl?: string, labels?: Record<string, string>): Promise<Sidecar>;
  caller(service: string, proxy: string): Promise<Caller>;
  /** Until every sidecar is registered and runs the newest version, with no push pending. */
  settled(): Promise<void>;
  /** Until every sidecar runs `version` of the config (or a later one). */
  applied(version: number): Promise<void>;
}

/** Polls until `probe` holds (no time limit of its own: the test runner's timeout is the bound). */
export async function until(probe: () => boolean): Promise<void> {
  while (!probe()) await new Promise((r) => setTimeout(r, 10));
}

export async function startSmallMesh(t: { after(fn: () => Promise<void>): void }, controlOptions: Partial<ControlPlaneOptions> = {}): Promise<SmallMesh> {
  const ids = await testIdentities();
  const control = await startTestControl({ ...controlOptions, ca: ids.ca });
  const closers: (() => Promise<void>)[] = [() => control.close()];
  t.after(async () => { for (const c of closers.reverse()) await c(); });
  const sidecars: Sidecar[] = [];
  const common = { controlUrl: control.cp.url, closeGraceMs: 200, controlRetryMaxMs: 50 };
  const started = (s: Sidecar) => { sidecars.push(s); closers.push(() => s.close()); return s; };
  const applied = (version: number) => until(() => sidecars.every((s) => s.stats().config.version >= version));
  return {
    control,
    async instance(service, proxy, collectorUrl, labels) {
      const workload = await startHttpServer((req, res) => { req.resume(); res.end(proxy); });
      closers.push(() => workload.close());
      return started(await startSidecar({
        ...common, id: proxy, service, staticIdentity: await ids.identity(service, proxy), ...(labels ? { labels } : {}),
        ...(collectorUrl ? { collectorUrl, taps: { lingerMs: 5 } } : { taps: { enabled: false } }),
        listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: workload.port },
      }));
    },
    async caller(service, proxy) {
      const sidecar = started(await startSidecar({
        ...common, id: proxy, service, staticIdentity: await ids.identity(service, proxy), taps: { enabled: false },
        outbound: { host: '127.0.0.1', port: 0 },
      }));
      return { sidecar, call: (authority, path = '/') => request(sidecar.outboundAddress!.port, { path, headers: { host: authority } }) };
    },
    async settled() {
      await until(() => {
        const st = control.cp.status();
        return st.proxies.length === sidecars.length && st.proxies.every((p) => p.connected && p.sent_version === st.version);
      });
      await applied(control.cp.status().version);
    },
    applied,
  };
}
