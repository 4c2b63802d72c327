/** Evaluation errors that halt a query (conflicts), in OPA's wording. */
import type { Loc } from './rego/ast.ts';

export class RegoEvalError extends Error {
  readonly code: string;
  constructor(code: string, message: string, loc?: Loc) {
    super(`${loc ? `${loc.file}:${loc.line}:${loc.col}: ` : ''}${code}: ${message}`);
    this.name = 'RegoEvalError';
    this.code = code;
  }
}

export const conflict = (what: string, loc: Loc) => new RegoEvalError('eval_conflict_error', what, loc);
