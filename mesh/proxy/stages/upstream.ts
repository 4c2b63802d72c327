// Forwards the request to the chosen endpoint over its keep-alive pool
// (h1/upstream-pool.ts) and streams both bodies: nothing is buffered whole.
// Resolves when the response has been handed to the client in full; rejects
// with a MeshError otherwise.

import type http from 'node:http';
import type { TLSSocket } from 'node:tls';
import { PEER_IDENTITY_MISMATCH } from '../../../identity/index.ts';
import { MeshError } from '../errors.ts';
import type { RequestContext } from '../context.ts';
import type { Stage } from '../stage.ts';
import type { ResponseHead } from '../h1/response-head.ts';
import type { Exchange, UpstreamError } from '../h1/upstream-conn.ts';
import type { Dispatched, UpstreamPool } from '../h1/upstream-pool.ts';
import { forwardH2, usesH2Upstream } from '../h2/index.ts';
import { forwardUpgrade } from '../upgrade/index.ts';
import { retryAfterIn } from '../retry-after.ts';
import { upstreamTarget } from '../upstream-target.ts';

/** Per-connection headers (RFC 9110 §7.6.1): never forwarded. */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

/** Names a Connection header lists: hop-by-hop as well (RFC 9110 §7.6.1). */
function connectionNamed(value: string | undefined): Set<string> | null {
  if (!value) return null;
  const named = new Set<string>();
  for (const n of value.split(',')) named.add(n.trim().toLowerCase());
  return named;
}

/**
 * The upstream request head: request line, the client's headers as received
 * (raw, names keep their case) less hop-by-hop ones and `drop`, then `add`.
 * Node's parser has already refused a name or value with CR, LF or NUL.
 */
function requestHead(req: http.IncomingMessage, path: string, drop: Set<string>, add: Record<string, string>, host: string, chunked: boolean): string {
  const named = connectionNamed(req.headers.connection);
  let head = `${req.method} ${path} HTTP/1.1\r\n`;
  let hasHost = false;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i].toLowerCase();
    if (HOP_BY_HOP.has(k) || drop.has(k) || named?.has(k) || k in add) continue;
    if (k.charCodeAt(0) === 58) { if (k === ':authority' && !hasHost) { hasHost = true; head += `host: ${raw[i + 1]}\r\n`; } continue; } // HTTP/2 pseudo-headers
    if (chunked && k === 'content-length') continue;
    if (k === 'host') {
      if (hasHost) continue; // an HTTP/2 request's :authority came first
      hasHost = true;
      // As the stages left it: normalize-path makes an absolute-form target's authority the Host (RFC 9112 §3.2.2).
      head += `${raw[i]}: ${req.headers.host ?? raw[i + 1]}\r\n`;
      continue;
    }
    head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  if (!hasHost && !('host' in add)) head += `host: ${host}\r\n`;
  for (const k in add) head += `${k}: ${add[k]}\r\n`;
  if (chunked) head += 'transfer-encoding: chunked\r\n';
  return `${head}\r\n`;
}

/** The upstream's response headers as a flat [name, value, …] list for writeHead, less hop-by-hop ones. */
function responseHeaders(raw: string[]): string[] {
  let named: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) if (raw[i].length === 10 && raw[i].toLowerCase() === 'connection') named = connectionNamed(raw[i + 1]);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i].toLowerCase();
    if (HOP_BY_HOP.has(k) || named?.has(k)) continue;
    out.push(raw[i], raw[i + 1]);
  }
  return out;
}

export const upstreamStage: Stage = {
  name: 'upstream',
  handle: forward,
};

type BodyFraming = 'none' | 'length' | 'chunked';

/**
 * How the request body is delimited toward the upstream, whatever the method.
 * Transfer-Encoding is hop-by-hop, so it is dropped with the others and set
 * again here: Node's client chunks a body by itself only for methods it
 * expects one on (not GET, HEAD, DELETE, OPTIONS), and would otherwise write
 * a GET's body raw, unframed, where the workload parses it as a second
 * request no policy checked and no tap recorded (request smuggling).
 * Content-Length is end-to-end and forwarded as received. A coding other than
 * `chunked` alone is refused (stages/message-checks.ts answers first; this
 * check keeps the upstream safe without it).
 */
