// The sidecar's own identity: an X.509 SVID whose private key is made here
// and never leaves this process (and its state dir, 0600).
//
// Where the first certificate comes from, in order:
//   1. `static` material handed in (tests; certificates issued by other tooling),
//   2. `<state-dir>/identity/` from an earlier run, if it still verifies,
//   3. a join token (MESHLENS_JOIN_TOKEN): POST /v1/identity/svid with a CSR.
// Renewal: at half the certificate's remaining life, POST /v1/identity/renew
// over mTLS with the current certificate and a CSR for a NEW key; on failure
// it retries with backoff until the old certificate expires. Listeners and
// client pools read current() for every new connection, so a renewal never
// fails a request: connections already open keep the certificate they shook
// hands with (TLS checks certificates at the handshake only).
//
// The control plane is checked like any peer: its certificate must chain to
// the trust bundle and carry spiffe://<td>/ns/meshlens/sa/control.

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { certificatesFromPem, expectPeer, formatSpiffeId, IdentityError, newKeyAndCsr, TrustBundle, type Svid } from '../../identity/index.ts';
import { CONTROL_NAMESPACE, CONTROL_SERVICE } from '../control/snapshot.ts';

export interface TlsMaterial {
  keyPem: string;
  chainPem: string;
  bundlePem: string;
  bundle: TrustBundle;
  svid: Svid;
}

export interface WorkloadIdentityOptions {
  proxy: string;
  service: string;
  /** https:// URL of the control plane (issuing and renewal). */
  controlUrl?: string;
  /** PEM trust bundle to check the control plane with before we have one of our own. */
  bootstrapBundlePem?: string;
  joinToken?: string;
  stateDir?: string;
  static?: { keyPem: string; chainPem: string; bundlePem: string };
  log?: (m: string) => void;
  now?: () => number;
}

export interface IdentityCounters {
  spiffe_id: string;
  not_after: number;
  renewals: number;
  renewal_failures: number;
  last_error: string;
}

