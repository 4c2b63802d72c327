/**
 * Reference evaluator for the IR (policy/ir.ts): top-down, backtracking over
 * variable bindings, with OPA's semantics for undefined vs false, default
 * values, conflicts, `with`, `every` and comprehensions. It is the oracle
 * the WebAssembly back end is checked against.
 */
import type { IRStep, IRTerm } from './ir.ts';
import { BUILTINS, BuiltinError, type BuiltinCtx } from './builtins/index.ts';
import { conflict, RegoEvalError } from './eval-errors.ts';
import { DataTree, indexValue } from './eval-data.ts';
import { equal, fromIR, RObject, RSet, type Value } from './value.ts';

type Env = (Value | undefined)[];

export interface EvalOptions {
  nowNs?: () => number;
  /** OPA's strict-builtin-errors: a builtin error halts evaluation instead of making the call undefined. */
  strictBuiltinErrors?: boolean;
}

export class StepEvaluator extends DataTree {
  private trail: [Env, number][] = [];
  private consts = new WeakMap<object, Value>();
  readonly builtinErrors: string[] = [];
  private bctx: BuiltinCtx;
  private strict: boolean;

  constructor(policy: ConstructorParameters<typeof DataTree>[0], input: Value | undefined, data: Value, opts: EvalOptions = {}) {
    super(policy, input, data);
    const now = opts.nowNs ? opts.nowNs() : Date.now() * 1e6;
    this.bctx = { nowNs: () => now };
    this.strict = !!opts.strictBuiltinErrors;
  }

  private bind(env: Env, i: number, v: Value): void { env[i] = v; this.trail.push([env, i]); }
  private undo(mark: number): void { while (this.trail.length > mark) { const [e, i] = this.trail.pop()!; e[i] = undefined; } }

  /** Run steps from i; k is called once per solution; returning true stops the search. */
  evalSteps(steps: IRStep[], i: number, env: Env, k: () => boolean): boolean {
    if (i === steps.length) return k();
    const s = steps[i];
    const next = () => this.evalSteps(steps, i + 1, env, k);
    const mark = this.trail.length;
    switch (s.op) {
      case 'unify': {
        const r = this.unify(s.a, s.b, env) && next();
        this.undo(mark);
        return r;
      }
      case 'scan': {
        for (const [kv, vv] of entries(this.evalTerm(s.src, env))) {
          const r = (s.key === null || this.unifyVal(s.key, kv, env)) && (s.val === null || this.unifyVal(s.val, vv, env)) && next();
          this.undo(mark);
          if (r) return true;
        }
        return false;
      }
      case 'call': {
        const args: Value[] = [];
        for (const a of s.args) { const v = this.evalTerm(a, env); if (v === undefined) return false; args.push(v); }
        const r = this.callFn(s.fn, args);
        if (r === undefined) return false;
        if (s.out === null) return r !== false && next();
        const ok = this.unifyVal(s.out, r, env) && next();
        this.undo(mark);
        return ok;
      }
      case 'test': {
        const v = this.evalTerm(s.term, env);
        return v !== undefined && v !== false && next();
      }
      case 'not':
        return !this.evalSteps(s.body, 0, env, () => true) && next();
      case 'every': {
        const src = this.evalTerm(s.src, env);
        if (src === undefined) return false;
        for (const [kv, vv] of entries(src)) {
          const ok = (s.key === null || this.unifyVal(s.key, kv, env)) && this.unifyVal(s.val, vv, env) && this.evalSteps(s.body, 0, env, () => true);
          this.undo(mark);
          if (!ok) return false;
        }
        return next();
      }
      case 'with': {
        const mods: ({ root: 'input' | 'data'; path: string[]; value: Value } | { root: 'fn'; fn: string; value?: Value; as: string | null })[] = [];
        for (const m of s.mods) {
          if (m.root === 'fn' && m.as !== null) { mods.push({ root: 'fn', fn: m.fn, as: m.as }); continue; }
          const v = this.evalTerm(m.value!, env);
          if (v === undefined) return false;
          mods.push(m.root === 'fn' ? { root: 'fn', fn: m.fn, value: v, as: null } : { root: m.root, path: m.path, value: v });
        }
        const saved = this.saveState();
        this.applyWith(mods);
        const inner = this.saveState();
        const r = this.evalSteps(s.body, 0, env, () => { this.restoreState(saved); const x = next(); this.restoreState(inner); return x; });
        this.restoreState(saved);
        return r;
      }
    }
  }

