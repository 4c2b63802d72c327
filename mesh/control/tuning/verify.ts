// Verification: after an applied action's watch window, the engine reads the
// signal the policy said it reacted to, over the buckets after the action
// only, and keeps the action if the figure is back at or under the policy's
// threshold, or clearly better than it was (a scale-out that halves the load
// per replica but not yet to the target still helped). Otherwise the action
// did not help or made things worse, and is reverted; the record says which
// figures decided.

import type { ActionSignal } from './contract.ts';
import { BUCKET_MS, signals, type MeshView, type TuningSources } from './input.ts';

/** First ms the signal is read from: the first whole bucket starting at least `settleMs` after the action. */
export function verifyWindow(appliedAt: number, watchS: number, settleMs = 5_000): { from: number; until: number } {
  const from = Math.ceil((appliedAt + settleMs) / BUCKET_MS) * BUCKET_MS;
  return { from, until: Math.max(from + BUCKET_MS, Math.floor((appliedAt + watchS * 1000) / BUCKET_MS) * BUCKET_MS) };
}

/** The signal's figure over [from, until); null when its subject had no traffic to judge by. */
export async function signalOver(sig: ActionSignal, from: number, until: number, sources: TuningSources, mesh: MeshView, now: number): Promise<number | null> {
  const windowS = (until - from) / 1000;
  let rows: { bucket: number; requests: number; errors: number; p50_ms: number; p99_ms: number; denies: number }[];
  switch (sig.scope) {
    case 'service': rows = (await sources.serviceRollups(from, until)).filter((r) => r.service === sig.subject); break;
    case 'edge': rows = (await sources.edgeRollups(from, until)).filter((r) => `${r.src}→${r.dst}` === sig.subject); break;
    case 'version': rows = (await sources.versionRollups(from, until)).filter((r) => `${r.service}@${r.version}` === sig.subject); break;
    case 'instance': rows = (await sources.instanceFigures(from, until)).filter((r) => r.instance === sig.subject).map((r) => ({ ...r, bucket: from, denies: 0 })); break;
  }
  const s = signals(rows, windowS);
  if (s.requests === 0) return sig.metric === 'rps' || sig.metric === 'rps_per_replica' ? 0 : null;
  if (sig.metric === 'rps_per_replica') {
    const ejected = new Set(mesh.ejections().filter((e) => e.until > now).map((e) => e.instance));
    const serving = mesh.instances().filter((i) => i.service === sig.subject && !ejected.has(i.instance)).length;
    return s.rps / Math.max(1, serving);
  }
  return s[sig.metric];
}

export interface Verdict { keep: boolean; detail: string }

/** Improvement that counts: at least this share of the way from the figure to its threshold (or 5% of the figure). */
const MIN_GAIN = 0.1;

export function verdictOf(sig: ActionSignal, after: number | null, from: number, until: number): Verdict {
  const span = `${new Date(from).toISOString().slice(11, 19)}–${new Date(until).toISOString().slice(11, 19)}`;
  const what = `${sig.metric} of ${sig.scope} ${sig.subject}`;
  if (after === null) return { keep: true, detail: `verified: no traffic on ${sig.subject} over ${span} to judge by; kept` };
  const fmt = (x: number) => (sig.metric === 'error_rate' ? `${(x * 100).toFixed(1)}%` : x.toFixed(1));
  if (after <= sig.threshold) return { keep: true, detail: `verified: ${what} ${fmt(sig.value)} → ${fmt(after)} over ${span}, at or under ${fmt(sig.threshold)}` };
  const gain = Math.max(MIN_GAIN * (sig.value - sig.threshold), 0.05 * sig.value);
  if (after <= sig.value - gain) {
    return { keep: true, detail: `verified: ${what} improved ${fmt(sig.value)} → ${fmt(after)} over ${span}, though still over ${fmt(sig.threshold)}` };
  }
  const how = after > sig.value ? 'got worse' : 'did not improve';
  return { keep: false, detail: `reverted: ${what} ${how}: ${fmt(sig.value)} → ${fmt(after)} over ${span} (threshold ${fmt(sig.threshold)})` };
}
