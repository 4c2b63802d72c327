// What `meshlens up` adds to the tuning engine for the demo: the demo
// supervisor as the scale actuator (`--scaler demo`), and the canary
// scenario's trigger: when it begins, a rollout of payments to v2 (a
// regression the judge should catch and roll back without anyone).

import { activeFault, type DemoMesh, type FaultPlan } from '../demo/index.ts';
import type { ControlPlane, ScaleActuator } from '../mesh/control/index.ts';

export function demoScaler(mesh: DemoMesh): ScaleActuator {
  return {
    replicas: async (service) => mesh.replicas(service),
    scale: async (service, replicas) => {
      const r = await mesh.scale(service, replicas);
      return { before: r.before, after: r.after };
    },
    describe: () => 'demo supervisor',
  };
}

/** The rollout the canary scenario starts. */
export const CANARY_ROLLOUT = { service: 'payments', to: 'v2', steps: [5, 25, 50, 100], interval_s: 60 };

/** Starts the canary rollout once at the beginning of each canary fault of the plan; stop() ends the watch. */
export function canaryRollouts(control: ControlPlane, plan: FaultPlan, startedAt: number, log: (line: string) => void): { stop(): void } {
  let last = -1;
  const timer = setInterval(() => {
    const f = activeFault(plan, Date.now() - startedAt);
    if (!f || f.kind !== 'canary' || f.start_ms === last || !control.tuning) return;
    last = f.start_ms;
    try {
      const r = control.tuning.startRollout(CANARY_ROLLOUT, 'demo canary scenario');
      log(`demo: canary scenario: rollout of ${r.service} ${r.from} → ${r.to} started (v2 is a regression: the judge should halt it)`);
    } catch (e) {
      log(`demo: canary scenario: no rollout started: ${(e as Error).message}`);
    }
  }, 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
