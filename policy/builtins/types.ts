/**
 * Builtin function contract. A builtin gets evaluated argument values and
 * returns a value, or undefined for "no result". Type errors throw
 * BuiltinError; the evaluator treats those as undefined, as OPA does when
 * strict builtin errors are off (its default), and raises them with their
 * code (eval_type_error for operand types, else eval_builtin_error) when on.
 */
import { RObject, RSet, typeName, type Value } from '../value.ts';

export interface BuiltinCtx { nowNs: () => number }
export type BuiltinFn = (args: Value[], ctx: BuiltinCtx) => Value | undefined;
export interface BuiltinDef { arity: number; fn: BuiltinFn }

export class BuiltinError extends Error {
  constructor(fn: string, message: string, readonly code: 'eval_builtin_error' | 'eval_type_error' = 'eval_builtin_error') { super(`${fn}: ${message}`); this.name = 'BuiltinError'; }
}

export function operandErr(fn: string, pos: number, want: string, got: Value): never {
  throw new BuiltinError(fn, `operand ${pos} must be ${want} but got ${typeName(got)}`, 'eval_type_error');
}
export function num(fn: string, v: Value, pos: number): number { if (typeof v !== 'number') operandErr(fn, pos, 'number', v); return v as number; }
export function str(fn: string, v: Value, pos: number): string { if (typeof v !== 'string') operandErr(fn, pos, 'string', v); return v as string; }
export function arr(fn: string, v: Value, pos: number): Value[] { if (!Array.isArray(v)) operandErr(fn, pos, 'array', v); return v as Value[]; }
export function obj(fn: string, v: Value, pos: number): RObject { if (!(v instanceof RObject)) operandErr(fn, pos, 'object', v); return v as RObject; }
export function set(fn: string, v: Value, pos: number): RSet { if (!(v instanceof RSet)) operandErr(fn, pos, 'set', v); return v as RSet; }
export function int(fn: string, v: Value, pos: number): number {
  const n = num(fn, v, pos);
  if (!Number.isInteger(n)) operandErr(fn, pos, 'integer', v);
  return n;
}
/** Elements of an array or set (for aggregates that accept either). */
export function elems(fn: string, v: Value, pos: number): Value[] {
  if (Array.isArray(v)) return v;
  if (v instanceof RSet) return v.sorted();
  return operandErr(fn, pos, 'one of {array, set}', v);
}
export function setOf(vals: Value[]): RSet { const s = new RSet(); for (const v of vals) s.add(v); return s; }
