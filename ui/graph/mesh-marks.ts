// What the control plane has done to a service, as the graph marks it on the
// service's node: its route split by weight between versions ("v1 90% / v2
// 10%") and its instances ejected for now, each with the time it has left.
// Reads the control plane's status as `unknown` (its shape is the control
// plane's): `routes.routes` [{service, subsets}] and `ejections`
// [{service, instance, until, reason}]. Pure, and bundled into /graph.js.

export interface EjectedMark { instance: string; left_s: number; reason: string }

export interface ServiceMarks {
  /** "v1 90% / v2 10%", or null when the service keeps the default route. */
  split: string | null;
  /** Instances out of the service's cluster now, soonest back first. */
  ejected: EjectedMark[];
}

const obj = (v: unknown): Record<string, unknown> | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : null);
const list = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.map(obj).filter((x): x is Record<string, unknown> => x !== null) : []);

/** Marks by service, for services that have any; `now` in epoch ms. */
export function meshMarks(control: unknown, now: number): Record<string, ServiceMarks> {
  const out: Record<string, ServiceMarks> = {};
  const of = (service: string) => (out[service] ??= { split: null, ejected: [] });
  for (const r of list(obj(obj(control)?.routes)?.routes)) {
    if (typeof r.service !== 'string') continue;
    const split = splitLabel(list(r.subsets));
    if (split) of(r.service).split = split;
  }
  for (const e of list(obj(control)?.ejections)) {
    if (typeof e.service !== 'string' || typeof e.instance !== 'string' || typeof e.until !== 'number' || e.until <= now) continue;
    of(e.service).ejected.push({ instance: e.instance, left_s: Math.ceil((e.until - now) / 1000), reason: typeof e.reason === 'string' ? e.reason : '' });
  }
  for (const m of Object.values(out)) m.ejected.sort((a, b) => a.left_s - b.left_s || a.instance.localeCompare(b.instance));
  return out;
}

/** "v1 90% / v2 10%": whole percentages summing to 100 (largest remainder); null without weight. */
export function splitLabel(subsets: Record<string, unknown>[]): string | null {
  const weights = subsets.map((s) => (typeof s.weight === 'number' && s.weight > 0 ? s.weight : 0));
  const total = weights.reduce((a, b) => a + b, 0);
  if (subsets.length === 0 || total <= 0) return null;
  const exact = weights.map((w) => (w * 100) / total);
  const pct = exact.map(Math.floor);
  let left = 100 - pct.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => [x - Math.floor(x), i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left <= 0) break;
    pct[i]++;
    left--;
  }
  return subsets.map((s, i) => `${subsetName(s)} ${pct[i]}%`).join(' / ');
}

/** A subset by its version label; a subset of other labels by them ("zone=a"); none: "(no version)". */
function subsetName(s: Record<string, unknown>): string {
  if (typeof s.version === 'string') return s.version || '(no version)';
  const labels = Object.entries(s).filter(([k]) => k !== 'weight').map(([k, v]) => `${k}=${v}`);
  return labels.length ? labels.join(',') : '(no version)';
}

/** "45 s", "4m 10s", "2h 5m". */
export function formatLeft(s: number): string {
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/** The one line drawn under a node (its width holds one): the first `shown` ejections, then how many more. */
export function ejectedLine(ejected: EjectedMark[], shown = 1): string {
  if (ejected.length === 0) return '';
  const first = ejected.slice(0, shown).map((e) => `${e.instance} ${formatLeft(e.left_s)}`).join(', ');
  return `ejected: ${first}${ejected.length > shown ? ` +${ejected.length - shown} more` : ''}`;
}
