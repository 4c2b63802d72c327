// `npm run bench:proxy`: the sidecar beside HAProxy 2.6 and nginx 1.22 as
// reverse proxies in front of the same upstream, measured side by side in
// one run. Every proxy is one process with one thread or worker (the sidecar
// is one Node.js event loop), keep-alive on both sides. Rounds are
// interleaved so machine noise hits every target alike. Four parts:
//
// 1. Throughput, closed loop (wrk -t1, HTTP/1.1): requests/s, p50/p99, CPU
//    per 1,000 requests and memory (VmRSS before any load and after the
//    target's last run) of each proxy. A Node.js TCP relay with no HTTP at
//    all (./node-relay.ts) shows what one Node.js event loop costs to move
//    the same bytes: the floor under the sidecar. One sidecar (its ingress listener)
//    with and without taps; pairs as traffic crosses a mesh: load → sidecar
//    A's outbound listener (Host: upstream) → sidecar B's inbound listener →
//    upstream, in plaintext, over mTLS (SVIDs from a bench CA, B's SPIFFE id
//    checked), and over mTLS with the control plane (identities from join
//    tokens, B found in its registry, a Rego policy loaded from it and
//    enforced by B on every request); two HAProxy processes are the peer
//    pair (`ssl crt … ca-file … verify required`, no SPIFFE check).
// 2. Added latency, open loop (./open-loop.ts, its own process): a constant
//    --rate with latency counted from each request's intended send time
//    (coordinated omission corrected), to the upstream directly, through the
//    HAProxy mTLS pair and through the sidecar pairs; prints pair − direct at
//    p50 and p99 against the targets (≤ 1 ms / ≤ 3 ms).
// 3. HTTP/2 (h2load -t1, h2c prior knowledge, --h2-connections ×
//    --h2-streams in flight): HAProxy and nginx terminating h2c in front of
//    the same HTTP/1.1 upstream, the upstream's own h2c as the floor. The
//    sidecar's rows appear once it answers an h2c preface; until then the
//    bench says "sidecar: no HTTP/2 yet".
// 4. Taps stored against requests served (./proxy-taps.ts): the sidecars
//    with taps ship them to the control plane's collector (a `meshlens
//    control` process, chdb store); at the end every l7.request tap is
//    counted per proxy and set against what the proxy served. A difference
//    exits non-zero with a FAIL line.
//
//   npm run bench:proxy                  3 rounds × 5 s per target and part
//   npm run bench:proxy -- --rounds 5 --seconds 10 --connections 64 --rate 1000 --ol-connections 16
//     --h2-connections 4 --h2-streams 8 --only wrk,open,h2 (parts to run; taps are always checked)

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { numberArg, stringArg } from './args.ts';
import { Histogram } from './histogram.ts';
import { procCpuMs } from './proc-cpu.ts';
import { procRssKb } from './proc-rss.ts';
import { h2load, openLoop, speaksH2c, wrk, type ClosedLoopRun } from './proxy-drivers.ts';
import { startFleet } from './proxy-fleet.ts';
import { Processes } from './proxy-processes.ts';
import { printClosedLoopTable, printOpenLoopTable, type OpenLoopRow, type Row, type Run } from './proxy-report.ts';
import { checkTaps } from './proxy-taps.ts';

const ROUNDS = numberArg('rounds', 3);
const SECONDS = numberArg('seconds', 5);
const CONNECTIONS = numberArg('connections', 32);
const RATE = numberArg('rate', 1000);
const OL_CONNECTIONS = numberArg('ol-connections', 16);
const H2_CONNECTIONS = numberArg('h2-connections', 4);
const H2_STREAMS = numberArg('h2-streams', 8);
const PARTS = new Set(stringArg('only', 'wrk,open,h2').split(','));

