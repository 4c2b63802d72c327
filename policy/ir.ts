/**
 * meshlens policy IR, version 1: the checked, lowered form of a set of Rego
 * modules. It is plain JSON (no closures, no classes) so that the same plan
 * can be embedded as data in the WebAssembly runtime and interpreted there
 * exactly as policy/eval.ts interprets it here.
 *
 * Values (IRValue) are tagged so that JSON can carry Rego's value model:
 *   null | true | false | "string"
 *   {"n": "12.5e3"}        number, exact source text (never a JS float)
 *   {"a": [v…]}            array
 *   {"o": [[k, v]…]}       object (keys may be any value, not only strings)
 *   {"s": [v…]}            set
 *
 * Terms (IRTerm) appear in steps and evaluate against the current frame:
 *   {"t":"v","v":IRValue}              constant
 *   {"t":"l","i":n}                    local slot n of the frame (a variable or a
 *                                      compiler temporary). In a pattern position an
 *                                      unbound local is bound; elsewhere it is bound.
 *   {"t":"ref","base":B,"path":[T…]}   B is "input" | "data" | IRTerm. Every path term is
 *                                      bound when the ref is evaluated (iteration over
 *                                      unbound keys is lowered to a "scan" step). A data
 *                                      ref walks the virtual document: rules are
 *                                      evaluated on demand, base data fills the rest.
 *                                      Result undefined if any step is missing.
 *   {"t":"arr"|"set","items":[T…]} / {"t":"obj","pairs":[[T,T]…]}  composite literals
 *                                      (patterns when they contain unbound locals)
 *   {"t":"compr","kind":"array"|"set"|"object","key":T|null,"head":T,"body":[Step…]}
 *                                      comprehension: collect key/head over every
 *                                      solution of body (never undefined).
 *
 * Steps run in order with backtracking (each step may succeed several times):
 *   {"op":"unify","a":T,"b":T}         unify two terms (binds unbound locals; both
 *                                      sides are never both unbound); `:=`, `=`.
 *   {"op":"scan","src":T,"key":T|null,"val":T|null}
 *                                      for each element of array/object/set src (in
 *                                      canonical key order), unify key and value
 *                                      (a set's key is the element). `some k, v in x`,
 *                                      `x[_]`, `x[k]` with k unbound. Scalars: no solutions.
 *   {"op":"call","fn":name,"args":[T…],"out":T|null}
 *                                      builtin (or user function when fn starts with
 *                                      "data.") applied to bound args; undefined or
 *                                      builtin error → no solution. out null: the result
 *                                      must not be false; else unify out with the result.
 *   {"op":"test","term":T}             term must be defined and not false.
 *   {"op":"not","body":[Step…]}        succeeds once iff body has no solution.
 *   {"op":"every","src":T,"key":T|null,"val":T,"body":[Step…]}
 *                                      src defined and body has a solution for every
 *                                      element; bindings inside do not escape.
 *   {"op":"with","mods":[{"root":"input"|"data","path":[string…],"value":T}],"body":[Step…]}
 *                                      run body with input/data replaced at path (a data
 *                                      path that names a rule replaces the rule);
 *                                      bindings made in body stay visible afterwards.
 *                                      {"root":"fn","fn":F,"value":T|null,"as":F|null}
 *                                      replaces calls of F in body (and in rules it
 *                                      reaches) by the value T or by calls of function `as`.
 *
 * Rules: all definitions of one path form an IRRule. A definition (IRDef) has
 * its own frame of `nlocals` slots; `args` (functions) are patterns unified
 * with the call arguments; the head `key`/`value` are evaluated after body.
 * `else` is the next definition of the chain, tried only when this one has no
 * solution. Kinds: "complete" (one value; more than one distinct value is
 * eval_conflict_error), "set" (partial set: key of every solution),
 * "object" (partial object: key→value; a key with two values is a conflict),
 * "function" (like complete, per argument tuple). `default` is used when no
 * definition produces a value.
 *
 * Guarantees the compiler gives an interpreter: steps are already in a safe
 * order (OPA's reorderBodyForSafety), so every non-pattern term is bound when
 * its step runs; `:=`/`=`/`some … in` are the only steps that bind user
 * variables; operators are calls to builtins (`x == y` is equal, `a | b` is
 * or, `x in xs` is internal.member_2); comprehension and `every` bodies run in
 * the enclosing frame and see its bindings.
 *
 * Example: `allow if { some r in data.acl[input.dst]; r.src == input.src }`
 *   body: [{"op":"scan","src":{"t":"ref","base":"data","path":[{"t":"v","v":"acl"},
 *            {"t":"ref","base":"input","path":[{"t":"v","v":"dst"}]}]},"key":null,"val":{"t":"l","i":0}},
 *          {"op":"call","fn":"equal","args":[{"t":"ref","base":{"t":"l","i":0},"path":[{"t":"v","v":"src"}]},
 *            {"t":"ref","base":"input","path":[{"t":"v","v":"src"}]}],"out":null}]
 */
import type { Loc } from './rego/ast.ts';

export type IRValue = null | boolean | string | { n: string } | { a: IRValue[] } | { o: [IRValue, IRValue][] } | { s: IRValue[] };

export type IRTerm =
  | { t: 'v'; v: IRValue }
  | { t: 'l'; i: number }
  | { t: 'ref'; base: 'input' | 'data' | IRTerm; path: IRTerm[] }
  | { t: 'arr'; items: IRTerm[] }
  | { t: 'set'; items: IRTerm[] }
  | { t: 'obj'; pairs: [IRTerm, IRTerm][] }
  | { t: 'compr'; kind: 'array' | 'set' | 'object'; key: IRTerm | null; head: IRTerm; body: IRStep[] };

/**
 * A `with` modifier: input/data replaced at path, or a function (builtin name or "data.…" user
 * function, as in call steps) replaced by a constant value or by another function (`as`).
 */
export type IRWithMod =
  | { root: 'input' | 'data'; path: string[]; value: IRTerm }
  | { root: 'fn'; fn: string; value: IRTerm | null; as: string | null };

export type IRStep =
  | { op: 'unify'; a: IRTerm; b: IRTerm }
  | { op: 'scan'; src: IRTerm; key: IRTerm | null; val: IRTerm | null }
  | { op: 'call'; fn: string; args: IRTerm[]; out: IRTerm | null }
  | { op: 'test'; term: IRTerm }
  | { op: 'not'; body: IRStep[] }
  | { op: 'every'; src: IRTerm; key: IRTerm | null; val: IRTerm; body: IRStep[] }
  | { op: 'with'; mods: IRWithMod[]; body: IRStep[] };

export interface IRDef {
  nlocals: number;
  /** Slot names for debugging: user variables by name, temporaries as `$n`. */
  names: string[];
  args: IRTerm[] | null;
  key: IRTerm | null;
  value: IRTerm;
  body: IRStep[];
  else: IRDef | null;
  loc: Loc;
}

export type IRRuleKind = 'complete' | 'set' | 'object' | 'function';

export interface IRRule {
  /** Full path below data, e.g. ["authz", "allow"]. */
  path: string[];
  kind: IRRuleKind;
  arity: number;
  /** Constant used when no definition produces a value; absent when there is no `default`. */
  default?: IRValue;
  defs: IRDef[];
  loc: Loc;
}

export interface IRPolicy {
  version: 1;
  rules: IRRule[];
  /** Entrypoints as slash paths, e.g. "authz/allow". */
  entrypoints: string[];
  /** Builtin names the plan calls (the WASM runtime must provide each). */
  builtins: string[];
}
