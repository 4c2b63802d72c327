// Runs the demo application on a control plane: every instance of every
// service (./topology.ts) is a workload listener behind a sidecar process of
// its own (./instance.ts). Used by `meshlens up` and by the end-to-end tests.
// A supervisor (./supervisor.ts) restarts a sidecar that dies; each sidecar
// keeps its identity and tap spool in its own --state-dir, so it comes back
// as itself. scale() adds instances or stops the newest, as a Deployment's
// replica count would; a service with several versions starts with all its
// traffic on the first (route weights v1:100, v2:0), so v2 gets none until a
// rollout shifts some to it.
//
// Workload processes: on the host's network, one for every service's first
// instance and one more per further instance (so a scale-down can stop it).
// With a DemoNetwork (./netns.ts) each instance's runs as a pod's would, in
// its service's network namespace beside its sidecar: the workload and the
// outbound listener on that namespace's 127.0.0.1 (so only that workload can
// send as it), the inbound and ingress listeners on its bridge address.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, type Child } from './child.ts';
import type { FaultPlan } from './faults.ts';
import { hostOf, planInstance, startApps, startSidecar, type DemoInstance, type InstanceEnv, type WorkloadListeners } from './instance.ts';
import { waitUntilReady, type ReadyCheck } from './mesh-ready.ts';
import type { DemoNetwork } from './netns.ts';
import { Supervisor } from './supervisor.ts';
import { DEMO_TOPOLOGY, MAX_REPLICAS, versionsOf, type DemoService } from './topology.ts';

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
  /** Splits a service's route between its versions by weight (ControlPlane.setRouteWeights). */
  setRouteWeights(service: string, subsets: { version: string; weight: number }[]): unknown;
  /**
   * Leaves an instance out of every caller's endpoints until `untilMs`
   * (ControlPlane.eject): a scale-down drains an instance this way before
   * stopping it. Absent: it stops it at once, and a few calls racing its
   * departure fail (502).
   */
  eject?(instance: string, untilMs: number, reason: string): unknown;
  /** Ends an ejection at once (ControlPlane.lift). */
  lift?(instance: string): unknown;
}

export interface DemoControlStatus {
  services: Record<string, { instance: string }[]>;
  proxies: { proxy: string; connected: boolean; sent_version: number; acked_version: number }[];
}

