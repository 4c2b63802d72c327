/**
 * Structural check of an IR plan against the contract in ir.ts: every term
 * and step kind is one the runtime knows, locals are inside their frame and
 * every called builtin is listed in `builtins`. The WASM runtime relies on
 * exactly this shape; the conformance suite checks every compiled plan.
 */
import type { IRDef, IRPolicy, IRStep, IRTerm, IRValue } from './ir.ts';

export function checkIR(ir: IRPolicy): string[] {
  const problems: string[] = [];
  const rules = new Set(ir.rules.map((r) => 'data.' + r.path.join('.')));
  const builtins = new Set(ir.builtins);
  for (const rule of ir.rules) {
    const where = 'data.' + rule.path.join('.');
    if (!['complete', 'set', 'object', 'function'].includes(rule.kind)) problems.push(`${where}: unknown kind ${rule.kind}`);
    if (rule.default !== undefined) value(rule.default, `${where} default`, problems);
    for (const first of rule.defs) for (let d: IRDef | null = first; d; d = d.else) def(d, where, rule.kind === 'function', problems, rules, builtins);
  }
  return problems;
}

function def(d: IRDef, where: string, isFn: boolean, problems: string[], rules: Set<string>, builtins: Set<string>): void {
  const at = `${where} (${d.loc.file}:${d.loc.line})`;
  if (d.names.length !== d.nlocals) problems.push(`${at}: names/nlocals mismatch`);
  if (isFn !== (d.args !== null)) problems.push(`${at}: args ${isFn ? 'missing' : 'unexpected'}`);
  const t = (x: IRTerm) => term(x, at, d.nlocals, problems, steps);
  const steps = (ss: IRStep[]) => ss.forEach((s) => step(s));
  const step = (s: IRStep) => {
    switch (s.op) {
      case 'unify': t(s.a); t(s.b); break;
      case 'scan': t(s.src); if (s.key) t(s.key); if (s.val) t(s.val); break;
      case 'call':
        if (s.fn.startsWith('data.') ? !rules.has(s.fn) : !builtins.has(s.fn)) problems.push(`${at}: call to unlisted ${s.fn}`);
        s.args.forEach(t); if (s.out) t(s.out); break;
      case 'test': t(s.term); break;
      case 'not': steps(s.body); break;
      case 'every': t(s.src); if (s.key) t(s.key); t(s.val); steps(s.body); break;
      case 'with':
        for (const m of s.mods) {
          if (m.root === 'fn') {
            for (const f of [m.fn, m.as]) if (f !== null && (f.startsWith('data.') ? !rules.has(f) : !builtins.has(f))) problems.push(`${at}: with on unlisted function ${f}`);
            if ((m.value === null) === (m.as === null)) problems.push(`${at}: with on ${m.fn} needs exactly one of value and as`);
            if (m.value) t(m.value);
          } else if (m.root !== 'input' && m.root !== 'data') problems.push(`${at}: with root ${(m as { root: string }).root}`);
          else t(m.value);
        }
        steps(s.body); break;
      default: problems.push(`${at}: unknown step ${(s as { op: string }).op}`);
    }
  };
  d.args?.forEach(t);
  steps(d.body);
  if (d.key) t(d.key);
  t(d.value);
}

function term(x: IRTerm, at: string, n: number, problems: string[], steps: (s: IRStep[]) => void): void {
  const t = (y: IRTerm) => term(y, at, n, problems, steps);
  switch (x.t) {
    case 'v': value(x.v, at, problems); break;
    case 'l': if (!Number.isInteger(x.i) || x.i < 0 || x.i >= n) problems.push(`${at}: local ${x.i} outside frame of ${n}`); break;
    case 'ref': if (typeof x.base !== 'string') t(x.base); else if (x.base !== 'input' && x.base !== 'data') problems.push(`${at}: ref base ${x.base}`); x.path.forEach(t); break;
    case 'arr': case 'set': x.items.forEach(t); break;
    case 'obj': x.pairs.forEach(([k, v]) => { t(k); t(v); }); break;
    case 'compr': if (x.key) t(x.key); t(x.head); steps(x.body); break;
    default: problems.push(`${at}: unknown term ${(x as { t: string }).t}`);
  }
}

function value(v: IRValue, at: string, problems: string[]): void {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return;
  if ('n' in v) { if (!/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(v.n)) problems.push(`${at}: bad number ${v.n}`); return; }
  if ('a' in v) return v.a.forEach((x) => value(x, at, problems));
  if ('s' in v) return v.s.forEach((x) => value(x, at, problems));
  if ('o' in v) return v.o.forEach(([k, x]) => { value(k, at, problems); value(x, at, problems); });
  problems.push(`${at}: unknown value ${JSON.stringify(v)}`);
}
