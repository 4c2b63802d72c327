// Shared set-up for the cross-folder tests: a temporary data directory and
// the embedded control plane on free ports, composed exactly as `meshlens
// control` composes it.

import { mkdtempSync, rmSync } from 'node:fs';
import { after } from 'node:test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runControl, CONTROL_FLAGS, type RunningControl } from '../cli/control.ts';
import { demoControl } from '../cli/up.ts';
import { controlClient } from '../cli/control-client.ts';
import {
  openDemoNetwork, quietTopology, sendExactly, startDemoMesh, type DemoControl, type DemoControlStatus, type DemoMesh, type DemoMeshOptions, type DemoNetwork,
} from '../demo/index.ts';
import { parseFlags } from '../cli/flags.ts';
import type { TapStore } from '../ingest/index.ts';

/** Tests hand the demo a control plane of this process as `meshlens up` does. */
export { demoControl };

// Safety net: a whole-mesh test that fails half-way may leave a handle open
// (a server, a child's pipe) and keep this test file's process alive, which
// would stall the whole run. Once the file's tests are over and cleaned up,
// give it 15 s and then exit with the status the runner set.
after(() => { setTimeout(() => process.exit(), 15_000).unref(); });

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `meshlens-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export async function startTestControl(dataDir: string, lines: string[] = [], extraFlags: string[] = []) {
  const flags = parseFlags('control', '', ['--data-dir', dataDir, '--listen', '127.0.0.1:0', '--ui', '127.0.0.1:0', ...extraFlags], CONTROL_FLAGS, {});
  return runControl(flags, (l) => lines.push(l));
}

/** Polls `probe` every 100 ms until it returns true or the deadline passes; then throws with `what`. */
export async function eventually(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Every hop of the demo topology, as (proxy, direction, peer service) with the count of taps one front-door request causes. */
export const DEMO_HOPS: { proxy: string; direction: 'inbound' | 'outbound'; src: string; dst: string }[] = [
  { proxy: 'web-1', direction: 'inbound', src: 'external', dst: 'web' },
  { proxy: 'web-1', direction: 'outbound', src: 'web', dst: 'catalog' },
  { proxy: 'web-1', direction: 'outbound', src: 'web', dst: 'cart' },
  { proxy: 'catalog-1', direction: 'inbound', src: 'web', dst: 'catalog' },
  { proxy: 'cart-1', direction: 'inbound', src: 'web', dst: 'cart' },
  { proxy: 'cart-1', direction: 'outbound', src: 'cart', dst: 'payments' },
  { proxy: 'cart-1', direction: 'outbound', src: 'cart', dst: 'inventory' },
  { proxy: 'payments-1', direction: 'inbound', src: 'cart', dst: 'payments' },
  { proxy: 'inventory-1', direction: 'inbound', src: 'cart', dst: 'inventory' },
];

/** The tap counters each sidecar printed when it stopped (`sidecar: stopped, {stats}`), by sidecar id. */
export function sidecarFinalTapCounters(lines: string[]): Map<string, SidecarFinalStats['taps']> {
  return new Map([...sidecarFinalStats(lines)].map(([id, s]) => [id, s.taps]));
}

/** Asserts every sidecar stopped having lost nothing: no drops, rejections or taps abandoned at shutdown. */
export function assertNoSidecarLoss(lines: string[], sidecars: number): void {
  const counters = sidecarFinalTapCounters(lines);
  if (counters.size !== sidecars) throw new Error(`expected final tap counters from ${sidecars} sidecars, got ${counters.size}`);
  for (const [id, c] of counters) {
    if (c.dropped + c.rejected + c.abandoned !== 0 || c.acked !== c.emitted) {
      throw new Error(`sidecar ${id} lost taps: ${JSON.stringify(c)}`);
    }
  }
}

/** Control plane + Kafka collector + ClickHouse server store + UI, as `meshlens control --bus kafka --store clickhouse` composes them (CA and operator token in a temporary data dir, removed on close). */
export async function startScaledOutControl(opts: { brokers: string[]; clickhouseUrl: string; collector?: boolean }, lines: string[] = []) {
  const dir = tempDir('scaled');
  const flags = parseFlags('control', '', [
    '--bus', 'kafka', '--brokers', opts.brokers.join(','), '--store', 'clickhouse', '--clickhouse-url', opts.clickhouseUrl, '--data-dir', dir.path,
    '--listen', '127.0.0.1:0', '--ui', '127.0.0.1:0', ...(opts.collector === false ? ['--no-collector'] : []),
  ], CONTROL_FLAGS, {});
  const core = await runControl(flags, (l) => lines.push(l));
  return { ...core, dataDir: dir.path, close: async () => { await core.close(); dir.remove(); } };
}

export interface SidecarFinalStats {
  inbound: { requests: number };
  outbound: { requests: number };
  taps: { emitted: number; acked: number; dropped: number; rejected: number; abandoned: number; lost_by_kind: Record<string, number> };
}

/** Each sidecar's full stats as printed when it stopped. */
export function sidecarFinalStats(lines: string[]): Map<string, SidecarFinalStats> {
  const out = new Map<string, SidecarFinalStats>();
  for (const l of lines) {
    const m = /^\[sidecar ([\w.-]+)\] .*sidecar: stopped, (\{.*\})$/.exec(l);
    if (m) out.set(m[1], JSON.parse(m[2]));
  }
  return out;
}

/** The sidecar flags that send taps through Kafka. */
export function kafkaSidecarFlags(brokers: string[], extra: string[] = []): string[] {
  return ['--bus', 'kafka', '--brokers', brokers.join(','), ...extra];
}

/**
 * Asserts that each hop of the demo mesh holds exactly `n` l7.request taps
 * (one per front-door request) and that there are no others: none lost, none doubled.
 */
export async function assertTapsPerHop(store: TapStore, n: number): Promise<void> {
  for (const hop of DEMO_HOPS) {
    const got = await store.countTaps({ kind: 'l7.request', proxy: hop.proxy, direction: hop.direction, src_service: hop.src, dst_service: hop.dst });
    if (got !== n) throw new Error(`${hop.proxy} ${hop.direction} ${hop.src} -> ${hop.dst}: ${got} l7.request taps, expected ${n}`);
  }
  const all = await store.countTaps({ kind: 'l7.request' });
  if (all !== n * DEMO_HOPS.length) throw new Error(`${all} l7.request taps in all, expected ${n * DEMO_HOPS.length}: taps outside the expected hops`);
}

/** The demo's view of a control plane running as another process (`meshlens control --data-dir dir`): its operator API. */
export function remoteDemoControl(url: string, dataDir: string): DemoControl & { statusJson(): Promise<Record<string, unknown>> } {
  const client = () => controlClient({ url, dataDir });
  const statusJson = async () => {
    const r = await (await client()).request('GET', '/v1/status');
    if (r.status !== 200) throw new Error(`control status: HTTP ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
    return r.body as Record<string, unknown>;
  };
  return {
    url, trustBundleFile: join(dataDir, 'ca', 'bundle.pem'), statusJson,
    status: async () => (await statusJson()) as unknown as DemoControlStatus,
    joinToken: async (service, proxy) => {
      const r = await (await client()).request('POST', '/v1/identity/join-tokens', { service, proxy });
      if (r.status !== 201) throw new Error(`join token for ${proxy}: HTTP ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
      return (r.body as { token: string }).token;
    },
    setRouteWeights: async (service, subsets) => {
      const r = await (await client()).request('PUT', `/v1/routes/${service}`, { subsets });
      if (r.status !== 200) throw new Error(`route weights for ${service}: HTTP ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
      return r.body;
    },
  };
}

