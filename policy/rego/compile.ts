/**
 * Module checks and lowering to IR: parse every file, group rules by path,
 * reject kind conflicts, lower each definition (safety, reordering), detect
 * recursion and check entrypoints. Errors are RegoCompileError with
 * file:line:col, in OPA's categories (rego_parse_error, rego_type_error,
 * rego_unsafe_var_error, rego_recursion_error, rego_compile_error).
 */
import type { IRDef, IRPolicy, IRRule, IRRuleKind, IRTerm, IRValue } from '../ir.ts';
import { RegoCompileError, type ElseClause, type Loc, type Module, type Rule, type Term } from './ast.ts';
import { DefLowerer, type RuleEnv } from './lower.ts';
import { parseModule } from './parser.ts';
import { declareBody, patternVars, Scope, Unsafe } from './scope.ts';

interface Group { path: string[]; kind: IRRuleKind; arity: number; rules: { rule: Rule; mod: Module }[]; loc: Loc }

const KIND: Record<Rule['kind'], IRRuleKind> = { complete: 'complete', partialset: 'set', partialobject: 'object', function: 'function' };

export function compileToIR(files: Record<string, string>, entrypoints: string[]): IRPolicy {
  const mods = Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1)).map(([f, src]) => parseModule(src, f));
  const groups = new Map<string, Group>();
  const pkgRules = new Map<string, Set<string>>();
  for (const mod of mods) {
    const names = pkgRules.get(mod.pkg.join('.')) ?? new Set<string>();
    pkgRules.set(mod.pkg.join('.'), names);
    for (const rule of mod.rules) {
      names.add(rule.name[0]);
      const path = [...mod.pkg, ...rule.name];
      const key = path.join('.');
      const kind = KIND[rule.kind];
      const arity = rule.args?.length ?? 0;
      const g = groups.get(key);
      if (!g) { groups.set(key, { path, kind, arity, rules: [{ rule, mod }], loc: rule.loc }); continue; }
      if (g.kind !== kind || g.arity !== arity) throw new RegoCompileError('rego_type_error', rule.loc, `conflicting rules data.${key} found`);
      if (rule.isDefault && g.rules.some((r) => r.rule.isDefault)) throw new RegoCompileError('rego_type_error', rule.loc, `multiple default rules data.${key} found`);
      g.rules.push({ rule, mod });
    }
  }
  const keys = [...groups.keys()];
  for (const k of keys) {
    const child = keys.find((o) => o.startsWith(k + '.'));
    if (child && groups.get(k)!.kind !== 'set' && groups.get(k)!.kind !== 'object') {
      throw new RegoCompileError('rego_type_error', groups.get(k)!.loc, `rule data.${k} conflicts with [data.${child}]`);
    }
  }
  const functionArity = (path: string[]) => {
    const g = groups.get(path.join('.'));
    return g?.kind === 'function' ? g.arity : undefined;
  };
  const builtinsUsed = new Set<string>();
  const deps = new Map<string, string[][]>();
  const rules: IRRule[] = [];
  for (const [key, g] of groups) {
    const ruleDeps: string[][] = [];
    const defs: IRDef[] = [];
    let dflt: IRValue | undefined;
    for (const { rule, mod } of g.rules) {
      const env: RuleEnv = {
        pkg: mod.pkg,
        imports: new Map(mod.imports.map((i) => [i.alias, i.path])),
        pkgRules: pkgRules.get(mod.pkg.join('.'))!,
        functionArity,
        ruleAt: (path) => groups.has(path.join('.')),
        deps: ruleDeps,
        builtinsUsed,
      };
      if (rule.isDefault) { dflt = constValue(rule.value); continue; }
      defs.push(lowerChain(rule, [{ value: rule.value, args: rule.args, body: rule.body, loc: rule.loc }, ...rule.elses], env));
    }
    deps.set(key, ruleDeps);
    rules.push({ path: g.path, kind: g.kind, arity: g.arity, ...(dflt === undefined ? {} : { default: dflt }), defs, loc: g.loc });
  }
  checkRecursion(groups, deps);
  for (const ep of entrypoints) {
    const p = ep.split('/').filter(Boolean).join('.');
    if (!keys.some((k) => k === p || k.startsWith(p + '.'))) {
      throw new RegoCompileError('rego_compile_error', { file: '<entrypoint>', line: 0, col: 0 }, `entrypoint ${ep} does not refer to a rule or package`);
    }
  }
  return { version: 1, rules, entrypoints, builtins: [...builtinsUsed].sort() };
}

