/**
 * Builtins the AssemblyScript runtime implements itself (runtime/builtins.as).
 * Their ids are positions in this list: the build generates runtime constants
 * B_<NAME> from it, so a name implemented there but missing here fails the build.
 * Every other builtin a policy calls is delegated to the host (opa_builtinN).
 */
export const NATIVE_BUILTINS: readonly string[] = [
  'equal', 'neq', 'lt', 'lte', 'gt', 'gte',
  'plus', 'minus', 'mul', 'div', 'rem', 'or', 'and',
  'internal.member_2', 'internal.member_3',
  'count', 'sum', 'product', 'max', 'min', 'sort',
  'abs', 'round', 'ceil', 'floor',
  'is_null', 'is_boolean', 'is_number', 'is_string', 'is_array', 'is_object', 'is_set', 'type_name',
  'startswith', 'endswith', 'contains', 'lower', 'upper', 'trim_space', 'indexof', 'split', 'concat',
  'array.concat', 'array.reverse', 'object.get', 'object.keys', 'union', 'intersection',
];

export const nativeId = new Map(NATIVE_BUILTINS.map((n, i) => [n, i]));

/** AssemblyScript source declaring B_<NAME> = id for each native builtin. */
export function nativesSource(): string {
  return NATIVE_BUILTINS.map((n, i) => `export const B_${n.toUpperCase().replace(/[^A-Z0-9]/g, '_')}: i32 = ${i};`).join('\n') + '\n';
}
