/** net.cidr_* builtins for IPv4 and IPv6 (addresses as bigint). */
import { RObject, RSet, type Value } from '../value.ts';
import { BuiltinError, elems, setOf, str, type BuiltinDef } from './types.ts';

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

/** Go's net.IP.String(): dotted IPv4; IPv6 with the longest run (≥ 2) of zero groups as "::". */
function format(v6: boolean, a: bigint): string {
  if (!v6) return [24n, 16n, 8n, 0n].map((s) => String((a >> s) & 255n)).join('.');
  const g = Array.from({ length: 8 }, (_, i) => Number((a >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = -1, len = 0;
  for (let i = 0; i < 8;) { let j = i; while (j < 8 && g[j] === 0) j++; if (j - i > len && j - i >= 2) { best = i; len = j - i; } i = j === i ? i + 1 : j; }
  const hex = g.map((x) => x.toString(16));
  return best < 0 ? hex.join(':') : hex.slice(0, best).join(':') + '::' + hex.slice(best + len).join(':');
}

/** The CIDR strings of a net.cidr_contains_matches operand, keyed as OPA keys them. */
function keyed(fn: string, v: Value, pos: number): [Value, string][] {
  const cidr = (x: Value): string => (typeof x === 'string' ? x : Array.isArray(x) && typeof x[0] === 'string' ? x[0] : str(fn, x, pos));
  if (typeof v === 'string') return [[v, v]];
  if (Array.isArray(v)) return v.map((x, i) => [i, cidr(x)]);
  if (v instanceof RSet) return v.sorted().map((x) => [x, cidr(x)]);
  if (v instanceof RObject) return v.entries().map(([k, x]) => [k, cidr(x)]);
  throw new BuiltinError(fn, `operand ${pos} must be one of {string, array, set, object}`);
}

/** Smallest list of CIDRs covering [lo, hi]. */
function rangeToCidrs(v6: boolean, lo: bigint, hi: bigint): string[] {
  const max = v6 ? 128 : 32, out: string[] = [];
  while (lo <= hi) {
    let bits = max;
    while (bits > 0) {
      const size = 1n << BigInt(max - bits + 1);
      if (lo % size !== 0n || lo + size - 1n > hi) break;
      bits--;
    }
    out.push(`${format(v6, lo)}/${bits}`);
    lo += 1n << BigInt(max - bits);
  }
  return out;
}

Object.assign(netBuiltins, {
  // Every address of the network, network and broadcast included; refused above 2^16 addresses rather than exhausting memory.
  'net.cidr_expand': {
    arity: 1,
    fn: ([c]) => {
      const n = parseNet('net.cidr_expand', str('net.cidr_expand', c, 1), true);
      const host = BigInt((n.v6 ? 128 : 32) - n.bits);
      if (host > 16n) throw new BuiltinError('net.cidr_expand', `${c} has more than 65536 addresses`);
      const base = n.addr & mask(n), out = new RSet();
      for (let i = 0n; i < 1n << host; i++) out.add(format(n.v6, base + i));
      return out;
    },
  },
  'net.cidr_contains_matches': {
    arity: 2,
    fn: ([a, b]) => {
      const fn = 'net.cidr_contains_matches';
      const xs = keyed(fn, a, 1).map(([k, s]) => [k, parseNet(fn, s, false)] as const), ys = keyed(fn, b, 2).map(([k, s]) => [k, parseNet(fn, s, false)] as const);
      const out: Value[] = [];
      for (const [k1, x] of xs) for (const [k2, y] of ys) if (contains(x, y)) out.push([k1, k2]);
      return setOf(out);
    },
  },
  'net.cidr_merge': {
    arity: 1,
    fn: ([a]) => {
      const nets = elems('net.cidr_merge', a, 1).map((x) => {
        const s = str('net.cidr_merge', x, 1);
        if (s.includes(':') && !s.includes('/')) throw new BuiltinError('net.cidr_merge', 'IPv6 invalid: needs prefix length');
        return parseNet('net.cidr_merge', s, false);
      });
      const out: string[] = [];
      for (const v6 of [false, true]) {
        const max = BigInt(v6 ? 128 : 32);
        const rs = nets.filter((n) => n.v6 === v6).map((n) => { const lo = n.addr & mask(n); return [lo, lo + (1n << (max - BigInt(n.bits))) - 1n] as [bigint, bigint]; }).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
        const merged: [bigint, bigint][] = [];
        for (const r of rs) { const last = merged[merged.length - 1]; if (last && r[0] <= last[1] + 1n) { if (r[1] > last[1]) last[1] = r[1]; } else merged.push([...r]); }
        for (const [lo, hi] of merged) out.push(...rangeToCidrs(v6, lo, hi));
      }
      return setOf(out);
    },
  },
} satisfies Record<string, BuiltinDef>);
