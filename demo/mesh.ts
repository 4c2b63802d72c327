// Runs the demo application on a control plane: one process with the five
// workloads, and one sidecar process per service. Used by `meshlens up` and
// by the end-to-end tests. A supervisor (./supervisor.ts) restarts a
// sidecar that dies; each sidecar keeps its identity and tap spool in its
// own --state-dir, so it comes back as itself.
//
// With a DemoNetwork (./netns.ts) each service runs as a pod would: its
// workload (a process of its own) and its sidecar in one network namespace,
// the workload and the outbound listener on that namespace's 127.0.0.1 (so
// only that workload can send as it), the inbound and ingress listeners on
// its bridge address. Without one, everything shares this host's 127.0.0.1.

import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Child, freePorts } from './child.ts';
import type { FaultPlan } from './faults.ts';
import type { DemoNetwork } from './netns.ts';
import { Supervisor } from './supervisor.ts';
import { DEMO_TOPOLOGY, type DemoService } from './topology.ts';

/** What the demo needs from the control plane it runs on (the process that composes both). */
export interface DemoControl {
  /** https:// URL of the control plane. */
  url: string;
  /** PEM file of the mesh's trust bundle (sidecars check the control plane with it). */
  trustBundleFile: string;
  /** A join token for one sidecar's first certificate. */
  joinToken(service: string, proxy: string): string | Promise<string>;
  /** Registry and ACK state. */
  status(): DemoControlStatus | Promise<DemoControlStatus>;
}

export interface DemoControlStatus {
  services: Record<string, unknown[]>;
  proxies: { proxy: string; connected: boolean; sent_version: number; acked_version: number }[];
}

export interface DemoMeshOptions {
  control: DemoControl;
  topology?: DemoService[];
  log?: (line: string) => void;
  /** Extra flags for every sidecar (e.g. a small tap buffer in tests). */
  sidecarFlags?: string[];
  /** How long to wait for the mesh to become ready. */
  readyTimeoutMs?: number;
  /** Scheduled faults (see faults.ts); absent: none. */
  faults?: FaultPlan;
  /**
   * Where sidecars keep state across restarts: `<stateDir>/<proxy id>` each
   * (`meshlens up`: `<data-dir>/sidecars`). Absent: a temporary directory,
   * removed by close().
   */
  stateDir?: string;
  /** Delay before restarting a sidecar that died (doubles for each restart in a row); default 200 ms. */
  restartBackoffMs?: number;
  /**
   * Network namespaces to run each service in, opened (and later closed) by
   * the caller: the control plane must already listen on its hostAddress.
   * Absent (the default, and every test but the isolation test's): the
   * host's network, shared by every workload.
   */
  network?: DemoNetwork;
}

/** Where one service's processes listen, as `host:port` seen from inside their network. */
export interface WorkloadListeners {
  /** The network namespace of the workload and its sidecar; null: the host's network. */
  netns: string | null;
  app: string;
  /** The sidecar's mTLS listener (registered in the control plane at this address). */
  inbound: string;
  /** The sidecar's outbound listener: the workload's HTTP proxy. */
  outbound: string;
}

/**
 * Admission limits of every demo sidecar: a concurrency bound near what the
 * demo's workloads can serve on a small machine, with a short queue, so that
 * a burst sheds requests fast (503, retry-after) instead of queueing them
 * for seconds (measured with `npm run bench:demo-burst`; see
 * mesh/proxy/stages/admission.ts for why a bound plus a short queue).
 */
export const DEMO_SIDECAR_LIMITS: readonly string[] = ['--max-concurrent', '32', '--max-queue', '16', '--max-queue-wait-ms', '250'];

export interface AppSpec {
  service: DemoService;
  port: number;
  httpProxy: string;
  /** Scheduled faults; absent: none. */
  faults?: FaultPlan;
}

export interface DemoMesh {
  /** The front door: web's ingress listener (plaintext; callers are external). */
  ingressUrl: string;
  /** Each sidecar's current process (a restart replaces it), by proxy id. */
  sidecars: Map<string, Child>;
  /** Restarts of each sidecar so far, by proxy id. */
  restarts(): Record<string, number>;
  /** The workload processes: one for all services, or one per namespace with a DemoNetwork. */
  apps: Child[];
  /** Each service's listeners, by service name. */
  listeners: Map<string, WorkloadListeners>;
  close(): Promise<void>;
}

