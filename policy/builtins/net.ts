/** net.cidr_* builtins for IPv4 and IPv6 (addresses as bigint). */
import { BuiltinError, str, type BuiltinDef } from './types.ts';

interface Net { v6: boolean; addr: bigint; bits: number }

function parse4(s: string): bigint | null {
  const p = s.split('.');
  if (p.length !== 4 || p.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255)) return null;
  return p.reduce((a, x) => (a << 8n) | BigInt(Number(x)), 0n);
}

function parse6(s: string): bigint | null {
  let groups: string[];
  let tail4: bigint | null = null;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.')) { tail4 = parse4(s.slice(lastColon + 1)); if (tail4 === null) return null; s = s.slice(0, lastColon + 1) + '0:0'; }
  const dbl = s.split('::');
  if (dbl.length > 2) return null;
  const head = dbl[0] ? dbl[0].split(':') : [];
  const tail = dbl.length === 2 && dbl[1] ? dbl[1].split(':') : [];
  if (dbl.length === 2) groups = [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail];
  else groups = head;
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  let v = groups.reduce((a, g) => (a << 16n) | BigInt(parseInt(g, 16)), 0n);
  if (tail4 !== null) v = (v & ~0xffffffffn) | tail4;
  return v;
}

export function parseNet(fn: string, s: string, requirePrefix: boolean): Net {
  const [ip, pfx, extra] = s.split('/');
  if (extra !== undefined || (requirePrefix && pfx === undefined)) throw new BuiltinError(fn, `invalid CIDR address: ${s}`);
  const v6 = ip.includes(':');
  const addr = v6 ? parse6(ip) : parse4(ip);
  const max = v6 ? 128 : 32;
  const bits = pfx === undefined ? max : /^\d+$/.test(pfx) ? Number(pfx) : -1;
  if (addr === null || bits < 0 || bits > max) throw new BuiltinError(fn, `invalid ${pfx === undefined ? 'IP' : 'CIDR'} address: ${s}`);
  return { v6, addr, bits };
}

function mask(n: Net): bigint {
  const max = n.v6 ? 128n : 32n;
  return ((1n << max) - 1n) ^ ((1n << (max - BigInt(n.bits))) - 1n);
}

function contains(a: Net, b: Net): boolean {
  if (a.v6 !== b.v6 || b.bits < a.bits) return false;
  const m = mask(a);
  return (a.addr & m) === (b.addr & m);
}

export const netBuiltins: Record<string, BuiltinDef> = {
  'net.cidr_contains': {
    arity: 2,
    fn: ([c, x]) => contains(parseNet('net.cidr_contains', str('net.cidr_contains', c, 1), true), parseNet('net.cidr_contains', str('net.cidr_contains', x, 2), false)),
  },
  'net.cidr_intersects': {
    arity: 2,
    fn: ([a, b]) => {
      const x = parseNet('net.cidr_intersects', str('net.cidr_intersects', a, 1), true), y = parseNet('net.cidr_intersects', str('net.cidr_intersects', b, 2), true);
      return contains(x, y) || contains(y, x);
    },
  },
  'net.cidr_is_valid': { arity: 1, fn: ([a]) => { try { parseNet('net.cidr_is_valid', str('net.cidr_is_valid', a, 1), true); return true; } catch { return false; } } },
};
