/** The builtin table: every function the compiler accepts and the evaluator runs. */
import { collectionBuiltins } from './collections.ts';
import { encodingBuiltins } from './encoding.ts';
import { netBuiltins } from './net.ts';
import { numberBuiltins } from './numbers.ts';
import { regexBuiltins } from './regex.ts';
import { sprintfBuiltins } from './sprintf.ts';
import { stringBuiltins } from './strings.ts';
import type { BuiltinDef } from './types.ts';

export { BuiltinError, type BuiltinCtx, type BuiltinDef } from './types.ts';

export const BUILTINS: Record<string, BuiltinDef> = {
  ...numberBuiltins,
  ...collectionBuiltins,
  ...stringBuiltins,
  ...sprintfBuiltins,
  ...regexBuiltins,
  ...netBuiltins,
  ...encodingBuiltins,
};

/** Rego operators and the builtin each lowers to. */
export const OPERATORS: Record<string, string> = {
  '+': 'plus', '-': 'minus', '*': 'mul', '/': 'div', '%': 'rem', '|': 'or', '&': 'and',
  '==': 'equal', '!=': 'neq', '<': 'lt', '<=': 'lte', '>': 'gt', '>=': 'gte',
};
