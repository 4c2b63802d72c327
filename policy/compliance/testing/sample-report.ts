// A realistic stamped report for tests of what reads or renders reports:
// a week of the demo shop with one control of every status, counterexamples
// that point at taps and ones that do not ({ref}), an errored control, a
// zero and a huge evidence count, and hostile strings from the network
// (a path with </script>, quotes and U+2028; a reason with a bidi override).

import { MAX_COUNTEREXAMPLES, REPORT_FORMAT, noTotals, type ControlResult, type ReportBody, type ReportFile } from '../contract.ts';
import { stampOf } from '../stamp.ts';

export const SAMPLE_FROM = Date.UTC(2026, 2, 2); // Monday 2026-03-02T00:00:00Z
export const SAMPLE_UNTIL = Date.UTC(2026, 2, 9);
export const HOSTILE_PATH = `/search?q=</script><script>alert("x")</script>&name='o'"x"\u2028<!--`;
export const HOSTILE_REASON = 'no rule for caller "evil" \u202Egnp.exe <b>bold</b>';
export const HUGE_COUNT = 12_345_678_901_234;

const HOUR = 3_600_000;
const hex = (seed: number): string => Array.from({ length: 64 }, (_, i) => ((seed * 7919 + i * 104729) % 16).toString(16)).join('');

type Pointer = Record<string, unknown> & { proxy: string; seq: number; ts: number };

/** `n` inbound taps at `proxy`, one every 37 minutes from the start of the period, shaped by `over`. */
function taps(n: number, proxy: string, over: (i: number) => Record<string, unknown>): Pointer[] {
  const [dst] = proxy.split('-');
  return Array.from({ length: n }, (_, i) => ({
    proxy, seq: 1_000 + i * 13, ts: SAMPLE_FROM + i * 37 * 60_000, src_service: 'web', dst_service: dst, direction: 'inbound',
    method: 'GET', path: `/items/${i}`, status: 200, decision: 'allow', decision_reason: 'caller allowed', tls_version: 'TLSv1.3',
    src_identity: 'spiffe://meshlens.local/ns/demo/sa/web', ...over(i),
  }));
}

function control(id: string, title: string, status: ControlResult['status'], rest: Partial<ControlResult>): ControlResult {
  const counterexamples = rest.counterexamples ?? [];
  return {
    id, title, status, description: '', summary: '', evidence: {}, clauses: {},
    ...rest,
    counterexamples: counterexamples.slice(0, MAX_COUNTEREXAMPLES),
    counterexamples_total: rest.counterexamples_total ?? counterexamples.length,
  };
}

export function sampleControls(): ControlResult[] {
  const plaintext = taps(20, 'cart-1', (i) => ({ tls_version: '', src_identity: '', src_service: i % 2 ? 'web' : 'external' }));
  const noReason = taps(20, 'payments-v2', (i) => ({
    status: 403, decision: 'deny', decision_reason: i === 0 ? HOSTILE_REASON : '', path: i === 0 ? HOSTILE_PATH : `/charge/${i}`, method: 'POST',
  }));
  const secrets = taps(6, 'catalog-2', (i) => ({
    path: i === 0 ? '/img?token=…' : `/img/${i}`, field: i === 0 ? 'path' : 'header:authorization', rule: i === 0 ? 'secret_query_key' : 'bearer', excerpt: `eyJh…${120 + i}`,
  }));
  return [
    control('mtls_everywhere', 'Service-to-service traffic is mutually authenticated', 'fail', {
      description: 'Every inbound request and connection between mesh services carries a verified SPIFFE identity over TLS.',
      summary: '213 of 1,204,331 inbound requests (0.018%) on 2 edges arrived without mTLS.',
      clauses: { pci_dss_4_0: [{ id: '4.2.1', text: 'Strong cryptography protects data in transit' }], nist_800_207: [{ id: '3.1', text: 'Per-session authentication' }] },
      evidence: { edges_checked: 9, requests: 1_204_331, mtls_requests: 1_204_118, plaintext_requests: 213, connections: 48_210 },
      counterexamples: plaintext, counterexamples_total: 213,
    }),
    control('authz_decision_recorded', 'Every inbound request has a recorded authorization decision', 'pass', {
      description: 'Inbound requests to protected services are decided by the authorization policy, and the decision is stored with the tap.',
      summary: 'All 1,204,331 inbound requests carry a decision (1,199,990 allow, 4,341 deny).',
      clauses: { pci_dss_4_0: [{ id: '7.2.1', text: 'Access is assigned by need to know' }], soc2: [{ id: 'CC6.1', text: 'Logical access security' }] },
      evidence: { requests: 1_204_331, allow: 1_199_990, deny: 4_341, none: 0 },
    }),
    control('deny_has_reason', 'Every denial names its reason', 'fail', {
      summary: '57 of 4,341 denials carry no reason.',
      clauses: { soc2: [{ id: 'CC7.2', text: 'Anomalies are analysed' }], nist_800_204: [{ id: 'SM-DR-3', text: 'Authorization decisions are logged' }] },
      evidence: { denies: 4_341, denies_without_reason: 57 },
      counterexamples: noReason, counterexamples_total: 57,
    }),
    control('no_secrets_in_taps', 'No credentials travel in request paths or headers', 'fail', {
      summary: '6 findings in 1,204,331 scanned requests.',
      clauses: { pci_dss_4_0: [{ id: '3.3.1', text: 'Sensitive authentication data is not retained' }] },
      evidence: { scanned: 1_204_331, findings: 6, jwt: 0, bearer: 5, secret_query_key: 1 },
      counterexamples: secrets,
    }),
    control('tap_chain_integrity', 'The audit trail is complete and unaltered', 'fail', {
      summary: '1 batch of 18,422 does not hash to its stored hash.',
      clauses: { pci_dss_4_0: [{ id: '10.3.4', text: 'Audit logs are protected from modification' }], soc2: [{ id: 'CC7.2', text: '' }] },
      evidence: { batches: 18_422, verified_batches: 18_421, events: HUGE_COUNT, problems: 1, gaps: 0 },
      counterexamples: [{ ref: 'chain cart-1/taps batch 41', ts: SAMPLE_FROM + 30 * HOUR, problem: 'hash_mismatch', detail: 'stored rows hash to 9f2c…, the batch says 41aa…' }],
    }),
    control('retention_min_days', 'Audit taps are kept at least 7 days', 'insufficient_evidence', {
      summary: 'The oldest stored tap is 2 days old: a 7-day retention cannot be shown yet.',
      clauses: { pci_dss_4_0: [{ id: '10.5.1', text: 'Audit log history is retained' }] },
      evidence: { taps_days: 7, min_retention_days: 7, oldest_tap_age_days: 2 },
    }),
    control('alert_response_time', 'Anomaly alerts are answered within an hour', 'not_applicable', {
      summary: 'No anomaly alert was open during the period.',
      clauses: { soc2: [{ id: 'CC7.3', text: 'Security events are evaluated' }] },
      evidence: { alerts: 0 },
    }),
    control('callers_allowed', 'Only allowed callers reach each service', 'insufficient_evidence', {
      summary: 'The control could not be evaluated.',
      error: 'eval: data.compliance.allowed_callers.cart is not an array (got "web")',
    }),
  ];
}

