// The tamper-evident stamp of a report: SHA-256 over the canonical JSON of
// its body (object keys sorted at every level, no whitespace, numbers and
// strings as JSON.stringify writes them). Anyone can recompute it with any
// JSON library that sorts keys; a report whose body was edited, even one
// number, no longer matches its stamp.

import { createHash } from 'node:crypto';

export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new TypeError(`canonical JSON has no ${v}`);
    if (v === undefined) throw new TypeError('canonical JSON has no undefined');
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJson(x))).join(',')}]`;
  const keys = Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
}

export const sha256Hex = (s: string | Uint8Array): string => createHash('sha256').update(s).digest('hex');

/** The stamp of a body. */
export const stampOf = (body: unknown): string => sha256Hex(canonicalJson(body));
