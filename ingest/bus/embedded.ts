// Embedded bus: a sidecar POSTs each sealed batch (its frame, ../batch.ts) to the control plane's
// collector at `${url}/v1/taps`. The collector answers only after the batch
// is in ClickHouse:
//   200 {accepted, duplicate}   stored (or already stored: an honest retry)
//   400/409/413 {code, message} rejected for good (malformed, broken chain, too big)
//   503 {code, message}         store unavailable: try again later
// Anything else, or no answer, is treated as retriable.

import http from 'node:http';
import https from 'node:https';
import type { TapBatch } from '../batch.ts';
import { frameOf, type BatchLabel, type PublishResult, type TapPublisher } from './publisher.ts';

export interface EmbeddedPublisherOptions {
  timeoutMs?: number;
  /**
   * The connection pool to post through; for an https:// collector an
   * https.Agent carrying the sidecar's client certificate (the control plane
   * takes taps over mTLS only). Asked per batch, so a renewed certificate is
   * used from the next batch on.
   */
  agent?: () => http.Agent;
  /** The largest frame posted (default 4 MiB, under the collector's 16 MiB body limit). */
  maxFrameBytes?: number;
}

export class EmbeddedPublisher implements TapPublisher {
  readonly #ownAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  readonly #agent: () => http.Agent;
  readonly #url: URL;
  readonly #timeoutMs: number;
  readonly maxFrameBytes: number;

  constructor(collectorUrl: string, opts: EmbeddedPublisherOptions = {}) {
    this.maxFrameBytes = opts.maxFrameBytes ?? 4 * 1024 * 1024;
    this.#url = new URL('/v1/taps', collectorUrl);
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#agent = opts.agent ?? (() => this.#ownAgent);
  }

  publish(batch: TapBatch | BatchLabel, frame?: Buffer): Promise<PublishResult> {
    const body = frameOf(batch, frame);
    return new Promise((resolve) => {
      const req = (this.#url.protocol === 'https:' ? https : http).request(this.#url, {
        method: 'POST', agent: this.#agent(), timeout: this.#timeoutMs,
        headers: { 'content-type': 'application/x-ndjson', 'content-length': body.length },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => resolve({ ok: false, retriable: true, code: 'INGEST_ERR_TRANSPORT', message: e.message }));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          let reply: Record<string, unknown> = {};
          try { reply = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { /* non-JSON reply: judged by status */ }
          if (status === 200) resolve({ ok: true, duplicate: reply.duplicate === true });
          else resolve({
            ok: false,
            retriable: !(status === 400 || status === 409 || status === 413),
            code: typeof reply.code === 'string' ? reply.code : `HTTP_${status}`,
            message: typeof reply.message === 'string' ? reply.message : `collector answered ${status}`,
          });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer from collector within ${this.#timeoutMs} ms`)));
      req.on('error', (e) => resolve({ ok: false, retriable: true, code: 'INGEST_ERR_TRANSPORT', message: e.message }));
      writeInPieces(req, body, 0);
    });
  }

  async close(): Promise<void> {
    this.#ownAgent.destroy();
  }
}

/** Bytes of a frame written per event-loop turn. */
const PIECE_BYTES = 256 * 1024;

/**
 * Writes a frame a piece per turn: over TLS, writing a 4 MiB frame at once
 * encrypted all of it in one go, holding the sidecar's requests ~8 ms.
 */
function writeInPieces(req: http.ClientRequest, body: Buffer, at: number): void {
  if (req.destroyed) return;
  const end = Math.min(body.length, at + PIECE_BYTES);
  if (end === body.length) { req.end(at === 0 ? body : body.subarray(at)); return; }
  req.write(body.subarray(at, end));
  setImmediate(() => writeInPieces(req, body, end));
}
