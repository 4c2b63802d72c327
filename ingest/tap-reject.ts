// A refused batch frame as a tap_rejects row (./store.ts TapReject): what
// its header claims, read again leniently (the frame may be anything: not
// JSON, a schema 1 object, bytes), why it was refused, and its first
// kilobyte, so an operator can see what was sent without keeping it all.

import { createHash } from 'node:crypto';
import type { IngestError } from './errors.ts';
import type { TapReject } from './store.ts';

/** Bytes of a refused frame kept in tap_rejects.frame_head. */
export const REJECT_HEAD_BYTES = 1024;
/** Longest reason kept (a malformed batch's message lists up to ten problems). */
const MAX_REASON = 4096;
/** Longest header line read back for its claims. */
const MAX_HEADER = 4096;

/** proxy, stream and batch as the frame's first line claims them, where readable. */
function claims(frame: Buffer): Pick<TapReject, 'proxy' | 'stream' | 'batch'> {
  const out = { proxy: '', stream: '', batch: -1 };
  const nl = frame.indexOf(0x0a);
  const end = nl < 0 ? frame.length : nl;
  if (end > MAX_HEADER) return out;
  let h: unknown;
  try {
    h = JSON.parse(frame.toString('utf8', 0, end));
  } catch {
    return out;
  }
  if (h === null || typeof h !== 'object') return out;
  const o = h as Record<string, unknown>;
  if (typeof o.proxy === 'string') out.proxy = o.proxy.slice(0, 128);
  if (typeof o.stream === 'string') out.stream = o.stream.slice(0, 128);
  if (Number.isSafeInteger(o.batch) && (o.batch as number) >= 0) out.batch = o.batch as number;
  return out;
}

/** The row for `frame`, refused with `e`; `signer`: the SPIFFE id of a believed certificate, or ''. */
export function rejectRow(frame: Uint8Array, e: IngestError, at: number, who: { sender?: string; signer?: string }): TapReject {
  const buf = Buffer.isBuffer(frame) ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  return {
    received_at: at, ...claims(buf), code: e.code, reason: e.message.slice(0, MAX_REASON),
    signer: who.signer ?? '', sender: who.sender ?? '', frame_bytes: buf.length,
    frame_sha256: createHash('sha256').update(buf).digest('hex'),
    frame_head: buf.toString('utf8', 0, Math.min(buf.length, REJECT_HEAD_BYTES)),
  };
}
