/**
 * Rego → OPA-ABI WebAssembly: compile to the IR (policy/rego), encode it as
 * a plan (encode.ts) and embed it in the prebuilt AssemblyScript runtime
 * (build.ts, embed.ts). The result loads in @open-policy-agent/opa-wasm.
 */
import { compileToIR } from '../rego/compile.ts';
import { baseRuntime } from './build.ts';
import { embedPlan } from './embed.ts';
import { encodePlan } from './encode.ts';
import type { IRPolicy } from '../ir.ts';

/** files: name → Rego source; entrypoints: "pkg/rule" paths. Throws RegoCompileError on bad source. */
export async function compileToWasm(files: Record<string, string>, entrypoints: string[]): Promise<Uint8Array> {
  return irToWasm(compileToIR(files, entrypoints), entrypoints);
}

export async function irToWasm(ir: IRPolicy, entrypoints: string[]): Promise<Uint8Array> {
  const plan = encodePlan(ir, entrypoints);
  return embedPlan(await baseRuntime(), plan.json);
}
