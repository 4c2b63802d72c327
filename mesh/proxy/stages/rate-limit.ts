// Inbound rate limits: the snapshot's `rate_limits` (RateLimitRule in
// ../../control/snapshot.ts) pushed to the callee's sidecars. One token
// bucket per (rule, caller service): `burst` tokens, refilled at `rps` a
// second. A rule without `caller` gives each calling service a bucket of its
// own, so one noisy caller is refused while the others go on. A request takes
// one token from every rule that matches it (caller, path prefix); when any
// of those buckets is empty it takes none and is refused 429
// MESH_ERR_RATE_LIMITED with `retry-after` (seconds until that bucket has a
// token again) and a JSON body {code, message}; the code lands on the
// l7.request tap's `error` as every refusal's does (stages/tap.ts).
//
// Placed after the policy (the caller is the mTLS peer, set by the listener,
// and a denied request spends no token) and before admission (a limited
// request never holds a slot meant for the workload); after normalize-path,
// so a path prefix sees the one spelling the policy judged.
//
// Buckets live with the runtime and outlast snapshots: a new version (an
// ejection elsewhere in the mesh, say) does not refill them. A rule is known
// by its caller and path prefix (unique per service, config-validate.ts); a
// changed rps or burst applies to its existing buckets, a rule no longer
// listed loses them. Callers are services proven by certificates (or
// "external"), so there are as many buckets per rule as services in the mesh.

import { ruleKey } from '../../control/rate-limit-rules.ts';
import type { RateLimitRule } from '../../control/snapshot.ts';
import { MeshError } from '../errors.ts';
import type { SidecarRuntime } from '../runtime.ts';
import type { Stage } from '../stage.ts';

interface Bucket { tokens: number; at: number }

interface Limiter {
  /** The rules the buckets were last pruned for (a snapshot's array). */
  rules: readonly RateLimitRule[];
  /** ruleKey → caller service → bucket. */
  buckets: Map<string, Map<string, Bucket>>;
}

const bySidecar = new WeakMap<SidecarRuntime, Limiter>();

export const rateLimitStage: Stage = {
  name: 'rate-limit',
  handle(ctx, next) {
    const rules = ctx.config.snapshot.rate_limits;
    if (!rules || rules.length === 0) return next();
    const caller = ctx.src.service;
    const path = (ctx.req.url ?? '/').split('?')[0];
    const matching = rules.filter((r) => (r.caller === undefined || r.caller === caller) && (r.path_prefix === undefined || path.startsWith(r.path_prefix)));
    if (matching.length === 0) return next();
    const rt = ctx.runtime;
    const counters = rt.counters.rate_limits;
    counters.checked++;
    const limiter = limiterFor(rt, rules);
    const now = rt.now();
    const buckets = matching.map((r) => refilled(limiter, r, caller, now));
    let emptiest = -1;
    let waitS = 0;
    for (const [i, b] of buckets.entries()) {
      if (b.tokens >= 1) continue;
      const s = (1 - b.tokens) / matching[i].rps;
      if (emptiest < 0 || s > waitS) { emptiest = i; waitS = s; }
    }
    if (emptiest >= 0) {
      counters.limited++;
      counters.limited_by_caller[caller] = (counters.limited_by_caller[caller] ?? 0) + 1;
      const r = matching[emptiest];
      throw new MeshError('MESH_ERR_RATE_LIMITED',
        `${caller} -> ${ctx.dst.service} is over its rate limit (rule rate_limits[${rules.indexOf(r)}]: ${describe(r)}); ${ctx.req.method} ${path.slice(0, 256)} refused`,
        { retryAfterS: Math.max(1, Math.ceil(waitS)) });
    }
    for (const b of buckets) b.tokens -= 1;
    return next();
  },
};

function limiterFor(rt: SidecarRuntime, rules: readonly RateLimitRule[]): Limiter {
  let l = bySidecar.get(rt);
  if (!l) bySidecar.set(rt, l = { rules, buckets: new Map() });
  if (l.rules !== rules) {
    const keep = new Set(rules.map(ruleKey));
    for (const k of l.buckets.keys()) if (!keep.has(k)) l.buckets.delete(k);
    l.rules = rules;
  }
  return l;
}

/** The (rule, caller) bucket brought up to `now`: full when new, never above the rule's burst. */
function refilled(l: Limiter, r: RateLimitRule, caller: string, now: number): Bucket {
  const key = ruleKey(r);
  let byCaller = l.buckets.get(key);
  if (!byCaller) l.buckets.set(key, byCaller = new Map());
  let b = byCaller.get(caller);
  if (!b) byCaller.set(caller, b = { tokens: r.burst, at: now });
  // A clock stepped back refills nothing rather than draining the bucket.
  b.tokens = Math.min(r.burst, b.tokens + Math.max(0, now - b.at) / 1000 * r.rps);
  b.at = Math.max(b.at, now);
  return b;
}

function describe(r: RateLimitRule): string {
  const who = r.caller === undefined ? 'each caller' : `caller ${r.caller}`;
  const where = r.path_prefix === undefined ? '' : ` on ${r.path_prefix}*`;
  return `${who}${where}, ${r.rps} rps, burst ${r.burst}`;
}
