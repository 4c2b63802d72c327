// Real inbound authorization bundles for the sidecar's tests: Rego compiled
// to OPA-ABI WebAssembly by policy/, packed as an OPA bundle, with its digest.

import { bundleDigest, compileToWasm, writeBundle } from '../../../policy/index.ts';
import { AUTHZ_ENTRYPOINT } from '../../control/snapshot.ts';

export interface TestBundle { bytes: Uint8Array; digest: string }

/** `body` is the rest of a module in package meshlens.authz (rules for `decision`). */
export async function authzBundle(body: string): Promise<TestBundle> {
  const src = `package meshlens.authz\n\n${body}\n`;
  const wasm = await compileToWasm({ 'authz.rego': src }, [AUTHZ_ENTRYPOINT]);
  const bytes = writeBundle(wasm, [AUTHZ_ENTRYPOINT], {}, { 'authz.rego': src });
  return { bytes, digest: bundleDigest(bytes) };
}

/** Allows the listed callers, denies everyone else with `denyReason`. */
export function allowCallers(callers: string[], denyReason: string): Promise<TestBundle> {
  return authzBundle([
    `default decision := {"allow": false, "reason": ${JSON.stringify(denyReason)}}`,
    `decision := {"allow": true, "reason": sprintf("%s is allowed", [input.source.service])} if input.source.service in ${JSON.stringify(callers)}`,
  ].join('\n\n'));
}
