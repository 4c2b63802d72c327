// The evidence document: what happened in a report period, as the store
// recorded it, in the one shape every control reads (docs/compliance.md
// lists the fields). Everything here is read from the store: raw taps
// where a control needs rows (identity, TLS, decisions, secrets, chain
// re-hashing), the store's own records for the rest (loss, refused frames,
// retention, config changes, alerts, tuning actions).

import type { TrustBundle } from '../../identity/index.ts';
import type { TapStore } from '../../ingest/index.ts';

/** What building evidence asks of the store (a TapStore has it all). */
export type EvidenceSource = Pick<TapStore,
  'evidenceEdges' | 'secretFindings' | 'chainAudit' | 'lossRecords' | 'rejectCounts' | 'retention' | 'configChanges' | 'alertsInPeriod' | 'actions' | 'chainHeadsAt'>;

export interface Period { from: number; until: number }

/** Sample taps kept per edge and category; secrets findings kept. */
const SAMPLES_PER_EDGE = 5;
const SECRET_SAMPLES = 50;
/** Actions read per period; more is refused rather than cut silently. */
const MAX_ACTIONS = 10_000;

type ChangeRow = Awaited<ReturnType<TapStore['configChanges']>>['during'][number];

/**
 * `trust`: the roots the collectors believed signatures under; with it the
 * chain audit checks every stored signature again (bad_signature), without
 * it a chain rewritten consistently to its head cannot be told.
 */
export async function buildEvidence(src: EvidenceSource, period: Period, now: () => number = Date.now, trust?: () => TrustBundle) {
  const { from, until } = period;
  const [edges, secrets, chains, loss, rejects, retention, changes, alerts, actions, heads] = await Promise.all([
    src.evidenceEdges(from, until, SAMPLES_PER_EDGE),
    src.secretFindings(from, until, SECRET_SAMPLES),
    src.chainAudit(from, until, { trust }),
    src.lossRecords(from, until),
    src.rejectCounts(from, until),
    src.retention(),
    src.configChanges(from, until),
    src.alertsInPeriod(from, until),
    // Actions proposed in the period: the newest state of each, updated at or after `from`.
    src.actions({ since: from, limit: MAX_ACTIONS + 1 }),
    src.chainHeadsAt(until),
  ]);
  if (actions.length > MAX_ACTIONS) {
    throw new Error(`compliance evidence: more than ${MAX_ACTIONS} tuning actions in the period; report a shorter period`);
  }
  const inPeriod = actions.filter((a) => a.proposed_at < until);
  // An alert is responded to when a tuning action naming it was proposed (whatever came of it).
  const respondedAt = new Map<string, number>();
  for (const a of inPeriod) {
    for (const id of a.alert_ids) respondedAt.set(id, Math.min(respondedAt.get(id) ?? Infinity, a.proposed_at));
  }
  return {
    period: { from, until },
    generated_at: now(),
    taps: { streams: chains.streams, batches: chains.batches, events: chains.events },
    edges,
    secrets,
    chains,
    loss: { records: loss, events: loss.reduce((n, l) => n + l.count, 0) },
    rejects,
    retention,
    changes,
    config: versionsInForce(changes.at_start, changes.during),
    policies: {
      authz: policyDigests(changes.at_start, changes.during, 'authz_policy'),
      tuning: policyDigests(changes.at_start, changes.during, 'tuning_policy'),
    },
    alerts: alerts.map((a) => ({
      id: a.id, scope: a.scope, subject: a.subject, state: a.state, opened_at: a.opened_at, resolved_at: a.resolved_at,
      open_s: Math.max(0, ((a.resolved_at ?? until) - a.opened_at) / 1000),
      responded_at: respondedAt.get(a.id) ?? null,
    })),
    actions: inPeriod.map((a) => ({
      id: a.id, kind: a.kind, subject: a.subject, service: a.service, state: a.state, mode: a.mode,
      proposed_at: a.proposed_at, updated_at: a.updated_at, actor: a.actor, alert_ids: a.alert_ids, config_after: a.config_after,
    })),
    chain_heads: heads.map((h) => ({ proxy: h.proxy, stream: h.stream, batch: h.batch, hash: h.hash, last_seq: h.last_seq })),
  };
}

export type EvidenceDocument = Awaited<ReturnType<typeof buildEvidence>>;

/** The control plane's snapshot version at the start and at the end of the period (0: none recorded). */
function versionsInForce(atStart: readonly ChangeRow[], during: readonly ChangeRow[]): { version_at_start: number; version_at_end: number } {
  const start = atStart.reduce((v, c) => Math.max(v, c.version), 0);
  return { version_at_start: start, version_at_end: during.reduce((v, c) => Math.max(v, c.version), start) };
}

/** The digest of a policy kind in force when the period began, and every digest in force during it. */
function policyDigests(atStart: readonly ChangeRow[], during: readonly ChangeRow[], kind: string): { digest_at_start: string; digests: string[] } {
  const start = atStart.filter((c) => c.kind === kind).sort((a, b) => b.ts - a.ts)[0]?.digest ?? '';
  const digests = [start, ...during.filter((c) => c.kind === kind).map((c) => c.digest)].filter((d) => d !== '');
  return { digest_at_start: start, digests: [...new Set(digests)] };
}
