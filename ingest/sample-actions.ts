// A sample tuning action record for tests of the store and of what reads it.

import type { ActionRecord } from './action-record.ts';

const DIGEST = 'ab'.repeat(32);

/** A shift of cart's traffic towards v2 as the engine proposes it, `t` ms into the test's clock. */
export function sampleAction(t: number, over: Partial<ActionRecord> = {}): ActionRecord {
  return {
    id: `act-${t}`, state: 'proposed', updated_at: t, proposed_at: t, kind: 'shift', subject: 'cart', service: 'cart', mode: 'auto',
    params: { weights: { v1: 90, v2: 10 } }, requested: { weights: { v1: 50, v2: 50 } },
    guardrail: 'max_step 10: asked 50 for v2, clipped to 10', reason: "v1's p99 is 3× v2's (\"slow\")",
    alert_ids: [`service:cart:${t}`], evidence: { p99_ms: { v1: 300, v2: 100 }, window_s: 60, note: null, tags: ['a', "it's"] },
    policy_digest: DIGEST, config_before: 0, config_after: 0, acks: [], detail: '', actor: 'engine', ...over,
  };
}
