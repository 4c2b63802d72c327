// One instance of a demo service: a workload listener and the sidecar in
// front of it (proxy id and instance `<service>-<n>`, `--label
// version=<v>`, a --state-dir of its own), started and stopped together.
// ./mesh.ts starts the first set and DemoMesh.scale adds or removes the
// newest. A background job's sidecar (DemoService.background_rps) has an
// outbound listener only: nothing calls it.

import { join } from 'node:path';
import { Child } from './child.ts';
import type { FaultPlan } from './faults.ts';
import type { DemoControl } from './mesh.ts';
import type { DemoNetwork } from './netns.ts';
import type { Supervisor } from './supervisor.ts';
import type { DemoService } from './topology.ts';

/** Where one instance's processes listen, as `host:port` seen from inside their network. */
export interface WorkloadListeners {
  /** The network namespace of the workload and its sidecar; null: the host's network. */
  netns: string | null;
  app: string;
  /** The sidecar's mTLS listener (registered in the control plane at this address); '' for a background job. */
  inbound: string;
  /** The sidecar's outbound listener: the workload's HTTP proxy. */
  outbound: string;
}

/** One workload instance, as `meshlens demo-apps --spec` takes it. */
export interface AppSpec {
  service: DemoService;
  instance: string;
  version: string;
  port: number;
  httpProxy: string;
  /** Scheduled faults; absent: none. */
  faults?: FaultPlan;
  /** Wall-clock ms the fault schedule counts from (the mesh's start). */
  epoch_ms: number;
}

/** What every instance of one mesh shares. */
export interface InstanceEnv {
  control: DemoControl;
  log: (line: string) => void;
  /** Flags for every sidecar (later flags win). */
  sidecarFlags: string[];
  faults?: FaultPlan;
  epochMs: number;
  /** Each sidecar keeps its identity and tap spool in `<stateDir>/<proxy id>`. */
  stateDir: string;
  /** web-1's ingress listener, host:port: the front door. */
  ingress: string;
  network?: DemoNetwork;
}

export interface DemoInstance {
  id: string;
  service: DemoService;
  version: string;
  listeners: WorkloadListeners;
  spec: AppSpec;
  sidecarArgs: string[];
  /** Its own workload process; null while its workload runs in the shared one (./mesh.ts). */
  app: Child | null;
}

/** The namespace and address a service's instances run at (the host's 127.0.0.1 without a network). */
export function hostOf(network: DemoNetwork | undefined, service: string): { netns: string | null; address: string } {
  if (!network) return { netns: null, address: '127.0.0.1' };
  const h = network.hosts.get(service);
  if (!h) throw new Error(`demo mesh: the network has no namespace for ${service} (it has ${[...network.hosts.keys()].join(', ')})`);
  return h;
}

/** Instance `n` of `service` on three free ports (workload, inbound, outbound): its listeners, app spec and sidecar flags. */
export function planInstance(env: InstanceEnv, service: DemoService, n: number, version: string, ports: number[], sidecarLimits: readonly string[]): DemoInstance {
  const [app, inbound, outbound] = ports;
  const { netns, address } = hostOf(env.network, service.name);
  const id = `${service.name}-${n}`;
  const job = Boolean(service.background_rps);
  const listeners: WorkloadListeners = { netns, app: `127.0.0.1:${app}`, inbound: job ? '' : `${address}:${inbound}`, outbound: `127.0.0.1:${outbound}` };
  const spec: AppSpec = { service, instance: id, version, port: app, httpProxy: `http://${listeners.outbound}`, faults: env.faults, epoch_ms: env.epochMs };
  const sidecarArgs = [
    'sidecar', '--id', id, '--service', service.name, '--instance', id, '--label', `version=${version}`,
    ...(job ? [] : ['--listen', listeners.inbound, '--upstream', listeners.app]),
    '--outbound', listeners.outbound, '--control', env.control.url, '--trust-bundle', env.control.trustBundleFile,
    '--state-dir', join(env.stateDir, id),
    // The front door: traffic from outside the mesh enters through web-1's ingress listener only.
    ...(id === 'web-1' ? ['--ingress', env.ingress] : []),
    ...sidecarLimits,
    ...env.sidecarFlags, // later flags win
  ];
  return { id, service, version, listeners, spec, sidecarArgs, app: null };
}

/**
 * Starts the workload process for `specs` (all in `netns`, if given);
 * `listening` resolves once each workload has said it listens (a sidecar in
 * front of one that does not yet would answer its first calls 502), and
 * rejects if the process exits first.
 */
export function startApps(env: InstanceEnv, name: string, specs: AppSpec[], netns: string | null, timeoutMs: number): { child: Child; listening: Promise<void> } {
  const waiting = new Set(specs.map((s) => s.instance));
  let heard = () => {};
  const listening = new Promise<void>((resolve) => { heard = resolve; });
  const log = (line: string) => {
    env.log(line);
    const m = / app (\S+) \(\S+\) listening on /.exec(line);
    if (m && waiting.delete(m[1]) && waiting.size === 0) heard();
  };
  const child = new Child(name, ['demo-apps', '--spec', JSON.stringify(specs)], log, {}, { netns: netns ?? undefined });
  let timer: NodeJS.Timeout | undefined;
  const failed = Promise.race([
    child.ended.then(({ code, signal }) => `exited (${signal ?? `code ${code}`})`),
    new Promise<string>((resolve) => { timer = setTimeout(() => resolve(`did not say so within ${timeoutMs} ms`), timeoutMs); }),
  ]).then((why) => { throw new Error(`demo mesh: ${name} ${why}: [${[...waiting].join(', ')}] not listening`); });
  failed.catch(() => {}); // reported through `listening`
  return { child, listening: Promise.race([listening, failed]).finally(() => clearTimeout(timer)) };
}

/** Starts an instance's sidecar under `supervisor`, with a fresh join token. */
export async function startSidecar(env: InstanceEnv, supervisor: Supervisor, inst: DemoInstance): Promise<void> {
  const token = await env.control.joinToken(inst.service.name, inst.id);
  supervisor.start(inst.id, `sidecar ${inst.id}`, inst.sidecarArgs, { MESHLENS_JOIN_TOKEN: token }, inst.listeners.netns ?? undefined);
}
