/**
 * Lowering of one rule definition to IR: name resolution, safety (every
 * variable must be bound by a positive expression before it is used), body
 * reordering as OPA does it (an expression that needs an unbound variable
 * waits until an expression that binds it has run), and extraction of
 * iteration (`x[_]`, `x[k]`) into scan steps.
 */
import type { IRStep, IRTerm, IRWithMod } from '../ir.ts';
import { BUILTINS, OPERATORS } from '../builtins/index.ts';
import { RegoCompileError, type Expr, type Loc, type Term } from './ast.ts';
import { compatible, declareBody, declareFree, Frame, patternVars, patternVarsDeep, Scope, Unsafe } from './scope.ts';

/** What a rule body can see outside itself. */
export interface RuleEnv {
  pkg: string[];
  imports: Map<string, string[]>;
  /** First name segment of every rule in this package. */
  pkgRules: Set<string>;
  /** Arity of the user function at a data path (without "data"), or undefined. */
  functionArity(path: string[]): number | undefined;
  /** Whether some rule is defined exactly at this data path (without "data"). */
  ruleAt(path: string[]): boolean;
  deps: string[][];
  builtinsUsed: Set<string>;
}

interface Ctx { steps: IRStep[]; bound: Set<number>; scope: Scope; frozen: boolean }

type Resolved = { local: number } | { root: 'input' | 'data'; path: string[] };

const str = (s: string): IRTerm => ({ t: 'v', v: s });

export class DefLowerer {
  readonly frame = new Frame();
  constructor(private env: RuleEnv) {}

  isGlobal = (name: string): boolean => name === 'input' || name === 'data' || this.env.imports.has(name) || this.env.pkgRules.has(name);

  resolve(name: string, scope: Scope): Resolved {
    const local = scope.lookup(name);
    if (local !== undefined) return { local };
    if (name === 'input' || name === 'data') return { root: name, path: [] };
    const imp = this.env.imports.get(name);
    if (imp) return { root: imp[0] as 'input' | 'data', path: imp.slice(1) };
    if (this.env.pkgRules.has(name)) return { root: 'data', path: [...this.env.pkg, name] };
    const slot = this.frame.slot(name);
    scope.vars.set(name, slot);
    return { local: slot };
  }

  /** Lower a body with reordering; throws Unsafe if some expression can never run. */
  body(exprs: Expr[], c: Ctx): void {
    const rest = [...exprs];
    while (rest.length) {
      let first: Unsafe | null = null;
      let done = -1;
      for (let i = 0; i < rest.length && done < 0; i++) {
        const mark = c.steps.length, bound = new Set(c.bound);
        try { this.expr(rest[i], c); done = i; } catch (e) {
          if (!(e instanceof Unsafe)) throw e;
          e.exprLoc ??= rest[i].loc;
          first ??= e;
          c.steps.length = mark; c.bound.clear(); bound.forEach((b) => c.bound.add(b));
        }
      }
      if (done < 0) throw first!;
      rest.splice(done, 1);
    }
  }

  private expr(e: Expr, c: Ctx): void {
    if (e.kind === 'some' || e.withs.length === 0) return this.plainExpr(e, c);
    const mods: IRWithMod[] = e.withs.map((w) => {
      const fn = this.functionNamed(w.target, c);
      if (fn) {
        const as = this.functionNamed(w.value, c);
        return as ? { root: 'fn', fn, value: null, as } : { root: 'fn', fn, value: this.value(w.value, c), as: null };
      }
      const { root, path } = this.withTarget(w.target, c);
      return { root, path, value: this.value(w.value, c) };
    });
    const inner: Ctx = { ...c, steps: [] };
    this.plainExpr(e, inner);
    c.steps.push({ op: 'with', mods, body: inner.steps });
  }

  /** The function a `with` target or value names (`count`, `crypto.sha256`, `f`, `data.lib.f`), else null. */
  private functionNamed(t: Term, c: Ctx): string | null {
    const head = t.type === 'ref' ? t.head : t;
    const rest = t.type === 'ref' ? t.path : [];
    if (head.type !== 'var' || rest.some((p) => p.type !== 'string')) return null;
    if (c.scope.lookup(head.name) !== undefined) return null; // a local variable, never a function
    const name = [head.name, ...rest.map((p) => (p as { value: string }).value)].join('.');
    try { return this.resolveFn(name, t.loc).name; } catch (e) { if (e instanceof RegoCompileError) return null; throw e; }
  }

