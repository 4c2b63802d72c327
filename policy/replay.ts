/**
 * Policy replay: what would a draft authorization policy have decided on the
 * inbound requests of a period, beside the policy it would replace? Each
 * stored inbound l7.request tap is rebuilt into the input document the
 * sidecar gave its policy (./authz-input.ts, the one builder both use), the
 * draft decides it through its wasm bundle, and every request whose
 * decision flips (allow→deny, deny→allow) is counted, grouped by caller,
 * service, method and path, with a few sample taps per group.
 *
 * The baseline is either a policy (the one enforced now, evaluated on the
 * same rebuilt inputs, so both sides see the same missing headers) or, with
 * none given, the decision each tap recorded: what actually happened. A
 * recorded 'none' (no policy configured, or failed open) let the request
 * through, so it counts as allow. A policy that throws or breaks the
 * {allow, reason} contract denies with policy_error, as the sidecar does.
 *
 * Requests alike in every field the input is built from (and in their
 * recorded decision) are decided once: the store groups them
 * (TapStore.inboundRequestInputs), so the cost follows the distinct inputs,
 * not the requests (the demo's day: ~43M requests, a few hundred inputs).
 * The period is read in slices of about `sliceRequests` requests (progress
 * after each); a slice with more than `maxInputs` distinct inputs is cut
 * smaller until each part has fewer, so every read is bounded however
 * varied the traffic.
 *
 * What a tap cannot carry is counted and said in `notes` (./replay-notes.ts),
 * never filled in.
 */
import type { InboundRequestInput, TapStore } from '../ingest/index.ts';
import type { AuthzPolicy } from './authz-bundle.ts';
import { authzInput, DEFAULT_POLICY_HEADERS, requestPath } from './authz-input.ts';
import { replayNotes } from './replay-notes.ts';

export type Flip = 'allow_to_deny' | 'deny_to_allow';

export interface ReplayProgress { done: number; total: number }

export interface ReplayOptions {
  store: Pick<TapStore, 'inboundRequestInputs' | 'countTaps'>;
  draft: AuthzPolicy;
  /** The policy in force to compare with; absent or null: the decision each tap recorded. */
  current?: AuthzPolicy | null;
  /** The period, epoch ms, from <= ts < until. */
  from: number;
  until: number;
  /** The sidecars' --policy-header-allow (default DEFAULT_POLICY_HEADERS): the headers the input document carries. */
  headerAllow?: readonly string[];
  /** Requests a slice of the period holds, about (default 1,000,000): one progress report each. */
  sliceRequests?: number;
  /** Distinct inputs read at once at most (default 20,000): a slice with more is cut smaller. */
  maxInputs?: number;
  /** Stop after the slice that reaches this many requests, or this many distinct inputs decided (the result says it was cut short). Default: no bound. */
  maxRequests?: number;
  maxEvaluations?: number;
  /** Sample taps kept per group (default 3) and groups kept, most flips first (default 500). */
  samplesPerGroup?: number;
  maxGroups?: number;
  /** After each page: requests done of the period's total. */
  onProgress?: (p: ReplayProgress) => void;
  /** Stops the replay between reads (it rejects with the signal's reason): the asker has gone. */
  signal?: AbortSignal;
  now?: () => number;
}

/** A flipped request, as the tap explorer finds it. */
export interface ReplaySample {
  proxy: string; stream: string; seq: number; ts: number;
  /** The baseline's reason (the recorded one, or the current policy's) and the draft's. */
  before_reason: string; draft_reason: string;
}

export interface ReplayGroup {
  flip: Flip;
  src_service: string; dst_service: string; method: string; path: string;
  count: number;
  samples: ReplaySample[];
}

export interface ReplayResult {
  from: number; until: number;
  /** What the draft was compared with. */
  baseline: 'current_policy' | 'recorded_decision';
  draft_digest: string;
  current_digest: string | null;
  /** Inbound requests in the period, and how many were evaluated (fewer only when cut short by maxRequests). */
  total: number;
  evaluated: number;
  truncated: boolean;
  /** Distinct inputs, each decided once by the draft (and the current policy). */
  inputs: number;
  flips: Record<Flip, number>;
  /** Requests the draft failed to decide (denied as policy_error). */
  draft_errors: number;
  /** With a current policy: requests where it decides otherwise than the tap recorded. */
  recorded_disagreements: number | null;
  /** Flip groups, most flips first; those beyond maxGroups are counted in groups_left_off. */
  groups: ReplayGroup[];
  groups_left_off: number;
  /** Flipped requests whatever their group, oldest first (at most 20, the first two of each input's requests: its earliest and latest). */
  samples: (ReplaySample & { flip: Flip; src_service: string; dst_service: string; method: string; path: string })[];
  /** What the taps could not carry, and how that bears on the answer. */
  notes: string[];
  elapsed_ms: number;
  /** Requests evaluated per second of elapsed time (reading included). */
  rate_per_s: number;
}

type Verdict = { allow: boolean; reason: string };

const decideOrDeny = (p: AuthzPolicy, input: unknown): Verdict & { error: boolean } => {
  try { return { ...p.decide(input), error: false }; } catch { return { allow: false, reason: 'policy_error', error: true }; }
};

const recorded = (r: InboundRequestInput): Verdict => (r.decision === 'deny'
  ? { allow: false, reason: r.decision_reason }
  : { allow: true, reason: r.decision_reason || (r.decision === 'allow' ? '' : 'no policy (none)') });

const TOP_SAMPLES = 20;

