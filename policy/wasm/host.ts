/**
 * The host side of the WASM back end: builtins the runtime delegates
 * (opa_builtinN) are served by the reference implementations in
 * policy/builtins, registered as the SDK's custom builtins. Values cross
 * as JSON (OPA's convention), so a set argument arrives as an array.
 */
import type { loadPolicy } from '@open-policy-agent/opa-wasm';
import { BUILTINS, BuiltinError } from '../builtins/index.ts';
import { fromJSON, toJSON } from '../value.ts';
import { nativeId } from './natives.ts';
import { memoryMinPages } from './embed.ts';

export interface HostOptions {
  nowNs?: () => number;
  /** Host builtin errors abort evaluation (OPA's strict-builtin-errors); natives in the runtime stay lenient. */
  strictBuiltinErrors?: boolean;
}
export type HostBuiltin = (...args: unknown[]) => unknown;
export type LoadedPolicy = Awaited<ReturnType<typeof loadPolicy>>;

/** Every non-native builtin as an SDK custom builtin; a builtin error is undefined (or, strict, an error), as in the reference evaluator. */
export function hostBuiltins(opts: HostOptions = {}): Record<string, HostBuiltin> {
  const out: Record<string, HostBuiltin> = {};
  const now = opts.nowNs ? opts.nowNs() : Date.now() * 1e6;
  for (const [name, def] of Object.entries(BUILTINS)) {
    if (nativeId.has(name)) continue;
    out[name] = (...args: unknown[]) => {
      try {
        const r = def.fn(args.map(fromJSON), { nowNs: () => now });
        return r === undefined ? undefined : toJSON(r);
      } catch (e) {
        if (e instanceof BuiltinError) { if (opts.strictBuiltinErrors) throw new Error(`${e.code}: ${e.message}`); return undefined; }
        throw e;
      }
    };
  }
  return out;
}

/**
 * Loads a policy.wasm (ours or `opa build -t wasm`'s) through the SDK with meshlens' host builtins.
 * The SDK itself loads with the first policy (~9 MB), not with policy/index.ts: a sidecar imports
 * policy/ but loads a policy only once a control plane names one.
 */
export async function loadWasmPolicy(wasm: Uint8Array, opts: HostOptions = {}): Promise<LoadedPolicy> {
  const initial = Math.max(5, memoryMinPages(wasm) ?? 0);
  const { loadPolicy } = await import('@open-policy-agent/opa-wasm');
  return loadPolicy(wasm, { initial }, hostBuiltins(opts));
}
