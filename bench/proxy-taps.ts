// Taps stored against requests served, for the sidecars of `npm run
// bench:proxy` that ship their taps to the control plane's collector: every
// request a sidecar served must be exactly one l7.request tap in the store.
//
// At the end of the bench each such sidecar is stopped with SIGTERM (it
// flushes its taps and prints its counters), then the control plane (its
// collector writes what it holds and closes the chdb store); the bench then
// opens that store and counts each proxy's l7.request taps.
//
// Three figures per sidecar: what the bench's clients got answers to from
// the target (wrk's counts, warm-ups, h2load, the open-loop generator and
// probes), what the sidecar itself counted as served, and the taps stored.
// wrk stops with a request in flight on each connection: the proxy answers
// it but wrk does not count it, so "served" may exceed "answered" by up to
// the connections of each wrk run (`cutOff`). A tap missing or doubled
// (stored ≠ served), or served beyond that bound, fails the bench.

import { createChdbStore } from '../ingest/index.ts';
import type { Proc, Processes } from './proxy-processes.ts';

export interface TapTarget {
  name: string;
  /** Responses the bench's clients got from this target. */
  answered: number;
  /** Requests drivers may have left in flight when they stopped. */
  cutOff: number;
  /** Its sidecars that ship taps (Proc name = proxy id), the one the clients call first. */
  sidecars: Proc[];
}

interface SidecarStats {
  inbound: { requests: number };
  outbound: { requests: number };
  taps: Record<string, number>;
}

const fmt = (n: number) => n.toLocaleString('en-US');

/** Stops the sidecars and the control plane, counts the taps, prints the table; returns the failures (empty: every tap is there). */
export async function checkTaps(procs: Processes, targets: TapTarget[], control: Proc, dataDir: string): Promise<string[]> {
  const failures: string[] = [];
  const stats = new Map<string, SidecarStats>();
  await Promise.all(targets.flatMap((t) => t.sidecars).map(async (p) => {
    if (!await procs.stop(p, 40_000)) failures.push(`${p.name} did not stop within 40 s of SIGTERM (killed): its taps may not all be shipped`);
    const m = p.lines.map((l) => /sidecar: stopped, (\{.*\})$/.exec(l)).find(Boolean);
    if (m) stats.set(p.name, JSON.parse(m[1]));
    else failures.push(`${p.name} printed no counters when it stopped`);
  }));
  if (!await procs.stop(control, 60_000)) failures.push('the control plane did not stop within 60 s of SIGTERM: its collector may not have written every batch');

  const store = createChdbStore({ dataDir, retentionDays: 7 });
  await store.init();
  console.log('\nTaps stored against requests served (l7.request taps per proxy in the collector\'s chdb store, after every sidecar and the control plane stopped and flushed):');
  console.log(`${'target'.padEnd(34)}${'proxy'.padEnd(10)}${'answered'.padStart(10)}${'served'.padStart(10)}${'taps'.padStart(10)}  verdict`);
  try {
    for (const t of targets) {
      for (const [i, p] of t.sidecars.entries()) {
        const s = stats.get(p.name);
        const stored = await store.countTaps({ kind: 'l7.request', proxy: p.name });
        const denied = await store.countTaps({ kind: 'l7.request', proxy: p.name, decision: 'deny' });
        const served = s ? s.inbound.requests + s.outbound.requests : NaN;
        const problems: string[] = [];
        if (stored !== served) problems.push(`${fmt(served)} served but ${fmt(stored)} taps stored (sidecar's tap counters ${JSON.stringify(s?.taps ?? {})})`);
        // The clients called the first sidecar: what it served must be what they got, plus at most what drivers cut off.
        if (i === 0 && !(served >= t.answered && served - t.answered <= t.cutOff)) {
          problems.push(`served ${fmt(served)}, clients got ${fmt(t.answered)} answers (at most ${fmt(t.cutOff)} may be cut off by drivers stopping)`);
        }
        const notes = [i === 0 && served > t.answered ? `${fmt(served - t.answered)} in flight when a driver stopped` : '', denied ? `${fmt(denied)} denied by policy` : ''].filter(Boolean);
        console.log(`${t.name.padEnd(34)}${p.name.padEnd(10)}${(i === 0 ? fmt(t.answered) : '').padStart(10)}${fmt(served).padStart(10)}${fmt(stored).padStart(10)}  ` +
          `${problems.length ? 'FAIL' : 'ok'}${notes.length ? ` (${notes.join('; ')})` : ''}`);
        for (const why of problems) failures.push(`${t.name}, ${p.name}: ${why}`);
      }
    }
  } finally {
    await store.close();
  }
  return failures;
}