function bodyFraming(req: http.IncomingMessage): BodyFraming | MeshError {
  // HTTP/2 delimits a body by frames and may send no Content-Length: chunked toward HTTP/1.1 then.
  const h2 = (req as { stream?: { endAfterHeaders: boolean } }).stream;
  if (h2) return h2.endAfterHeaders ? 'none' : req.headers['content-length'] !== undefined ? 'length' : 'chunked';
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) {
    if (te.trim().toLowerCase() !== 'chunked') {
      return new MeshError('MESH_ERR_BAD_FRAMING', `Transfer-Encoding ${JSON.stringify(te)} cannot be forwarded: only "chunked" alone is; request refused`);
    }
    return 'chunked';
  }
  return Number(req.headers['content-length'] ?? 0) > 0 ? 'length' : 'none';
}

function forward(ctx: RequestContext): Promise<void> {
  if (ctx.upgrade) return forwardUpgrade(ctx); // WebSocket and other HTTP/1.1 upgrades: a tunnel (upgrade/forward.ts)
  if (usesH2Upstream(ctx)) return forwardH2(ctx); // HTTP/2 and gRPC (h2/forward.ts)
  const framing = bodyFraming(ctx.req);
  if (framing instanceof MeshError) return Promise.reject(framing);
  // Requests whose body is known to be empty, or kept by the retry stage, can be replayed on a fresh connection.
  return attempt(ctx, framing === 'none' || ctx.replayBody !== undefined, framing);
}

// A pooled socket the upstream closes just as we reuse it fails before any
// response (the race Node documents for http.ClientRequest#reusedSocket).
// A request without a body is replayed once on a new connection; one with a
// body has been consumed and fails as MESH_ERR_UPSTREAM_RESET (the retry
// stage decides for those).
function attempt(ctx: RequestContext, mayReplay: boolean, framing: BodyFraming): Promise<void> {
  const { ep, target, connectMs, peer } = upstreamTarget(ctx);
  const path = ctx.req.url?.startsWith('/') ? ctx.req.url : absolutePath(ctx.req.url ?? '/');
  let head = requestHead(ctx.req, path, ctx.strippedHeaders, ctx.upstreamHeaders, ctx.authority, framing === 'chunked');
  // A body the retry stage kept (Content-Length framed, as received) goes out with the head, byte for byte.
  if (ctx.replayBody !== undefined) head += ctx.replayBody.toString('latin1');
  // No body: let 'end' come, so the server side is done with it. A body is left paused until
  // the exchange has a connection and reads it (a 'data' listener here would start it flowing into nothing).
  if (mayReplay) ctx.req.resume();
  const pool = ctx.runtime.pools.poolFor(ep.addr, ep.port, peer, ctx.cluster?.max_connections);
  return new Promise<void>((resolve, reject) => {
    new H1Attempt(ctx, { framing, mayReplay, target, peer, head }, resolve, reject).start(pool, connectMs);
  });
}

interface AttemptPlan {
  framing: BodyFraming;
  /** Its body is empty or kept: a stale pooled socket may be replaced by a fresh one. */
  mayReplay: boolean;
  /** host:port, for messages. */
  target: string;
  /** The SPIFFE id the upstream must prove (mTLS), if any. */
  peer: string | undefined;
  head: string;
}

/**
 * One try of the exchange on the pool: the pool's callbacks (Exchange) and
 * the promise the chain waits on, as one object per request rather than a
 * dozen closures (they were a fifth of what each request left to the GC).
 */
class H1Attempt implements Exchange {
  readonly head: string;
  readonly body: Exchange['body'];
  readonly isHead: boolean;
  readonly #ctx: RequestContext;
  readonly #plan: AttemptPlan;
  readonly #resolve: () => void;
  readonly #reject: (e: MeshError) => void;
  #handle: Dispatched | null = null;
  #settled = false;
  /** The retry stage took this answer as a failed try: its body is read to the end (the connection stays pooled) and dropped. */
  #dropped = false;
  readonly #onAbort = () => this.#settle(this.#ctx.signal!.reason as MeshError);
  readonly #onClientGone = () => {
    if (!this.#ctx.res.writableFinished) this.#settle(new MeshError('MESH_ERR_DOWNSTREAM_RESET', `client went away before the response from ${this.#plan.target} was complete`));
  };
  /** Set once the client pushes back (a write returned false). */
  #onDrain: (() => void) | null = null;

