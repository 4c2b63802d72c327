// Tuning policies for tests: Rego compiled to an OPA bundle with the tuning
// entrypoint, the way the control plane takes them.

import { compileToWasm, writeBundle } from '../../../../policy/index.ts';
import { TUNING_ENTRYPOINT } from '../contract.ts';

export async function tuningBundle(rego: string, data: unknown = {}): Promise<{ bytes: Uint8Array; source: string }> {
  const wasm = await compileToWasm({ 'tuning.rego': rego }, [TUNING_ENTRYPOINT]);
  return { bytes: writeBundle(wasm, [TUNING_ENTRYPOINT], data, { 'tuning.rego': rego }), source: 'test' };
}

/** A policy that proposes exactly these actions, every tick. */
export const constantPolicy = (actions: unknown[]): string =>
  `package meshlens.tuning\n\nactions := ${JSON.stringify(actions)}\n`;