const NEEDED = { '/usr/bin/wrk': 'wrk', '/usr/sbin/haproxy': 'haproxy', '/usr/sbin/nginx': 'nginx-light', '/usr/bin/h2load': 'nghttp2-client' };
const missing = Object.entries(NEEDED).filter(([bin]) => !existsSync(bin)).map(([, pkg]) => pkg);
if (missing.length > 0) {
  console.error(`bench:proxy needs Debian packages: apt-get install -y ${missing.join(' ')}`);
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'meshlens-bench-proxy-'));
const procs = new Processes();
const cleanup = () => { procs.killAll(); rmSync(dir, { recursive: true, force: true }); };
process.on('exit', cleanup);
const started = Date.now();
const fleet = await startFleet(procs, dir);
const { ports: p, pids } = fleet;

interface Target extends Row { port: number; host?: string; pids: number[] }
const target = (name: string, port: number, haproxy: string, o: { host?: string; pids?: number[]; plain?: string } = {}): Target =>
  ({ name, port, haproxy, host: o.host, pids: o.pids ?? [], plain: o.plain, measured: Boolean(o.pids), rssIdleKb: 0 });
const ONE = 'HAProxy 2.6';
const HA_PLAIN = 'HAProxy pair, plaintext';
const HA_MTLS = 'HAProxy pair, mTLS';
const SC_PLAIN = 'sidecar pair, plaintext';
const SC_MTLS = 'sidecar pair, mTLS, taps shipped';
const SC_POLICY = 'sidecar pair, mTLS, taps, policy';
const DIRECT = 'upstream (no proxy)';
const pair = { host: 'upstream' };
const targets: Target[] = [
  target(DIRECT, p.upstream, ONE),
  target(ONE, p.haproxy, ONE, { pids: pids.haproxy }),
  target('nginx 1.22', p.nginx, ONE, { pids: pids.nginx }),
  target('Node.js TCP relay (no HTTP)', p.relay, ONE, { pids: pids.relay }),
  target('meshlens sidecar, taps shipped', p.single, ONE, { pids: pids.single }),
  target('meshlens sidecar --no-taps', p.noTaps, ONE, { pids: pids.noTaps }),
  target(HA_PLAIN, p.haPlainA, HA_PLAIN, { ...pair, pids: pids.haPlainPair }),
  target(HA_MTLS, p.haMtlsA, HA_MTLS, { ...pair, pids: pids.haMtlsPair, plain: HA_PLAIN }),
  target(SC_PLAIN, p.plainA, HA_PLAIN, { ...pair, pids: pids.plainPair }),
  target(SC_MTLS, p.mtlsA, HA_MTLS, { ...pair, pids: pids.mtlsPair, plain: SC_PLAIN }),
  target(SC_POLICY, p.policyA, HA_MTLS, { ...pair, pids: pids.policyPair, plain: SC_PLAIN }),
];
const byName = new Map(targets.map((t) => [t.name, t]));
const cpuOf = (ps: number[]) => ps.reduce((a, pid) => a + procCpuMs(pid), 0);
const rssOf = (ps: number[]) => ps.reduce((a, pid) => a + procRssKb(pid), 0);
for (const t of targets) t.rssIdleKb = rssOf(t.pids);

// What each target's clients got answers to, and what drivers may have left in flight: for the tap check.
const answered = new Map<number, { answered: number; cutOff: number }>();
const tally = (port: number, n: number, cutOff: number) => {
  const a = answered.get(port) ?? { answered: fleet.probes.get(port) ?? 0, cutOff: 0 };
  answered.set(port, { answered: a.answered + n, cutOff: a.cutOff + cutOff });
};

/**
 * After a run, waits until the control plane and the sidecars that ship taps
 * are idle again (under 10% of a core for 500 ms; 60 s at most), so one
 * target's tap backlog does not load the next target's run. Keeps the
 * longest wait per target: how long its taps took to be shipped and stored.
 */
const tapPids = [fleet.control.pid, ...Object.values(fleet.shipping).map((s) => s.pid)];
const backlog = new Map<string, number>();
async function settle(t: Target): Promise<void> {
  const t0 = Date.now();
  for (let busy = true; busy && Date.now() - t0 < 60_000;) {
    const c0 = cpuOf(tapPids);
    await new Promise((r) => setTimeout(r, 500));
    busy = cpuOf(tapPids) - c0 > 50;
  }
  backlog.set(t.name, Math.max(backlog.get(t.name) ?? 0, (Date.now() - t0) / 1000));
}

