// A control pack: a folder of Rego modules, one package per control
// (`package meshlens.compliance.<id>`), their `*_test.rego` tests, and an
// optional data.json whose `compliance` object sets the pack's parameters
// (entry services, allowed callers, retention, …). The built-in packs live
// in ./packs/; an operator's pack is any folder of the same shape, named by
// its path.
//
// A pack is compiled by our own compiler to one WebAssembly module with an
// entrypoint per control and run through opa-wasm, exactly like the
// authorization and tuning policies.

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileToWasm } from '../wasm/compile.ts';
import { loadWasmPolicy, type LoadedPolicy } from '../wasm/host.ts';
import { COMPLIANCE_PACKAGE, controlEntrypoint } from './contract.ts';

export const BUILTIN_PACKS_DIR = fileURLToPath(new URL('./packs', import.meta.url));
export const DEFAULT_PACK = 'baseline';
/** Bounds on what a pack folder may hold (an operator's pack is input). */
const MAX_FILES = 200;
const MAX_FILE_BYTES = 1 << 20;
const ID = /^[a-z][a-z0-9_]{0,63}$/;

export class PackError extends Error {
  readonly code = 'POLICY_ERR_PACK';
  constructor(message: string, options?: { cause?: unknown }) { super(message, options); this.name = 'PackError'; }
}

export interface ControlPack {
  name: string;
  dir: string;
  /** sha256 over every file's name and bytes, in name order: what the report names. */
  digest: string;
  /** Control ids in file order. */
  controls: string[];
  /** Modules that define controls and their helpers (tests left out). */
  modules: Record<string, string>;
  /** Test modules (`*_test.rego`). */
  tests: Record<string, string>;
  /** data.json, or {} */
  data: Record<string, unknown>;
}

/** Names of the packs shipped with meshlens. */
export function builtinPacks(): string[] {
  return readdirSync(BUILTIN_PACKS_DIR).filter((n) => statSync(join(BUILTIN_PACKS_DIR, n)).isDirectory()).sort();
}

/** A built-in pack by name, or a folder by path (anything with a slash in it, or starting with a dot). */
export const isPackPath = (nameOrDir: string): boolean => /[/\\]/.test(nameOrDir) || nameOrDir.startsWith('.');

export function loadPack(nameOrDir: string): ControlPack {
  const isPath = isPackPath(nameOrDir);
  const dir = isPath ? resolve(nameOrDir) : join(BUILTIN_PACKS_DIR, nameOrDir);
  if (!isPath && !builtinPacks().includes(nameOrDir)) {
    throw new PackError(`no built-in control pack ${JSON.stringify(nameOrDir)} (built in: ${builtinPacks().join(', ')}); give a folder path for your own`);
  }
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new PackError(`control pack ${dir}: not a folder`);
  const names = readdirSync(dir).filter((n) => n.endsWith('.rego') || n === 'data.json').sort();
  if (names.length > MAX_FILES) throw new PackError(`control pack ${dir}: ${names.length} files, at most ${MAX_FILES}`);
  const hash = createHash('sha256');
  const modules: Record<string, string> = {};
  const tests: Record<string, string> = {};
  let data: Record<string, unknown> = {};
  const controls: string[] = [];
  for (const n of names) {
    const path = join(dir, n);
    const bytes = readFileSync(path);
    if (bytes.length > MAX_FILE_BYTES) throw new PackError(`${path}: ${bytes.length} bytes, at most ${MAX_FILE_BYTES}`);
    hash.update(`${n}\0${bytes.length}\0`).update(bytes);
    const text = bytes.toString('utf8');
    if (n === 'data.json') {
      data = parseData(path, text);
      continue;
    }
    if (n.endsWith('_test.rego')) {
      tests[n] = text;
      continue;
    }
    modules[n] = text;
    const id = controlOf(path, text);
    if (id !== null) {
      if (controls.includes(id)) throw new PackError(`${path}: control ${id} is defined by two files; one package per control`);
      controls.push(id);
    }
  }
  if (controls.length === 0) throw new PackError(`control pack ${dir}: no module declares package ${COMPLIANCE_PACKAGE}.<control>`);
  return { name: isPath ? basename(dir) : nameOrDir, dir, digest: hash.digest('hex'), controls, modules, tests, data };
}

/** The control a module defines (`package meshlens.compliance.<id>`), or null for a helper module of another package. */
function controlOf(path: string, text: string): string | null {
  const m = /^\s*package\s+([A-Za-z0-9_.]+)\s*$/m.exec(text);
  if (!m) throw new PackError(`${path}: no package line`);
  const pkg = m[1];
  if (!pkg.startsWith(`${COMPLIANCE_PACKAGE}.`)) return null;
  const id = pkg.slice(COMPLIANCE_PACKAGE.length + 1);
  if (!ID.test(id)) throw new PackError(`${path}: control id ${JSON.stringify(id)} must be 1-64 of [a-z0-9_], starting with a letter (package ${COMPLIANCE_PACKAGE}.<id>)`);
  return id;
}

function parseData(path: string, text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new PackError(`${path}: not JSON: ${(e as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new PackError(`${path}: must be a JSON object (its "compliance" key holds the pack's parameters)`);
  return v as Record<string, unknown>;
}

const compiled = new Map<string, Promise<LoadedPolicy>>();

/** The pack as a loaded WebAssembly policy with its data set, compiled once per digest. */
export function packPolicy(pack: ControlPack): Promise<LoadedPolicy> {
  let p = compiled.get(pack.digest);
  if (!p) {
    p = (async () => {
      const wasm = await compileToWasm(pack.modules, pack.controls.map(controlEntrypoint));
      const policy = await loadWasmPolicy(wasm);
      policy.setData(pack.data);
      return policy;
    })();
    p.catch(() => compiled.delete(pack.digest));
    compiled.set(pack.digest, p);
  }
  return p;
}
