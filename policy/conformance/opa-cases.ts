/**
 * Runs a local copy of OPA's own conformance cases (`v1/test/cases/testdata`
 * in open-policy-agent/opa, YAML) through meshlens' compiler and prints the
 * pass rate by topic. The cases are never copied into this repository: point
 * the script at a checkout.
 *
 *   npm run conformance:opa -- <dir> [--engine wasm|ref] [--failures] [--skips] [--topic <name>]
 *
 * wasm (default) is the path `meshlens policy eval` takes: compileToWasm, then
 * the opa-wasm SDK with meshlens' host builtins. ref is the reference evaluator.
 * A case is "skip" when `meshlens policy eval` cannot express it (a query other
 * than `data.<path> = x`, several result rows, options the CLI lacks).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import YAML from 'yaml';
// Internal modules rather than ../index.ts: the runner stays usable while index.ts grows.
import { compileToIR } from '../rego/compile.ts';
import { RegoCompileError } from '../rego/ast.ts';
import { StepEvaluator } from '../eval.ts';
import { fromJSON, toJSON } from '../value.ts';
import { compileToWasm } from '../wasm/compile.ts';
import { loadWasmPolicy } from '../wasm/host.ts';
import { canon } from './cases.ts';

export interface OpaCase {
  note: string;
  query: string;
  modules?: string[];
  data?: unknown;
  input?: unknown;
  input_term?: string;
  want_result?: Record<string, unknown>[];
  want_error?: string;
  want_error_code?: string;
  strict_error?: boolean;
  sort_bindings?: boolean;
  [k: string]: unknown;
}

export type Outcome = { status: 'pass' } | { status: 'fail' | 'skip'; reason: string };
export interface Engine { name: string; run(modules: Record<string, string>, entrypoint: string, c: OpaCase): Promise<{ result: unknown }[]> }

/** Options the runner honours; any other case key the CLI cannot pass along makes the case a skip. */
const KNOWN_KEYS = new Set(['note', 'query', 'modules', 'data', 'input', 'input_term', 'want_result', 'want_error', 'want_error_code', 'strict_error', 'sort_bindings', 'skip', 'env']);

/** `data.a.b = x` / `x = data.a.b` → ["a/b", "x"]; anything else the CLI cannot express. */
export function queryEntrypoint(q: string): [string, string] | undefined {
  const ref = String.raw`(data(?:\.[A-Za-z_]\w*)+)`, v = String.raw`([A-Za-z_]\w*)`;
  const a = new RegExp(String.raw`^\s*${ref}\s*=\s*${v}\s*$`).exec(q), b = new RegExp(String.raw`^\s*${v}\s*=\s*${ref}\s*$`).exec(q);
  if (!a && !b) return undefined;
  const [path, name] = a ? [a[1], a[2]] : [b![2], b![1]];
  return [path.split('.').slice(1).join('/'), name];
}

export const engines: Record<string, Engine> = {
  ref: {
    name: 'ref',
    async run(modules, ep, c) {
      const ev = new StepEvaluator(compileToIR(modules, [ep]), c.input === undefined ? undefined : fromJSON(c.input), fromJSON(c.data ?? {}), { strictBuiltinErrors: !!c.strict_error });
      const v = ev.resolveData(ep.split('/'));
      return v === undefined ? [] : [{ result: toJSON(v) }];
    },
  },
  wasm: {
    name: 'wasm',
    async run(modules, ep, c) {
      const policy = await loadWasmPolicy(await compileToWasm(modules, [ep]), { strictBuiltinErrors: !!c.strict_error });
      if (c.data !== undefined) policy.setData(c.data as object);
      return policy.evaluate(c.input, ep) as { result: unknown }[];
    },
  },
};

function sortTop(v: unknown): unknown { return Array.isArray(v) ? [...v].sort((a, b) => (canon(a) < canon(b) ? -1 : canon(a) > canon(b) ? 1 : 0)) : v; }

