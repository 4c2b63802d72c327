// What a compliance control answers, and what a report is.
//
// A control is a Rego package `meshlens.compliance.<id>`; its entrypoint
// meshlens/compliance/<id> is the whole package document, of which the
// report keeps:
//
//   status           pass | fail | not_applicable | insufficient_evidence
//   summary          one sentence, with the figures
//   counterexamples  what broke the control: pointers to stored taps
//                    {proxy, seq, ts, …fields that matter}, or {ref, ts, …}
//                    for evidence that is not a tap (an alert, a gap)
//   evidence         {name: number}: what was checked
//   metadata         {title, description, clauses: {framework: [{id, text}]}}
//
// Anything else in the package (helper rules) is ignored. An answer that
// breaks this contract is a control *error*: the report says so by name
// and counts it under insufficient_evidence, never under pass.

export const CONTROL_STATUSES = ['pass', 'fail', 'not_applicable', 'insufficient_evidence'] as const;
export type ControlStatus = (typeof CONTROL_STATUSES)[number];

export const COMPLIANCE_PACKAGE = 'meshlens.compliance';
export const controlEntrypoint = (id: string): string => `meshlens/compliance/${id}`;

/** The file format of a report; `report verify` refuses any other. */
export const REPORT_FORMAT = 'meshlens-compliance-report/1';
/** Counterexamples a report keeps per control (the total is kept too). */
export const MAX_COUNTEREXAMPLES = 20;

export interface Clause { id: string; text: string }

export interface ControlMetadata {
  title: string;
  description: string;
  /** Framework → the clauses this control serves (pci_dss_4_0, soc2, nist_800_207, nist_800_204). */
  clauses: Record<string, Clause[]>;
}

export type Counterexample = Record<string, unknown>;

export interface ControlResult extends ControlMetadata {
  id: string;
  status: ControlStatus;
  summary: string;
  evidence: Record<string, number>;
  counterexamples: Counterexample[];
  counterexamples_total: number;
  /** Set when the control could not be evaluated or broke the contract. */
  error?: string;
}

export type StatusTotals = Record<ControlStatus, number>;

export interface ReportBody {
  format: typeof REPORT_FORMAT;
  id: string;
  issued_at: number;
  issued_by: string;
  meshlens_version: string;
  period: { from: number; until: number };
  pack: { name: string; digest: string; controls: number };
  totals: StatusTotals;
  controls: ControlResult[];
  policies: Record<string, { digest_at_start: string; digests: string[] }>;
  config: { version_at_start: number; version_at_end: number };
  changes: { at_start: unknown[]; during: unknown[]; during_total: number };
  chain_heads: { proxy: string; stream: string; batch: number; hash: string; last_seq: number }[];
  /**
   * verified_signatures: stored signatures checked again against the trust
   * bundle (0 when issued without one; absent in reports issued before).
   */
  chain: { batches: number; events: number; verified_batches: number; unsigned_batches: number; verified_signatures?: number; problems: number; unaccounted_gaps: number };
  evidence_counts: Record<string, number>;
}

/** A report as stored and as written to a JSON file: the body and the SHA-256 of its canonical JSON. */
export interface ReportFile { body: ReportBody; sha256: string }

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const SHORT = 200;

/**
 * Every problem with a control's package document (empty when it keeps
 * the contract), each naming the rule at fault.
 */
export function controlAnswerProblems(v: unknown): string[] {
  if (!isObject(v)) return ['the package document is not an object'];
  const p: string[] = [];
  if (!(CONTROL_STATUSES as readonly unknown[]).includes(v.status)) {
    p.push(`status: must be one of ${CONTROL_STATUSES.join(', ')}, got ${JSON.stringify(v.status)?.slice(0, SHORT) ?? 'undefined'}`);
  }
  if (typeof v.summary !== 'string') p.push('summary: must be a string');
  if (v.counterexamples !== undefined && !Array.isArray(v.counterexamples)) p.push('counterexamples: must be an array');
  else if (Array.isArray(v.counterexamples)) {
    const bad = v.counterexamples.findIndex((c) => !isObject(c));
    if (bad >= 0) p.push(`counterexamples[${bad}]: must be an object`);
  }
  if (v.evidence !== undefined) {
    if (!isObject(v.evidence)) p.push('evidence: must be an object of numbers');
    else for (const [k, n] of Object.entries(v.evidence)) if (typeof n !== 'number' || !Number.isFinite(n)) p.push(`evidence.${k}: must be a number`);
  }
  const m = v.metadata;
  if (!isObject(m)) p.push('metadata: must be an object {title, description, clauses}');
  else {
    if (typeof m.title !== 'string' || m.title === '') p.push('metadata.title: must be a non-empty string');
    if (m.description !== undefined && typeof m.description !== 'string') p.push('metadata.description: must be a string');
    if (m.clauses !== undefined && !isObject(m.clauses)) p.push('metadata.clauses: must be an object of framework → [{id, text}]');
  }
  return p;
}

/** The empty totals, one key per status. */
export const noTotals = (): StatusTotals => ({ pass: 0, fail: 0, not_applicable: 0, insufficient_evidence: 0 });

/** A stored report's `files` (JSON text [{format, sha256}]); [] for anything unreadable. */
export function parseFiles(text: string): { format: string; sha256: string }[] {
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? v.filter((f): f is { format: string; sha256: string } => typeof f?.format === 'string' && typeof f?.sha256 === 'string') : [];
  } catch {
    return [];
  }
}
