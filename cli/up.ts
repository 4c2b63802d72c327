// `meshlens up`: the whole loop on one machine — the embedded control plane
// (store, collector, UI) plus the demo mesh and its load generator.

import { join, resolve } from 'node:path';
import {
  DEMO_TOPOLOGY, faultSchedule, isolateDemo, ISOLATE_MODES, relayTcp, startDemoMesh, startLoad,
  type DemoControl, type DemoMesh, type FaultPlan, type IsolateMode, type LoadGenerator, type TcpRelay,
} from '../demo/index.ts';
import { loginUrl } from '../access/index.ts';
import { DEMO_POLICY_DIR } from './authz-policy.ts';
import { CONTROL_FLAGS, runControl, type RunningControl } from './control.ts';
import { splitHostPort, type FlagSpec, type FlagValues } from './flags.ts';
import { brokerList, requireValid } from './store.ts';

export const UP_FLAGS: FlagSpec[] = [
  ...CONTROL_FLAGS,
  { name: 'demo', type: 'bool', default: true, help: 'run the demo application (5 services with sidecars)' },
  { name: 'load-rps', type: 'int', env: 'MESHLENS_LOAD_RPS', default: 100, help: 'demo load: requests per second into web (each fans out to 4 more calls)' },
  { name: 'faults', type: 'bool', default: true, help: 'inject scheduled faults into the demo (latency, errors, outage, exfiltration)' },
  { name: 'fault-warmup-min', type: 'int', env: 'MESHLENS_FAULT_WARMUP_MIN', default: 30, help: 'quiet minutes before the first fault (the models learn from them)' },
  { name: 'fault-every-min', type: 'int', env: 'MESHLENS_FAULT_EVERY_MIN', default: 15, help: 'minutes from one fault to the next' },
  { name: 'fault-minutes', type: 'int', env: 'MESHLENS_FAULT_MINUTES', default: 3, help: 'how long each fault lasts' },
  { name: 'isolate', type: 'string', env: 'MESHLENS_ISOLATE', default: 'auto', help: 'a network namespace per demo workload and its sidecar, so only it reaches its sidecar\'s outbound listener: auto (when root), on, off' },
];

/** The demo's view of a control plane running in this process: its URL and bundle, join tokens and status in-process. */
export function demoControl(core: RunningControl): DemoControl {
  return {
    url: core.control.url, trustBundleFile: core.trustBundleFile, status: () => core.control.status(),
    joinToken: (service, proxy) => core.control.tokens.issue({ service, proxy }),
  };
}

export async function runUp(f: FlagValues, log: (line: string) => void): Promise<{ close(): Promise<void> }> {
  const started = Date.now();
  requireValid('up', ISOLATE_MODES.includes(f.isolate as IsolateMode) ? [] : [`--isolate: "${f.isolate}" is not one of ${ISOLATE_MODES.join(', ')}`]);
  // Namespaces first: with them the control plane listens on their bridge, where the sidecars reach it.
  const demoNet = f.demo ? await isolateDemo(f.isolate as IsolateMode, DEMO_TOPOLOGY.map((s) => s.name), {
    log, kafkaBrokers: f.bus === 'kafka' ? brokerList(f) : [],
  }) : undefined;
  const network = demoNet?.network;
  const listen = splitHostPort(String(f.listen));
  // The demo shop runs its own authorization policy unless --policy says otherwise ('' for none).
  const flags = {
    ...f, ...(f.policy === undefined && f.demo ? { policy: DEMO_POLICY_DIR } : {}),
    ...(network ? { listen: `${network.hostAddress}:${listen.port}` } : {}),
  };
  let core: Awaited<ReturnType<typeof runControl>>;
  try {
    core = await runControl(flags, log, { status: () => (demoNet ? { isolation: demoNet.isolation } : {}) });
  } catch (e) {
    await network?.close();
    throw e;
  }
  let relay: TcpRelay | undefined;
  let mesh: DemoMesh | undefined;
  let load: LoadGenerator | undefined;
  let report: NodeJS.Timeout | undefined;
  const close = async () => {
    if (report) clearInterval(report);
    await load?.stop();
    await mesh?.close();
    await relay?.close();
    await core.close();
    await network?.close();
  };
  try {
    if (network) {
      // This host's tools (`meshlens status`) still find the control plane at --listen's address.
      const port = Number(new URL(core.control.url).port);
      try {
        relay = await relayTcp({ host: listen.host, port }, { host: network.hostAddress, port });
        log(`control plane: also at https://${relay.address} (relayed to the demo bridge)`);
      } catch (e) {
        log(`control plane: only at ${core.control.url}: ${(e as Error).message}`);
      }
    }
    if (f.demo) {
      log('demo: starting 5 services, each behind its own sidecar …');
      const sidecarFlags = f.bus === 'kafka' ? ['--bus', 'kafka', '--brokers', String(f.brokers), '--topic', String(f.topic)] : [];
      const faults: FaultPlan | undefined = f.faults ? {
        warmup_ms: Number(f['fault-warmup-min']) * 60_000,
        every_ms: Math.max(1, Number(f['fault-every-min'])) * 60_000,
        duration_ms: Number(f['fault-minutes']) * 60_000,
      } : undefined;
      mesh = await startDemoMesh({
        control: demoControl(core),
        log, sidecarFlags, faults, network,
        // Sidecars keep identity and unsent taps here across restarts (and across `meshlens up` runs).
        stateDir: join(resolve(String(f['data-dir'])), 'sidecars'),
      });
      if (faults) {
        const plan = faultSchedule(faults, 4).map((x) => `${x.kind} on ${x.service} at +${x.start_ms / 60_000} min`);
        log(`demo: faults for ${faults.duration_ms / 60_000} min each: ${plan.join(', ')}, then every ${faults.every_ms / 60_000} min`);
      }
      log(`demo: mesh ready in ${((Date.now() - started) / 1000).toFixed(1)} s, front door ${mesh.ingressUrl}`);
      const rps = Number(f['load-rps']);
      if (rps > 0) {
        load = startLoad({ target: mesh.ingressUrl, rps });
        log(`load: ${rps} req/s into web`);
      }
    }
    log(`meshlens is up: open ${loginUrl(core.uiUrl, core.operatorToken)} (Ctrl-C stops)`);
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
