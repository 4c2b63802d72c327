// Real clients of a real control plane for tests: a CA, the operator token,
// and HTTPS clients holding a sidecar's SVID (issued by that CA) or none.

import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { CertificateAuthority, newKeyAndCsr } from '../../../identity/index.ts';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from '../server.ts';
import type { ConfigSnapshot } from '../snapshot.ts';

export interface Reply { status: number; headers: IncomingHttpHeaders; body: Buffer; json<T = Record<string, unknown>>(): T }

export interface HttpsClient {
  request(method: string, path: string, body?: Uint8Array | string | object, headers?: Record<string, string>): Promise<Reply>;
  /** A config stream: resolves the first snapshot matching `pred`; status is the HTTP status. */
  stream(query: string): { status: Promise<number>; next(pred: (s: ConfigSnapshot) => boolean): Promise<ConfigSnapshot>; close(): void };
}

export interface TestControl {
  cp: ControlPlane;
  ca: CertificateAuthority;
  operatorToken: string;
  /** A client presenting the SVID of `proxy` of `service`, from this CA (or another one). */
  sidecar(service: string, proxy: string, ca?: CertificateAuthority, opts?: { localAddress?: string }): Promise<HttpsClient>;
  /** A client with no certificate. */
  anonymous(): HttpsClient;
  /** A client with the operator token. */
  operator(): HttpsClient;
  close(): Promise<void>;
}

export async function startTestControl(opts: Partial<ControlPlaneOptions> = {}): Promise<TestControl> {
  const ca = opts.ca ?? await CertificateAuthority.open({ dir: null, trustDomain: 'test.local' });
  const operatorToken = opts.operatorToken ?? 'test-operator-token';
  const cp = await startControlPlane({ log: () => {}, ...opts, ca, operatorToken });
  const bundle = ca.bundle.toPem();
  return {
    cp, ca, operatorToken,
    async sidecar(service, proxy, issuer = ca, o = {}) {
      const { keyPem, csrPem } = await newKeyAndCsr(proxy);
      const { chainPem } = await issuer.sign({ csrPem, service, proxy });
      return client(cp.url, { key: keyPem, cert: chainPem, ca: bundle, localAddress: o.localAddress });
    },
    anonymous: () => client(cp.url, { ca: bundle }),
    operator: () => client(cp.url, { ca: bundle, headers: { authorization: `Bearer ${operatorToken}` } }),
    close: () => cp.close(),
  };
}

function client(base: string, given: https.RequestOptions): HttpsClient {
  // The chain is checked; the name is not, so a test can send any Host header (DNS rebinding).
  const tls: https.RequestOptions = { ...given, checkServerIdentity: () => undefined };
  const request: HttpsClient['request'] = (method, path, body, headers = {}) => new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined
      : typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
    const req = https.request(new URL(path, base), { ...tls, method, agent: false, headers: { ...tls.headers, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: buf, json: <T>() => JSON.parse(buf.toString('utf8')) as T });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
  const stream: HttpsClient['stream'] = (query) => {
    const seen: ConfigSnapshot[] = [];
    let wake = () => {};
    let buf = '';
    let setStatus: (n: number) => void = () => {};
    const status = new Promise<number>((r) => { setStatus = r; });
    const req = https.get(new URL(`/v1/config/stream?${query}`, base), { ...tls, agent: false }, (res) => {
      setStatus(res.statusCode ?? 0);
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        for (let nl; (nl = buf.indexOf('\n')) >= 0; buf = buf.slice(nl + 1)) {
          try { seen.push(JSON.parse(buf.slice(0, nl))); } catch { /* an error body, not a snapshot */ }
        }
        wake();
      });
    });
    req.on('error', () => setStatus(0));
    const next = async (pred: (s: ConfigSnapshot) => boolean): Promise<ConfigSnapshot> => {
      for (;;) {
        const s = seen.find(pred);
        if (s) return s;
        await new Promise<void>((r) => { wake = r; });
      }
    };
    return { status, next, close: () => req.destroy() };
  };
  return { request, stream };
}