export interface DemoMeshOptions {
  control: DemoControl;
  topology?: DemoService[];
  log?: (line: string) => void;
  /** Extra flags for every sidecar (e.g. a small tap buffer in tests). */
  sidecarFlags?: string[];
  /** How long to wait for the mesh, or a scale(), to become ready. */
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

/**
 * Admission limits of every demo sidecar: a concurrency bound near what the
 * demo's workloads can serve on a small machine, with a short queue, so that
 * a burst sheds requests fast (503, retry-after) instead of queueing them
 * for seconds (measured with `npm run bench:demo-burst`; see
 * mesh/proxy/stages/admission.ts for why a bound plus a short queue).
 */
export const DEMO_SIDECAR_LIMITS: readonly string[] = ['--max-concurrent', '32', '--max-queue', '16', '--max-queue-wait-ms', '250'];

/** A scale() the mesh refuses: unknown service, or a replica count out of bounds. */
export class ScaleError extends Error {
  readonly code = 'DEMO_ERR_SCALE';
}

export interface DemoMesh {
  /** The front door: web-1's ingress listener (plaintext; callers are external). */
  ingressUrl: string;
  /** Wall-clock ms the fault schedule counts from: a fault's start is `startedAt + start_ms`. */
  startedAt: number;
  /** Each running sidecar's current process (a restart replaces it), by proxy id. */
  sidecars: Map<string, Child>;
  /** Restarts of each running sidecar so far, by proxy id. */
  restarts(): Record<string, number>;
  /** The running workload processes. */
  apps: Child[];
  /** Each service's first instance's listeners, by service name. */
  listeners: Map<string, WorkloadListeners>;
  /** Each running instance's listeners, by instance id (`catalog-2`). */
  instanceListeners: Map<string, WorkloadListeners>;
  /** Running instances of `service`. */
  replicas(service: string): number;
  /**
   * Starts instances (each a new workload listener and sidecar, on new ports,
   * labelled with the service's first version) or stops the newest ones,
   * until `replicas` run (1..8); resolves once the control plane's registry
   * shows the change. Rejects with ScaleError for an unknown service or a
   * count out of bounds.
   */
  scale(service: string, replicas: number): Promise<{ before: number; after: number; instances: string[] }>;
  close(): Promise<void>;
}

export async function startDemoMesh(opts: DemoMeshOptions): Promise<DemoMesh> {
  const topology = opts.topology ?? DEMO_TOPOLOGY;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 90_000;
  const startedAt = Date.now();
  const used = new Set<number>();
  /** `n` free ports this mesh has not handed out (namespaces share none with the host, so the host's free ports can repeat there). */
  const fresh = async (n: number): Promise<number[]> => {
    const out: number[] = [];
    while (out.length < n) for (const p of await freePorts(n - out.length)) if (!used.has(p)) { used.add(p); out.push(p); }
    return out;
  };
  const [ingressPort] = await fresh(1);
  const env: InstanceEnv = {
    control: opts.control, log: opts.log ?? (() => {}), sidecarFlags: opts.sidecarFlags ?? [], faults: opts.faults, epochMs: startedAt,
    stateDir: opts.stateDir ?? mkdtempSync(join(tmpdir(), 'meshlens-demo-sidecars-')),
    ingress: `${hostOf(opts.network, 'web').address}:${ingressPort}`, network: opts.network,
  };
  const running = new Map<string, DemoInstance[]>(topology.map((s) => [s.name, []]));
  for (const service of topology) {
    for (const [i, version] of versionsOf(service).entries()) {
      running.get(service.name)!.push(planInstance(env, service, i + 1, version, await fresh(3), DEMO_SIDECAR_LIMITS));
    }
  }
  const all = () => [...running.values()].flat();
  const apps: Child[] = [];
  const supervisor = new Supervisor({ log: env.log, backoffMs: opts.restartBackoffMs });
  const instanceListeners = new Map(all().map((i) => [i.id, i.listeners]));
  let closing: Promise<void> | null = null;
  let scaling: Promise<unknown> = Promise.resolve();
  /** Waits until `up` are registered and `gone` are not; the new instances' workloads (`up`'s) must not exit meanwhile. */
  const ready = (what: string, up: DemoInstance[], gone: DemoInstance[] = [], extra: Partial<ReadyCheck> = {}) => waitUntilReady(env.control, {
    up: up.map((i) => ({ id: i.id, service: i.service.name, inbound: i.listeners.inbound !== '' })),
    gone: gone.map((i) => ({ id: i.id, service: i.service.name })),
    processes: () => up.flatMap((i) => (i.app ? [i.app] : [])), timeoutMs: readyTimeoutMs, what, ...extra,
  });

  const mesh: DemoMesh = {
    ingressUrl: `http://${env.ingress}`,
    startedAt,
    sidecars: supervisor.children,
    restarts: () => supervisor.restarts(),
    apps,
    listeners: new Map(topology.map((s) => [s.name, running.get(s.name)![0].listeners])),
    instanceListeners,
    replicas: (service) => running.get(service)?.length ?? 0,
    scale(service, replicas) {
      const next = scaling.then(() => scale(service, replicas));
      scaling = next.catch(() => {});
      return next;
    },
    close() {
      closing ??= (async () => {
        await scaling;
        // Sidecars first: each flushes its taps to the collector on SIGTERM.
        await supervisor.stop(15_000);
        await Promise.all(apps.map((a) => a.stop()));
        if (opts.stateDir === undefined) rmSync(env.stateDir, { recursive: true, force: true });
      })();
      return closing;
    },
  };

  /** Starts each instance's workload process, and its sidecar once the workload listens. */
  const startInstances = (list: DemoInstance[]) => settled(list.map(async (inst) => {
    const { child, listening } = startApps(env, `app ${inst.id}`, [inst.spec], inst.listeners.netns, readyTimeoutMs);
    inst.app = child;
    apps.push(child);
    instanceListeners.set(inst.id, inst.listeners);
    await listening;
    await startSidecar(env, supervisor, inst);
  }));

  /**
   * Stops instances: drained first when the control plane can eject (as a
   * Kubernetes endpoint leaves before its pod's SIGTERM: once every sidecar
   * has ACKed a snapshot without them, no new call goes their way), then
   * their sidecars (each flushes its taps on SIGTERM and leaves the
   * registry), then their workloads.
   */
  async function stopInstances(list: DemoInstance[], what: string) {
    const { eject, lift } = env.control;
    if (eject) {
      for (const inst of list) {
        try {
          await eject.call(env.control, inst.id, Date.now() + 60_000, `${what}: draining before stop`);
        } catch (e) {
          env.log(`demo: ${what}: ${inst.id} stops undrained: ${(e as Error).message}`);
        }
      }
      await ready(`${what} (drain)`, []);
    }
    await Promise.all(list.map((i) => supervisor.remove(i.id, 15_000)));
    await ready(what, [], list);
    for (const inst of list) await lift?.call(env.control, inst.id);
    for (const inst of list) {
      instanceListeners.delete(inst.id);
      await inst.app?.stop();
      if (inst.app) apps.splice(apps.indexOf(inst.app), 1);
    }
  }

  async function scale(service: string, replicas: number) {
    const list = running.get(service);
    if (!list) throw new ScaleError(`demo scale: no service "${service}" (the demo has ${[...running.keys()].join(', ')})`);
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > MAX_REPLICAS) {
      throw new ScaleError(`demo scale: ${service} to ${replicas} replicas: must be a whole number in 1..${MAX_REPLICAS}`);
    }
    if (closing) throw new ScaleError(`demo scale: ${service}: the mesh is closing`);
    const before = list.length;
    const what = `scaling ${service} ${before} → ${replicas}`;
    if (replicas > before) {
      const added: DemoInstance[] = [];
      for (let n = before + 1; n <= replicas; n++) added.push(planInstance(env, list[0].service, n, list[0].version, await fresh(3), DEMO_SIDECAR_LIMITS));
      list.push(...added);
      try {
        await startInstances(added);
        await ready(what, added);
      } catch (e) {
        // All or nothing: what did start is stopped again.
        list.splice(before);
        await stopInstances(added, `${what} (undoing)`).catch((u) => env.log(`demo: ${what}: undoing failed: ${(u as Error).message}`));
        throw e;
      }
    } else if (replicas < before) {
      await stopInstances(list.splice(replicas), what);
    }
    const instances = list.map((i) => i.id);
    env.log(`demo: ${service} scaled ${before} → ${list.length}: ${instances.join(', ')}`);
    return { before, after: list.length, instances };
  }