/** One closed-loop run with the CPU (up to when its taps are shipped) and memory of the target's proxies. */
async function measured(t: Target, drive: () => Promise<ClosedLoopRun>, inFlight: number): Promise<Run> {
  const cpu0 = cpuOf(t.pids);
  const r = await drive();
  const rssKb = rssOf(t.pids);
  tally(t.port, r.requests, inFlight);
  await settle(t);
  return { rps: r.rps, p50: r.p50, p99: r.p99, cpuMsPerK: (cpuOf(t.pids) - cpu0) / (r.requests / 1000), rssKb };
}
const settled = (names: string[]) => names.filter((n) => (backlog.get(n) ?? 0) > 1).map((n) => `${n} ${backlog.get(n)!.toFixed(1)} s`).join(', ');
const progress = (what: string) => process.stderr.write(`${what} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const stamp = `${new Date().toISOString()}, load average ${loadavg()} at the start`;

if (PARTS.has('wrk')) {
  const runs = new Map(targets.map((t) => [t.name, [] as Run[]]));
  // Warm-up: JIT, pools (and the handshakes between pairs).
  for (const t of targets) await measured(t, () => wrk(t.port, 1, CONNECTIONS, t.host), CONNECTIONS);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const t of targets) runs.get(t.name)!.push(await measured(t, () => wrk(t.port, SECONDS, CONNECTIONS, t.host), CONNECTIONS));
    progress(`wrk round ${round}/${ROUNDS} done`);
  }
  printClosedLoopTable(`bench:proxy — wrk -t1 -c${CONNECTIONS}, HTTP/1.1, ${ROUNDS} rounds × ${SECONDS} s, medians; one process per proxy; ${stamp}`, targets, runs);
  console.log('"vs HAProxy": to the HAProxy row of the same shape (one proxy; a pair, plaintext or mTLS), median of per-round ratios.');
  console.log('"CPU ms/1k": utime + stime of the proxy processes (both of a pair; nginx master and worker) per 1000 requests, until their taps are shipped.');
  console.log('"RSS MB": VmRSS of the same processes before any load ("idle") and after the target\'s last run ("loaded").');
  console.log('"mTLS÷plain": the median over rounds of each round\'s ratio to the plaintext sidecar or HAProxy pair.');
  console.log('Taps: "taps shipped" sidecars send signed batches to the control plane\'s collector (chdb), spooled on disk until acknowledged;');
  console.log('the plaintext pair has no identity to sign with: it builds its taps and counts them as not shipped. The machine is shared: compare ratios.');
  console.log(`After each run the bench waits for the tap shippers and the collector to go idle; longest waits: ${settled(targets.map((t) => t.name)) || 'none over 1 s'}.`);
}

if (PARTS.has('open')) {
  const names = [DIRECT, HA_MTLS, SC_MTLS, SC_POLICY];
  const rows: OpenLoopRow[] = names.map((name) => ({ name, results: [], latency: new Histogram(), cpuMsPerK: [] }));
  const go = async (t: Target, seconds: number) => {
    const cpu0 = cpuOf(t.pids);
    const r = await openLoop(t.port, { rate: RATE, seconds, connections: OL_CONNECTIONS, authority: t.host });
    tally(t.port, r.completed, r.scheduled - r.completed);
    await settle(t);
    return { r, cpuMsPerK: (cpuOf(t.pids) - cpu0) / (r.completed / 1000) };
  };
  for (const name of names) await go(byName.get(name)!, 2); // warm-up (JIT, pools) at the rate
  for (let round = 1; round <= ROUNDS; round++) {
    for (const row of rows) {
      const t = byName.get(row.name)!;
      const { r, cpuMsPerK } = await go(t, SECONDS);
      row.results.push(r);
      row.latency.merge(r.latency);
      if (t.measured) row.cpuMsPerK.push(cpuMsPerK);
    }
    progress(`open-loop round ${round}/${ROUNDS} done`);
  }
  printOpenLoopTable(`bench:proxy — open loop at ${RATE} req/s, ${OL_CONNECTIONS} keep-alive connections, ${ROUNDS} rounds × ${SECONDS} s; ` +
    `latency ms from the intended send time, percentiles of all rounds' requests together; ${stamp}`, rows, DIRECT, { rate: RATE, p50Ms: 1, p99Ms: 3, rows: [SC_POLICY] });
  console.log('"CPU ms/1k": the proxy processes\' CPU per 1000 requests at this fixed rate. "gen CPU": the generator\'s own CPU, % of one core');
  console.log('(median of rounds). "timer lag p99": how late the generator\'s timer found requests due on this machine, already inside every latency above.');
}

