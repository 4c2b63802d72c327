// HTTP/2 for the sidecar's tests: an h2c workload on 127.0.0.1 (prior
// knowledge, as the sidecar speaks to a workload), a client helper that
// reads a whole response with its trailers, and raw frames for what no
// well-behaved client sends (rapid resets, connection-specific fields).

import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import type { TestServer } from './servers.ts';

export interface H2Reply { status: number; headers: http2.IncomingHttpHeaders; body: string; trailers: http2.IncomingHttpHeaders }

/** One request on `session` (or a new one to `url`, closed afterwards); the whole body read. */
export async function h2Request(target: string | http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders = {}, body?: string, opts: http2.SecureClientSessionOptions = {}): Promise<H2Reply> {
  const session = typeof target === 'string' ? http2.connect(target, opts) : target;
  try {
    return await new Promise<H2Reply>((resolve, reject) => {
      if (typeof target === 'string') session.once('error', reject); // a shared session's errors reach its streams
      const fields: http2.OutgoingHttpHeaders = { ':path': '/', ...headers };
      for (const k of Object.keys(fields)) if (fields[k] === undefined) delete fields[k]; // CONNECT has no :path
      const stream = session.request(fields, { endStream: body === undefined });
      let head: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      stream.on('response', (h) => { head = h; });
      stream.on('trailers', (t) => { trailers = t; });
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => resolve({ status: Number(head[':status'] ?? 0), headers: head, body: Buffer.concat(chunks).toString('utf8'), trailers }));
      stream.on('error', reject);
      if (body !== undefined) stream.end(body);
    });
  } finally {
    if (typeof target === 'string') session.close();
  }
}

export interface H2Workload extends TestServer {
  /** Requests seen: method, path, HTTP version, headers. */
  readonly seen: { method: string; path: string; version: string; headers: http2.IncomingHttpHeaders }[];
  /** HTTP/2 sessions accepted. */
  sessions(): number;
}

/** An h2c-only workload (HTTP/2 with prior knowledge, no HTTP/1.1); `handler` answers, default 200 "h2 <path>". */
export async function startH2Workload(handler?: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void): Promise<H2Workload> {
  const seen: H2Workload['seen'] = [];
  let sessions = 0;
  const server = http2.createServer();
  const open = new Set<http2.ServerHttp2Session>();
  server.on('session', (s: http2.ServerHttp2Session) => { sessions++; open.add(s); s.once('close', () => open.delete(s)); });
  server.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    seen.push({ method: req.method, path: req.url, version: req.httpVersion, headers: req.headers });
    if (handler) return handler(req, res);
    req.resume();
    res.end(`h2 ${req.url}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => sessions,
    sessions: () => sessions,
    seen,
    close: () => new Promise<void>((r) => { server.close(() => r()); for (const s of open) s.destroy(); }),
  };
}

/** One HTTP/2 frame: 9-byte header (length, type, flags, stream id), then the payload. */
export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId, 5);
  return Buffer.concat([h, payload]);
}

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, GOAWAY: 7 } as const;
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * An HPACK header block of literal fields without indexing (RFC 7541
 * §6.2.2), names and values as given (short ones: 7-bit lengths), for
 * :method GET, :scheme http, :path and :authority plus `extra`.
 */
export function headerBlock(path: string, authority: string, extra: [string, string][] = []): Buffer {
  const parts: number[] = [0x82, 0x86]; // indexed :method GET, :scheme http
  const literal = (name: string, value: string) => {
    parts.push(0x00, name.length, ...Buffer.from(name, 'latin1'), value.length, ...Buffer.from(value, 'latin1'));
  };
  literal(':path', path);
  literal(':authority', authority);
  for (const [k, v] of extra) literal(k, v);
  return Buffer.from(parts);
}

export interface RawOutcome { goaways: { lastStreamId: number; code: number }[]; resets: { streamId: number; code: number }[]; headers: number[] }

/**
 * Writes `frames` after the preface and an empty SETTINGS on a new
 * connection, `batch` frames per write a millisecond apart (as a client
 * over a network sends them); reads the frames the server sends until it
 * closes or `ms` pass.
 */
export function rawH2(port: number, frames: Buffer[], ms = 2_000, batch = Infinity, tlsOpts?: tls.ConnectionOptions): Promise<RawOutcome> {
  return new Promise((resolve) => {
    // With tlsOpts: h2 over TLS, chosen by ALPN (the mTLS inbound listener).
    const s = tlsOpts ? tls.connect({ port, host: '127.0.0.1', ALPNProtocols: ['h2'], ...tlsOpts }) : net.connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    s.on('data', (c: Buffer) => { got = Buffer.concat([got, c]); });
    s.on('error', () => {});
    const timer = setTimeout(() => s.destroy(), ms);
    s.on('close', () => {
      clearTimeout(timer);
      const out: RawOutcome = { goaways: [], resets: [], headers: [] };
      for (let i = 0; i + 9 <= got.length;) {
        const len = got.readUIntBE(i, 3);
        const type = got[i + 3];
        const id = got.readUInt32BE(i + 5) & 0x7fffffff;
        if (i + 9 + len > got.length) break;
        if (type === FRAME.GOAWAY) out.goaways.push({ lastStreamId: got.readUInt32BE(i + 9) & 0x7fffffff, code: got.readUInt32BE(i + 13) });
        if (type === FRAME.RST_STREAM) out.resets.push({ streamId: id, code: got.readUInt32BE(i + 9) });
        if (type === FRAME.HEADERS) out.headers.push(id);
        i += 9 + len;
      }
      resolve(out);
    });
    s.on(tlsOpts ? 'secureConnect' : 'connect', async () => {
      s.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]));
      for (let i = 0; i < frames.length && !s.destroyed; i += batch) {
        s.write(Buffer.concat(frames.slice(i, i + batch)));
        if (i + batch < frames.length) await new Promise((r) => setTimeout(r, 1));
      }
    });
  });
}
