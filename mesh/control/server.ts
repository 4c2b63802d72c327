// The control plane's HTTP face: config streams and ACKs for sidecars, the
// registry and status for people, and (embedded mode) the tap collector's
// POST endpoint, handed in by whoever composes the process.

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigStreams, type ProxyState } from './config-stream.ts';
import { ServiceRegistry } from './registry.ts';
import { DEFAULT_MESH_SETTINGS, type MeshSettings } from './snapshot-builder.ts';

export interface ControlPlaneOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  settings?: Partial<MeshSettings>;
  /** Handles POST /v1/taps (the embedded collector). Absent: 404. */
  taps?: (req: IncomingMessage, res: ServerResponse) => void;
  /** Extra status merged into GET /v1/status (e.g. collector counters). */
  extraStatus?: () => Record<string, unknown>;
}

export interface ControlStatus {
  version: number;
  services: Record<string, { instance: string; addr: string; port: number }[]>;
  proxies: ProxyState[];
  [k: string]: unknown;
}

export interface ControlPlane {
  url: string;
  registry: ServiceRegistry;
  status(): ControlStatus;
  close(): Promise<void>;
}

const MAX_ACK_BYTES = 64 * 1024;

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const registry = new ServiceRegistry();
  const streams = new ConfigStreams(registry, { ...DEFAULT_MESH_SETTINGS, ...opts.settings });

  const status = (): ControlStatus => ({
    version: streams.version,
    services: Object.fromEntries(registry.services()),
    proxies: streams.proxies(),
    ...opts.extraStatus?.(),
  });

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://control');
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /v1/config/stream': return streams.open(req, res, url.searchParams);
      case 'POST /v1/config/ack': return readJson(req, MAX_ACK_BYTES, (err, body) => {
        const problem = err ?? streams.ack(body);
        if (problem) return reply(res, 400, { code: 'MESH_ERR_BAD_ACK', message: problem });
        res.writeHead(204).end();
      });
      case 'POST /v1/taps':
        if (opts.taps) return opts.taps(req, res);
        return reply(res, 404, { code: 'MESH_ERR_NO_COLLECTOR', message: 'this control plane runs no collector' });
      case 'GET /v1/status': return reply(res, 200, status());
      case 'GET /healthz': return reply(res, 200, { ok: true });
      default: return reply(res, 404, { code: 'MESH_ERR_NOT_FOUND', message: `no route for ${route}` });
    }
  });
  // Config streams live for hours: no idle or request deadline on them.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;

  return {
    url: `http://${address}:${port}`,
    registry,
    status,
    async close() {
      streams.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readJson(req: IncomingMessage, limit: number, done: (err: string | null, body?: unknown) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let failed = false;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > limit && !failed) { failed = true; done(`body larger than ${limit} bytes`); req.resume(); }
    else if (!failed) chunks.push(c);
  });
  req.on('end', () => {
    if (failed) return;
    try { done(null, JSON.parse(Buffer.concat(chunks).toString('utf8'))); }
    catch (e) { done(`body is not JSON: ${(e as Error).message}`); }
  });
}