/** One case through one engine, judged as OPA's own test runner judges it (error messages by substring of kind). */
export async function runCase(c: OpaCase, engine: Engine): Promise<Outcome> {
  const extra = Object.keys(c).filter((k) => !KNOWN_KEYS.has(k));
  if (extra.length) return { status: 'skip', reason: `case option(s) ${extra.join(', ')}` };
  if (c.skip) return { status: 'skip', reason: 'skipped by OPA' };
  // input_term is a Rego term; the CLI reads JSON, so only a JSON input_term can be passed along.
  if (c.input_term !== undefined) {
    try { c = { ...c, input: JSON.parse(c.input_term) }; } catch { return { status: 'skip', reason: 'input_term is not JSON (sets or Rego syntax)' }; }
  }
  const q = queryEntrypoint(c.query);
  if (!q) return { status: 'skip', reason: `query ${JSON.stringify(c.query)}` };
  const [ep, v] = q;
  const want = c.want_result;
  if (want && (want.length > 1 || (want.length === 1 && Object.keys(want[0]).some((k) => k !== v)))) return { status: 'skip', reason: 'several result rows or bindings' };
  const modules = Object.fromEntries((c.modules ?? []).map((m, i) => [`mod${i}.rego`, m]));
  const wantsError = c.want_error !== undefined || c.want_error_code !== undefined;
  const wantsCompileError = wantsError && (c.want_error_code ?? '').startsWith('rego_');
  let rs: { result: unknown }[];
  try {
    rs = await engine.run(modules, ep, c);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const isCompile = e instanceof RegoCompileError;
    if (!wantsError) return { status: 'fail', reason: `${isCompile ? 'compile' : 'eval'} error: ${msg.split('\n')[0]}` };
    if (isCompile !== wantsCompileError) return { status: 'fail', reason: `wanted ${c.want_error_code ?? 'error'} ${JSON.stringify(c.want_error)}, got ${isCompile ? 'compile' : 'eval'} error: ${msg}` };
    return { status: 'pass' };
  }
  if (wantsError) return { status: 'fail', reason: `wanted ${c.want_error_code ?? 'error'} ${JSON.stringify(c.want_error ?? '')}, got ${JSON.stringify(rs)}` };
  if (!want) return { status: 'skip', reason: 'no expectation' };
  const wantRs = want.length ? [{ result: want[0][v] }] : [];
  const norm = (r: { result: unknown }[]) => canon(r.map((x) => ({ result: c.sort_bindings ? sortTop(x.result) : x.result })));
  if (norm(rs) === norm(wantRs)) return { status: 'pass' };
  return { status: 'fail', reason: `wrong answer: want ${norm(wantRs)}, got ${norm(rs)}` };
}

/** Every *.yaml under dir, with its topic (the folder holding it). */
export function loadCases(dir: string): { topic: string; file: string; c: OpaCase }[] {
  const out: { topic: string; file: string; c: OpaCase }[] = [];
  const walk = (p: string) => {
    if (statSync(p).isDirectory()) { for (const n of readdirSync(p).sort()) walk(join(p, n)); return; }
    if (!/\.ya?ml$/.test(p)) return;
    const doc = YAML.parse(readFileSync(p, 'utf8')) as { cases?: OpaCase[] } | null;
    for (const c of doc?.cases ?? []) out.push({ topic: basename(dirname(p)), file: relative(dir, p), c });
  };
  walk(dir);
  return out;
}

async function main(argv: string[]): Promise<void> {
  const flag = (n: string) => { const i = argv.indexOf(n); if (i < 0) return undefined; const v = argv[i + 1]; argv.splice(i, 2); return v; };
  const bool = (n: string) => { const i = argv.indexOf(n); if (i < 0) return false; argv.splice(i, 1); return true; };
  const engine = engines[flag('--engine') ?? 'wasm'];
  const topic = flag('--topic');
  const showFailures = bool('--failures'), showSkips = bool('--skips');
  if (!engine || argv.length !== 1) {
    process.stderr.write('usage: npm run conformance:opa -- <dir of OPA YAML cases> [--engine wasm|ref] [--failures] [--skips] [--topic <name>]\n');
    process.exitCode = 2;
    return;
  }
  const all = loadCases(argv[0]).filter((x) => !topic || x.topic === topic);
  const byTopic = new Map<string, { pass: number; fail: number; skip: number }>();
  for (const { topic: t, file, c } of all) {
    const o = await runCase(c, engine);
    const row = byTopic.get(t) ?? { pass: 0, fail: 0, skip: 0 };
    row[o.status]++;
    byTopic.set(t, row);
    if ((o.status === 'fail' && showFailures) || (o.status === 'skip' && showSkips)) process.stdout.write(`${o.status.toUpperCase()} ${file}: ${c.note}: ${o.reason}\n`);
  }
  const tot = { pass: 0, fail: 0, skip: 0 };
  process.stdout.write(`\n${'topic'.padEnd(32)} pass fail skip  rate (of expressible)\n`);
  for (const [t, r] of [...byTopic].sort()) {
    for (const k of ['pass', 'fail', 'skip'] as const) tot[k] += r[k];
    process.stdout.write(`${t.padEnd(32)} ${String(r.pass).padStart(4)} ${String(r.fail).padStart(4)} ${String(r.skip).padStart(4)}  ${rate(r)}\n`);
  }
  process.stdout.write(`${'TOTAL'.padEnd(32)} ${String(tot.pass).padStart(4)} ${String(tot.fail).padStart(4)} ${String(tot.skip).padStart(4)}  ${rate(tot)}  (engine ${engine.name})\n`);
}

const rate = (r: { pass: number; fail: number }) => (r.pass + r.fail ? `${((100 * r.pass) / (r.pass + r.fail)).toFixed(1)}%` : '-');

if (process.argv[1] && import.meta.filename === process.argv[1]) await main(process.argv.slice(2));
