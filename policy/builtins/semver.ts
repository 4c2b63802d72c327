/** semver.is_valid and semver.compare: SemVer 2.0.0 (no "v" prefix), build metadata ignored when comparing. */
import { BuiltinError, str, type BuiltinDef } from './types.ts';

const ID = String.raw`(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)`;
const SEMVER = new RegExp(String.raw`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-(${ID}(?:\.${ID})*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$`);

interface Version { core: bigint[]; pre: string[] }

function parse(s: string): Version | undefined {
  const m = SEMVER.exec(s);
  return m ? { core: [BigInt(m[1]), BigInt(m[2]), BigInt(m[3])], pre: m[4] ? m[4].split('.') : [] } : undefined;
}

function cmpId(a: string, b: string): number {
  const na = /^\d+$/.test(a), nb = /^\d+$/.test(b);
  if (na && nb) { const x = BigInt(a), y = BigInt(b); return x < y ? -1 : x > y ? 1 : 0; }
  if (na !== nb) return na ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a.core[i] !== b.core[i]) return a.core[i] < b.core[i] ? -1 : 1;
  if (!a.pre.length || !b.pre.length) return a.pre.length === b.pre.length ? 0 : a.pre.length ? -1 : 1;
  for (let i = 0; i < Math.min(a.pre.length, b.pre.length); i++) { const c = cmpId(a.pre[i], b.pre[i]); if (c) return c; }
  return Math.sign(a.pre.length - b.pre.length);
}

function operand(pos: number, v: Parameters<typeof str>[1]): Version {
  const s = str('semver.compare', v, pos);
  const p = parse(s);
  if (!p) throw new BuiltinError('semver.compare', `operand ${pos}: string ${JSON.stringify(s)} is not a valid SemVer`);
  return p;
}

export const semverBuiltins: Record<string, BuiltinDef> = {
  'semver.is_valid': { arity: 1, fn: ([a]) => typeof a === 'string' && parse(a) !== undefined },
  'semver.compare': { arity: 2, fn: ([a, b]) => compareVersions(operand(1, a), operand(2, b)) },
};