function lowerChain(rule: Rule, clauses: ElseClause[], env: RuleEnv): IRDef {
  const [c, ...rest] = clauses;
  const def = lowerDef(rule, c, env);
  def.else = rest.length ? lowerChain(rule, rest, env) : null;
  return def;
}

function lowerDef(rule: Rule, clause: ElseClause, env: RuleEnv): IRDef {
  const L = new DefLowerer(env);
  const scope = new Scope(null);
  const ctx = { steps: [], bound: new Set<number>(), scope, frozen: false };
  // OPA reports an unsafe body variable at the expression, an unsafe head variable at the rule.
  const unsafe = (e: unknown): never => {
    if (e instanceof Unsafe) throw new RegoCompileError('rego_unsafe_var_error', e.exprLoc ?? clause.loc, `var ${e.name} is unsafe`);
    throw e;
  };
  let args: IRTerm[] | null = null;
  try {
    if (clause.args) {
      // Argument names are always local, even when a rule of the package has the same name.
      for (const a of clause.args) for (const v of patternVars(a)) if (v.type === 'var' && v.name !== '_' && !scope.vars.has(v.name)) { scope.vars.set(v.name, L.frame.slot(v.name)); scope.kinds.set(v.name, 'arg'); }
      args = clause.args.map((a) => { const p = L.pattern(a, ctx); p.binds.forEach((b) => ctx.bound.add(b.slot)); return p.term; });
    }
    declareBody(clause.body, scope, L.frame, L.isGlobal);
    L.declareHead([...(rule.key ? [rule.key] : []), clause.value], scope);
    L.body(clause.body, ctx);
    const key = rule.key ? L.value(rule.key, ctx) : null;
    const value = L.value(clause.value, ctx);
    return { nlocals: L.frame.names.length, names: L.frame.names, args, key, value, body: ctx.steps, else: null, loc: clause.loc };
  } catch (e) { return unsafe(e); }
}

function constValue(t: Term): IRValue {
  switch (t.type) {
    case 'null': return null;
    case 'boolean': case 'string': return t.value;
    case 'number': return { n: t.text };
    case 'array': return { a: t.items.map(constValue) };
    case 'set': return { s: t.items.map(constValue) };
    case 'object': return { o: t.pairs.map(([k, v]) => [constValue(k), constValue(v)] as [IRValue, IRValue]) };
    default: throw new RegoCompileError('rego_type_error', t.loc, 'default rule value must be a constant');
  }
}

/** A rule depends on every rule at, above or below a data path it references. */
function checkRecursion(groups: Map<string, Group>, deps: Map<string, string[][]>): void {
  const keys = [...groups.keys()];
  const edges = new Map<string, string[]>();
  for (const [k, ds] of deps) {
    const out = new Set<string>();
    for (const d of ds) {
      const p = d.join('.');
      for (const o of keys) if (o === p || o.startsWith(p + '.') || p.startsWith(o + '.') || p === '') out.add(o);
    }
    edges.set(k, [...out]);
  }
  const state = new Map<string, number>();
  const stack: string[] = [];
  const visit = (k: string): void => {
    state.set(k, 1); stack.push(k);
    for (const n of edges.get(k) ?? []) {
      if (state.get(n) === 1) {
        const cycle = [...stack.slice(stack.indexOf(n)), n].map((x) => 'data.' + x);
        throw new RegoCompileError('rego_recursion_error', groups.get(n)!.loc, `rule data.${n} is recursive: ${cycle.join(' -> ')}`);
      }
      if (!state.has(n)) visit(n);
    }
    state.set(k, 2); stack.pop();
  };
  for (const k of keys) if (!state.has(k)) visit(k);
}
