// The tuning policy in force: an OPA bundle whose entrypoint
// meshlens/tuning/actions answers a set of actions (contract.ts). Loaded,
// checked and replaced the way the authorization bundle is (a bad bundle is
// refused, counted, and the previous one stays); the digest of the bundle
// that decided an action is kept in its record.

import { fileURLToPath } from 'node:url';
import { loadBundleEntrypoint, PolicyDecisionError, type BundleEntrypoint } from '../../../policy/index.ts';
import { checkProposals, type CheckedProposals } from './action-check.ts';
import { TUNING_ENTRYPOINT, type TuningInput } from './contract.ts';

/** The shipped default policy (Rego with its test_* rules). */
export const DEFAULT_TUNING_POLICY_DIR = fileURLToPath(new URL('./policy', import.meta.url));

export interface TuningPolicyStatus {
  digest: string;
  source: string;
  set_at: number;
  accepted: number;
  refused: number;
  /** Evaluations that failed, and answers (or single actions) that broke the contract. */
  eval_errors: number;
  malformed_actions: number;
  last_error: string;
}

export class TuningPolicy {
  #policy: BundleEntrypoint | null = null;
  #status: TuningPolicyStatus = { digest: '', source: '', set_at: 0, accepted: 0, refused: 0, eval_errors: 0, malformed_actions: 0, last_error: '' };
  readonly #listeners = new Set<() => void>();

  constructor(private readonly now: () => number = Date.now) {}

  get digest(): string { return this.#status.digest; }

  status(): TuningPolicyStatus { return { ...this.#status }; }

  /** Checks and takes a bundle; throws PolicyBundleError (counted, nothing changes) for a bad one. */
  async set(bytes: Uint8Array, source: string): Promise<string> {
    let p: BundleEntrypoint;
    try {
      p = await loadBundleEntrypoint(bytes, TUNING_ENTRYPOINT);
    } catch (e) {
      this.#status.refused++;
      this.#status.last_error = `${source}: ${(e as Error).message}`;
      throw e;
    }
    this.#policy = p;
    this.#status = { ...this.#status, digest: p.digest, source, set_at: this.now(), accepted: this.#status.accepted + 1 };
    for (const fn of this.#listeners) fn();
    return p.digest;
  }

  onChange(fn: () => void): void { this.#listeners.add(fn); }

  /** The actions the policy proposes for `input`, and every problem with its answer (counted). No policy: none. */
  propose(input: TuningInput): CheckedProposals & { digest: string } {
    const p = this.#policy;
    if (!p) return { actions: [], problems: [], digest: '' };
    let value: unknown;
    try {
      value = p.evaluate(input);
    } catch (e) {
      this.#status.eval_errors++;
      this.#status.last_error = (e as Error).message;
      if (e instanceof PolicyDecisionError) return { actions: [], problems: [e.message], digest: p.digest };
      throw e;
    }
    const checked = checkProposals(value);
    if (checked.problems.length) {
      this.#status.malformed_actions += checked.problems.length;
      this.#status.last_error = `${TUNING_ENTRYPOINT}: ${checked.problems[0]}`;
    }
    return { ...checked, digest: p.digest };
  }
}
