// HTTP edge of the collector: POST /v1/taps from ingest/bus/embedded.ts.
// Reads the raw body (mount it before any body-parsing middleware), caps its
// size, hands the batch frame to the collector and turns the outcome into
// the reply the publisher expects:
//   200 {accepted: true, duplicate}   stored, or an honest resend
//   4xx {code, message}               rejected for good
//   503 {code, message}               try the same batch again later

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Collector, CollectorResult } from './collector.ts';
import { IngestError } from './errors.ts';
import type { GroupCommit } from './group-commit.ts';

export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface TapPostOptions {
  /** Largest accepted body in bytes (default 16 MiB). */
  maxBodyBytes?: number;
  /**
   * Judge the batch with the next group of this GroupCommit (one INSERT for
   * the batches of all sidecars that posted meanwhile) instead of on its own.
   * Measured in `meshlens up`: five sidecars posting ~3 batches/s each made
   * ~35 small INSERTs/s, and chdb's per-insert work (parts per table and
   * view, and their merges) kept the control process at ~1 core.
   */
  group?: GroupCommit;
  /**
   * The proxy id the connection is authenticated as (the subject CN of the
   * mTLS peer's SVID, e.g. identity/'s verifiedPeer(req.socket)): a batch whose header names
   * another proxy is refused (INGEST_ERR_SENDER). Unset: not checked.
   */
  sender?: string;
}

type Body = { ok: true; frame: Buffer } | { ok: false; error: IngestError };

/**
 * Reads the whole body, or past the cap keeps draining it without keeping
 * it, so the 413 reaches a sender that is still writing instead of being
 * lost to a reset connection. Slow or endless senders are bounded by the
 * server's own requestTimeout.
 */
function readBody(req: IncomingMessage, max: number): Promise<Body> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= max) chunks.push(c);
      else chunks.length = 0;
    });
    req.on('error', (e) => resolve({ ok: false, error: new IngestError('INGEST_ERR_MALFORMED', `tap batch body could not be read: ${e.message}`) }));
    req.on('end', () => {
      if (size > max) {
        resolve({ ok: false, error: new IngestError('INGEST_ERR_TOO_LARGE', `tap batch body is ${size} bytes, the limit is ${max}`) });
      } else {
        resolve({ ok: true, frame: Buffer.concat(chunks) });
      }
    });
  });
}

function reply(res: ServerResponse, r: CollectorResult): void {
  const status = r.ok ? 200 : r.status;
  const body = r.ok ? { accepted: true, duplicate: r.duplicate } : { code: r.code, message: r.message };
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Handles one POST of a tap batch; always answers, never throws. */
export async function handleTapPost(collector: Collector, req: IncomingMessage, res: ServerResponse, opts: TapPostOptions = {}): Promise<void> {
  const max = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const body = await readBody(req, max);
  if (!body.ok) {
    reply(res, collector.refuse(body.error));
    return;
  }
  const [result] = opts.group
    ? await opts.group.submit([body.frame], body.frame.length, [opts.sender])
    : [await collector.accept(body.frame, opts.sender)];
  reply(res, result);
}
