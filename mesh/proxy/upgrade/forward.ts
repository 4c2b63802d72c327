// The upstream side of an HTTP/1.1 upgrade: a connection of its own to the
// endpoint (mTLS with ALPN http/1.1 to a peer sidecar, plaintext to the
// workload), the request head with its Upgrade and `Connection: upgrade`
// kept (the only hop-by-hop fields that must reach the next hop for an
// upgrade to happen), then the answer: 101 makes the two sockets one byte
// tunnel and the request is over (its tap says 101); any other answer is
// passed on as a response and both connections close.
//
// An allowed CONNECT (ctx.tunnel, stages/connect.ts) is the same with three
// differences: outbound, the peer sidecar is asked `CONNECT <service>:<port>`
// and a 2xx (not 101) opens the tunnel; inbound, the connection goes to the
// workload's host at the tunnel's port and is the tunnel as soon as it is
// open (nothing is asked of the workload); the client is told `200
// Connection Established`, with no framing fields (RFC 9110 §9.3.6).

import net from 'node:net';
import tls from 'node:tls';
import { PEER_IDENTITY_MISMATCH } from '../../../identity/index.ts';
import type { RequestContext } from '../context.ts';
import { MeshError } from '../errors.ts';
import { upstreamTarget } from '../upstream-target.ts';
import { ChunkedDecoder } from '../h1/chunked-decoder.ts';
import { parseResponseHead, type ResponseHead } from '../h1/response-head.ts';
import { CONNECTION_SPECIFIC } from '../h2/index.ts';

export function isWebSocket(req: { headers: { upgrade?: string } }): boolean {
  return /^websocket$/i.test(req.headers.upgrade?.trim() ?? '');
}

/** The request head toward the upstream: the client's fields less hop-by-hop ones, with the upgrade (or CONNECT) asked for again. */
function upgradeHead(ctx: RequestContext): string {
  const req = ctx.req;
  const tunnel = ctx.tunnel;
  let head = tunnel ? `CONNECT ${tunnel.host}:${tunnel.port} HTTP/1.1\r\n` : `${req.method} ${req.url} HTTP/1.1\r\n`;
  let hasHost = false;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i].toLowerCase();
    if (CONNECTION_SPECIFIC.has(k) || ctx.strippedHeaders.has(k) || k in ctx.upstreamHeaders) continue;
    if (k === 'host') { if (tunnel) continue; hasHost = true; }
    head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  if (tunnel) head += `host: ${tunnel.host}:${tunnel.port}\r\n`;
  else if (!hasHost) head += `host: ${ctx.authority}\r\n`;
  for (const k in ctx.upstreamHeaders) head += `${k}: ${ctx.upstreamHeaders[k]}\r\n`;
  return tunnel ? `${head}\r\n` : `${head}upgrade: ${req.headers.upgrade}\r\nconnection: upgrade\r\n\r\n`;
}

/** The upstream's answer fields for the client; a 101 keeps Upgrade and Connection, which make it one. */
function answerFields(h: ResponseHead, switching: boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i < h.raw.length; i += 2) {
    const k = h.raw[i].toLowerCase();
    if (CONNECTION_SPECIFIC.has(k) && !(switching && (k === 'upgrade' || k === 'connection'))) continue;
    out.push(h.raw[i], h.raw[i + 1]);
  }
  return out;
}

