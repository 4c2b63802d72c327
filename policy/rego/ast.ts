/**
 * Rego v1 abstract syntax tree. Every node carries the location of its first
 * token so that compile errors can name file, line and column.
 */
export interface Loc { file: string; line: number; col: number }

export type Term =
  | { type: 'null'; loc: Loc }
  | { type: 'boolean'; value: boolean; loc: Loc }
  /** `text` is the literal as written; the value is parsed from it. */
  | { type: 'number'; text: string; loc: Loc }
  | { type: 'string'; value: string; loc: Loc }
  | { type: 'var'; name: string; loc: Loc }
  /** `head[path0][path1]…`; a dotted `.x` is a string term in `path`. */
  | { type: 'ref'; head: Term; path: Term[]; loc: Loc }
  | { type: 'array'; items: Term[]; loc: Loc }
  | { type: 'set'; items: Term[]; loc: Loc }
  | { type: 'object'; pairs: [Term, Term][]; loc: Loc }
  /** `name` is the dotted function name, e.g. `count`, `data.lib.f`, `lib.f`. */
  | { type: 'call'; name: string; args: Term[]; loc: Loc }
  | { type: 'binop'; op: BinOp; left: Term; right: Term; loc: Loc }
  | { type: 'arraycompr'; head: Term; body: Expr[]; loc: Loc }
  | { type: 'setcompr'; head: Term; body: Expr[]; loc: Loc }
  | { type: 'objectcompr'; key: Term; value: Term; body: Expr[]; loc: Loc }
  /** `x in xs` / `k, v in xs` used as a membership test. */
  | { type: 'member'; key: Term | null; value: Term; coll: Term; loc: Loc };

export type BinOp = '+' | '-' | '*' | '/' | '%' | '|' | '&' | '==' | '!=' | '<' | '<=' | '>' | '>=';

export interface WithMod { target: Term; value: Term; loc: Loc }

export type Expr =
  /** A plain term, `a := b` (assign) or `a = b` (unify), possibly negated. */
  | { kind: 'expr'; op: 'term' | 'assign' | 'unify'; lhs: Term | null; term: Term; negated: boolean; withs: WithMod[]; loc: Loc }
  | { kind: 'some'; vars: Term[]; loc: Loc }
  | { kind: 'somein'; key: Term | null; value: Term; coll: Term; withs: WithMod[]; loc: Loc }
  | { kind: 'every'; key: Term | null; value: Term; coll: Term; body: Expr[]; withs: WithMod[]; loc: Loc };

export type RuleKind = 'complete' | 'partialset' | 'partialobject' | 'function';

export interface ElseClause { value: Term; args: Term[] | null; body: Expr[]; loc: Loc }

export interface Rule {
  kind: RuleKind;
  /** Rule reference relative to the package, e.g. ['a','b','c'] for `a.b.c := 1`. */
  name: string[];
  /** Partial set element or partial object key. */
  key: Term | null;
  value: Term;
  args: Term[] | null;
  body: Expr[];
  isDefault: boolean;
  elses: ElseClause[];
  loc: Loc;
}

export interface Import { path: string[]; alias: string; loc: Loc }

export interface Module { file: string; pkg: string[]; imports: Import[]; rules: Rule[]; loc: Loc }

export class RegoCompileError extends Error {
  readonly code: string;
  readonly loc: Loc;
  constructor(code: string, loc: Loc, message: string) {
    super(`${loc.file}:${loc.line}:${loc.col}: ${code}: ${message}`);
    this.name = 'RegoCompileError';
    this.code = code;
    this.loc = loc;
  }
}
