/**
 * Variable scopes for lowering one rule definition. Every variable and
 * compiler temporary gets a slot in the definition's frame; a comprehension
 * or `every` body opens a child scope whose `:=`/`some` declarations shadow
 * outer names, while undeclared names that already exist outside refer to
 * the outer variable (OPA's closure rule).
 */
import { BUILTINS } from '../builtins/index.ts';
import { RegoCompileError, type Expr, type Loc, type Term } from './ast.ts';

/** A variable used before anything binds it; exprLoc is set by the innermost body that gives up. */
export class Unsafe {
  exprLoc: Loc | null = null;
  constructor(readonly name: string, readonly loc: Loc) {}
}

export class Scope {
  readonly vars = new Map<string, number>();
  /** How each name entered this scope, for OPA's redeclaration errors. */
  readonly kinds = new Map<string, 'assigned' | 'declared' | 'arg'>();
  constructor(readonly parent: Scope | null) {}
  lookup(name: string): number | undefined { return this.vars.get(name) ?? this.parent?.lookup(name); }
}

export class Frame {
  readonly names: string[] = [];
  slot(name: string): number { this.names.push(name); return this.names.length - 1; }
  temp(): number { return this.slot(`$${this.names.length}`); }
}

/** Variables in pattern positions (bare vars, inside array/object literal values). */
export function patternVars(t: Term, out: Term[] = []): Term[] {
  if (t.type === 'var') out.push(t);
  else if (t.type === 'array') t.items.forEach((i) => patternVars(i, out));
  else if (t.type === 'object') t.pairs.forEach(([, v]) => patternVars(v, out));
  return out;
}

/** Every var term in t, not descending into comprehension or every bodies. */
export function termVars(t: Term, out: Term[] = []): Term[] {
  switch (t.type) {
    case 'var': out.push(t); break;
    case 'ref': termVars(t.head, out); t.path.forEach((p) => termVars(p, out)); break;
    case 'array': case 'set': t.items.forEach((i) => termVars(i, out)); break;
    case 'object': t.pairs.forEach(([k, v]) => { termVars(k, out); termVars(v, out); }); break;
    case 'call': t.args.forEach((a) => termVars(a, out)); break;
    case 'binop': termVars(t.left, out); termVars(t.right, out); break;
    case 'member': if (t.key) termVars(t.key, out); termVars(t.value, out); termVars(t.coll, out); break;
    default: break;
  }
  return out;
}

/** `with f as upper`: a builtin named as a replacement function is not a variable of the body. */
function namesBuiltin(t: Term): boolean {
  const head = t.type === 'ref' ? t.head : t;
  const rest = t.type === 'ref' ? t.path : [];
  if (head.type !== 'var' || rest.some((p) => p.type !== 'string')) return false;
  return Object.hasOwn(BUILTINS, [head.name, ...rest.map((p) => (p as { value: string }).value)].join('.'));
}

export function exprVars(e: Expr): Term[] {
  const out: Term[] = [];
  if (e.kind === 'some') return out;
  if (e.kind === 'expr') { if (e.lhs) termVars(e.lhs, out); termVars(e.term, out); }
  else { if (e.key) termVars(e.key, out); termVars(e.value, out); termVars(e.coll, out); }
  for (const w of e.withs) if (!namesBuiltin(w.value)) termVars(w.value, out);
  return out;
}

/**
 * Declare the variables of a body in `scope`: `:=` targets and `some` names
 * first, with OPA's errors for a name assigned, declared or referenced
 * earlier in the same body ("var x assigned above", "var x referenced
 * above", "arg x redeclared"), then every other name that is neither
 * visible already nor global.
 */
export function declareBody(body: Expr[], scope: Scope, frame: Frame, isGlobal: (name: string) => boolean): void {
  const seen = new Set<string>();
  const see = (ts: Term[]) => { for (const t of ts) { const n = (t as { name: string }).name; if (!isGlobal(n)) seen.add(n); } };
  const declare = (v: Term, kind: 'assigned' | 'declared') => {
    const name = (v as { name: string }).name;
    if (name === '_') return;
    const prev = scope.kinds.get(name);
    if (prev === 'arg') throw new RegoCompileError('rego_compile_error', v.loc, `arg ${name} redeclared`);
    if (prev) throw new RegoCompileError('rego_compile_error', v.loc, `var ${name} ${prev} above`);
    if (seen.has(name)) throw new RegoCompileError('rego_compile_error', v.loc, `var ${name} referenced above`);
    scope.vars.set(name, frame.slot(name));
    scope.kinds.set(name, kind);
  };
  for (const e of body) {
    if (e.kind === 'some') e.vars.forEach((v) => declare(v, 'declared'));
    else if (e.kind === 'somein') {
      see(termVars(e.coll));
      for (const v of [...(e.key ? patternVars(e.key) : []), ...patternVars(e.value)]) declare(v, 'declared');
    } else if (e.kind === 'expr' && e.op === 'assign' && e.lhs) {
      const vs = patternVars(e.lhs);
      if (!vs.length && e.lhs.type !== 'array' && e.lhs.type !== 'object') throw new RegoCompileError('rego_parse_error', e.lhs.loc, 'cannot assign to ' + e.lhs.type);
      see(termVars(e.term));
      vs.forEach((v) => declare(v, 'assigned'));
    }
    see(exprVars(e));
  }
  for (const e of body) for (const v of exprVars(e)) declareFree(v, scope, frame, isGlobal);
}

export function declareFree(v: Term, scope: Scope, frame: Frame, isGlobal: (name: string) => boolean): void {
  const name = (v as { name: string }).name;
  if (name === '_' || scope.lookup(name) !== undefined || isGlobal(name)) return;
  scope.vars.set(name, frame.slot(name));
}

export function patternVarsDeep(t: Term): Term[] { return t.type === 'var' ? [t] : patternVars(t); }

/** Both sides of `=` have unbound vars: only structurally matching literals can unify. */
export function compatible(a: Term, b: Term): boolean {
  if (a.type === 'array' && b.type === 'array') return a.items.length === b.items.length;
  return a.type === 'object' && b.type === 'object' && a.pairs.length === b.pairs.length;
}
