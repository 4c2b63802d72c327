// Flags, environment variables and a config file map onto one typed options
// object the same way: default < config file (--config, JSON keyed by flag
// name) < environment variable < flag. Every problem is reported at once.

import { readFileSync } from 'node:fs';

export type FlagType = 'string' | 'int' | 'bool' | 'hostport';

export interface FlagSpec {
  name: string;
  type: FlagType;
  help: string;
  env?: string;
  default?: string | number | boolean;
}

export type FlagValues = Record<string, string | number | boolean | undefined>;

export class UsageError extends Error {
  constructor(readonly problems: string[], readonly usage: string) {
    super(`${problems.join('\n')}\n\n${usage}`);
  }
}

export function usage(command: string, summary: string, specs: FlagSpec[]): string {
  const lines = specs.map((s) => {
    const flag = s.type === 'bool' ? `--[no-]${s.name}` : `--${s.name} <${s.type === 'hostport' ? 'host:port' : s.type}>`;
    const extra = [s.env ? `env ${s.env}` : '', s.default !== undefined ? `default ${s.default}` : ''].filter(Boolean).join(', ');
    return `  ${flag.padEnd(34)} ${s.help}${extra ? ` (${extra})` : ''}`;
  });
  return `usage: meshlens ${command} [flags]\n${summary}\n\n${lines.join('\n')}\n  ${'--config <file.json>'.padEnd(34)} read any of these flags from a JSON file`;
}

export function parseFlags(
  command: string, summary: string, argv: string[], specs: FlagSpec[], env: NodeJS.ProcessEnv = process.env,
): FlagValues {
  const problems: string[] = [];
  const byName = new Map(specs.map((s) => [s.name, s]));
  const raw = new Map<string, { value: string | boolean; from: string }>();

  const set = (name: string, value: string | boolean, from: string) => {
    if (!byName.has(name)) problems.push(`${from}: unknown flag --${name}`);
    else raw.set(name, { value, from });
  };

  // Flags first (collected), so --config is known before it is applied.
  const fromFlags = new Map<string, string | boolean>();
  let configPath: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') throw new UsageError([], usage(command, summary, specs));
    if (!arg.startsWith('--')) { problems.push(`unexpected argument "${arg}"`); continue; }
    let [name, value] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (name === 'config') {
      configPath = value ?? argv[++i];
      if (configPath === undefined) problems.push('--config: missing value');
      continue;
    }
    const spec = byName.get(name) ?? (name.startsWith('no-') ? byName.get(name.slice(3)) : undefined);
    if (spec?.type === 'bool') {
      fromFlags.set(spec.name, value === undefined ? !name.startsWith('no-') : value !== 'false');
      continue;
    }
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) { problems.push(`--${name}: missing value`); continue; }
      i++;
    }
    fromFlags.set(name, value);
  }

  if (configPath !== undefined) {
    try {
      const cfg = JSON.parse(readFileSync(configPath, 'utf8'));
      if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) throw new Error('must be a JSON object');
      for (const [k, v] of Object.entries(cfg)) set(k, typeof v === 'boolean' ? v : String(v), `config ${configPath}`);
    } catch (e) {
      problems.push(`--config ${configPath}: ${(e as Error).message}`);
    }
  }
  for (const s of specs) {
    if (s.env && env[s.env] !== undefined && env[s.env] !== '') {
      const v = env[s.env]!;
      raw.set(s.name, { value: s.type === 'bool' ? !/^(0|false|no)$/i.test(v) : v, from: `env ${s.env}` });
    }
  }
  for (const [k, v] of fromFlags) set(k, v, `--${k}`);

  const out: FlagValues = {};
  for (const s of specs) {
    const r = raw.get(s.name);
    if (!r) { out[s.name] = s.default; continue; }
    const where = r.from.startsWith('--') ? r.from : `${r.from} (--${s.name})`;
    const v = r.value;
    switch (s.type) {
      case 'bool': out[s.name] = typeof v === 'boolean' ? v : !/^(0|false|no)$/i.test(v); break;
      case 'int': {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0) problems.push(`${where}: "${v}" is not a non-negative integer`);
        else out[s.name] = n;
        break;
      }
      case 'hostport': {
        const m = /^(.+):(\d{1,5})$/.exec(String(v));
        if (!m || Number(m[2]) > 65535) problems.push(`${where}: "${v}" is not host:port`);
        else out[s.name] = String(v);
        break;
      }
      default: out[s.name] = String(v);
    }
  }
  if (problems.length > 0) throw new UsageError(problems, usage(command, summary, specs));
  return out;
}

/** A comma-separated flag as its trimmed, non-empty items ([] when unset). */
export function listFlag(f: FlagValues, name: string): string[] {
  return f[name] ? String(f[name]).split(',').map((s) => s.trim()).filter(Boolean) : [];
}

export function splitHostPort(hp: string): { host: string; port: number } {
  const i = hp.lastIndexOf(':');
  return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
}
