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
import { bundleDigest, loadBundleEntrypoint, PolicyBundleError, PolicyDecisionError } from './bundle-entrypoint.ts';

export { bundleDigest };

export interface AuthzDecision { allow: boolean; reason: string }

export interface AuthzPolicy {
  /** sha256 (hex) of the bundle bytes. */
  readonly digest: string;
  readonly entrypoint: string;
  /** Throws AuthzDecisionError when evaluation fails or the answer breaks the contract. */
  decide(input: unknown): AuthzDecision;
}

/** The bundle cannot be used at all: not a bundle, no such entrypoint, does not load. */
export class AuthzBundleError extends PolicyBundleError {
  constructor(message: string, options?: { cause?: unknown }) { super(message, options); this.name = 'AuthzBundleError'; }
}

/** One evaluation failed or answered something other than {allow: boolean, reason: string}. */
export class AuthzDecisionError extends PolicyDecisionError {
  constructor(message: string, options?: { cause?: unknown }) { super(message, options); this.name = 'AuthzDecisionError'; }
}

/** Longest reason kept; taps store at most 256 characters of it. */
const MAX_REASON = 256;

export async function loadAuthzBundle(bytes: Uint8Array, entrypoint: string): Promise<AuthzPolicy> {
  let policy: Awaited<ReturnType<typeof loadBundleEntrypoint>>;
  try {
    policy = await loadBundleEntrypoint(bytes, entrypoint);
  } catch (e) {
    throw new AuthzBundleError((e as Error).message, { cause: e });
  }
  return {
    digest: policy.digest,
    entrypoint,
    decide(input) {
      let r: unknown;
      try {
        r = policy.evaluate(input);
      } catch (e) {
        throw new AuthzDecisionError((e as Error).message, { cause: e });
      }
      return decisionFrom(r, entrypoint);
    },
  };
}

function decisionFrom(result: unknown, entrypoint: string): AuthzDecision {
  const r = result as Partial<AuthzDecision> | null;
  if (r === null || typeof r !== 'object' || typeof r.allow !== 'boolean' || typeof r.reason !== 'string') {
    throw new AuthzDecisionError(`${entrypoint} must be {allow: boolean, reason: string}, got ${JSON.stringify(r)?.slice(0, 200)}`);
  }
  return { allow: r.allow, reason: r.reason.slice(0, MAX_REASON) };
}
