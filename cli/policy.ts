// `meshlens policy`: build OPA wasm bundles from Rego, evaluate a policy
// (Rego or any wasm bundle, ours or `opa build -t wasm`'s) through the
// opa-wasm SDK, and run `test_*` rules. Results go to stdout as bare JSON
// (no log prefixes) so that they can be piped.
// `replay` (a draft over recorded requests) is ./policy-replay.ts.

import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, isAbsolute, join, relative } from 'node:path';
import { compileToWasm, loadWasmPolicy, readBundle, RegoCompileError, testEntrypoints, writeBundle } from '../policy/index.ts';
import { UsageError } from './flags.ts';
import { COMMAND_SUMMARIES } from './command-summaries.ts';

export const summary = COMMAND_SUMMARIES.policy;

const USAGE = `usage:
  meshlens policy build <file.rego|dir>… -e <entrypoint>… -o bundle.tar.gz [--data data.json]
  meshlens policy eval --policy <file.rego|dir|bundle.tar.gz> --entrypoint <pkg/path/rule> --input <file.json|-> [--data <file.json>] [--strict-builtin-errors]
  meshlens policy test <dir|file.rego>…
  meshlens policy replay --policy <draft.rego|dir|bundle.tar.gz> [--from 24h] [--until now] [--against <policy>|recorded] [--json]   (--help: all flags)`;

/** Repeated flags collect into arrays; anything else is positional. */
function parseArgs(argv: string[], names: Record<string, string>): { flags: Record<string, string[]>; rest: string[] } {
  const flags: Record<string, string[]> = {};
  const rest: string[] = [];
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') throw new UsageError([], USAGE);
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const key = names[eq > 0 ? a.slice(0, eq) : a];
    if (key === undefined) { if (a.startsWith('-') && a !== '-') problems.push(`unknown flag ${a}`); else rest.push(a); continue; }
    const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (v === undefined) { problems.push(`${a}: missing value`); continue; }
    (flags[key] ??= []).push(v);
  }
  if (problems.length) throw new UsageError(problems, USAGE);
  return { flags, rest };
}

/** Rego sources under the given files and directories, keyed by the path as the user will see it in errors. */
export function readRegoFiles(paths: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string) => {
    if (statSync(p).isDirectory()) { for (const n of readdirSync(p).sort()) if (!n.startsWith('.')) walk(join(p, n)); }
    else if (p.endsWith('.rego')) out[p] = readFileSync(p, 'utf8');
  };
  for (const p of paths) {
    if (!statSync(p, { throwIfNoEntry: false })) throw new UsageError([`${p}: no such file or directory`], USAGE);
    if (!statSync(p).isDirectory() && !p.endsWith('.rego')) throw new UsageError([`${p}: not a .rego file or a directory`], USAGE);
    walk(p);
  }
  if (!Object.keys(out).length) throw new UsageError([`no .rego files in ${paths.join(', ')}`], USAGE);
  return out;
}

function readJSON(path: string, what: string): unknown {
  const text = path === '-' ? readFileSync(0, 'utf8') : readFileSync(path, 'utf8');
  try { return JSON.parse(text); } catch (e) { throw new UsageError([`${what} ${path}: not JSON: ${(e as Error).message}`], USAGE); }
}

/** Compile errors are the user's input problem: `file:line:col: message` on stderr, exit 2. */
async function compiled<T>(f: () => Promise<T>): Promise<T | undefined> {
  try { return await f(); } catch (e) {
    if (!(e instanceof RegoCompileError)) throw e;
    process.stderr.write(e.message + '\n');
    process.exitCode = 2;
    return undefined;
  }
}

const entrypointOf = (e: string) => e.replace(/^data\./, '').split(/[/.]/).filter(Boolean).join('/');

async function build(argv: string[]): Promise<void> {
  const { flags, rest } = parseArgs(argv, { '-e': 'e', '--entrypoint': 'e', '-o': 'o', '--output': 'o', '--data': 'data' });
  const problems = [...(rest.length ? [] : ['no Rego files or directories given']), ...(flags.e ? [] : ['-e <entrypoint>: at least one is required']), ...(flags.o?.length === 1 ? [] : ['-o <bundle.tar.gz>: exactly one is required'])];
  if (problems.length) throw new UsageError(problems, USAGE);
  const files = readRegoFiles(rest);
  const entrypoints = flags.e.map(entrypointOf);
  const data = flags.data ? readJSON(flags.data[0], '--data') : {};
  const wasm = await compiled(() => compileToWasm(files, entrypoints));
  if (!wasm) return;
  // Sources go in the bundle under paths relative to here (OPA keeps them beside policy.wasm).
  const inBundle = Object.fromEntries(Object.entries(files).map(([p, src]) => {
    const rel = relative(process.cwd(), p);
    return [rel.startsWith('..') || isAbsolute(rel) ? basename(p) : rel, src];
  }));
  writeFileSync(flags.o[0], writeBundle(wasm, entrypoints, data, inBundle));
  process.stderr.write(`wrote ${flags.o[0]}: ${entrypoints.length} entrypoint(s), policy.wasm ${wasm.length} bytes\n`);
}

