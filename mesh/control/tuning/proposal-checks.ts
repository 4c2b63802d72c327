// What the engine asks of a proposal before its guardrails: would it change
// anything at all, and is it the same change as one already recorded (its
// reason's figures move every tick, so the reason is left out).

import type { ProposedAction } from './contract.ts';
import { percentages, type SubsetShare } from './guardrails.ts';
import type { MeshView } from './input.ts';

/** Traffic share per version now: the route's weights, or (default route) by instance count. */
export function sharesOf(mesh: MeshView, service: string): SubsetShare[] {
  const route = mesh.routes().find((r) => r.service === service);
  if (route) return percentages(route.subsets.map((s) => ({ version: String(s.version ?? ''), weight: Number(s.weight) })));
  const counts = new Map<string, number>();
  for (const i of mesh.instances()) if (i.service === service) counts.set(i.version, (counts.get(i.version) ?? 0) + 1);
  return percentages([...counts].sort().map(([version, weight]) => ({ version, weight })));
}

/** True when the mesh is already as the action asks: nothing to do, nothing to record. */
export function isNoop(a: ProposedAction, mesh: MeshView, now: number): boolean {
  switch (a.kind) {
    case 'shift': {
      const cur = sharesOf(mesh, a.service);
      return percentages(a.subsets).every((s) => (cur.find((c) => c.version === s.version)?.weight ?? 0) === s.weight);
    }
    case 'eject': return mesh.ejections().some((e) => e.instance === a.instance && e.until > now);
    case 'scale': return mesh.instances().filter((i) => i.service === a.service).length === a.replicas;
    case 'ratelimit': {
      const rule = mesh.rateLimits().find((r) => r.service === a.service)?.rules.find((r) => r.caller === a.caller);
      return a.lift ? !rule : rule !== undefined && rule.rps === a.rps && rule.burst === (a.burst ?? Math.max(1, Math.ceil(a.rps)));
    }
  }
}

/** What an action changes, without why: two proposals with one key ask for the same thing. */
export function actionKey(a: ProposedAction): string {
  switch (a.kind) {
    case 'shift': return JSON.stringify([a.kind, a.service, percentages(a.subsets), a.rollback === true]);
    case 'eject': return JSON.stringify([a.kind, a.instance]);
    case 'scale': return JSON.stringify([a.kind, a.service, a.replicas]);
    case 'ratelimit': return JSON.stringify([a.kind, a.service, a.caller, a.lift === true, a.rps]);
  }
}
