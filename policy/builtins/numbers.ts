/** Arithmetic, comparison and number builtins (operators are lowered to these names). */
import { compare, equal, RSet, type Value } from '../value.ts';
import { BuiltinError, int, num, set, setOf, type BuiltinDef } from './types.ts';

function arith(name: string, f: (a: number, b: number) => number): BuiltinDef {
  return { arity: 2, fn: ([a, b]) => f(num(name, a, 1), num(name, b, 2)) };
}

export const numberBuiltins: Record<string, BuiltinDef> = {
  plus: arith('plus', (a, b) => a + b),
  mul: arith('mul', (a, b) => a * b),
  minus: {
    arity: 2,
    fn: ([a, b]) => {
      if (a instanceof RSet && b instanceof RSet) return setOf(a.sorted().filter((x) => !b.has(x)));
      return num('minus', a, 1) - num('minus', b, 2);
    },
  },
  div: arith('div', (a, b) => { if (b === 0) throw new BuiltinError('div', 'divide by zero'); return a / b; }),
  rem: {
    arity: 2,
    fn: ([a, b]) => {
      const x = num('rem', a, 1), y = num('rem', b, 2);
      if (!Number.isInteger(x) || !Number.isInteger(y)) throw new BuiltinError('rem', 'modulo on floating-point number');
      if (y === 0) throw new BuiltinError('rem', 'modulo by zero');
      return x % y;
    },
  },
  or: { arity: 2, fn: ([a, b]) => { const x = set('or', a, 1), y = set('or', b, 2); return setOf([...x.m.values(), ...y.m.values()]); } },
  and: { arity: 2, fn: ([a, b]) => { const x = set('and', a, 1), y = set('and', b, 2); return setOf(x.sorted().filter((v) => y.has(v))); } },
  equal: { arity: 2, fn: ([a, b]) => equal(a, b) },
  neq: { arity: 2, fn: ([a, b]) => !equal(a, b) },
  lt: { arity: 2, fn: ([a, b]) => compare(a, b) < 0 },
  lte: { arity: 2, fn: ([a, b]) => compare(a, b) <= 0 },
  gt: { arity: 2, fn: ([a, b]) => compare(a, b) > 0 },
  gte: { arity: 2, fn: ([a, b]) => compare(a, b) >= 0 },
  abs: { arity: 1, fn: ([a]) => Math.abs(num('abs', a, 1)) },
  round: { arity: 1, fn: ([a]) => { const x = num('round', a, 1); return Math.sign(x) * Math.round(Math.abs(x)); } },
  ceil: { arity: 1, fn: ([a]) => Math.ceil(num('ceil', a, 1)) },
  floor: { arity: 1, fn: ([a]) => Math.floor(num('floor', a, 1)) },
  'numbers.range': {
    arity: 2,
    fn: ([a, b]) => {
      const x = int('numbers.range', a, 1), y = int('numbers.range', b, 2);
      const out: Value[] = [];
      if (x <= y) for (let i = x; i <= y; i++) out.push(i); else for (let i = x; i >= y; i--) out.push(i);
      return out;
    },
  },
  to_number: {
    arity: 1,
    fn: ([a]) => {
      if (a === null) return 0;
      if (typeof a === 'boolean') return a ? 1 : 0;
      if (typeof a === 'number') return a;
      if (typeof a === 'string') {
        if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(a.trim()) || a.trim() !== a) throw new BuiltinError('to_number', `invalid syntax`);
        return Number(a);
      }
      throw new BuiltinError('to_number', 'operand 1 must be one of {null, boolean, number, string}');
    },
  },
  format_int: {
    arity: 2,
    fn: ([a, b]) => {
      const x = num('format_int', a, 1), base = int('format_int', b, 2);
      if (![2, 8, 10, 16].includes(base)) throw new BuiltinError('format_int', 'operand 2 must be one of {2, 8, 10, 16}');
      const t = Math.trunc(x);
      return (t < 0 ? '-' : '') + Math.abs(t).toString(base);
    },
  },
};
