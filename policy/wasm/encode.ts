/**
 * The plan the WASM runtime interprets: the IR of policy/ir.ts in a compact
 * positional JSON form (tags are numbers, builtins and user functions are
 * resolved to ids here, once), so the AssemblyScript side never compares
 * names at run time. Layout (see runtime/interp.as for the reader):
 *   plan  [rules, entrypoints (string paths), host builtin names]
 *   rule  [path, kind 0 complete|1 set|2 object|3 function, hasDefault, defaultTerm|null, defs]
 *   def   [nlocals, argTerms|null, key|null, value, body, else|null, "file:line:col"]
 *   term  [0,json] const · [1,i] local · [2,base 0 input|1 data|2 term,term|null,path]
 *         [3,items] array · [4,items] set · [5,pairs] object · [6,kind 0|1|2,key|null,head,body]
 *   step  [0,a,b] unify · [1,src,key,val] scan · [2,0 user|1 native|2 host,id,args,out] call
 *         [3,term] test · [4,body] not · [5,src,key,val,body] every · [6,[mod…],body] with
 *   mod   [0 input|1 data,path,term] · [2,[fk,id],term|null,[fk,id]|null] function replaced by a value or a function
 */
import type { IRDef, IRPolicy, IRStep, IRTerm, IRValue } from '../ir.ts';
import { nativeId } from './natives.ts';

type J = unknown;
const KINDS = { complete: 0, set: 1, object: 2, function: 3 } as const;

export interface Plan { json: string; hostBuiltins: string[] }

export function encodePlan(ir: IRPolicy, entrypoints: string[]): Plan {
  const ruleIndex = new Map(ir.rules.map((r, i) => [r.path.join('.'), i]));
  const hosts: string[] = [];
  const hostId = (name: string) => { let i = hosts.indexOf(name); if (i < 0) { i = hosts.length; hosts.push(name); } return i; };

  const value = (v: IRValue): J => {
    if (v === null || typeof v !== 'object') return v;
    if ('n' in v) return Number(v.n);
    if ('a' in v) return v.a.map(value);
    if ('s' in v) throw new Error('set in plain JSON');
    return Object.fromEntries(v.o.map(([k, x]) => [k as string, value(x)]));
  };
  const plain = (v: IRValue): boolean => {
    if (v === null || typeof v !== 'object' || 'n' in v) return true;
    if ('a' in v) return v.a.every(plain);
    if ('s' in v) return false;
    return v.o.every(([k, x]) => typeof k === 'string' && plain(x));
  };
  const constant = (v: IRValue): J => {
    if (plain(v)) return [0, value(v)];
    if (v !== null && typeof v === 'object' && 'a' in v) return [3, v.a.map(constant)];
    if (v !== null && typeof v === 'object' && 's' in v) return [4, v.s.map(constant)];
    return [5, (v as { o: [IRValue, IRValue][] }).o.map(([k, x]) => [constant(k), constant(x)])];
  };
  const opt = (t: IRTerm | null): J => (t === null ? null : term(t));
  const term = (t: IRTerm): J => {
    switch (t.t) {
      case 'v': return constant(t.v);
      case 'l': return [1, t.i];
      case 'ref': return t.base === 'input' ? [2, 0, null, t.path.map(term)] : t.base === 'data' ? [2, 1, null, t.path.map(term)] : [2, 2, term(t.base), t.path.map(term)];
      case 'arr': return [3, t.items.map(term)];
      case 'set': return [4, t.items.map(term)];
      case 'obj': return [5, t.pairs.map(([k, v]) => [term(k), term(v)])];
      case 'compr': return [6, t.kind === 'array' ? 0 : t.kind === 'set' ? 1 : 2, opt(t.key), term(t.head), body(t.body)];
    }
  };
  const call = (fn: string): [number, number] => {
    if (fn.startsWith('data.')) {
      const i = ruleIndex.get(fn.slice(5));
      if (i === undefined) throw new Error(`plan: call to unknown function ${fn}`);
      return [0, i];
    }
    const n = nativeId.get(fn);
    return n === undefined ? [2, hostId(fn)] : [1, n];
  };
  const step = (s: IRStep): J => {
    switch (s.op) {
      case 'unify': return [0, term(s.a), term(s.b)];
      case 'scan': return [1, term(s.src), opt(s.key), opt(s.val)];
      case 'call': return [2, ...call(s.fn), s.args.map(term), opt(s.out)];
      case 'test': return [3, term(s.term)];
      case 'not': return [4, body(s.body)];
      case 'every': return [5, term(s.src), opt(s.key), term(s.val), body(s.body)];
      case 'with': return [6, s.mods.map((m) => (m.root === 'fn' ? [2, call(m.fn), m.value ? term(m.value) : null, m.as ? call(m.as) : null] : [m.root === 'input' ? 0 : 1, m.path, term(m.value)])), body(s.body)];
    }
  };
  const body = (steps: IRStep[]): J => steps.map(step);
  const def = (d: IRDef): J => [d.nlocals, d.args ? d.args.map(term) : null, opt(d.key), term(d.value), body(d.body), d.else ? def(d.else) : null, `${d.loc.file}:${d.loc.line}:${d.loc.col}`];

  const rules = ir.rules.map((r) => [r.path, KINDS[r.kind], r.default !== undefined, r.default !== undefined ? constant(r.default) : null, r.defs.map(def)]);
  const eps = entrypoints.map((e) => e.split(/[/.]/).filter(Boolean));
  return { json: JSON.stringify([rules, eps, hosts]), hostBuiltins: hosts };
}