/** [a, b) as `parts` slices, last first (the stack pops the oldest). */
function split(a: number, b: number, parts: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = parts - 1; i >= 0; i--) out.push([a + Math.floor(((b - a) * i) / parts), a + Math.floor(((b - a) * (i + 1)) / parts)]);
  return out;
}

export async function replayPolicy(o: ReplayOptions): Promise<ReplayResult> {
  const now = o.now ?? Date.now;
  const started = now();
  const headerAllow = o.headerAllow ?? DEFAULT_POLICY_HEADERS;
  const perGroup = o.samplesPerGroup ?? 3;
  const maxInputs = o.maxInputs ?? 20_000;
  const current = o.current ?? null;
  const total = await o.store.countTaps({ kind: 'l7.request', direction: 'inbound', since: o.from, until: o.until });
  const groups = new Map<string, ReplayGroup>();
  const samples: ReplayResult['samples'] = [];
  const flips: Record<Flip, number> = { allow_to_deny: 0, deny_to_allow: 0 };
  const seen = { headers: new Map<string, number>(), undecided: 0, longPaths: 0 };
  let evaluated = 0, inputs = 0, draftErrors = 0, disagreements = 0;

  const decideInput = (r: InboundRequestInput) => {
    const n = r.requests;
    const input = authzInput({ ...r, target: r.path }, headerAllow);
    const draft = decideOrDeny(o.draft, input);
    if (draft.error) draftErrors += n;
    const rec = recorded(r);
    let before: Verdict = rec;
    if (current) {
      before = decideOrDeny(current, input);
      if (r.decision !== 'none' && r.decision !== '' && before.allow !== rec.allow) disagreements += n;
    }
    for (const h of Object.keys(input.request.headers)) seen.headers.set(h, (seen.headers.get(h) ?? 0) + n);
    if (r.decision === 'none' || r.decision === '') seen.undecided += n;
    if (r.path.length >= 2048) seen.longPaths += n;
    if (before.allow === draft.allow) return;
    const flip: Flip = before.allow ? 'allow_to_deny' : 'deny_to_allow';
    flips[flip] += n;
    const key = { src_service: r.src_service, dst_service: r.dst_service, method: r.method, path: requestPath(r.path) };
    const id = JSON.stringify([flip, key.src_service, key.dst_service, key.method, key.path]);
    let g = groups.get(id);
    if (!g) groups.set(id, g = { flip, ...key, count: 0, samples: [] });
    g.count += n;
    for (const tap of n > 1 ? [r.first, r.last] : [r.first]) {
      const sample = { ...tap, before_reason: before.reason, draft_reason: draft.reason };
      if (g.samples.length < perGroup) g.samples.push(sample);
      if (samples.length < TOP_SAMPLES) samples.push({ flip, ...key, ...sample });
    }
  };

  // Slices of about sliceRequests requests each, assuming them spread evenly; read oldest first.
  const sliceCount = Math.max(1, Math.min(1000, Math.ceil(total / (o.sliceRequests ?? 1_000_000))));
  const span = o.until - o.from;
  const slices = split(o.from, o.from + span, sliceCount);
  o.onProgress?.({ done: 0, total });
  // A slice with too many inputs is cut into as many equal parts (at most 64)
  // as where its (maxInputs+1)-th input first appeared implies, with a margin:
  // one read wasted per cut, where halving would waste one per level.
  while (slices.length && evaluated < (o.maxRequests ?? Infinity) && inputs < (o.maxEvaluations ?? Infinity)) {
    o.signal?.throwIfAborted();
    const [a, b] = slices.pop()!;
    if (b <= a) continue;
    const read = await o.store.inboundRequestInputs(a, b, b - a > 1 ? maxInputs + 1 : 0x7fffffff);
    if (read.length > maxInputs && b - a > 1) {
      const reached = Math.max(1, read[maxInputs].first.ts - a);
      const parts = Math.min(b - a, 64, Math.max(2, Math.ceil((1.25 * (b - a)) / reached)));
      slices.push(...split(a, b, parts));
      continue;
    }
    if (read.length === 0) continue;
    for (const r of read) { decideInput(r); evaluated += r.requests; inputs++; }
    o.onProgress?.({ done: evaluated, total: Math.max(total, evaluated) });
  }
  const ordered = [...groups.values()].sort((a, b) => b.count - a.count
    || a.flip.localeCompare(b.flip) || a.src_service.localeCompare(b.src_service) || a.dst_service.localeCompare(b.dst_service)
    || a.method.localeCompare(b.method) || a.path.localeCompare(b.path));
  for (const g of ordered) g.samples.sort((x, y) => x.ts - y.ts || x.proxy.localeCompare(y.proxy) || x.seq - y.seq);
  const maxGroups = o.maxGroups ?? 500;
  const truncated = slices.length > 0 && evaluated < total;
  const elapsed = Math.max(1, now() - started);
  return {
    from: o.from, until: o.until,
    baseline: current ? 'current_policy' : 'recorded_decision',
    draft_digest: o.draft.digest, current_digest: current?.digest ?? null,
    total: Math.max(total, evaluated), evaluated, truncated, inputs,
    flips, draft_errors: draftErrors, recorded_disagreements: current ? disagreements : null,
    groups: ordered.slice(0, maxGroups), groups_left_off: Math.max(0, ordered.length - maxGroups),
    samples: samples.sort((x, y) => x.ts - y.ts),
    notes: replayNotes({ evaluated, total: Math.max(total, evaluated), truncated, headerAllow, headersSeen: seen.headers, undecided: seen.undecided, longPaths: seen.longPaths, current, disagreements }),
    elapsed_ms: elapsed, rate_per_s: Math.round(evaluated / (elapsed / 1000)),
  };
}
