import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProposedAction } from './contract.ts';
import { applyGuardrails, percentages, scaleStep, type GuardrailContext } from './guardrails.ts';
import { DEFAULT_BOUNDS } from './settings.ts';

const signal = { scope: 'service' as const, subject: 'payments', metric: 'error_rate' as const, value: 0.2, threshold: 0.05 };
const shift = (weights: [string, number][], rollback = false): ProposedAction => ({
  kind: 'shift', service: 'payments', subsets: weights.map(([version, weight]) => ({ version, weight })), rollback, reason: 'test', alerts: [], signal,
});

function ctx(over: Partial<GuardrailContext> = {}): GuardrailContext {
  return {
    now: 1_000_000, bounds: DEFAULT_BOUNDS,
    shares: () => [{ version: 'v1', weight: 100 }, { version: 'v2', weight: 0 }],
    instances: (s) => s === 'catalog'
      ? [{ instance: 'catalog-1', version: 'v1', ejected: false }, { instance: 'catalog-2', version: 'v1', ejected: false }]
      : [{ instance: 'payments-1', version: 'v1', ejected: false }, { instance: 'payments-v2-1', version: 'v2', ejected: false }],
    ejections: () => 0, recent: [], ...over,
  };
}

test('a shift asking for 0→100 in one step is clipped to the largest step, and the record says so', () => {
  const g = applyGuardrails(shift([['v1', 0], ['v2', 100]]), ctx());
  assert.equal(g.outcome, 'clipped');
  assert.ok(g.outcome === 'clipped' && g.params.kind === 'shift');
  assert.deepEqual(g.params.subsets, [{ version: 'v1', weight: 50 }, { version: 'v2', weight: 50 }]);
  assert.match(g.guardrail, /max shift step: asked v1 0% \/ v2 100%, a gain of 100 points; clipped to v1 50% \/ v2 50%/);
});

test('a rollback returns all traffic at once, past the step bound and the cooldown', () => {
  const c = ctx({ shares: () => [{ version: 'v1', weight: 25 }, { version: 'v2', weight: 75 }], recent: [{ kind: 'shift', subject: 'payments', at: 999_000 }] });
  const g = applyGuardrails(shift([['v1', 100], ['v2', 0]], true), c);
  assert.equal(g.outcome, 'ok');
  assert.ok(g.outcome === 'ok' && g.params.kind === 'shift');
  assert.deepEqual(g.params.subsets, [{ version: 'v1', weight: 100 }, { version: 'v2', weight: 0 }]);
});

test('a second action on the same subject within its cooldown is refused, naming the cooldown', () => {
  const g = applyGuardrails(shift([['v1', 75], ['v2', 25]]), ctx({ recent: [{ kind: 'shift', subject: 'payments', at: 1_000_000 - 20_000 }] }));
  assert.equal(g.outcome, 'refused');
  assert.match(g.guardrail, /cooldown: the last action on payments was 20 s ago \(cooldown 60 s\)/);
  const later = applyGuardrails(shift([['v1', 75], ['v2', 25]]), ctx({ recent: [{ kind: 'shift', subject: 'payments', at: 1_000_000 - 61_000 }] }));
  assert.equal(later.outcome, 'ok');
});

test('more actions a minute than the bound are refused', () => {
  const recent = Array.from({ length: DEFAULT_BOUNDS.maxActionsPerMinute }, (_, i) => ({ kind: 'scale' as const, subject: `svc${i}`, at: 1_000_000 - 1000 * i }));
  const g = applyGuardrails(shift([['v1', 75], ['v2', 25]]), ctx({ recent }));
  assert.equal(g.outcome, 'refused');
  assert.match(g.guardrail, /^rate: 6 actions in the last 60 s \(at most 6\)/);
});

test('a shift to a version no instance runs is refused', () => {
  const g = applyGuardrails(shift([['v3', 100]]), ctx());
  assert.equal(g.outcome, 'refused');
  assert.match(g.guardrail, /no instance of payments has version v3 \(it has: v1, v2\)/);
});

test('ejection never leaves a service without an instance, nor above its share', () => {
  const eject = (instance: string): ProposedAction => ({ kind: 'eject', service: 'catalog', instance, reason: 'sick', alerts: [], signal });
  assert.equal(applyGuardrails(eject('catalog-2'), ctx()).outcome, 'ok');
  const oneLeft = ctx({ instances: () => [{ instance: 'catalog-1', version: 'v1', ejected: true }, { instance: 'catalog-2', version: 'v1', ejected: false }] });
  const g = applyGuardrails(eject('catalog-2'), oneLeft);
  assert.equal(g.outcome, 'refused');
  assert.match(g.guardrail, /would leave 0 of 2 instances of catalog/);
  assert.equal(applyGuardrails(eject('catalog-9'), ctx()).outcome, 'refused');
});

test('each repeat ejection lasts twice as long, up to the ceiling', () => {
  const eject: ProposedAction = { kind: 'eject', service: 'catalog', instance: 'catalog-2', reason: 'sick', alerts: [], signal };
  const seconds = [0, 1, 2, 3, 4, 5].map((n) => {
    const g = applyGuardrails(eject, ctx({ ejections: () => n }));
    assert.ok(g.outcome !== 'refused' && g.params.kind === 'eject');
    return g.params.seconds;
  });
  assert.deepEqual(seconds, [30, 60, 120, 240, 300, 300]);
});

test('replica counts are clipped to the floor and ceiling, and to the largest step', () => {
  const scale = (replicas: number): ProposedAction => ({ kind: 'scale', service: 'cart', replicas, reason: 'busy', alerts: [], signal });
  const high = applyGuardrails(scale(50), ctx());
  assert.equal(high.outcome, 'clipped');
  assert.ok(high.outcome === 'clipped' && high.params.kind === 'scale' && high.params.replicas === 8);
  assert.equal(applyGuardrails(scale(0), ctx()).outcome, 'clipped');
  assert.deepEqual(scaleStep(8, 1, DEFAULT_BOUNDS), { replicas: 3, guardrail: 'max scale step: 1 → 8 clipped to 3 (at most 2 replicas per action)' });
  assert.deepEqual(scaleStep(2, 1, DEFAULT_BOUNDS), { replicas: 2, guardrail: '' });
});

test('weights become whole percentages summing to 100', () => {
  assert.deepEqual(percentages([{ version: 'a', weight: 1 }, { version: 'b', weight: 1 }, { version: 'c', weight: 1 }]).map((s) => s.weight), [34, 33, 33]);
  assert.deepEqual(percentages([{ version: 'a', weight: 90 }, { version: 'b', weight: 10 }]).map((s) => s.weight), [90, 10]);
});
