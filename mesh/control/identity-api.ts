// The control plane's certificate issuing endpoints (the CA is ../../identity):
//
//   POST /v1/identity/svid    Authorization: Bearer <join token>, body {csr}
//        -> 200 {chain_pem, bundle_pem, spiffe_id, not_after}; the token is spent.
//   POST /v1/identity/renew   over mTLS with the current SVID, body {csr}
//        -> 200 the same shape, same identity as the certificate presented.
//   GET  /v1/identity/bundle  -> 200 the trust bundle (PEM); public.
//
// The identity in a certificate comes from the token's grant or the
// presented certificate, never from the CSR. Every refusal is counted and
// answered {code, message}.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { CertificateAuthority, IdentityError, JoinTokens, type IssuedSvid } from '../../identity/index.ts';
import { readJson, reply } from './http-json.ts';
import { verifiedPeer } from './peer.ts';

export interface IdentityCounters {
  svids_issued: number;
  renewals: number;
  refused: number;
  last_refusal: string;
}

export const MAX_CSR_BYTES = 16 * 1024;

export class IdentityApi {
  readonly counters: IdentityCounters = { svids_issued: 0, renewals: 0, refused: 0, last_refusal: '' };

  constructor(
    readonly ca: CertificateAuthority,
    readonly tokens: JoinTokens,
    private readonly svidTtlMs: number,
    private readonly log: (m: string) => void,
  ) {}

  async svid(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const auth = req.headers.authorization ?? '';
    const token = /^Bearer (\S+)$/.exec(auth)?.[1] ?? '';
    const body = await readCsr(req);
    if (typeof body === 'string') return this.#refuse(res, 400, 'MESH_ERR_BAD_CSR', body, req);
    let grant;
    try {
      grant = this.tokens.redeem(token);
    } catch (e) {
      return this.#refuse(res, 401, 'MESH_ERR_BAD_JOIN_TOKEN', (e as Error).message, req);
    }
    await this.#issue(res, req, () => this.ca.sign({ csrPem: body.csr, service: grant.service, proxy: grant.proxy, namespace: grant.namespace, ttlMs: this.svidTtlMs }));
    this.counters.svids_issued++;
  }

  async renew(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const peer = verifiedPeer(req);
    if (!peer.ok) return this.#refuse(res, 401, 'MESH_ERR_UNAUTHENTICATED', peer.message, req);
    const body = await readCsr(req);
    if (typeof body === 'string') return this.#refuse(res, 400, 'MESH_ERR_BAD_CSR', body, req);
    const { service, proxy, namespace } = peer.svid;
    await this.#issue(res, req, () => this.ca.sign({ csrPem: body.csr, service, proxy, namespace, ttlMs: this.svidTtlMs }));
    this.counters.renewals++;
  }

  bundle(res: ServerResponse): void {
    const pem = this.ca.bundle.toPem();
    res.writeHead(200, { 'content-type': 'application/x-pem-file', 'content-length': Buffer.byteLength(pem), 'cache-control': 'no-store' });
    res.end(pem);
  }

  async #issue(res: ServerResponse, req: IncomingMessage, sign: () => Promise<IssuedSvid>): Promise<void> {
    let issued: IssuedSvid;
    try {
      issued = await sign();
    } catch (e) {
      if (e instanceof IdentityError) return this.#refuse(res, 400, 'MESH_ERR_BAD_CSR', e.message, req);
      throw e;
    }
    res.setHeader('cache-control', 'no-store');
    reply(res, 200, { chain_pem: issued.chainPem, bundle_pem: this.ca.bundle.toPem(), spiffe_id: issued.svid.uri, not_after: issued.svid.notAfter });
  }

  #refuse(res: ServerResponse, status: number, code: string, message: string, req: IncomingMessage): void {
    this.counters.refused++;
    this.counters.last_refusal = `${code}: ${message}`;
    this.log(`identity: refused ${req.method} ${req.url} from ${req.socket.remoteAddress}: ${code}: ${message}`);
    reply(res, status, { code, message });
  }
}

/** The body {csr}, or a message naming what is wrong with it. */
function readCsr(req: IncomingMessage): Promise<{ csr: string } | string> {
  return new Promise((resolve) => {
    req.on('error', (e) => resolve(`body could not be read: ${e.message}`));
    readJson(req, MAX_CSR_BYTES, (err, body) => {
      if (err) return resolve(err);
      const csr = (body as { csr?: unknown } | null)?.csr;
      resolve(typeof csr === 'string' ? { csr } : 'body must be {"csr": "<PKCS#10 PEM>"}');
    });
  });
}