export async function startDemoMesh(opts: DemoMeshOptions): Promise<DemoMesh> {
  const topology = opts.topology ?? DEMO_TOPOLOGY;
  const log = opts.log ?? (() => {});
  const ports = await freePorts(topology.length * 3 + 1);
  const ingressPort = ports[topology.length * 3];
  const hostOf = (service: string) => {
    if (!opts.network) return { netns: null, address: '127.0.0.1' };
    const h = opts.network.hosts.get(service);
    if (!h) throw new Error(`demo mesh: the network has no namespace for ${service} (it has ${[...opts.network.hosts.keys()].join(', ')})`);
    return h;
  };
  const ingress = `${hostOf('web').address}:${ingressPort}`;
  const hosts = topology.map((s) => hostOf(s.name));
  const specs: AppSpec[] = [];
  const listeners = new Map<string, WorkloadListeners>();
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'meshlens-demo-sidecars-'));
  const sidecarArgs: [string, string[], NodeJS.ProcessEnv, string | null][] = [];
  const tokens = await Promise.all(topology.map((service) => opts.control.joinToken(service.name, `${service.name}-1`)));
  topology.forEach((service, i) => {
    const [app, inbound, outbound] = ports.slice(i * 3, i * 3 + 3);
    const { netns, address } = hosts[i];
    const l: WorkloadListeners = { netns, app: `127.0.0.1:${app}`, inbound: `${address}:${inbound}`, outbound: `127.0.0.1:${outbound}` };
    listeners.set(service.name, l);
    const id = `${service.name}-1`;
    specs.push({ service, port: app, httpProxy: `http://${l.outbound}`, faults: opts.faults });
    sidecarArgs.push([id, [
      'sidecar', '--id', id, '--service', service.name, '--instance', id,
      '--listen', l.inbound, '--upstream', l.app,
      '--outbound', l.outbound, '--control', opts.control.url, '--trust-bundle', opts.control.trustBundleFile,
      '--state-dir', join(stateDir, id),
      // The front door: traffic from outside the mesh enters through web's ingress listener only.
      ...(service.name === 'web' ? ['--ingress', ingress] : []),
      ...DEMO_SIDECAR_LIMITS,
      ...(opts.sidecarFlags ?? []), // later flags win

    ], { MESHLENS_JOIN_TOKEN: tokens[i] }, netns]);
  });

  // Shared network: one process for every workload. Namespaces: one each, in its namespace.
  const apps = opts.network
    ? specs.map((s, i) => new Child(`app ${s.service.name}`, ['demo-apps', '--spec', JSON.stringify([s])], log, {}, { netns: hosts[i].netns ?? undefined }))
    : [new Child('apps', ['demo-apps', '--spec', JSON.stringify(specs)], log)];
  const supervisor = new Supervisor({ log, backoffMs: opts.restartBackoffMs });
  for (const [id, args, env, netns] of sidecarArgs) supervisor.start(id, `sidecar ${id}`, args, env, netns ?? undefined);
  let closing: Promise<void> | null = null;
  const mesh: DemoMesh = {
    ingressUrl: `http://${ingress}`,
    sidecars: supervisor.children,
    restarts: () => supervisor.restarts(),
    apps,
    listeners,
    close() {
      closing ??= (async () => {
        // Sidecars first: each flushes its taps to the collector on SIGTERM.
        await supervisor.stop(15_000);
        await Promise.all(apps.map((a) => a.stop()));
        if (opts.stateDir === undefined) rmSync(stateDir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
  try {
    await waitForMesh(opts.control, topology.map((s) => s.name), mesh, opts.readyTimeoutMs ?? 90_000);
  } catch (e) {
    await mesh.close();
    throw e;
  }
  return mesh;
}

/** Waits until every service is registered, every sidecar ACKed its newest snapshot, and the front door answers. */
async function waitForMesh(control: DemoControl, services: string[], mesh: DemoMesh, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'nothing yet';
  while (Date.now() < deadline) {
    for (const c of [...mesh.apps, ...mesh.sidecars.values()]) {
      if (!c.running) throw new Error(`demo mesh: ${c.name} exited during start-up`);
    }
    try {
      const st = await control.status();
      const missing = services.filter((s) => !(st.services[s]?.length > 0));
      const unacked = st.proxies.filter((p) => p.connected && p.acked_version < p.sent_version).map((p) => p.proxy);
      last = `missing services [${missing.join(', ')}], sidecars without ACK [${unacked.join(', ')}]`;
      if (missing.length === 0 && unacked.length === 0) {
        // A TCP connect, not a request: a request would add taps that exact-count tests would see.
        if (await canConnect(new URL(mesh.ingressUrl))) return;
        last = 'front door not accepting connections';
      }
    } catch (e) {
      last = `control plane: ${(e as Error).message}`;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`demo mesh not ready after ${timeoutMs} ms: ${last}`);
}

function canConnect(url: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(Number(url.port), url.hostname, () => { sock.destroy(); resolve(true); });
    sock.on('error', () => resolve(false));
  });
}
