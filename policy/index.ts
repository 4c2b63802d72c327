/**
 * Public surface of policy/: compile Rego v1 modules to the meshlens IR and
 * evaluate them with the reference evaluator (the WASM back end will take
 * the same CompiledPolicy).
 */
import type { IRPolicy } from './ir.ts';
import { compileToIR } from './rego/compile.ts';
import { RegoCompileError } from './rego/ast.ts';
import { RegoEvalError } from './eval-errors.ts';
import { StepEvaluator, type EvalOptions } from './eval.ts';
import { fromJSON, toJSON } from './value.ts';

export { RegoCompileError, RegoEvalError };
export { checkIR } from './ir-check.ts';
export type { IRPolicy } from './ir.ts';
export type { EvalOptions } from './eval.ts';
export { compileToWasm, irToWasm } from './wasm/compile.ts';
export { baseRuntime as wasmRuntime } from './wasm/build.ts';
export { readBundle, writeBundle, type Bundle } from './wasm/bundle.ts';
export { loadWasmPolicy, hostBuiltins, type LoadedPolicy, type HostOptions } from './wasm/host.ts';
export { loadBundleEntrypoint, PolicyBundleError, PolicyDecisionError, type BundleEntrypoint } from './bundle-entrypoint.ts';
export { authzInput, requestPath, DEFAULT_POLICY_HEADERS, type AuthzInput, type AuthzRequest } from './authz-input.ts';
export { replayPolicy, type ReplayOptions, type ReplayResult, type ReplayGroup, type ReplayProgress } from './replay.ts';
export { loadAuthzPolicySource, type PolicySource } from './replay-source.ts';
export { loadAuthzBundle, bundleDigest, AuthzBundleError, AuthzDecisionError, type AuthzPolicy, type AuthzDecision } from './authz-bundle.ts';

export interface CompiledPolicy {
  ir: IRPolicy;
  /** Source file names, in compile order. */
  files: string[];
  entrypoints: string[];
}

/** `[{result}]` when the entrypoint is defined, `[]` when undefined (OPA's result set). */
export type ResultSet = { result: unknown }[];

export function compileModules(files: Record<string, string>, entrypoints: string[]): CompiledPolicy {
  const ir = compileToIR(files, entrypoints);
  return { ir, files: Object.keys(files).sort(), entrypoints };
}

/** Entrypoint as "pkg/path/rule" (slashes) or "pkg.path.rule"; "" is all of data. */
export function evaluate(policy: CompiledPolicy, entrypoint: string, input?: unknown, data?: unknown, opts: EvalOptions = {}): ResultSet {
  const ev = new StepEvaluator(policy.ir, input === undefined ? undefined : fromJSON(input), fromJSON(data ?? {}), opts);
  const path = entrypoint.split(/[/.]/).filter(Boolean);
  const v = ev.resolveData(path);
  return v === undefined ? [] : [{ result: toJSON(v) }];
}

export interface PolicyTestResult { name: string; pass: boolean; error?: string }

/** Run every `test_*` rule (OPA's `opa test`): pass when the rule is defined and not false. */
export function runPolicyTests(files: Record<string, string>, opts: EvalOptions = {}): { passed: number; failed: number; results: PolicyTestResult[] } {
  const policy = compileModules(files, []);
  const results: PolicyTestResult[] = [];
  for (const rule of policy.ir.rules) {
    if (!rule.path[rule.path.length - 1].startsWith('test_') || rule.kind === 'function') continue;
    const name = 'data.' + rule.path.join('.');
    try {
      const rs = evaluate(policy, rule.path.join('/'), undefined, {}, opts);
      results.push({ name, pass: rs.length === 1 && rs[0].result !== false });
    } catch (e) {
      results.push({ name, pass: false, error: (e as Error).message });
    }
  }
  const passed = results.filter((r) => r.pass).length;
  return { passed, failed: results.length - passed, results };
}

/** Entrypoints ("pkg/test_x") of every `test_*` rule, as `opa test` finds them. */
export function testEntrypoints(files: Record<string, string>): string[] {
  return compileModules(files, []).ir.rules
    .filter((r) => r.path[r.path.length - 1].startsWith('test_') && r.kind !== 'function')
    .map((r) => r.path.join('/'));
}
export * from './compliance/index.ts';
