/**
 * The virtual document: base data overlaid with rules evaluated on demand
 * (cached per query and per `with` scope), rule kinds and their conflict
 * errors, user function calls and `with` state.
 */
import type { IRDef, IRPolicy, IRRule, IRStep, IRTerm } from './ir.ts';
import { conflict } from './eval-errors.ts';
import { equal, fromIR, keyOf, RObject, RSet, type Value } from './value.ts';

type Env = (Value | undefined)[];
const UNDEF = Symbol('undefined');
/** A function replaced by `with`: by a value, or by another function (whose own mock does not apply). */
export type FnMock = { value: Value } | { as: string };
interface State { input: Value | undefined; data: Value; overrides: Map<string, Value>; cache: Map<string, Value | typeof UNDEF>; mocks: Map<string, FnMock> }

export abstract class DataTree {
  protected input: Value | undefined;
  private data: Value;
  private overrides = new Map<string, Value>();
  protected cache = new Map<string, Value | typeof UNDEF>();
  private rules = new Map<string, IRRule>();
  private nodes = new Map<string, Set<string>>();

  constructor(policy: IRPolicy, input: Value | undefined, data: Value) {
    this.input = input;
    this.data = data;
    for (const r of policy.rules) {
      this.rules.set(r.path.join('\u0000'), r);
      for (let d = 0; d < r.path.length; d++) {
        const k = r.path.slice(0, d).join('\u0000');
        const set = this.nodes.get(k) ?? new Set<string>();
        set.add(r.path[d]);
        this.nodes.set(k, set);
      }
    }
  }

  abstract evalSteps(steps: IRStep[], i: number, env: Env, k: () => boolean): boolean;
  abstract evalTerm(t: IRTerm, env: Env): Value | undefined;

  /** Value of data at path, or undefined. */
  resolveData(path: Value[]): Value | undefined {
    for (let d = 0; d <= path.length; d++) {
      if (d > 0 && typeof path[d - 1] !== 'string') break;
      const key = path.slice(0, d).join('\u0000');
      const ov = this.overrides.get(key);
      if (ov !== undefined) return indexValue(ov, path.slice(d));
      const rule = d > 0 ? this.rules.get(key) : undefined;
      if (rule) return rule.kind === 'function' ? undefined : indexValue(this.evalRule(rule), path.slice(d));
    }
    if (path.every((p) => typeof p === 'string') && this.nodes.has(path.join('\u0000'))) return this.nodeValue(path as string[]);
    return indexValue(this.data, path);
  }

  private nodeValue(path: string[]): Value {
    const base = indexValue(this.data, path);
    const out = new RObject();
    if (base instanceof RObject) for (const [k, v] of base.entries()) out.set(k, v);
    for (const child of this.nodes.get(path.join('\u0000'))!) {
      const v = this.resolveData([...path, child]);
      if (v !== undefined) out.set(child, v);
    }
    return out;
  }

  evalRule(rule: IRRule): Value | undefined {
    const ck = rule.path.join('\u0000');
    const hit = this.cache.get(ck);
    if (hit !== undefined) return hit === UNDEF ? undefined : hit;
    const v = this.computeRule(rule);
    this.cache.set(ck, v === undefined ? UNDEF : v);
    return v;
  }

  private computeRule(rule: IRRule): Value | undefined {
    if (rule.kind === 'set') {
      const out = new RSet();
      for (const def of rule.defs) this.solutions(def, null, (k) => out.add(k), true);
      return out;
    }
    if (rule.kind === 'object') {
      const out = new RObject();
      for (const def of rule.defs) {
        this.solutions(def, null, (v, k) => {
          if (out.has(k!) && !equal(out.get(k!)!, v)) throw conflict('object keys must be unique', def.loc);
          out.set(k!, v);
        });
      }
      return out;
    }
    return this.single(rule, null, 'complete rules must not produce multiple outputs');
  }

  /** Complete rules and functions: each definition's else chain yields values; more than one distinct value is a conflict. */
  private single(rule: IRRule, args: Value[] | null, msg: string): Value | undefined {
    const vals = new Map<string, Value>();
    for (const def of rule.defs) {
      for (let d: IRDef | null = def; d; d = d.else) {
        let found = false;
        this.solutions(d, args, (v) => {
          found = true;
          vals.set(keyOf(v), v);
          if (vals.size > 1) throw conflict(msg, d!.loc);
        });
        if (found) break;
      }
    }
    if (vals.size === 1) return [...vals.values()][0];
    return rule.default === undefined ? undefined : fromIR(rule.default);
  }

