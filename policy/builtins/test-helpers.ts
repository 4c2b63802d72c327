// Calls a registered builtin with JSON arguments and returns JSON (sets as sorted arrays), as policies see them.
import { fromJSON, RSet, toJSON, type Value } from '../value.ts';
import { BUILTINS } from './index.ts';

export function call(name: string, ...args: unknown[]): unknown {
  const r = BUILTINS[name].fn(args.map((a) => (a instanceof RSet ? a : fromJSON(a))), { nowNs: () => 1.7e18 });
  return r === undefined ? undefined : toJSON(r as Value);
}
export const setArg = (xs: unknown[]): RSet => { const s = new RSet(); for (const x of xs) s.add(fromJSON(x)); return s; };
