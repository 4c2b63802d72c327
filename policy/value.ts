/**
 * Runtime value model for the reference evaluator: JSON scalars and arrays
 * as JS values, objects and sets as classes keyed by a canonical string so
 * that any value can be a key or element. Ordering follows OPA:
 * null < boolean < number < string < array < object < set.
 */
import type { IRValue } from './ir.ts';

export type Value = null | boolean | number | string | Value[] | RObject | RSet;

export class RSet {
  readonly m = new Map<string, Value>();
  add(v: Value): void { this.m.set(keyOf(v), v); }
  has(v: Value): boolean { return this.m.has(keyOf(v)); }
  get size(): number { return this.m.size; }
  sorted(): Value[] { return [...this.m.values()].sort(compare); }
}

export class RObject {
  readonly m = new Map<string, [Value, Value]>();
  set(k: Value, v: Value): void { this.m.set(keyOf(k), [k, v]); }
  get(k: Value): Value | undefined { return this.m.get(keyOf(k))?.[1]; }
  has(k: Value): boolean { return this.m.has(keyOf(k)); }
  get size(): number { return this.m.size; }
  entries(): [Value, Value][] { return [...this.m.values()].sort((a, b) => compare(a[0], b[0])); }
}

export function typeRank(v: Value): number {
  if (v === null) return 0;
  switch (typeof v) {
    case 'boolean': return 1;
    case 'number': return 2;
    case 'string': return 3;
  }
  if (Array.isArray(v)) return 4;
  return v instanceof RObject ? 5 : 6;
}

export function typeName(v: Value): string {
  return ['null', 'boolean', 'number', 'string', 'array', 'object', 'set'][typeRank(v)];
}

/** Canonical key: equal values (1 and 1.0 included) have equal keys. */
export function keyOf(v: Value): string {
  if (v === null || typeof v === 'boolean' || typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map(keyOf).join(',') + ']';
  if (v instanceof RObject) return '{' + [...v.m.keys()].sort().map((k) => k + ':' + keyOf(v.m.get(k)![1])).join(',') + '}';
  return 's{' + [...v.m.keys()].sort().join(',') + '}';
}

export function compare(a: Value, b: Value): number {
  const ra = typeRank(a), rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 0: return 0;
    case 1: case 2: return a === b ? 0 : (a as number) < (b as number) ? -1 : 1;
    case 3: return a === b ? 0 : (a as string) < (b as string) ? -1 : 1;
    case 4: return compareSeq(a as Value[], b as Value[]);
    case 5: {
      const ea = (a as RObject).entries(), eb = (b as RObject).entries();
      for (let i = 0; i < Math.min(ea.length, eb.length); i++) {
        const c = compare(ea[i][0], eb[i][0]) || compare(ea[i][1], eb[i][1]);
        if (c) return c;
      }
      return ea.length - eb.length;
    }
    default: return compareSeq((a as RSet).sorted(), (b as RSet).sorted());
  }
}

function compareSeq(a: Value[], b: Value[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) { const c = compare(a[i], b[i]); if (c) return c; }
  return a.length - b.length;
}

export function equal(a: Value, b: Value): boolean { return keyOf(a) === keyOf(b); }

export function fromJSON(j: unknown): Value {
  if (j === null || typeof j === 'boolean' || typeof j === 'number' || typeof j === 'string') return j;
  if (Array.isArray(j)) return j.map(fromJSON);
  if (typeof j === 'object') {
    const o = new RObject();
    for (const [k, v] of Object.entries(j as Record<string, unknown>)) o.set(k, fromJSON(v));
    return o;
  }
  throw new TypeError(`not a JSON value: ${typeof j}`);
}

/** JSON output as OPA gives it: sets become sorted arrays, non-string keys are serialised. */
export function toJSON(v: Value): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(toJSON);
  if (v instanceof RSet) return v.sorted().map(toJSON);
  const out: Record<string, unknown> = {};
  for (const [k, x] of v.entries()) out[typeof k === 'string' ? k : JSON.stringify(toJSON(k))] = toJSON(x);
  return out;
}

export function fromIR(v: IRValue): Value {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if ('n' in v) return Number(v.n);
  if ('a' in v) return v.a.map(fromIR);
  if ('s' in v) { const s = new RSet(); for (const x of v.s) s.add(fromIR(x)); return s; }
  const o = new RObject();
  for (const [k, x] of v.o) o.set(fromIR(k), fromIR(x));
  return o;
}

export function toIR(v: Value): IRValue {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') return { n: String(v) };
  if (Array.isArray(v)) return { a: v.map(toIR) };
  if (v instanceof RSet) return { s: v.sorted().map(toIR) };
  return { o: v.entries().map(([k, x]) => [toIR(k), toIR(x)] as [IRValue, IRValue]) };
}