async function evaluate(argv: string[]): Promise<void> {
  // As `opa eval --strict-builtin-errors`: a builtin's error (units.parse_bytes("x"), a bad regex, …) fails the evaluation instead of making the expression undefined.
  const strictBuiltinErrors = argv.includes('--strict-builtin-errors');
  const { flags, rest } = parseArgs(argv.filter((a) => a !== '--strict-builtin-errors'), { '--policy': 'policy', '-p': 'policy', '--entrypoint': 'e', '-e': 'e', '--input': 'input', '-i': 'input', '--data': 'data', '-d': 'data' });
  const problems = [...rest.map((r) => `unexpected argument ${r}`), ...(['policy', 'e', 'input'] as const).filter((k) => flags[k]?.length !== 1).map((k) => `--${k === 'e' ? 'entrypoint' : k}: exactly one is required`)];
  if (problems.length) throw new UsageError(problems, USAGE);
  const ep = entrypointOf(flags.e[0]);
  const input = readJSON(flags.input[0], '--input');
  let data: unknown = flags.data ? readJSON(flags.data[0], '--data') : undefined;
  let wasm: Uint8Array | undefined;
  const p = flags.policy[0];
  if (p.endsWith('.tar.gz') || p.endsWith('.tgz')) {
    const bundle = readBundle(readFileSync(p));
    wasm = bundle.wasm;
    data = data === undefined ? bundle.data : merge(bundle.data, data);
  } else {
    wasm = await compiled(() => compileToWasm(readRegoFiles([p]), [ep]));
    if (!wasm) return;
  }
  const policy = await loadWasmPolicy(wasm, { strictBuiltinErrors });
  if (!Object.hasOwn(policy.entrypoints, ep)) throw new UsageError([`entrypoint ${ep} is not in ${p} (has: ${Object.keys(policy.entrypoints).join(', ') || 'none'})`], USAGE);
  if (data !== undefined) policy.setData(data as object);
  let rs: unknown;
  try { rs = policy.evaluate(input, ep); } catch (e) {
    process.stderr.write(`meshlens policy eval: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(JSON.stringify(rs) + '\n');
}

function merge(a: unknown, b: unknown): unknown {
  const isObj = (x: unknown): x is Record<string, unknown> => !!x && typeof x === 'object' && !Array.isArray(x);
  if (!isObj(a) || !isObj(b)) return b;
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = k in a ? merge(a[k], v) : v;
  return out;
}

async function test(argv: string[]): Promise<void> {
  const { rest } = parseArgs(argv, {});
  if (!rest.length) throw new UsageError(['no directory or .rego file given'], USAGE);
  const files = readRegoFiles(rest);
  const eps = await compiled(async () => testEntrypoints(files));
  if (!eps) return;
  const wasm = await compiled(() => compileToWasm(files, eps));
  if (!wasm) return;
  const policy = await loadWasmPolicy(wasm);
  let passed = 0, failed = 0;
  for (const ep of eps) {
    const name = 'data.' + ep.split('/').join('.');
    let line: string;
    try {
      const rs = policy.evaluate(undefined, ep) as { result: unknown }[];
      const ok = rs.length === 1 && rs[0].result !== false;
      line = `${ok ? 'PASS' : 'FAIL'} ${name}${ok ? '' : rs.length ? ' (false)' : ' (undefined)'}`;
      if (ok) passed++; else failed++;
    } catch (e) {
      line = `FAIL ${name} (error: ${e instanceof Error ? e.message : String(e)})`;
      failed++;
    }
    process.stdout.write(line + '\n');
  }
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  process.exitCode = failed ? 1 : 0;
}

export async function run(argv: string[], log: (line: string) => void): Promise<void> {
  void log; // output is bare JSON / test lines on stdout, never log-prefixed
  const [sub, ...rest] = argv;
  if (sub === 'build') return build(rest);
  if (sub === 'eval') return evaluate(rest);
  if (sub === 'test') return test(rest);
  if (sub === 'replay') return (await import('./policy-replay.ts')).replayCommand(rest);
  throw new UsageError(sub === undefined || sub === '--help' || sub === '-h' ? [] : [`unknown subcommand "${sub}"`], USAGE);
}
