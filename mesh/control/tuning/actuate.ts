// Applying an action, and undoing it. Shifts, ejections and rate limits are
// config: the control plane takes them and pushes a new snapshot version to
// every sidecar. Scaling is the scale actuator's (the demo supervisor
// locally, a Deployment's scale subresource on Kubernetes).

import type { RateLimitRule } from './contract.ts';
import type { ActionParams, SubsetShare } from './guardrails.ts';
import type { MeshView } from './input.ts';
import type { ScaleActuator } from './kubernetes-scale.ts';

/** The control plane as the engine drives it. Each change returns the config version that carries it. */
export interface MeshControl extends MeshView {
  configVersion(): number;
  proxies(): { proxy: string; connected: boolean; acked_version: number }[];
  /** null: back to the default route. */
  setRoute(service: string, subsets: SubsetShare[] | null): number;
  eject(instance: string, untilMs: number, reason: string): number;
  lift(instance: string): number | null;
  setRateLimits(service: string, rules: RateLimitRule[]): number;
}

export interface Applied { config_before: number; config_after: number; detail: string; undo: ActionParams | null }

/** Applies params; returns the versions and what would undo it. Throws when the actuator fails. */
export async function apply(p: ActionParams, mesh: MeshControl, scaler: ScaleActuator | null, now: number, reason: string): Promise<Applied> {
  const before = mesh.configVersion();
  switch (p.kind) {
    case 'shift': {
      const after = mesh.setRoute(p.service, p.subsets);
      return { config_before: before, config_after: after, detail: '', undo: { ...p, subsets: p.before, before: p.subsets, rollback: true } };
    }
    case 'eject': {
      const after = mesh.eject(p.instance, now + p.seconds * 1000, reason);
      return { config_before: before, config_after: after, detail: `ejected for ${p.seconds} s`, undo: null };
    }
    case 'scale': {
      if (!scaler) throw new Error('no scale actuator is configured');
      const r = await scaler.scale(p.service, p.replicas);
      return { config_before: before, config_after: mesh.configVersion(), detail: `${scaler.describe()}: ${r.before} → ${r.after} replicas`, undo: { ...p, replicas: r.before, before: r.after } };
    }
    case 'ratelimit': {
      const rules = mesh.rateLimits().find((r) => r.service === p.service)?.rules ?? [];
      const others = rules.filter((r) => r.caller !== p.caller);
      const next = p.lift ? others : [...others, { caller: p.caller, rps: p.rps, burst: p.burst }];
      const after = mesh.setRateLimits(p.service, next);
      const old = rules.find((r) => r.caller === p.caller);
      const undo: ActionParams = old
        ? { kind: 'ratelimit', service: p.service, caller: p.caller, rps: old.rps, burst: old.burst, lift: false }
        : { kind: 'ratelimit', service: p.service, caller: p.caller, rps: 0, burst: 0, lift: true };
      return { config_before: before, config_after: after, detail: '', undo };
    }
  }
}

/** Undoes an applied action: the engine's revert after a failed verification. */
export async function undo(p: ActionParams, applied: { undo: ActionParams | null }, mesh: MeshControl, scaler: ScaleActuator | null, now: number): Promise<Applied> {
  if (p.kind === 'eject') {
    const before = mesh.configVersion();
    const after = mesh.lift(p.instance);
    return { config_before: before, config_after: after ?? before, detail: after === null ? `${p.instance} had already returned` : `${p.instance} returned`, undo: null };
  }
  if (!applied.undo) throw new Error(`${p.kind}: nothing recorded to undo it with`);
  return apply(applied.undo, mesh, scaler, now, 'revert');
}

/** Resolves with when each connected sidecar ACKed `version` or later (polling), or what it had at the deadline. */
export async function waitForAcks(mesh: MeshControl, version: number, timeoutMs: number, now: () => number): Promise<{ acks: { proxy: string; at: number }[]; missing: string[] }> {
  const seen = new Map<string, number>();
  const deadline = now() + timeoutMs;
  for (;;) {
    const connected = mesh.proxies().filter((p) => p.connected);
    for (const p of connected) if (p.acked_version >= version && !seen.has(p.proxy)) seen.set(p.proxy, now());
    const missing = connected.filter((p) => !seen.has(p.proxy)).map((p) => p.proxy);
    if (missing.length === 0 || now() >= deadline) {
      return { acks: [...seen].map(([proxy, at]) => ({ proxy, at })).sort((a, b) => a.at - b.at || a.proxy.localeCompare(b.proxy)), missing };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
