// Where the page is, from its URL fragment: the mesh view, the Reports view
// (one report open, or the list), or the tap explorer pointed at one stored
// tap, which is where a report's counterexamples link to:
//
//   #reports                          the reports and the form to issue one
//   #reports/<id>                     one report open below them
//   #taps?proxy=<p>&seq=<n>&ts=<t>    the taps of proxy p around time t, the tap with seq n marked
//   anything else                     the mesh (graph, alerts, actions, newest taps)
//
// A fragment is anyone's link: whatever is malformed falls back to the mesh.

export const REPORT_ID = /^rpt-[0-9TZ]{16}-[0-9a-f]{6}$/;

/** A stored tap, as a report's counterexample names it. */
export interface TapPointer { proxy: string; seq: number; ts: number }

export type PageRoute =
  | { view: 'mesh' }
  | { view: 'reports'; report: string | null }
  | { view: 'taps'; tap: TapPointer };

const MAX_NAME = 128;

export function parseRoute(hash: string): PageRoute {
  const h = hash.startsWith('#') ? hash.slice(1) : hash;
  if (h === 'reports' || h === 'reports/') return { view: 'reports', report: null };
  if (h.startsWith('reports/')) {
    const id = h.slice('reports/'.length);
    return { view: 'reports', report: REPORT_ID.test(id) ? id : null };
  }
  if (h.startsWith('taps?')) {
    const q = new URLSearchParams(h.slice('taps?'.length));
    const tap = tapPointer({ proxy: q.get('proxy'), seq: whole(q.get('seq')), ts: whole(q.get('ts')) });
    if (tap) return { view: 'taps', tap };
  }
  return { view: 'mesh' };
}

/** `v` as a tap pointer when it is one (a counterexample may be `{ref, ts}` instead); else null. */
export function tapPointer(v: unknown): TapPointer | null {
  if (v === null || typeof v !== 'object') return null;
  const { proxy, seq, ts } = v as Record<string, unknown>;
  if (typeof proxy !== 'string' || proxy.length === 0 || proxy.length > MAX_NAME || /[\u0000-\u001f\u007f]/.test(proxy)) return null;
  if (!Number.isSafeInteger(seq) || (seq as number) < 0 || !Number.isSafeInteger(ts) || (ts as number) < 0) return null;
  return { proxy, seq: seq as number, ts: ts as number };
}

/** The tap explorer's link to a stored tap, or null when `v` points at none. */
export function tapHref(v: unknown): string | null {
  const p = tapPointer(v);
  return p ? `#taps?${new URLSearchParams({ proxy: p.proxy, seq: String(p.seq), ts: String(p.ts) })}` : null;
}

export function reportHref(id: string): string {
  return REPORT_ID.test(id) ? `#reports/${id}` : '#reports';
}

function whole(s: string | null): number | null {
  return s !== null && /^\d{1,16}$/.test(s) ? Number(s) : null;
}
