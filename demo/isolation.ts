// Whether the demo's workloads get network namespaces (`meshlens up
// --isolate auto|on|off`). Each sidecar's outbound listener treats whoever
// connects as its workload; only a network of the workload's own (a pod's,
// in Linkerd or Istio; here ./netns.ts) makes that true. Without one the
// start says so plainly, in the log and in the status the UI shows.

import { openDemoNetwork, type DemoNetwork } from './netns.ts';

export type IsolateMode = 'auto' | 'on' | 'off';
export const ISOLATE_MODES: readonly IsolateMode[] = ['auto', 'on', 'off'];

/** What the control status carries as `isolation` (the UI warns when 'shared'). */
export interface WorkloadIsolation {
  workloads: 'netns' | 'shared';
  detail: string;
}

export const SHARED_NETWORK_WARNING = "demo: workloads share this host's network: any local process can send through a sidecar's outbound listener as that workload; run as root for per-workload network namespaces";

export interface IsolateOptions {
  log: (line: string) => void;
  /** Kafka brokers the sidecars would send taps to (--bus kafka): a namespace reaches only the demo bridge, not them. */
  kafkaBrokers?: string[];
  /** Effective uid (default: this process's). */
  uid?: number;
}

/**
 * Opens a network namespace per service when `mode` asks for it and this
 * machine allows it. 'auto' falls back to the shared network with the reason;
 * 'on' fails instead. The caller closes the network it gets.
 */
export async function isolateDemo(mode: IsolateMode, services: string[], o: IsolateOptions): Promise<{ isolation: WorkloadIsolation; network?: DemoNetwork }> {
  const uid = o.uid ?? process.getuid?.() ?? -1;
  const blocker = mode === 'off' ? '--isolate off'
    : uid !== 0 ? `not root (uid ${uid}): network namespaces need CAP_NET_ADMIN`
      : o.kafkaBrokers?.length ? `--bus kafka: the namespaces reach only the demo bridge, not the brokers ${o.kafkaBrokers.join(',')}` : null;
  let network: DemoNetwork | undefined;
  let why = blocker;
  if (!blocker) {
    try {
      network = await openDemoNetwork(services, o.log);
    } catch (e) {
      why = `network namespaces unavailable: ${(e as Error).message}`;
    }
  }
  if (network) {
    const detail = `each workload and its sidecar in a network namespace of its own (${[...network.hosts.values()].map((h) => h.netns).join(', ')}), bridge ${network.bridge} ${network.subnet}`;
    o.log(`demo: workloads isolated: ${detail}`);
    return { isolation: { workloads: 'netns', detail }, network };
  }
  if (mode === 'on') throw new Error(`--isolate on: ${why}`);
  o.log(`${SHARED_NETWORK_WARNING} (${why})`);
  return { isolation: { workloads: 'shared', detail: why! } };
}