  private solutions(def: IRDef, args: Value[] | null, each: (value: Value, key?: Value) => void, keyOnly = false): void {
    const env: Env = new Array(def.nlocals).fill(undefined);
    if (args && def.args) return this.withArgs(def, env, args, each, keyOnly);
    this.evalSteps(def.body, 0, env, () => this.emit(def, env, each, keyOnly));
  }

  /** Arguments sit in slots after the frame and are unified with the argument patterns first. */
  private withArgs(def: IRDef, env: Env, args: Value[], each: (value: Value, key?: Value) => void, keyOnly: boolean): void {
    const n = def.nlocals;
    const argEnv: Env = [...env, ...args];
    const steps: IRStep[] = def.args!.map((a, i) => ({ op: 'unify', a, b: { t: 'l', i: n + i } }));
    this.evalSteps([...steps, ...def.body], 0, argEnv, () => this.emit(def, argEnv, each, keyOnly));
  }

  private emit(def: IRDef, env: Env, each: (value: Value, key?: Value) => void, keyOnly: boolean): boolean {
    const k = def.key ? this.evalTerm(def.key, env) : undefined;
    if (def.key && k === undefined) return false;
    if (keyOnly) { each(k!); return false; }
    const v = this.evalTerm(def.value, env);
    if (v !== undefined) each(v, k);
    return false;
  }

  callUser(fn: string, args: Value[]): Value | undefined {
    const rule = this.rules.get(fn.slice(5).split('.').join('\u0000'))!;
    const ck = fn + '(' + keyOf(args) + ')';
    const hit = this.cache.get(ck);
    if (hit !== undefined) return hit === UNDEF ? undefined : hit;
    const v = this.single(rule, args, 'functions must not produce multiple outputs for same inputs');
    this.cache.set(ck, v === undefined ? UNDEF : v);
    return v;
  }

  protected mocks = new Map<string, FnMock>();
  protected saveState(): State { return { input: this.input, data: this.data, overrides: this.overrides, cache: this.cache, mocks: this.mocks }; }
  protected restoreState(s: State): void { this.input = s.input; this.data = s.data; this.overrides = s.overrides; this.cache = s.cache; this.mocks = s.mocks; }

  protected applyWith(mods: ({ root: 'input' | 'data'; path: string[]; value: Value } | { root: 'fn'; fn: string; value?: Value; as: string | null })[]): void {
    this.overrides = new Map(this.overrides);
    this.cache = new Map();
    if (mods.some((m) => m.root === 'fn')) this.mocks = new Map(this.mocks);
    for (const m of mods) {
      if (m.root === 'fn') { this.mocks.set(m.fn, m.as !== null ? { as: m.as } : { value: m.value! }); continue; }
      if (m.root === 'input') { this.input = setPath(this.input, m.path, m.value); continue; }
      this.data = setPath(this.data, m.path, m.value) ?? this.data;
      this.overrides.set(m.path.join('\u0000'), m.value);
      for (const k of [...this.overrides.keys()]) if (k.startsWith(m.path.join('\u0000') + '\u0000')) this.overrides.delete(k);
    }
  }
}

/** Copy-on-write deep set; intermediate non-objects are replaced by objects. */
function setPath(root: Value | undefined, path: string[], v: Value): Value {
  if (!path.length) return v;
  const out = new RObject();
  if (root instanceof RObject) for (const [k, x] of root.entries()) out.set(k, x);
  out.set(path[0], setPath(root instanceof RObject ? root.get(path[0]) : undefined, path.slice(1), v));
  return out;
}

export function indexValue(v: Value | undefined, path: Value[]): Value | undefined {
  let cur = v;
  for (const k of path) {
    if (cur instanceof RObject) cur = cur.get(k);
    else if (Array.isArray(cur)) cur = typeof k === 'number' && Number.isInteger(k) && k >= 0 && k < cur.length ? cur[k] : undefined;
    else if (cur instanceof RSet) cur = cur.has(k) ? k : undefined;
    else return undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}
