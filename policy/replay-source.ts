/**
 * A policy to replay, as an operator hands it in: Rego sources (compiled
 * here to wasm, compile errors thrown as RegoCompileError with
 * file:line:col) or an OPA bundle, loaded as the sidecar loads its bundle
 * (./authz-bundle.ts) so replay decides through the same wasm path.
 */
import { loadAuthzBundle, type AuthzPolicy } from './authz-bundle.ts';
import { writeBundle } from './wasm/bundle.ts';
import { compileToWasm } from './wasm/compile.ts';

export type PolicySource = { files: Record<string, string> } | { bundle: Uint8Array };

/** Throws RegoCompileError (sources) or AuthzBundleError (a bundle without the entrypoint or that does not load). */
export async function loadAuthzPolicySource(source: PolicySource, entrypoint: string): Promise<AuthzPolicy> {
  if ('bundle' in source) return loadAuthzBundle(source.bundle, entrypoint);
  const wasm = await compileToWasm(source.files, [entrypoint]);
  return loadAuthzBundle(writeBundle(wasm, [entrypoint], {}, source.files), entrypoint);
}