export class WorkloadIdentity {
  #m: TlsMaterial;
  readonly #o: WorkloadIdentityOptions;
  readonly #listeners = new Set<(m: TlsMaterial) => void>();
  readonly #c: IdentityCounters;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  private constructor(m: TlsMaterial, o: WorkloadIdentityOptions) {
    this.#m = m;
    this.#o = o;
    this.#c = { spiffe_id: m.svid.uri, not_after: m.svid.notAfter, renewals: 0, renewal_failures: 0, last_error: '' };
  }

  static async obtain(o: WorkloadIdentityOptions): Promise<WorkloadIdentity> {
    const now = o.now ?? Date.now;
    const dir = o.stateDir ? join(o.stateDir, 'identity') : null;
    let m: TlsMaterial | null = null;
    if (o.static) {
      m = material(o.static.keyPem, o.static.chainPem, o.static.bundlePem, now());
    } else if (dir && existsSync(join(dir, 'key.pem'))) {
      try {
        m = material(readFileSync(join(dir, 'key.pem'), 'utf8'), readFileSync(join(dir, 'chain.pem'), 'utf8'), readFileSync(join(dir, 'bundle.pem'), 'utf8'), now());
        if (m.svid.proxy !== o.proxy || m.svid.service !== o.service) {
          throw new IdentityError(`it is ${m.svid.uri} for proxy ${m.svid.proxy}, this sidecar is ${o.service}/${o.proxy}`);
        }
        o.log?.(`identity: ${m.svid.uri} from ${dir}, valid until ${new Date(m.svid.notAfter).toISOString()}`);
      } catch (e) {
        o.log?.(`identity: the certificate in ${dir} is not usable (${(e as Error).message}); asking for a new one`);
        m = null;
      }
    }
    if (!m) {
      if (!o.joinToken) throw new IdentityError(`sidecar ${o.proxy}: no identity: set MESHLENS_JOIN_TOKEN to a join token for ${o.service}/${o.proxy} (meshlens token create), or give --state-dir holding an earlier certificate`);
      if (!o.controlUrl || !o.bootstrapBundlePem) throw new IdentityError(`sidecar ${o.proxy}: a join token needs --control https://… and --trust-bundle`);
      const { keyPem, csrPem } = await newKeyAndCsr(o.proxy);
      const bundle = TrustBundle.fromPem(o.bootstrapBundlePem);
      const got = await post(o.controlUrl, '/v1/identity/svid', { csr: csrPem }, { ca: bundle.toPem(), headers: { authorization: `Bearer ${o.joinToken}` } }, trustDomainOf(bundle));
      m = material(keyPem, got.chain_pem, got.bundle_pem, now());
      if (m.svid.proxy !== o.proxy || m.svid.service !== o.service) {
        // Its taps would be refused (the collector checks the signer is the proxy the batch names): stop now, saying why.
        throw new IdentityError(`the join token was issued for ${m.svid.service}/${m.svid.proxy}, this sidecar is ${o.service}/${o.proxy} (--service/--id): ask for a token for this sidecar`);
      }
      o.log?.(`identity: ${m.svid.uri} issued with a join token, valid until ${new Date(m.svid.notAfter).toISOString()}`);
    }
    if (o.static && (m.svid.proxy !== o.proxy || m.svid.service !== o.service)) {
      // Its taps would be refused (the collector checks the signer is the batch's proxy and each tap's own side its service).
      throw new IdentityError(`--svid-cert is for ${m.svid.service}/${m.svid.proxy}, this sidecar is ${o.service}/${o.proxy} (--service/--id)`);
    }
    if (dir && !o.static) persist(dir, m);
    const id = new WorkloadIdentity(m, o);
    if (!o.static && o.controlUrl) id.#schedule();
    return id;
  }

  current(): TlsMaterial { return this.#m; }

  counters(): IdentityCounters { return { ...this.#c }; }

  /** Called with the new material after every renewal. */
  onRotate(fn: (m: TlsMaterial) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** The SPIFFE id another service of this trust domain has. */
  peerId(service: string, namespace = 'default'): string {
    return formatSpiffeId({ trustDomain: this.#m.svid.trustDomain, namespace, service });
  }

  /** TLS options for a request to the control plane (client certificate, server checked). */
  controlTls(): https.RequestOptions {
    const m = this.#m;
    return { key: m.keyPem, cert: m.chainPem, ca: m.bundlePem, checkServerIdentity: expectPeer(this.peerId(CONTROL_SERVICE, CONTROL_NAMESPACE)) };
  }

  /** Renews now (tests; also what the timer does). */
  async renew(): Promise<void> {
    const o = this.#o;
    const { keyPem, csrPem } = await newKeyAndCsr(o.proxy);
    const got = await post(o.controlUrl!, '/v1/identity/renew', { csr: csrPem }, this.controlTls(), this.#m.svid.trustDomain);
    const m = material(keyPem, got.chain_pem, got.bundle_pem, (o.now ?? Date.now)());
    if (m.svid.uri !== this.#m.svid.uri || m.svid.proxy !== this.#m.svid.proxy) {
      throw new IdentityError(`renewal returned ${m.svid.uri}/${m.svid.proxy}, not ${this.#m.svid.uri}/${this.#m.svid.proxy}`);
    }
    this.#m = m;
    this.#c.renewals++;
    this.#c.not_after = m.svid.notAfter;
    if (o.stateDir) persist(join(o.stateDir, 'identity'), m);
    for (const fn of this.#listeners) fn(m);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  #schedule(retryMs = 0): void {
    if (this.#closed) return;
    const now = (this.#o.now ?? Date.now)();
    const left = this.#m.svid.notAfter - now;
    const delay = retryMs > 0 ? Math.min(retryMs, Math.max(0, left - 1_000)) : Math.max(0, left / 2);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.renew().then(() => this.#schedule(), (e: Error) => {
        this.#c.renewal_failures++;
        this.#c.last_error = `renewal: ${e.message}`;
        this.#o.log?.(`identity: renewing ${this.#m.svid.uri} failed (${e.message}); the certificate is valid for ${Math.round(left / 1000)} s more`);
        this.#schedule(Math.min(Math.max(retryMs * 2, 500), 10_000));
      });
    }, delay);
    this.#timer.unref();
  }
}

function trustDomainOf(bundle: TrustBundle): string {
  const san = bundle.roots[0].subjectAltName ?? '';
  const m = /URI:spiffe:\/\/([^/,\s]+)/.exec(san);
  if (!m) throw new IdentityError('trust bundle: its first root names no spiffe://<trust-domain> URI SAN');
  return m[1];
}

function material(keyPem: string, chainPem: string, bundlePem: string, now: number): TlsMaterial {
  const bundle = TrustBundle.fromPem(bundlePem);
  const svid = bundle.verify(certificatesFromPem(chainPem), now);
  return { keyPem, chainPem, bundlePem, bundle, svid };
}

function persist(dir: string, m: TlsMaterial): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [name, text, mode] of [['key.pem', m.keyPem, 0o600], ['chain.pem', m.chainPem, 0o644], ['bundle.pem', m.bundlePem, 0o644]] as const) {
    writeFileSync(join(dir, `${name}.tmp`), text, { mode });
    renameSync(join(dir, `${name}.tmp`), join(dir, name));
  }
}

interface IssueReply { chain_pem: string; bundle_pem: string }

function post(base: string, path: string, body: unknown, tls: https.RequestOptions, trustDomain: string): Promise<IssueReply> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(path, base), {
      ...tls, method: 'POST', agent: false, timeout: 10_000,
      checkServerIdentity: expectPeer(formatSpiffeId({ trustDomain, namespace: CONTROL_NAMESPACE, service: CONTROL_SERVICE })),
      headers: { ...(tls.headers ?? {}), 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const reply = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return reject(new IdentityError(`${path}: control plane answered ${res.statusCode}: ${reply.slice(0, 300)}`));
        try {
          const r = JSON.parse(reply) as IssueReply;
          if (typeof r.chain_pem !== 'string' || typeof r.bundle_pem !== 'string') throw new Error('no chain_pem/bundle_pem');
          resolve(r);
        } catch (e) {
          reject(new IdentityError(`${path}: unreadable answer: ${(e as Error).message}`));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(text);
  });
}
