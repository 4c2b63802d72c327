// `meshlens up`: the whole loop on one machine — the embedded control plane
// (store, collector, UI) plus the demo mesh and its load generator.
//
// Fault schedule (demo/faults.ts): quiet for --fault-warmup-min, then one
// fault every --fault-every-min lasting --fault-minutes, cycling latency,
// errors, outage, exfil (anomaly faults), then canary, eject, surge, flood
// (tuning scenarios). `--scenario <name>` cycles that scenario alone, the
// first after --scenario-warmup-s. Payments v2 is a regression throughout
// (it gets traffic only once a rollout shifts weight to it).

import { join, resolve } from 'node:path';
import {
  DEMO_TOPOLOGY, faultSchedule, isolateDemo, isScenario, ISOLATE_MODES, loadRateMultiplier, relayTcp, SCENARIOS, startDemoMesh, startLoad, UP_CYCLE, versionsOf,
  type DemoControl, type DemoMesh, type FaultPlan, type IsolateMode, type LoadGenerator, type TcpRelay,
} from '../demo/index.ts';
import { loginUrl } from '../access/index.ts';
import { DEMO_POLICY_DIR } from './authz-policy.ts';
import { CONTROL_FLAGS, runControl, type RunningControl } from './control.ts';
import { splitHostPort, type FlagSpec, type FlagValues } from './flags.ts';
import { brokerList, requireValid } from './store.ts';
import { canaryRollouts, demoScaler } from './demo-tuning.ts';

// The demo closes the loop: every action kind in auto, scaling through the demo supervisor.
// A compliance report every 5 minutes, so a new user sees one soon (`meshlens control`: daily).
const UP_DEFAULTS: Record<string, string> = { 'tuning-mode': 'auto', scaler: 'demo', 'report-every': '5m' };

export const UP_FLAGS: FlagSpec[] = [
  ...CONTROL_FLAGS.map((s) => (s.name in UP_DEFAULTS ? { ...s, default: UP_DEFAULTS[s.name] } : s)),
  { name: 'demo', type: 'bool', default: true, help: 'run the demo application (6 services, 8 instances, each with its sidecar)' },
  { name: 'load-rps', type: 'int', env: 'MESHLENS_LOAD_RPS', default: 100, help: 'demo load: requests per second into web (each fans out to 4 more calls)' },
  { name: 'faults', type: 'bool', default: true, help: 'inject scheduled faults into the demo (latency, errors, outage, exfiltration, then the scenarios canary, eject, surge, flood)' },
  { name: 'scenario', type: 'string', env: 'MESHLENS_SCENARIO', help: `run only this tuning scenario, every --fault-every-min for --fault-minutes: ${SCENARIOS.join(', ')}` },
  { name: 'scenario-warmup-s', type: 'int', env: 'MESHLENS_SCENARIO_WARMUP_S', default: 90, help: 'with --scenario: quiet seconds before it first starts' },
  { name: 'fault-warmup-min', type: 'int', env: 'MESHLENS_FAULT_WARMUP_MIN', default: 30, help: 'quiet minutes before the first fault (the models learn from them)' },
  { name: 'fault-every-min', type: 'int', env: 'MESHLENS_FAULT_EVERY_MIN', default: 15, help: 'minutes from one fault to the next' },
  { name: 'fault-minutes', type: 'int', env: 'MESHLENS_FAULT_MINUTES', default: 3, help: 'how long each fault lasts' },
  { name: 'fault-seconds', type: 'int', env: 'MESHLENS_FAULT_SECONDS', help: 'how long each fault lasts, in seconds (over --fault-minutes; for short runs and tests)' },
  { name: 'isolate', type: 'string', env: 'MESHLENS_ISOLATE', default: 'auto', help: 'a network namespace per demo workload and its sidecar, so only it reaches its sidecar\'s outbound listener: auto (when root), on, off' },
];

/** The demo's view of a control plane running in this process: its URL and bundle, join tokens and status in-process. */
export function demoControl(core: RunningControl): DemoControl {
  return {
    url: core.control.url, trustBundleFile: core.trustBundleFile, status: () => core.control.status(),
    joinToken: (service, proxy) => core.control.tokens.issue({ service, proxy }),
    setRouteWeights: (service, subsets) => core.control.setRouteWeights(service, subsets),
    eject: (instance, untilMs, reason) => core.control.eject(instance, untilMs, reason),
    lift: (instance) => core.control.lift(instance),
  };
}

