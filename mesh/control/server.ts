// The control plane's HTTP face: config streams and ACKs for sidecars, the
// inbound authorization bundle (by digest; replaced by PUT from loopback or
// setPolicyBundle), the registry and status for people, and (embedded mode)
// the tap collector's POST endpoint, handed in by whoever composes the process.

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigStreams, type ProxyState } from './config-stream.ts';
import { PolicyBundles, type PolicyStatus } from './policy-bundles.ts';
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
  /** Inbound authorization bundle (OPA .tar.gz with entrypoint AUTHZ_ENTRYPOINT) in force from the start. */
  policyBundle?: { bytes: Uint8Array; source: string };
}

export interface ControlStatus {
  version: number;
  services: Record<string, { instance: string; addr: string; port: number }[]>;
  proxies: ProxyState[];
  policy: PolicyStatus;
  [k: string]: unknown;
}

export interface ControlPlane {
  url: string;
  registry: ServiceRegistry;
  status(): ControlStatus;
  /**
   * Checks and installs a new inbound authorization bundle; every sidecar gets
   * a new snapshot version naming its digest. Resolves with the digest and that
   * version; rejects with AuthzBundleError (nothing changes) for a bad bundle.
   */
  setPolicyBundle(bytes: Uint8Array, source: string): Promise<{ digest: string; version: number }>;
  close(): Promise<void>;
}

const MAX_ACK_BYTES = 64 * 1024;

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const registry = new ServiceRegistry();
  const policy = new PolicyBundles();
  if (opts.policyBundle) await policy.set(opts.policyBundle.bytes, opts.policyBundle.source);
  const streams = new ConfigStreams(registry, { ...DEFAULT_MESH_SETTINGS, ...opts.settings }, Date.now, () => policy.digest);
  policy.onChange(() => streams.pushAll());

  const status = (): ControlStatus => ({
    version: streams.version,
    services: Object.fromEntries(registry.services()),
    proxies: streams.proxies(),
    policy: policy.status(),
    ...opts.extraStatus?.(),
  });

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://control');
    const route = `${req.method} ${url.pathname}`;
    const BUNDLE = 'GET /v1/policy/bundles/';
    if (route.startsWith(BUNDLE)) return policy.serve(res, route.slice(BUNDLE.length));
    switch (route) {
      case 'PUT /v1/policy/bundle': return policy.put(req, res, () => streams.version);
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
    async setPolicyBundle(bytes, source) {
      const digest = await policy.set(bytes, source);
      return { digest, version: streams.version };
    },
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