export function sampleReportBody(controls: ControlResult[] = sampleControls()): ReportBody {
  const totals = noTotals();
  for (const c of controls) totals[c.status]++;
  return {
    format: REPORT_FORMAT,
    id: 'rpt-20260309T060000Z-3f9a1c',
    issued_at: SAMPLE_UNTIL + 6 * HOUR,
    issued_by: 'schedule',
    meshlens_version: '0.1.0',
    period: { from: SAMPLE_FROM, until: SAMPLE_UNTIL },
    pack: { name: 'baseline', digest: hex(1), controls: controls.length },
    totals,
    controls,
    policies: { authz: { digest_at_start: hex(2), digests: [hex(2), hex(3)] }, tuning: { digest_at_start: hex(4), digests: [hex(4)] } },
    config: { version_at_start: 41, version_at_end: 44 },
    changes: {
      at_start: [{ ts: SAMPLE_FROM - 20 * HOUR, version: 41, kind: 'authz_policy', subject: 'authz', digest: hex(2), actor: 'operator', detail: '{"entrypoint":"meshlens/authz/allow"}' }],
      during: [
        { ts: SAMPLE_FROM + 50 * HOUR, version: 42, kind: 'authz_policy', subject: 'authz', digest: hex(3), actor: 'operator', detail: '{}' },
        { ts: SAMPLE_FROM + 51 * HOUR, version: 43, kind: 'route', subject: 'payments', digest: hex(5), actor: 'tuning', detail: '{"v1":90,"v2":10}' },
        { ts: SAMPLE_FROM + 52 * HOUR, version: 44, kind: 'ejection', subject: 'catalog-2', digest: hex(6), actor: 'tuning', detail: '{"for_s":30}' },
      ],
      during_total: 3,
    },
    chain_heads: ['web-1', 'cart-1', 'catalog-1', 'catalog-2', 'payments-v1', 'payments-v2'].map((proxy, i) => ({
      proxy, stream: 'taps', batch: 3_000 + i * 17, hash: hex(10 + i), last_seq: 250_000 + i * 1_311,
    })),
    chain: { batches: 18_422, events: 2_412_004, verified_batches: 18_421, unsigned_batches: 0, problems: 1, unaccounted_gaps: 0 },
    evidence_counts: { taps: 2_412_004, edges: 9, requests: 1_204_331, secrets_scanned: 1_204_331, alerts: 0, actions: 3, changes: 3 },
  };
}

/** The sample report, stamped as report.ts stamps one. */
export function sampleReport(controls?: ControlResult[]): ReportFile {
  const body = sampleReportBody(controls);
  return { body, sha256: stampOf(body) };
}