export function forwardUpgrade(ctx: RequestContext): Promise<void> {
  const { socket: client, head: early } = ctx.upgrade!;
  const { ep, target, connectMs, peer } = upstreamTarget(ctx);
  const rt = ctx.runtime;
  const secure = rt.pools.tlsFor(peer, 'http/1.1');
  // Inbound, a CONNECT goes to the workload's host at its own port, and is the tunnel once connected.
  const toWorkload = ctx.tunnel !== undefined && ctx.direction === 'inbound';
  const port = toWorkload ? ctx.tunnel!.port : ep.port;
  if (toWorkload) ctx.upstream = `${ep.addr}:${port}`;
  const up: net.Socket = secure ? tls.connect({ ...secure, host: ep.addr, port }) : net.connect({ host: ep.addr, port });
  const res = ctx.res;

  return new Promise<void>((resolve, reject) => {
    let connected = false;
    let settled = false;
    let buf: Buffer = Buffer.alloc(0);
    const settle = (err: MeshError | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ctx.signal?.removeEventListener('abort', onAbort);
      client.off('close', onClientGone);
      if (err) { up.destroy(); reject(err); } else resolve();
    };
    const timer = setTimeout(() => settle(new MeshError('MESH_ERR_UPSTREAM_CONNECT', `connect to ${target} timed out after ${connectMs} ms`)), connectMs);
    const onAbort = () => settle(ctx.signal!.reason as MeshError);
    const onClientGone = () => settle(new MeshError('MESH_ERR_DOWNSTREAM_RESET', `client went away before ${target} answered the upgrade`));

    up.once(secure ? 'secureConnect' : 'connect', () => {
      connected = true;
      clearTimeout(timer);
      if (peer) { ctx.dst.identity = peer; ctx.tls = (up as tls.TLSSocket).getProtocol() ?? ''; }
      if (toWorkload) { up.off('data', onData); ctx.upstreamStatus = 200; return tunnel(null, Buffer.alloc(0)); }
      up.write(upgradeHead(ctx));
      if (early.length > 0 && !ctx.tunnel) up.write(early);
    });
    up.on('error', (e: NodeJS.ErrnoException) => {
      if (peer && !connected && (e.code === PEER_IDENTITY_MISMATCH || !/^E[A-Z]+$/.test(e.code ?? ''))) {
        return settle(new MeshError('MESH_ERR_UPSTREAM_IDENTITY', `upstream ${target} is not ${peer}: ${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' ')));
      }
      settle(connected
        ? new MeshError('MESH_ERR_UPSTREAM_RESET', `upstream ${target} failed during the upgrade: ${e.code ?? e.message}`)
        : new MeshError('MESH_ERR_UPSTREAM_CONNECT', `connect to ${target} failed: ${e.code ?? e.message}`));
    });
    up.once('close', () => settle(new MeshError('MESH_ERR_UPSTREAM_RESET', `upstream ${target} closed before answering the upgrade`)));
    const onData = (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      let h: ResponseHead | null;
      try { h = parseResponseHead(buf); } catch (e) {
        return settle(new MeshError('MESH_ERR_UPSTREAM_RESET', `upstream ${target} answered the upgrade with a malformed head: ${(e as Error).message}`));
      }
      if (!h) return;
      up.off('data', onData);
      ctx.upstreamStatus = h.status;
      const rest = buf.subarray(h.size);
      if (ctx.tunnel ? h.status >= 200 && h.status < 300 : h.status === 101) tunnel(h, rest); else answer(h, rest);
    };
    up.on('data', onData);

    /** 101 (a CONNECT: 200): the head goes to the client, then the sockets are piped both ways until either closes. */
    function tunnel(h: ResponseHead | null, rest: Buffer) {
      if (ctx.tunnel) {
        // Nothing but the status line: a 2xx to CONNECT has no body, so no framing or connection fields.
        res.sendDate = false;
        for (const k of ['connection', 'transfer-encoding', 'content-length']) res.removeHeader(k);
        res.writeHead(200, 'Connection Established');
        countTunnel(ctx, client, up, early);
      } else res.writeHead(101, answerFields(h!, true));
      res.flushHeaders();
      res.detachSocket(client);
      if (rest.length > 0) client.write(rest);
      if (ctx.tunnel && early.length > 0) up.write(early); // bytes the client sent past its CONNECT: the tunnel's first
      client.pipe(up);
      up.pipe(client);
      // Idle both ways for tunnelIdleMs: closed. The client socket's timer sees both directions (its reads and its writes).
      client.setTimeout(ctx.runtime.opts.tunnelIdleMs, () => { ctx.runtime.counters.tunnels_idle_closed++; client.destroy(); });
      up.once('close', () => client.destroy());
      client.once('close', () => up.destroy());
      settled = true;
      clearTimeout(timer);
      ctx.signal?.removeEventListener('abort', onAbort);
      client.off('close', onClientGone);
      resolve();
    }

    /** Anything else: an ordinary response, read by its framing; then both connections close. */
    function answer(h: ResponseHead, rest: Buffer) {
      res.writeHead(h.status, h.reason || undefined, answerFields(h, false));
      const noBody = ctx.req.method === 'HEAD' || h.status === 204 || h.status === 304 || h.status < 200;
      let left = h.framing === 'length' ? h.contentLength : Infinity;
      const chunks = h.framing === 'chunked' ? new ChunkedDecoder() : null;
      const done = () => { up.off('data', onBody); up.destroy(); res.end(); settle(null); };
      const feed = (data: Buffer) => {
        if (chunks) {
          chunks.feed(data, 0, (piece) => { ctx.respBytes += piece.length; res.write(piece); });
          if (chunks.done) done();
          return;
        }
        const piece = data.subarray(0, Math.min(data.length, left));
        ctx.respBytes += piece.length;
        res.write(piece);
        left -= piece.length;
        if (left <= 0) done();
      };
      const onBody = (d: Buffer) => { try { feed(d); } catch (e) { settle(new MeshError('MESH_ERR_UPSTREAM_RESET', `upstream ${target}: ${(e as Error).message}`)); } };
      if (noBody || left === 0) return done();
      up.on('data', onBody);
      up.once('end', () => { if (h.framing === 'close') done(); });
      if (rest.length > 0) feed(rest);
    }

    if (ctx.signal?.aborted) return onAbort();
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    client.once('close', onClientGone);
  });
}

/** A CONNECT tunnel opened: counted now, and its bytes each way (from the client's side) once it closes. */
function countTunnel(ctx: RequestContext, client: net.Socket, up: net.Socket, early: Buffer): void {
  const c = ctx.runtime.counters.connect;
  c.tunnels++;
  c.open++;
  let toUpstream = early.length;
  let toClient = 0;
  const onUp = (d: Buffer) => { toUpstream += d.length; };
  const onDown = (d: Buffer) => { toClient += d.length; };
  client.on('data', onUp);
  up.on('data', onDown);
  client.once('close', () => {
    c.open--;
    c.bytes_to_upstream += toUpstream;
    c.bytes_to_client += toClient;
  });
}
