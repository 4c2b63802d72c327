// The conformance cases (cases/*.json) and how results are compared: shared by
// the reference-evaluator suite and the WebAssembly suite.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Case {
  name: string;
  modules: Record<string, string>;
  query: string;
  input?: unknown;
  data?: unknown;
  want: { result: unknown } | { undefined: true } | { error: string } | { compile_error: string };
}

const dir = join(import.meta.dirname, 'cases');

/** Every case, named `<file>: <case>`, files in name order. */
export const cases: Case[] = readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
  .flatMap((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as Case[]).map((c) => ({ ...c, name: `${f.replace(/\.json$/, '')}: ${c.name}` })));

/** Canonical JSON so that object key order does not matter. */
export function canon(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(canon).join(',') + ']';
  if (v && typeof v === 'object') return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canon((v as Record<string, unknown>)[k])).join(',') + '}';
  return JSON.stringify(v);
}