  try {
    // Several versions: all traffic to the first until a rollout says otherwise.
    for (const service of topology) {
      const versions = [...new Set(versionsOf(service))];
      if (versions.length < 2) continue;
      const subsets = versions.map((version, i) => ({ version, weight: i === 0 ? 100 : 0 }));
      await env.control.setRouteWeights(service.name, subsets);
      env.log(`demo: ${service.name} route ${subsets.map((s) => `${s.version}:${s.weight}`).join(' / ')} (a rollout shifts weight to ${versions.slice(1).join(', ')})`);
    }
    // On the host's network, one process runs every service's first instance; the rest run apart.
    const firsts = opts.network ? [] : topology.map((s) => running.get(s.name)![0]);
    const shared = firsts.length ? startApps(env, 'apps', firsts.map((i) => i.spec), null, readyTimeoutMs) : null;
    if (shared) apps.push(shared.child);
    await settled([
      startInstances(all().filter((i) => !firsts.includes(i))),
      shared?.listening.then(() => Promise.all(firsts.map((inst) => startSidecar(env, supervisor, inst)))),
    ]);
    await ready('start-up', all(), [], { processes: () => [...apps, ...supervisor.children.values()], frontDoor: new URL(mesh.ingressUrl) });
  } catch (e) {
    await mesh.close();
    throw e;
  }
  return mesh;
}

/** Waits for every start to finish, failed or not (none may start a process after the clean-up), then throws the first failure. */
async function settled(starts: (Promise<unknown> | undefined)[]): Promise<void> {
  const failed = (await Promise.allSettled(starts)).find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}
