/** bits.* on integers; computed on bigint so that 64-bit values keep their low bits (OPA works on big ints). */
import { BuiltinError, int, type BuiltinDef } from './types.ts';

const big = (fn: string, v: Parameters<typeof int>[1], pos: number) => BigInt(int(fn, v, pos));

function two(fn: string, f: (a: bigint, b: bigint) => bigint): BuiltinDef {
  return { arity: 2, fn: ([a, b]) => Number(f(big(fn, a, 1), big(fn, b, 2))) };
}

function shift(fn: string, f: (a: bigint, s: bigint) => bigint): BuiltinDef {
  return {
    arity: 2,
    fn: ([a, s]) => {
      const n = big(fn, s, 2);
      if (n < 0n) throw new BuiltinError(fn, 'operand 2 must be an unsigned integer number but got a negative integer');
      return Number(f(big(fn, a, 1), n));
    },
  };
}

export const bitsBuiltins: Record<string, BuiltinDef> = {
  'bits.and': two('bits.and', (a, b) => a & b),
  'bits.or': two('bits.or', (a, b) => a | b),
  'bits.xor': two('bits.xor', (a, b) => a ^ b),
  'bits.negate': { arity: 1, fn: ([a]) => Number(~big('bits.negate', a, 1)) },
  'bits.lsh': shift('bits.lsh', (a, s) => a << s),
  'bits.rsh': shift('bits.rsh', (a, s) => a >> s),
};
