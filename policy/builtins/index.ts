/** The builtin table: every function the compiler accepts and the evaluator runs. */
import { bitsBuiltins } from './bits.ts';
import { collectionBuiltins } from './collections.ts';
import { cryptoBuiltins } from './crypto.ts';
import { encodingBuiltins } from './encoding.ts';
import { graphBuiltins } from './graph.ts';
import { jsonPathBuiltins } from './json-paths.ts';
import { jwtBuiltins } from './jwt.ts';
import { netBuiltins } from './net.ts';
import { numberBuiltins } from './numbers.ts';
import { regexBuiltins } from './regex.ts';
import { semverBuiltins } from './semver.ts';
import { sprintfBuiltins } from './sprintf.ts';
import { stringBuiltins } from './strings.ts';
import { timeBuiltins } from './time.ts';
import { unitBuiltins } from './units.ts';
import { urlqueryBuiltins } from './urlquery.ts';
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
  ...jsonPathBuiltins,
  ...bitsBuiltins,
  ...unitBuiltins,
  ...semverBuiltins,
  ...cryptoBuiltins,
  ...jwtBuiltins,
  ...timeBuiltins,
  ...graphBuiltins,
  ...urlqueryBuiltins,
};

/** Rego operators and the builtin each lowers to. */
export const OPERATORS: Record<string, string> = {
  '+': 'plus', '-': 'minus', '*': 'mul', '/': 'div', '%': 'rem', '|': 'or', '&': 'and',
  '==': 'equal', '!=': 'neq', '<': 'lt', '<=': 'lte', '>': 'gt', '>=': 'gte',
};
