// Issues a compliance report: evidence from the store, every control of
// the pack run over it, the result stamped with the SHA-256 of its
// canonical body. Nothing here writes; ./reports.ts stores what it issues.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TrustBundle } from '../../identity/index.ts';
import { noTotals, REPORT_FORMAT, type ReportBody, type ReportFile } from './contract.ts';
import { buildEvidence, type EvidenceDocument, type EvidenceSource, type Period } from './evidence.ts';
import type { ControlPack } from './pack.ts';
import { runControls } from './run.ts';
import { stampOf } from './stamp.ts';

/** meshlens's version, from its package.json. */
export const MESHLENS_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The longest period one report covers: the raw taps it reads are kept 7 days by default. */
export const MAX_PERIOD_MS = 93 * 86_400_000;
/** Config changes a report lists (all are counted, and the store keeps them all). */
const MAX_CHANGES = 500;

export interface IssueOptions {
  pack: ControlPack;
  period: Period;
  /** Who asked: "cli", "api (operator)", "schedule". */
  issuedBy: string;
  now?: () => number;
  /** The mesh's trust bundle: stored signatures are checked again against it (./evidence.ts). */
  trust?: () => TrustBundle;
}

/** Every problem with a period ("from: …"), empty when it is usable. */
export function periodProblems(p: Period, now: number): string[] {
  const out: string[] = [];
  for (const k of ['from', 'until'] as const) {
    if (!Number.isSafeInteger(p[k]) || p[k] < 0) out.push(`${k}: must be epoch milliseconds, got ${String(p[k]).slice(0, 40)}`);
  }
  if (out.length) return out;
  if (p.until <= p.from) out.push(`until (${iso(p.until)}) must be after from (${iso(p.from)})`);
  if (p.until - p.from > MAX_PERIOD_MS) out.push(`the period is longer than ${MAX_PERIOD_MS / 86_400_000} days; issue one report per shorter period`);
  if (p.from > now) out.push(`from (${iso(p.from)}) is in the future`);
  return out;
}

export async function issueReport(src: EvidenceSource, o: IssueOptions): Promise<{ report: ReportFile; evidence: EvidenceDocument }> {
  const now = o.now ?? Date.now;
  const problems = periodProblems(o.period, now());
  if (problems.length) throw new RangeError(`report period: ${problems.join('; ')}`);
  const evidence = await buildEvidence(src, o.period, now, o.trust);
  const controls = await runControls(o.pack, evidence);
  const totals = noTotals();
  for (const c of controls) totals[c.status]++;
  const issuedAt = now();
  const body: ReportBody = {
    format: REPORT_FORMAT,
    id: reportId(issuedAt),
    issued_at: issuedAt,
    issued_by: o.issuedBy,
    meshlens_version: MESHLENS_VERSION,
    period: { from: o.period.from, until: o.period.until },
    pack: { name: o.pack.name, digest: o.pack.digest, controls: o.pack.controls.length },
    totals,
    controls,
    policies: evidence.policies,
    config: evidence.config,
    // Bounded: a long period of registry churn would otherwise make the report as long as the log.
    changes: { at_start: evidence.changes.at_start, during: evidence.changes.during.slice(0, MAX_CHANGES), during_total: evidence.changes.during.length },
    chain_heads: evidence.chain_heads,
    chain: {
      batches: evidence.chains.batches, events: evidence.chains.events, verified_batches: evidence.chains.verified_batches,
      unsigned_batches: evidence.chains.unsigned_batches, verified_signatures: evidence.chains.verified_signatures, problems: evidence.chains.problems.length,
      unaccounted_gaps: evidence.chains.gaps.filter((g) => !g.accounted).length,
    },
    evidence_counts: {
      taps: evidence.taps.events,
      edges: evidence.edges.length,
      requests: evidence.edges.reduce((n, e) => n + e.requests, 0),
      secrets_scanned: evidence.secrets.scanned,
      alerts: evidence.alerts.length,
      actions: evidence.actions.length,
      changes: evidence.changes.during.length,
    },
  };
  return { report: { body, sha256: stampOf(body) }, evidence };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** rpt-20261207T150000Z-3f9a1c: sortable by time, unique by the random tail. */
function reportId(at: number): string {
  return `rpt-${iso(at).replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
}
