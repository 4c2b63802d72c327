// `--policy <file.rego|dir|bundle.tar.gz>` on `meshlens control` and `meshlens
// up`: the inbound authorization bundle the control plane starts with (and
// `--tuning-policy`, the tuning engine's, read the same way). Rego
// is compiled here (entrypoint AUTHZ_ENTRYPOINT) into an OPA bundle; a
// bundle is taken as it is. The control plane checks either before use.

import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AUTHZ_ENTRYPOINT } from '../mesh/control/index.ts';
import { compileToWasm, RegoCompileError, writeBundle } from '../policy/index.ts';
import { UsageError } from './flags.ts';
import { readRegoFiles } from './policy.ts';

const HOW = '--policy takes a .rego file, a directory of them, or an OPA bundle (.tar.gz) with entrypoint ' + AUTHZ_ENTRYPOINT;

/** The demo shop's policy, which `meshlens up` runs unless told otherwise. */
export const DEMO_POLICY_DIR = fileURLToPath(new URL('../demo/policy', import.meta.url));

export function readAuthzPolicy(path: string): Promise<{ bytes: Uint8Array; source: string }> {
  return readPolicyBundle(path, AUTHZ_ENTRYPOINT, '--policy', HOW);
}

/**
 * A policy flag's value as an OPA bundle: Rego (a file or directory of
 * them, `test_*` files included) compiled with `entrypoint`, or a bundle
 * taken as it is (the control plane checks either before use).
 */
export async function readPolicyBundle(path: string, entrypoint: string, flag: string, how: string, data?: object): Promise<{ bytes: Uint8Array; source: string }> {
  if (!statSync(path, { throwIfNoEntry: false })) throw new UsageError([`${flag} ${path}: no such file or directory`], how);
  if (path.endsWith('.tar.gz') || path.endsWith('.tgz')) {
    if (data) throw new UsageError([`${flag} ${path}: a bundle carries its own data; give Rego to add data`], how);
    return { bytes: readFileSync(path), source: path };
  }
  let files: Record<string, string>;
  try {
    files = readRegoFiles([path]);
  } catch (e) {
    throw new UsageError([`${flag} ${path}: ${e instanceof UsageError ? e.problems.join('; ') : (e as Error).message}`], how);
  }
  try {
    const wasm = await compileToWasm(files, [entrypoint]);
    return { bytes: writeBundle(wasm, [entrypoint], data ?? {}, {}), source: path };
  } catch (e) {
    if (e instanceof RegoCompileError) throw new UsageError([`${flag} ${path}: ${e.message}`], how);
    throw e;
  }
}