/** The demo mesh a whole-mesh test wants: the quiet topology unless it says otherwise. */
export interface TestMeshOptions extends Omit<DemoMeshOptions, 'control' | 'log' | 'stateDir' | 'network'> {
  /** Where sidecars keep state, within the test's data dir. Absent: the mesh's own temporary directory. */
  stateDir?: (dir: string) => string;
  /** A network namespace per service (needs root), the control plane listening on their bridge as `meshlens up` makes it. */
  netns?: boolean;
}

/**
 * An embedded control plane (extra `flags`) and the demo mesh on it, for one
 * whole-mesh test: `body` gets both, the log lines and the data dir (and the
 * namespaces, with `netns`); the log's tail is printed if it throws;
 * everything is stopped and removed after.
 */
export async function withDemoMesh(
  prefix: string, flags: string[], meshOpts: TestMeshOptions,
  body: (m: { core: RunningControl; mesh: DemoMesh; lines: string[]; dir: string; network?: DemoNetwork }) => Promise<void>,
): Promise<void> {
  const { stateDir, netns, topology = quietTopology(), ...rest } = meshOpts;
  const dir = tempDir(prefix);
  const lines: string[] = [];
  const log = (l: string) => { lines.push(l); };
  let network: DemoNetwork | undefined;
  let core: RunningControl | undefined;
  let mesh: DemoMesh | undefined;
  try {
    if (netns) network = await openDemoNetwork(topology.map((s) => s.name), log);
    core = await startTestControl(dir.path, lines, network ? [...flags, '--listen', `${network.hostAddress}:0`] : flags);
    mesh = await startDemoMesh({ ...rest, control: demoControl(core), topology, network, log, stateDir: stateDir?.(dir.path) });
    await body({ core, mesh, lines, dir: dir.path, network });
  } catch (e) {
    console.error(lines.slice(-60).join('\n'));
    throw e;
  } finally {
    await mesh?.close();
    await core?.close();
    await network?.close();
    dir.remove();
  }
}

/** Front-door traffic for `ms`: rounds of 40 requests, 8 at a time; returns how many were sent and their statuses. */
export async function steadyTraffic(url: string, ms: number, into = { sent: 0, statuses: new Map<number, number>() }) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    for (const [s, n] of await sendExactly(url, 40, 8)) into.statuses.set(s, (into.statuses.get(s) ?? 0) + n);
    into.sent += 40;
    await new Promise((r) => setTimeout(r, 100));
  }
  return into;
}
