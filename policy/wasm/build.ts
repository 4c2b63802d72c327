/**
 * Builds the base runtime module (runtime/*.as, AssemblyScript) once and
 * caches it by the hash of its sources, under node_modules/.cache/meshlens
 * (or $MESHLENS_CACHE_DIR). The .as files are copied to a temp dir as .ts
 * for asc, which keeps them out of the repository's tsc type check.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, statSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativesSource } from './natives.ts';

const RUNTIME_DIR = join(import.meta.dirname, 'runtime');
const CACHE_DIR = process.env.MESHLENS_CACHE_DIR ?? join(import.meta.dirname, '..', '..', 'node_modules', '.cache', 'meshlens');

const ASC_FLAGS = [
  '--importMemory', '--initialMemory', '2', '--noExportMemory',
  '--use', 'abort=abort/asAbort', ...(process.env.MESHLENS_ASC_DEBUG ? ['--debug'] : ['-O3', '--noAssert']),
];

function sources(): Record<string, string> {
  const out: Record<string, string> = { 'natives.ts': nativesSource() };
  for (const f of readdirSync(RUNTIME_DIR).filter((n) => n.endsWith('.as')).sort()) {
    out[f.replace(/\.as$/, '.ts')] = readFileSync(join(RUNTIME_DIR, f), 'utf8');
  }
  return out;
}

let memo: Promise<Uint8Array> | undefined;

/** The base runtime module (no policy embedded). */
export function baseRuntime(): Promise<Uint8Array> {
  memo ??= build();
  return memo;
}

async function build(): Promise<Uint8Array> {
  const src = sources();
  const hash = createHash('sha256').update(JSON.stringify([ASC_FLAGS, src])).digest('hex').slice(0, 16);
  const cached = join(CACHE_DIR, `policy-runtime-${hash}.wasm`);
  if (existsSync(cached)) return new Uint8Array(readFileSync(cached));
  // One build per machine: test files and CLI children start together on a cold cache.
  mkdirSync(CACHE_DIR, { recursive: true });
  const lock = `${cached}.lock`;
  for (;;) {
    try { closeSync(openSync(lock, 'wx')); break; } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const st = statSync(lock, { throwIfNoEntry: false });
      if (st && Date.now() - st.mtimeMs > 10 * 60_000) { rmSync(lock, { force: true }); continue; }
      await new Promise((r) => setTimeout(r, 250));
      if (existsSync(cached)) return new Uint8Array(readFileSync(cached));
    }
  }
  try {
    return await compile(src, cached);
  } finally {
    rmSync(lock, { force: true });
  }
}

async function compile(src: Record<string, string>, cached: string): Promise<Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), 'meshlens-asc-'));
  try {
    for (const [f, text] of Object.entries(src)) writeFileSync(join(dir, f), text);
    const asc = await import('assemblyscript/asc');
    let errText = '';
    const stderr = { write(s: string | Uint8Array) { errText += String(s); return true; } };
    const out = join(dir, 'out.wasm');
    const { error } = await asc.main(['index.ts', '--baseDir', dir, '-o', 'out.wasm', '--runtime', 'rt', ...ASC_FLAGS], { stderr, stdout: stderr });
    if (error) throw new Error(`policy wasm runtime build failed: ${error.message}\n${errText}`);
    const bytes = readFileSync(out);
    const tmp = `${cached}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, cached);
    return new Uint8Array(bytes);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
