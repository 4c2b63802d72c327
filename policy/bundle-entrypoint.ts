/**
 * One entrypoint of an OPA bundle (.tar.gz as writeBundle or `opa build -t
 * wasm` writes it), loaded once through the opa-wasm SDK and evaluated per
 * input. The authorization bundle (./authz-bundle.ts) and the tuning policy
 * (mesh/control/tuning) are both this, with their own answer contracts.
 */
import { createHash } from 'node:crypto';
import { readBundle } from './wasm/bundle.ts';
import { loadWasmPolicy } from './wasm/host.ts';

/** The bundle cannot be used at all: not a bundle, no such entrypoint, does not load. */
export class PolicyBundleError extends Error {
  readonly code = 'POLICY_ERR_BAD_BUNDLE';
  constructor(message: string, options?: { cause?: unknown }) { super(message, options); this.name = 'PolicyBundleError'; }
}

/** One evaluation failed, or answered something other than the entrypoint's contract. */
export class PolicyDecisionError extends Error {
  readonly code = 'POLICY_ERR_DECISION';
  constructor(message: string, options?: { cause?: unknown }) { super(message, options); this.name = 'PolicyDecisionError'; }
}

export const bundleDigest = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export interface BundleEntrypoint {
  /** sha256 (hex) of the bundle bytes. */
  readonly digest: string;
  readonly entrypoint: string;
  /**
   * The entrypoint's value for `input`; throws PolicyDecisionError when
   * evaluation fails or the entrypoint is undefined for it.
   */
  evaluate(input: unknown): unknown;
}

export async function loadBundleEntrypoint(bytes: Uint8Array, entrypoint: string): Promise<BundleEntrypoint> {
  const digest = bundleDigest(bytes);
  let bundle: ReturnType<typeof readBundle>;
  try {
    bundle = readBundle(bytes);
  } catch (e) {
    throw new PolicyBundleError(`policy bundle ${digest.slice(0, 12)}: not a readable OPA bundle: ${(e as Error).message}`, { cause: e });
  }
  let policy: Awaited<ReturnType<typeof loadWasmPolicy>>;
  try {
    policy = await loadWasmPolicy(bundle.wasm);
    policy.setData((bundle.data ?? {}) as object);
  } catch (e) {
    throw new PolicyBundleError(`policy bundle ${digest.slice(0, 12)}: policy.wasm does not load: ${(e as Error).message}`, { cause: e });
  }
  const id = (policy.entrypoints as Record<string, number>)[entrypoint];
  if (id === undefined) {
    const has = Object.keys(policy.entrypoints as object).join(', ') || 'none';
    throw new PolicyBundleError(`policy bundle ${digest.slice(0, 12)}: no entrypoint ${entrypoint} (has: ${has}); build it with -e ${entrypoint}`);
  }
  return {
    digest,
    entrypoint,
    evaluate(input) {
      let rs: unknown;
      try {
        rs = policy.evaluate(input, id);
      } catch (e) {
        throw new PolicyDecisionError(`${entrypoint}: evaluation failed: ${(e as Error).message}`, { cause: e });
      }
      if (!Array.isArray(rs) || rs.length === 0) throw new PolicyDecisionError(`${entrypoint} is undefined for this input (give it a default)`);
      return (rs[0] as { result?: unknown }).result;
    },
  };
}