  private unify(a: IRTerm, b: IRTerm, env: Env): boolean {
    if (a.t === 'l' && env[a.i] === undefined) { const v = this.evalTerm(b, env); if (v === undefined) return false; this.bind(env, a.i, v); return true; }
    if (b.t === 'l' && env[b.i] === undefined) return this.unify(b, a, env);
    if (a.t === 'arr' && b.t === 'arr') return a.items.length === b.items.length && a.items.every((x, i) => this.unify(x, b.items[i], env));
    if (a.t === 'arr' || a.t === 'obj') { const v = this.evalTerm(b, env); return v !== undefined && this.unifyVal(a, v, env); }
    if (b.t === 'arr' || b.t === 'obj') { const v = this.evalTerm(a, env); return v !== undefined && this.unifyVal(b, v, env); }
    const va = this.evalTerm(a, env), vb = this.evalTerm(b, env);
    return va !== undefined && vb !== undefined && equal(va, vb);
  }

  private unifyVal(p: IRTerm, v: Value, env: Env): boolean {
    if (p.t === 'l') { const cur = env[p.i]; if (cur === undefined) { this.bind(env, p.i, v); return true; } return equal(cur, v); }
    if (p.t === 'arr') return Array.isArray(v) && v.length === p.items.length && p.items.every((x, i) => this.unifyVal(x, v[i], env));
    if (p.t === 'obj') {
      if (!(v instanceof RObject) || v.size !== p.pairs.length) return false;
      return p.pairs.every(([k, x]) => { const kv = this.evalTerm(k, env); return kv !== undefined && v.has(kv) && this.unifyVal(x, v.get(kv)!, env); });
    }
    const pv = this.evalTerm(p, env);
    return pv !== undefined && equal(pv, v);
  }

  evalTerm(t: IRTerm, env: Env): Value | undefined {
    switch (t.t) {
      case 'v': {
        if (t.v === null || typeof t.v !== 'object') return t.v;
        let c = this.consts.get(t.v);
        if (c === undefined) { c = fromIR(t.v); this.consts.set(t.v, c); }
        return c;
      }
      case 'l': return env[t.i];
      case 'ref': {
        const path: Value[] = [];
        for (const p of t.path) { const v = this.evalTerm(p, env); if (v === undefined) return undefined; path.push(v); }
        if (t.base === 'data') return this.resolveData(path);
        const base = t.base === 'input' ? this.input : this.evalTerm(t.base, env);
        return base === undefined ? undefined : indexValue(base, path);
      }
      case 'arr': {
        const out: Value[] = [];
        for (const x of t.items) { const v = this.evalTerm(x, env); if (v === undefined) return undefined; out.push(v); }
        return out;
      }
      case 'set': {
        const out = new RSet();
        for (const x of t.items) { const v = this.evalTerm(x, env); if (v === undefined) return undefined; out.add(v); }
        return out;
      }
      case 'obj': {
        const out = new RObject();
        for (const [k, x] of t.pairs) {
          const kv = this.evalTerm(k, env), v = this.evalTerm(x, env);
          if (kv === undefined || v === undefined) return undefined;
          out.set(kv, v);
        }
        return out;
      }
      case 'compr': {
        const arr: Value[] = [], set = new RSet(), obj = new RObject();
        this.evalSteps(t.body, 0, env, () => {
          const h = this.evalTerm(t.head, env);
          if (h === undefined) return false;
          if (t.kind === 'array') arr.push(h);
          else if (t.kind === 'set') set.add(h);
          else {
            const k = this.evalTerm(t.key!, env);
            if (k === undefined) return false;
            if (obj.has(k) && !equal(obj.get(k)!, h)) throw conflict('object keys must be unique', { file: '', line: 0, col: 0 });
            obj.set(k, h);
          }
          return false;
        });
        return t.kind === 'array' ? arr : t.kind === 'set' ? set : obj;
      }
    }
  }

  callFn(fn: string, args: Value[]): Value | undefined {
    const mock = this.mocks.get(fn);
    if (!mock) return this.callUnmocked(fn, args);
    if ('value' in mock) return mock.value;
    // A replacement function runs with no mocks in force (OPA: a mock does not call other mocks,
    // and calling the replaced function from it reaches the original); its own `with`s still apply.
    const saved = this.saveState();
    this.mocks = new Map();
    this.cache = new Map();
    try { return this.callUnmocked(mock.as, args); } finally { this.restoreState(saved); }
  }

  private callUnmocked(fn: string, args: Value[]): Value | undefined {
    if (fn.startsWith('data.')) return this.callUser(fn, args);
    const b = BUILTINS[fn];
    try { return b.fn(args, this.bctx); } catch (e) {
      if (e instanceof BuiltinError) {
        if (this.strict) throw new RegoEvalError(e.code, e.message);
        this.builtinErrors.push(e.message);
        return undefined;
      }
      throw e;
    }
  }
}

export function entries(v: Value | undefined): [Value, Value][] {
  if (Array.isArray(v)) return v.map((x, i) => [i, x]);
  if (v instanceof RObject) return v.entries();
  if (v instanceof RSet) return v.sorted().map((x) => [x, x]);
  return [];
}

export { indexValue as index } from './eval-data.ts';