  private withTarget(t: Term, c: Ctx): { root: 'input' | 'data'; path: string[] } {
    const head = t.type === 'ref' ? t.head : t;
    const r = head.type === 'var' && head.name !== '_' ? this.resolve(head.name, c.scope) : null;
    const rest = t.type === 'ref' ? t.path : [];
    if (!r || 'local' in r || rest.some((p) => p.type !== 'string')) {
      throw new RegoCompileError('rego_type_error', t.loc, 'with keyword target must reference existing input, data, or a function');
    }
    const path = [...r.path, ...rest.map((p) => (p as { value: string }).value)];
    if (r.root === 'data' && path.some((_, i) => i < path.length - 1 && this.env.ruleAt(path.slice(0, i + 1)))) {
      throw new RegoCompileError('rego_compile_error', t.loc, 'with keyword cannot partially replace virtual document(s)');
    }
    return { root: r.root, path };
  }

  private plainExpr(e: Expr, c: Ctx): void {
    switch (e.kind) {
      case 'some': return;
      case 'somein': {
        const src = this.value(e.coll, c);
        const key = e.key ? this.pattern(e.key, c) : null;
        const val = this.pattern(e.value, c);
        c.steps.push({ op: 'scan', src, key: key?.term ?? null, val: val.term });
        this.bindAll([...(key?.binds ?? []), ...val.binds], c);
        return;
      }
      case 'every': {
        const src = this.value(e.coll, c);
        const scope = new Scope(c.scope);
        for (const v of [e.key, e.value]) {
          if (v && v.type !== 'var') throw new RegoCompileError('rego_parse_error', v.loc, 'every: expected variable');
          if (v && (v as { name: string }).name !== '_') scope.vars.set((v as { name: string }).name, this.frame.slot((v as { name: string }).name));
        }
        const slot = (v: Term | null): IRTerm | null => (v ? { t: 'l', i: (v as { name: string }).name === '_' ? this.frame.temp() : scope.lookup((v as { name: string }).name)! } : null);
        const key = slot(e.key), val = slot(e.value)!;
        declareBody(e.body, scope, this.frame, this.isGlobal);
        const inner: Ctx = { steps: [], bound: new Set(c.bound), scope, frozen: false };
        for (const k of [key, val]) if (k && k.t === 'l') inner.bound.add(k.i);
        this.body(e.body, inner);
        c.steps.push({ op: 'every', src, key, val, body: inner.steps });
        return;
      }
      case 'expr': break;
    }
    if (e.negated) {
      const inner: Ctx = { steps: [], bound: new Set(c.bound), scope: c.scope, frozen: true };
      this.positive(e, inner);
      c.steps.push({ op: 'not', body: inner.steps });
      return;
    }
    this.positive(e, c);
  }

  private positive(e: Extract<Expr, { kind: 'expr' }>, c: Ctx): void {
    if (e.op === 'term') return this.statement(e.term, c);
    if (e.op === 'assign') {
      const rhs = this.value(e.term, c);
      const lhs = this.pattern(e.lhs!, c);
      for (const b of lhs.binds) if (c.bound.has(b.slot) && b.name !== '_') throw new RegoCompileError('rego_compile_error', b.loc, `var ${b.name} assigned above`);
      c.steps.push({ op: 'unify', a: lhs.term, b: rhs });
      return this.bindAll(lhs.binds, c);
    }
    const a = this.pattern(e.lhs!, c), b = this.pattern(e.term, c);
    if (a.binds.length && b.binds.length && !compatible(e.lhs!, e.term)) throw new Unsafe(a.binds[0].name, a.binds[0].loc);
    if (a.binds.some((x) => b.binds.some((y) => x.slot === y.slot))) throw new Unsafe(a.binds[0].name, a.binds[0].loc);
    c.steps.push({ op: 'unify', a: a.term, b: b.term });
    this.bindAll([...a.binds, ...b.binds], c);
  }

  private statement(t: Term, c: Ctx): void {
    if (t.type === 'call') { this.call(t.name, t.args, t.loc, c, true); return; }
    if (t.type === 'binop') { this.call(OPERATORS[t.op], [t.left, t.right], t.loc, c, true); return; }
    if (t.type === 'member') { this.member(t, c, true); return; }
    c.steps.push({ op: 'test', term: this.value(t, c) });
  }

