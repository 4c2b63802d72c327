/**
 * An authorization decision bundle: an OPA bundle (.tar.gz as writeBundle or
 * `opa build -t wasm` writes it) whose entrypoint answers
 * `{allow: boolean, reason: string}` for an input document. Loaded once
 * through the opa-wasm SDK, then decide() per request (synchronous, ~16 µs;
 * one instance serves every request, since evaluate never yields).
 *
 * Used by the control plane to check a bundle before it pushes it, and by
 * the sidecar's inbound policy stage to enforce it.
 */
import { createHash } from 'node:crypto';
import { readBundle } from './wasm/bundle.ts';
import { loadWasmPolicy } from './wasm/host.ts';

export interface AuthzDecision { allow: boolean; reason: string }

export interface AuthzPolicy {
  /** sha256 (hex) of the bundle bytes. */
  readonly digest: string;
  readonly entrypoint: string;
  /** Throws AuthzDecisionError when evaluation fails or the answer breaks the contract. */
  decide(input: unknown): AuthzDecision;
}

/** The bundle cannot be used at all: not a bundle, no such entrypoint, does not load. */
export class AuthzBundleError extends Error {
  readonly code = 'POLICY_ERR_BAD_BUNDLE';
  constructor(message: string, options?: { cause?: unknown }) { super(message, options); this.name = 'AuthzBundleError'; }
}

/** One evaluation failed or answered something other than {allow: boolean, reason: string}. */
export class AuthzDecisionError extends Error {
  readonly code = 'POLICY_ERR_DECISION';
  constructor(message: string, options?: { cause?: unknown }) { super(message, options); this.name = 'AuthzDecisionError'; }
}

export const bundleDigest = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Longest reason kept; taps store at most 256 characters of it. */
const MAX_REASON = 256;

export async function loadAuthzBundle(bytes: Uint8Array, entrypoint: string): Promise<AuthzPolicy> {
  const digest = bundleDigest(bytes);
  let bundle: ReturnType<typeof readBundle>;
  try {
    bundle = readBundle(bytes);
  } catch (e) {
    throw new AuthzBundleError(`policy bundle ${digest.slice(0, 12)}: not a readable OPA bundle: ${(e as Error).message}`, { cause: e });
  }
  let policy: Awaited<ReturnType<typeof loadWasmPolicy>>;
  try {
    policy = await loadWasmPolicy(bundle.wasm);
    policy.setData((bundle.data ?? {}) as object);
  } catch (e) {
    throw new AuthzBundleError(`policy bundle ${digest.slice(0, 12)}: policy.wasm does not load: ${(e as Error).message}`, { cause: e });
  }
  const id = (policy.entrypoints as Record<string, number>)[entrypoint];
  if (id === undefined) {
    const has = Object.keys(policy.entrypoints as object).join(', ') || 'none';
    throw new AuthzBundleError(`policy bundle ${digest.slice(0, 12)}: no entrypoint ${entrypoint} (has: ${has}); build it with -e ${entrypoint}`);
  }
  return {
    digest,
    entrypoint,
    decide(input) {
      let rs: unknown;
      try {
        rs = policy.evaluate(input, id);
      } catch (e) {
        throw new AuthzDecisionError(`${entrypoint}: evaluation failed: ${(e as Error).message}`, { cause: e });
      }
      return decisionFrom(rs, entrypoint);
    },
  };
}

function decisionFrom(rs: unknown, entrypoint: string): AuthzDecision {
  if (!Array.isArray(rs) || rs.length === 0) throw new AuthzDecisionError(`${entrypoint} is undefined for this input (give it a default)`);
  const r = (rs[0] as { result?: unknown }).result as Partial<AuthzDecision> | null;
  if (r === null || typeof r !== 'object' || typeof r.allow !== 'boolean' || typeof r.reason !== 'string') {
    throw new AuthzDecisionError(`${entrypoint} must be {allow: boolean, reason: string}, got ${JSON.stringify(r)?.slice(0, 200)}`);
  }
  return { allow: r.allow, reason: r.reason.slice(0, MAX_REASON) };
}