  constructor(ctx: RequestContext, plan: AttemptPlan, resolve: () => void, reject: (e: MeshError) => void) {
    this.#ctx = ctx;
    this.#plan = plan;
    this.#resolve = resolve;
    this.#reject = reject;
    this.head = plan.head;
    this.body = plan.framing === 'none' || ctx.replayBody !== undefined ? null : { stream: ctx.req, framing: plan.framing };
    this.isHead = ctx.req.method === 'HEAD';
  }

  start(pool: UpstreamPool, connectMs: number): void {
    const ctx = this.#ctx;
    this.#handle = pool.dispatch(this, connectMs);
    if (this.#settled) return; // refused at once (a closed pool)
    if (ctx.signal?.aborted) return this.#onAbort();
    ctx.signal?.addEventListener('abort', this.#onAbort, { once: true });
    ctx.res.on('close', this.#onClientGone);
  }

  onBodySent(n: number): void { this.#ctx.reqBytes += n; }

  onResponse(h: ResponseHead): void {
    const ctx = this.#ctx;
    ctx.upstreamStatus = h.status;
    if (ctx.retryResponse?.(h.status, h.status === 503 || h.status === 429 ? retryAfterIn(h.raw) : undefined)) { this.#dropped = true; return; }
    const peer = this.#plan.peer;
    if (peer) {
      ctx.dst.identity = peer; // checked in the handshake (checkServerIdentity)
      ctx.tls = (this.#handle?.socket as TLSSocket | null)?.getProtocol?.() ?? '';
    }
    ctx.res.writeHead(h.status, ctx.h2 ? undefined : h.reason || undefined, responseHeaders(h.raw)); // HTTP/2 has no reason phrase
  }

  onData(chunk: Buffer): boolean {
    if (this.#dropped) return true;
    const res = this.#ctx.res;
    this.#ctx.respBytes += chunk.length;
    if (res.write(chunk)) return true;
    res.once('drain', this.#onDrain ??= () => this.#handle?.resume());
    return false;
  }

  onEnd(): void {
    if (this.#settled) return;
    const ctx = this.#ctx;
    if (this.#dropped) return this.#settle(new MeshError('MESH_ERR_UPSTREAM_STATUS', `upstream ${this.#plan.target} answered ${ctx.upstreamStatus}: tried again`), false, true);
    ctx.res.end();
    if (ctx.res.writableFinished) this.#settle(null);
    else ctx.res.once('finish', () => this.#settle(null));
  }

  onError(e: UpstreamError): void {
    if (e.kind === 'stale' && this.#plan.mayReplay) return this.#settle(null, true);
    this.#settle(meshErrorOf(e, this.#plan.target, this.#plan.peer));
  }

  #settle(err: MeshError | null, replay = false, exchangeOver = false): void {
    if (this.#settled) return;
    this.#settled = true;
    const ctx = this.#ctx;
    ctx.signal?.removeEventListener('abort', this.#onAbort);
    ctx.res.off('close', this.#onClientGone);
    if (this.#onDrain) ctx.res.off('drain', this.#onDrain);
    if (replay) { attempt(ctx, false, this.#plan.framing).then(this.#resolve, this.#reject); return; }
    if (err) {
      ctx.req.unpipe();
      if (!exchangeOver) this.#handle?.abort();
      this.#reject(err);
    } else this.#resolve();
  }
}

function meshErrorOf(e: UpstreamError, target: string, peer: string | undefined): MeshError {
  if (peer && (e.kind === 'tls' || e.code === PEER_IDENTITY_MISMATCH)) {
    return new MeshError('MESH_ERR_UPSTREAM_IDENTITY', `upstream ${target} is not ${peer}: ${e.message}`.replace(/\s+/g, ' '), { cause: e });
  }
  if (e.kind === 'tls') return new MeshError('MESH_ERR_UPSTREAM_RESET', `TLS with upstream ${target} failed: ${e.message}`.replace(/\s+/g, ' '), { cause: e });
  if (e.kind === 'connect') return new MeshError('MESH_ERR_UPSTREAM_CONNECT', e.message.startsWith('connect to') ? e.message : `connect to ${target} failed: ${e.message}`, { cause: e });
  return new MeshError('MESH_ERR_UPSTREAM_RESET', `upstream ${target} ${e.message}`, { cause: e });
}

function absolutePath(target: string): string {
  try { const u = new URL(target); return u.pathname + u.search; } catch { return '/'; }
}