  private bindAll(binds: { slot: number; name: string; loc: Loc }[], c: Ctx): void {
    for (const b of binds) {
      if (c.frozen && b.name !== '_' && !c.bound.has(b.slot)) throw new Unsafe(b.name, b.loc);
      c.bound.add(b.slot);
    }
  }

  /** Pattern: unbound vars (in bare or array/object-literal positions) are bound by the step. */
  pattern(t: Term, c: Ctx): { term: IRTerm; binds: { slot: number; name: string; loc: Loc }[] } {
    const binds: { slot: number; name: string; loc: Loc }[] = [];
    const walk = (x: Term): IRTerm => {
      if (x.type === 'var') {
        if (x.name === '_') { const slot = this.frame.temp(); binds.push({ slot, name: '_', loc: x.loc }); return { t: 'l', i: slot }; }
        const r = this.resolve(x.name, c.scope);
        if ('local' in r && !c.bound.has(r.local)) { binds.push({ slot: r.local, name: x.name, loc: x.loc }); return { t: 'l', i: r.local }; }
        return this.value(x, c);
      }
      if (x.type === 'array') return { t: 'arr', items: x.items.map(walk) };
      if (x.type === 'object') return { t: 'obj', pairs: x.pairs.map(([k, v]) => [this.value(k, c), walk(v)] as [IRTerm, IRTerm]) };
      return this.value(x, c);
    };
    return { term: walk(t), binds };
  }

  /** Value: every variable must already be bound; iteration over unbound ref keys becomes scans. */
  value(t: Term, c: Ctx): IRTerm {
    switch (t.type) {
      case 'null': return { t: 'v', v: null };
      case 'boolean': return { t: 'v', v: t.value };
      case 'string': return { t: 'v', v: t.value };
      case 'number': return { t: 'v', v: { n: t.text } };
      case 'var': return this.ref({ type: 'ref', head: t, path: [], loc: t.loc }, c);
      case 'ref': return this.ref(t, c);
      case 'array': return { t: 'arr', items: t.items.map((i) => this.value(i, c)) };
      case 'set': return { t: 'set', items: t.items.map((i) => this.value(i, c)) };
      case 'object': return { t: 'obj', pairs: t.pairs.map(([k, v]) => [this.value(k, c), this.value(v, c)] as [IRTerm, IRTerm]) };
      case 'call': return this.call(t.name, t.args, t.loc, c, false)!;
      case 'binop': return this.call(OPERATORS[t.op], [t.left, t.right], t.loc, c, false)!;
      case 'member': return this.member(t, c, false)!;
      case 'arraycompr': case 'setcompr': case 'objectcompr': return this.compr(t, c);
    }
  }

  private ref(t: Extract<Term, { type: 'ref' }>, c: Ctx): IRTerm {
    let base: 'input' | 'data' | IRTerm;
    let path: IRTerm[] = [];
    const dataPath: string[] = [];
    let constPrefix = true;
    if (t.head.type === 'var') {
      if (t.head.name === '_') throw new RegoCompileError('rego_compile_error', t.head.loc, 'ref head must not be a wildcard');
      const r = this.resolve(t.head.name, c.scope);
      if ('local' in r) {
        if (!c.bound.has(r.local)) throw new Unsafe(t.head.name, t.head.loc);
        base = { t: 'l', i: r.local };
      } else { base = r.root; path = r.path.map(str); if (r.root === 'data') dataPath.push(...r.path); }
    } else base = this.value(t.head, c);
    for (const p of t.path) {
      let slot: number | undefined;
      if (p.type === 'var') {
        if (p.name === '_') slot = this.frame.temp();
        else { const r = this.resolve(p.name, c.scope); if ('local' in r && !c.bound.has(r.local)) slot = r.local; }
      }
      if (slot !== undefined) {
        const name = (p as { name: string }).name;
        if (c.frozen && name !== '_') throw new Unsafe(name, p.loc);
        const val = this.frame.temp();
        const src: IRTerm = path.length || typeof base === 'string' ? { t: 'ref', base, path } : base;
        c.steps.push({ op: 'scan', src, key: { t: 'l', i: slot }, val: { t: 'l', i: val } });
        c.bound.add(slot); c.bound.add(val);
        base = { t: 'l', i: val }; path = [];
        constPrefix = false;
        continue;
      }
      if (p.type === 'array' || p.type === 'object') {
        // A composite key with unbound variables (`r[[1, x]]`) iterates the keys and unifies each with it, as OPA does.
        const pat = this.pattern(p, c);
        if (pat.binds.length) {
          if (c.frozen) throw new Unsafe(pat.binds[0].name, pat.binds[0].loc);
          const val = this.frame.temp();
          const src: IRTerm = path.length || typeof base === 'string' ? { t: 'ref', base, path } : base;
          c.steps.push({ op: 'scan', src, key: pat.term, val: { t: 'l', i: val } });
          this.bindAll(pat.binds, c);
          c.bound.add(val);
          base = { t: 'l', i: val }; path = [];
          constPrefix = false;
          continue;
        }
        constPrefix = false;
        path.push(pat.term);
        continue;
      }
      if (p.type === 'string' && constPrefix) dataPath.push(p.value); else constPrefix = false;
      path.push(this.value(p, c));
    }
    if (base === 'data') this.env.deps.push(dataPath);
    return path.length || typeof base === 'string' ? { t: 'ref', base, path } : base;
  }