/** `core` and `mesh`: the running parts, for tests that drive `meshlens up` in process. */
export async function runUp(f: FlagValues, log: (line: string) => void): Promise<{ close(): Promise<void>; core: RunningControl; mesh: DemoMesh | undefined }> {
  const started = Date.now();
  requireValid('up', [
    ...(ISOLATE_MODES.includes(f.isolate as IsolateMode) ? [] : [`--isolate: "${f.isolate}" is not one of ${ISOLATE_MODES.join(', ')}`]),
    ...(f.scenario === undefined || isScenario(f.scenario) ? [] : [`--scenario: "${f.scenario}" is not one of ${SCENARIOS.join(', ')}`]),
    ...(f.scenario !== undefined && !(f.faults && f.demo) ? ['--scenario: needs the demo and its faults (drop --no-demo / --no-faults)'] : []),
  ]);
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
  // Set once the demo runs; the control plane's demo scaler asks for it at each scale action.
  let mesh: DemoMesh | undefined;
  try {
    core = await runControl(flags, log, { status: () => (demoNet ? { isolation: demoNet.isolation } : {}), scaler: () => (mesh ? demoScaler(mesh) : null) });
  } catch (e) {
    await network?.close();
    throw e;
  }
  let relay: TcpRelay | undefined;
  let load: LoadGenerator | undefined;
  let report: NodeJS.Timeout | undefined;
  let canary: { stop(): void } | undefined;
  const close = async () => {
    if (report) clearInterval(report);
    canary?.stop();
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
      log(`demo: starting ${DEMO_TOPOLOGY.length} services, ${DEMO_TOPOLOGY.reduce((n, s) => n + versionsOf(s).length, 0)} instances, each behind its own sidecar …`);
      const sidecarFlags = f.bus === 'kafka' ? ['--bus', 'kafka', '--brokers', String(f.brokers), '--topic', String(f.topic)] : [];
      const faults: FaultPlan | undefined = f.faults ? {
        warmup_ms: isScenario(f.scenario) ? Number(f['scenario-warmup-s']) * 1000 : Number(f['fault-warmup-min']) * 60_000,
        every_ms: Math.max(1, Number(f['fault-every-min'])) * 60_000,
        duration_ms: f['fault-seconds'] !== undefined ? Number(f['fault-seconds']) * 1000 : Number(f['fault-minutes']) * 60_000,
        kinds: isScenario(f.scenario) ? [f.scenario] : UP_CYCLE,
      } : undefined;
      mesh = await startDemoMesh({
        control: demoControl(core),
        log, sidecarFlags, faults, network,
        // Sidecars keep identity and unsent taps here across restarts (and across `meshlens up` runs).
        stateDir: join(resolve(String(f['data-dir'])), 'sidecars'),
      });
      if (faults) {
        const at = (ms: number) => (ms % 60_000 ? `+${ms / 1000} s` : `+${ms / 60_000} min`);
        const plan = faultSchedule(faults, faults.kinds!.length).map((x) => `${x.kind} on ${x.instance ?? x.service} at ${at(x.start_ms)}`);
        log(`demo: faults for ${faults.duration_ms / 60_000} min each: ${plan.join(', ')}, then the same again every ${faults.every_ms / 60_000 * faults.kinds!.length} min; ` +
          'payments v2 always regressed (+200 ms, 20% errors) but given no traffic until a rollout');
      }
      if (faults) canary = canaryRollouts(core.control, faults, mesh.startedAt, log);
      log(`demo: mesh ready in ${((Date.now() - started) / 1000).toFixed(1)} s, front door ${mesh.ingressUrl}`);
      const rps = Number(f['load-rps']);
      if (rps > 0) {
        const { startedAt } = mesh;
        // A surge scenario triples the rate while it lasts.
        load = startLoad({ target: mesh.ingressUrl, rps, rateMultiplier: faults ? () => loadRateMultiplier(faults, Date.now() - startedAt) : undefined });
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
  return { close, core, mesh };
}
