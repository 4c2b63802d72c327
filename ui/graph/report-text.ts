// What the Reports page says about a report, as plain strings: status words,
// totals, clause labels, periods and one line per counterexample. Report
// strings came from the network (request paths, policy reasons); these
// functions only join them (writing out invisible controls), and the page
// sets the result as text.

export const STATUS_ORDER = ['fail', 'insufficient_evidence', 'pass', 'not_applicable'] as const;
export type ReportStatus = (typeof STATUS_ORDER)[number];

const STATUS_WORDS: Record<ReportStatus, string> = {
  pass: 'pass', fail: 'fail', not_applicable: 'not applicable', insufficient_evidence: 'insufficient evidence',
};

const FRAMEWORKS: Record<string, string> = {
  pci_dss_4_0: 'PCI DSS 4.0', soc2: 'SOC 2', nist_800_207: 'NIST SP 800-207', nist_800_204: 'NIST SP 800-204',
};

/** A status as words ("insufficient evidence"); an unknown one as itself. */
export function statusWord(status: string): string {
  return Object.hasOwn(STATUS_WORDS, status) ? STATUS_WORDS[status as ReportStatus] : status;
}

/** The non-zero totals, worst first: [{status: 'fail', text: '2 fail'}, …]; [] when every count is 0. */
export function totalsParts(totals: unknown): { status: ReportStatus; count: number; text: string }[] {
  const t = totals !== null && typeof totals === 'object' ? totals as Record<string, unknown> : {};
  return STATUS_ORDER.flatMap((status) => {
    const count = Number(t[status]);
    return Number.isFinite(count) && count > 0 ? [{ status, count, text: `${count} ${STATUS_WORDS[status]}` }] : [];
  });
}

/** Clauses by framework as labels ("PCI DSS 4.0 4.2.1") with their text, in the report's order. */
export function clauseLabels(clauses: unknown): { label: string; text: string }[] {
  if (clauses === null || typeof clauses !== 'object') return [];
  return Object.entries(clauses as Record<string, unknown>).flatMap(([framework, list]) => (Array.isArray(list) ? list : []).map((c) => ({
    label: `${FRAMEWORKS[framework] ?? framework} ${String(c?.id ?? '')}`.trim(),
    text: typeof c?.text === 'string' ? c.text : '',
  })));
}

/** An instant in UTC, to the second: "2026-03-02 00:37:05Z" (a report is read beside others, from anywhere). */
export function formatInstant(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z') : '–';
}

/** "1 h", "90 min", "7 d", "36 h", "45 s". */
export function formatSpan(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200 && s % 3600 !== 0) return `${Math.round(s / 60)} min`;
  if (s < 2 * 86_400 || s % 86_400 !== 0) return `${Math.round(s / 360) / 10} h`;
  return `${s / 86_400} d`;
}

/** "2026-03-02 00:00:00Z → 2026-03-09 00:00:00Z (7 d)". */
export function formatPeriod(from: number, until: number): string {
  return `${formatInstant(from)} → ${formatInstant(until)} (${formatSpan(until - from)})`;
}

/** Bidi overrides and isolates, zero-width and other invisible controls: written out, so a string from the network cannot reorder or hide what the page shows. */
const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

/** `s` with every invisible control written as \uXXXX ("gnp\u202e.exe" instead of a reversed name). */
export function visibleText(s: string): string {
  return s.replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The first 12 hex digits: enough to tell reports apart at a glance (the full digest is on the report). */
export const shortDigest = (hex: unknown): string => String(hex ?? '').slice(0, 12);

/** Fields counterexampleLine shows in its own words; the rest follow as "name: value". */
const SHOWN = new Set(['proxy', 'seq', 'ts', 'ref', 'src_service', 'dst_service', 'direction', 'method', 'path', 'status', 'decision', 'decision_reason', 'tls_version', 'src_identity']);

/**
 * One counterexample as a line: a tap ("cart-1 #1013 · 2026-03-02 00:37:00Z ·
 * external → cart inbound · GET /items/1 → 200 · allow: caller allowed ·
 * no TLS") or other evidence ("chain cart-1/taps batch 41 · … · problem: hash_mismatch").
 */
export function counterexampleLine(c: unknown): string {
  if (c === null || typeof c !== 'object') return String(c);
  const x = c as Record<string, unknown>;
  const parts: string[] = [];
  const text = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  if (x.proxy !== undefined) parts.push(`${text(x.proxy)}${x.seq !== undefined ? ` #${text(x.seq)}` : ''}`);
  if (x.ref !== undefined) parts.push(text(x.ref));
  if (typeof x.ts === 'number') parts.push(formatInstant(x.ts));
  if (x.src_service !== undefined || x.dst_service !== undefined) {
    parts.push(`${text(x.src_service)} → ${text(x.dst_service)}${x.direction ? ` ${text(x.direction)}` : ''}`);
  }
  const request = [text(x.method), text(x.path)].filter(Boolean).join(' ');
  const status = typeof x.status === 'number' && x.status > 0 ? String(x.status) : '';
  if (request || status) parts.push([request, status].filter(Boolean).join(' → '));
  if (x.decision) parts.push(`${text(x.decision)}${x.decision_reason ? `: ${text(x.decision_reason)}` : x.decision === 'deny' ? ' (no reason)' : ''}`);
  if ('tls_version' in x || 'src_identity' in x) {
    parts.push(!x.tls_version ? 'no TLS' : `${text(x.tls_version)}${x.src_identity ? ` ${text(x.src_identity)}` : ' without a client identity'}`);
  }
  for (const [k, v] of Object.entries(x)) if (!SHOWN.has(k)) parts.push(`${k}: ${text(v)}`);
  return visibleText(parts.join(' · '));
}