if (PARTS.has('h2')) {
  const h2Targets: Target[] = [
    target('upstream h2c (no proxy)', p.upstreamH2, 'HAProxy 2.6 h2c'),
    target('HAProxy 2.6 h2c', p.haproxyH2, 'HAProxy 2.6 h2c', { pids: pids.haproxyH2 }),
    target('nginx 1.22 h2c', p.nginxH2, 'HAProxy 2.6 h2c', { pids: pids.nginxH2 }),
  ];
  if (await speaksH2c(p.noTaps)) {
    h2Targets.push(target('meshlens sidecar h2c, taps shipped', p.single, 'HAProxy 2.6 h2c', { pids: pids.single }));
    h2Targets.push(target('meshlens sidecar h2c --no-taps', p.noTaps, 'HAProxy 2.6 h2c', { pids: pids.noTaps }));
  }
  for (const t of h2Targets) t.rssIdleKb = rssOf(t.pids);
  const runs = new Map(h2Targets.map((t) => [t.name, [] as Run[]]));
  const log = join(dir, 'h2load.log');
  const inFlight = H2_CONNECTIONS * H2_STREAMS;
  for (const t of h2Targets) await measured(t, () => h2load(t.port, 1, H2_CONNECTIONS, H2_STREAMS, log), inFlight);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const t of h2Targets) runs.get(t.name)!.push(await measured(t, () => h2load(t.port, SECONDS, H2_CONNECTIONS, H2_STREAMS, log), inFlight));
    progress(`h2load round ${round}/${ROUNDS} done`);
  }
  printClosedLoopTable(`bench:proxy — h2load -t1 -c${H2_CONNECTIONS} -m${H2_STREAMS}, HTTP/2 cleartext (prior knowledge) to the proxy, HTTP/1.1 behind it; ` +
    `${ROUNDS} rounds × ${SECONDS} s, medians; ${stamp}`, h2Targets, runs);
  if (h2Targets.length === 3) console.log('sidecar: no HTTP/2 yet (it does not answer an h2c client preface with SETTINGS); its rows appear here once it does.');
}

console.log(`\nload average at the end: ${loadavg()}`);
console.log(`control plane (collector + chdb), whole run: ${(procCpuMs(fleet.control.pid) / 1000).toFixed(1)} s CPU, ${(procRssKb(fleet.control.pid) / 1024).toFixed(0)} MB RSS at the end`);
const sh = fleet.shipping;
const failures = await checkTaps(procs, [
  { name: 'meshlens sidecar, taps shipped', sidecars: [sh['single-1']], ...answered.get(p.single) ?? { answered: 0, cutOff: 0 } },
  { name: SC_MTLS, sidecars: [sh['mtls-a'], sh['mtls-b']], ...answered.get(p.mtlsA) ?? { answered: 0, cutOff: 0 } },
  { name: SC_POLICY, sidecars: [sh['policy-a'], sh['policy-b']], ...answered.get(p.policyA) ?? { answered: fleet.probes.get(p.policyA) ?? 0, cutOff: 0 } },
], fleet.control, fleet.controlDataDir);
for (const f of failures) console.error(`bench:proxy: FAIL taps: ${f}`);
progress(failures.length ? `bench:proxy: ${failures.length} tap check(s) FAILED` : 'bench:proxy: every request served left exactly one tap in the store');
cleanup();
process.exit(failures.length ? 1 : 0);