  private member(t: Extract<Term, { type: 'member' }>, c: Ctx, stmt: boolean): IRTerm | null {
    const args = t.key ? [t.key, t.value, t.coll] : [t.value, t.coll];
    return this.call(t.key ? 'internal.member_3' : 'internal.member_2', args, t.loc, c, stmt);
  }

  /** Emit a call step. Statement calls test the result; value calls return a temporary. */
  call(name: string, args: Term[], loc: Loc, c: Ctx, stmt: boolean): IRTerm | null {
    const fn = this.resolveFn(name, loc);
    if (args.length !== fn.arity && !(args.length === fn.arity + 1 && stmt)) {
      throw new RegoCompileError('rego_type_error', loc, `${fn.display}: arity mismatch: have ${args.length} argument(s), want ${fn.arity}`);
    }
    const inputs = args.slice(0, fn.arity).map((a) => this.value(a, c));
    if (args.length > fn.arity) {
      const out = this.pattern(args[fn.arity], c);
      c.steps.push({ op: 'call', fn: fn.name, args: inputs, out: out.term });
      this.bindAll(out.binds, c);
      return null;
    }
    if (stmt) { c.steps.push({ op: 'call', fn: fn.name, args: inputs, out: null }); return null; }
    const tmp = this.frame.temp();
    c.steps.push({ op: 'call', fn: fn.name, args: inputs, out: { t: 'l', i: tmp } });
    c.bound.add(tmp);
    return { t: 'l', i: tmp };
  }

  private resolveFn(name: string, loc: Loc): { name: string; display: string; arity: number } {
    const parts = name.split('.');
    let path: string[] | null = null;
    if (parts[0] === 'data') path = parts.slice(1);
    else if (this.env.imports.has(parts[0]) && this.env.imports.get(parts[0])![0] === 'data') path = [...this.env.imports.get(parts[0])!.slice(1), ...parts.slice(1)];
    else if (this.env.pkgRules.has(parts[0])) path = [...this.env.pkg, ...parts];
    if (path) {
      const arity = this.env.functionArity(path);
      if (arity !== undefined) {
        this.env.deps.push(path);
        return { name: 'data.' + path.join('.'), display: 'data.' + path.join('.'), arity };
      }
    }
    const b = BUILTINS[name];
    if (!b) throw new RegoCompileError('rego_type_error', loc, `undefined function ${name}`);
    this.env.builtinsUsed.add(name);
    return { name, display: name, arity: b.arity };
  }

  private compr(t: Extract<Term, { type: 'arraycompr' | 'setcompr' | 'objectcompr' }>, c: Ctx): IRTerm {
    const scope = new Scope(c.scope);
    declareBody(t.body, scope, this.frame, this.isGlobal);
    const heads = t.type === 'objectcompr' ? [t.key, t.value] : [t.head];
    const inner: Ctx = { steps: [], bound: new Set(c.bound), scope, frozen: false };
    this.body(t.body, inner);
    const hs = heads.map((h) => this.value(h, inner));
    const kind = t.type === 'arraycompr' ? 'array' : t.type === 'setcompr' ? 'set' : 'object';
    return { t: 'compr', kind, key: hs.length === 2 ? hs[0] : null, head: hs[hs.length - 1], body: inner.steps };
  }

  /** Head vars not seen in the body still need slots (they are then unsafe). */
  declareHead(terms: Term[], scope: Scope): void {
    for (const t of terms) for (const v of patternVarsDeep(t)) declareFree(v, scope, this.frame, this.isGlobal);
  }
}

export type { Ctx };
