// The mesh's certificate authority: signs each workload's X.509 SVID from a
// certificate signing request, so the workload's private key never leaves
// it. The CA's own key lives in <dir>/key.pem with mode 0600 (a looser file
// is refused at start), its certificate in <dir>/cert.pem, and the trust
// bundle every party checks against in <dir>/bundle.pem.
//
// Rotation has two steps, so that no party ever meets a certificate it does
// not trust yet:
//   beginRotation()     a new root is made and added to the bundle; signing
//                       stays on the old root. Workloads pick the new bundle
//                       up with their next renewal (within half a certificate
//                       lifetime), collectors at once.
//   completeRotation()  signing moves to the new root; the old one stays in
//                       the bundle (<dir>/previous.pem) until it expires, so
//                       SVIDs it signed keep verifying until they are renewed.
// rotate() does both at once, for a mesh with no workloads yet.
//
// An external CA (your organisation's PKI) plugs in with fromFiles(): give
// it an intermediate certificate and key your PKI issued for the mesh and
// your root as the bundle; SVIDs then carry the intermediate in their chain.

import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { formatSpiffeId, isName, type SpiffeId } from './spiffe.ts';
import { certificatesFromPem, IdentityError, readSvid, TrustBundle, type Svid } from './svid.ts';
import type * as X509 from '@peculiar/x509';
import { EC_ALG, keyPairFromPem, newKeyPair, peculiarX509, privateKeyPem, serialNumber } from './x509.ts';

export interface IssuedSvid {
  /** Leaf first, then intermediates: what a workload presents in TLS. */
  chainPem: string;
  svid: Svid;
}

export interface SignRequest {
  csrPem: string;
  service: string;
  /** Proxy (instance) id: the subject CN. */
  proxy: string;
  namespace?: string;
  ttlMs?: number;
  /** Extra SANs for a server that non-SPIFFE clients also reach (the control plane). */
  dnsNames?: string[];
  ips?: string[];
}

export const DEFAULT_SVID_TTL_MS = 60 * 60_000;
const ROOT_TTL_MS = 365 * 24 * 3600_000;
/** Certificates start a minute back: clocks of two hosts never agree exactly. */
const BACKDATE_MS = 60_000;

function writePrivate(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text, { mode: 0o600 });
  chmodSync(`${path}.tmp`, 0o600);
  renameSync(`${path}.tmp`, path);
}

function readPrivate(path: string): string {
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) throw new IdentityError(`${path}: a private key must be readable by its owner only (mode 0600), this one is ${mode.toString(8).padStart(4, '0')}; fix with chmod 600 ${path}`);
  return readFileSync(path, 'utf8');
}

export class CertificateAuthority {
  #keys: CryptoKeyPair;
  #cert: X509Certificate;
  /** Intermediates between #cert and the bundle's roots (external CA); empty for our own root. */
  readonly #chain: X509Certificate[];
  #bundle: TrustBundle;
  readonly #dir: string | null;
  readonly trustDomain: string;
  readonly #now: () => number;
  #next: { keys: CryptoKeyPair; cert: X509Certificate } | null = null;

  private constructor(opts: { keys: CryptoKeyPair; cert: X509Certificate; chain: X509Certificate[]; bundle: TrustBundle; dir: string | null; trustDomain: string; now: () => number }) {
    this.#keys = opts.keys;
    this.#cert = opts.cert;
    this.#chain = opts.chain;
    this.#bundle = opts.bundle;
    this.#dir = opts.dir;
    this.trustDomain = opts.trustDomain;
    this.#now = opts.now;
  }

  /** Loads the CA kept in `dir`, or makes one there (dir null: in memory only, for tests). */
  static async open(opts: { dir: string | null; trustDomain: string; now?: () => number }): Promise<CertificateAuthority> {
    const now = opts.now ?? Date.now;
    const { dir, trustDomain } = opts;
    if (dir && existsSync(join(dir, 'key.pem'))) {
      const keys = await keyPairFromPem(readPrivate(join(dir, 'key.pem')));
      const [cert] = certificatesFromPem(readFileSync(join(dir, 'cert.pem'), 'utf8'));
      if (!cert) throw new IdentityError(`${join(dir, 'cert.pem')}: no certificate`);
      const previous = existsSync(join(dir, 'previous.pem')) ? certificatesFromPem(readFileSync(join(dir, 'previous.pem'), 'utf8')) : [];
      const live = previous.filter((c) => Date.parse(c.validTo) > now());
      const ca = new CertificateAuthority({ keys, cert, chain: [], bundle: new TrustBundle([cert, ...live]), dir, trustDomain, now });
      if (existsSync(join(dir, 'next-key.pem'))) {
        // A rotation was under way when the process stopped: it still is.
        const [next] = certificatesFromPem(readFileSync(join(dir, 'next-cert.pem'), 'utf8'));
        ca.#next = { keys: await keyPairFromPem(readPrivate(join(dir, 'next-key.pem'))), cert: next };
        ca.#bundle = new TrustBundle([...ca.#bundle.roots, next]);
      }
      return ca;
    }
    const { keys, cert } = await newRoot(trustDomain, now());
    const ca = new CertificateAuthority({ keys, cert, chain: [], bundle: new TrustBundle([cert]), dir, trustDomain, now });
    await ca.#save([]);
    return ca;
  }

  /** An external CA: its certificate (an intermediate) and key, and the roots that anchor it. */
  static async fromFiles(opts: { certPath: string; keyPath: string; bundlePath: string; trustDomain: string; now?: () => number }): Promise<CertificateAuthority> {
    const keys = await keyPairFromPem(readPrivate(opts.keyPath));
    const [cert, ...chain] = certificatesFromPem(readFileSync(opts.certPath, 'utf8'));
    if (!cert?.ca) throw new IdentityError(`${opts.certPath}: the first certificate must be a CA certificate`);
    const bundle = TrustBundle.fromPem(readFileSync(opts.bundlePath, 'utf8'), opts.bundlePath);
    return new CertificateAuthority({ keys, cert, chain, bundle, dir: null, trustDomain: opts.trustDomain, now: opts.now ?? Date.now });
  }

  get bundle(): TrustBundle { return this.#bundle; }

  /** Where the bundle is on disk (for sidecars started on this host), if kept on disk. */
  get bundlePath(): string | null { return this.#dir ? join(this.#dir, 'bundle.pem') : null; }

  spiffeId(service: string, namespace = 'default'): string {
    return formatSpiffeId({ trustDomain: this.trustDomain, namespace, service } satisfies SpiffeId);
  }

  /** Signs an SVID for the key in `csrPem` (its self-signature is checked), with the identity given here, not the CSR's. */
  async sign(req: SignRequest): Promise<IssuedSvid> {
    if (!isName(req.proxy)) throw new IdentityError(`proxy id "${req.proxy}": 1-128 of [A-Za-z0-9._-]`);
    const x509 = await peculiarX509();
    let csr: X509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(req.csrPem);
    } catch (e) {
      throw new IdentityError(`certificate signing request is not PKCS#10 PEM: ${(e as Error).message}`);
    }
    if (!(await csr.verify())) throw new IdentityError('certificate signing request: its signature does not match its key (proof of possession failed)');
    const uri = this.spiffeId(req.service, req.namespace);
    const now = this.#now();
    const notAfter = Math.min(now + (req.ttlMs ?? DEFAULT_SVID_TTL_MS), Date.parse(this.#cert.validTo));
    const names: X509.JsonGeneralNames = [{ type: 'url', value: uri }];
    for (const d of req.dnsNames ?? []) names.push({ type: 'dns', value: d });
    for (const ip of req.ips ?? []) names.push({ type: 'ip', value: ip });
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serialNumber(),
      subject: `CN=${req.proxy}`,
      issuer: this.#cert.subject.replace(/\n/g, ', '),
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(notAfter),
      signingAlgorithm: EC_ALG,
      publicKey: csr.publicKey,
      signingKey: this.#keys.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension(names, true),
        await x509.AuthorityKeyIdentifierExtension.create(this.#keys.publicKey),
      ],
    });
    const leaf = new X509Certificate(cert.toString('pem'));
    // Our own root is in every bundle; an external intermediate travels with the leaf.
    const intermediates = this.#isOwnRoot() ? [] : [this.#cert, ...this.#chain];
    return { chainPem: [leaf, ...intermediates].map((c) => c.toString()).join(''), svid: readSvid(leaf) };
  }

  /** Signs with a key made here, for a server this process runs (the control plane's own SVID). */
  async issueOwn(req: Omit<SignRequest, 'csrPem'>): Promise<IssuedSvid & { keyPem: string }> {
    const keys = await newKeyPair();
    const csr = await (await peculiarX509()).Pkcs10CertificateRequestGenerator.create({ name: `CN=${req.proxy}`, keys, signingAlgorithm: EC_ALG });
    return { ...(await this.sign({ ...req, csrPem: csr.toString('pem') })), keyPem: await privateKeyPem(keys.privateKey) };
  }

  /** The root made by beginRotation(), not yet signing; null when no rotation is under way. */
  get pendingRoot(): X509Certificate | null { return this.#next?.cert ?? null; }

  /** Step 1: a new root, trusted from now on, not yet signing. Only for a CA kept by meshlens. */
  async beginRotation(): Promise<void> {
    if (!this.#isOwnRoot()) throw new IdentityError('rotate: an external CA is rotated by its own PKI');
    if (this.#next) throw new IdentityError('rotate: a rotation is already under way');
    this.#next = await newRoot(this.trustDomain, this.#now());
    this.#bundle = new TrustBundle([...this.#bundle.roots, this.#next.cert]);
    await this.#save(this.#previous());
  }

  /** Step 2: sign with the new root; the old one stays trusted until it expires. */
  async completeRotation(): Promise<void> {
    if (!this.#next) throw new IdentityError('rotate: no rotation under way (beginRotation first)');
    const previous = this.#bundle.roots.filter((r) => r !== this.#next!.cert && Date.parse(r.validTo) > this.#now());
    this.#keys = this.#next.keys;
    this.#cert = this.#next.cert;
    this.#next = null;
    this.#bundle = new TrustBundle([this.#cert, ...previous]);
    await this.#save(previous);
  }

  /** Both steps at once (no workload holds a certificate yet). */
  async rotate(): Promise<void> {
    await this.beginRotation();
    await this.completeRotation();
  }

  /** Trusted roots other than the signing one and the pending one. */
  #previous(): X509Certificate[] {
    return this.#bundle.roots.filter((r) => r !== this.#cert && r !== this.#next?.cert);
  }

  #isOwnRoot(): boolean {
    return this.#cert.checkIssued(this.#cert);
  }

  async #save(previous: X509Certificate[]): Promise<void> {
    const dir = this.#dir;
    if (!dir) return;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writePrivate(join(dir, 'key.pem'), await privateKeyPem(this.#keys.privateKey));
    writeFileSync(join(dir, 'cert.pem'), this.#cert.toString());
    writeFileSync(join(dir, 'previous.pem'), previous.map((c) => c.toString()).join(''));
    if (this.#next) {
      writePrivate(join(dir, 'next-key.pem'), await privateKeyPem(this.#next.keys.privateKey));
      writeFileSync(join(dir, 'next-cert.pem'), this.#next.cert.toString());
    } else {
      rmSync(join(dir, 'next-key.pem'), { force: true });
      rmSync(join(dir, 'next-cert.pem'), { force: true });
    }
    writeFileSync(join(dir, 'bundle.pem.tmp'), this.#bundle.toPem());
    renameSync(join(dir, 'bundle.pem.tmp'), join(dir, 'bundle.pem'));
  }
}

async function newRoot(trustDomain: string, now: number): Promise<{ keys: CryptoKeyPair; cert: X509Certificate }> {
  const keys = await newKeyPair();
  const x509 = await peculiarX509();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=meshlens CA ${trustDomain} ${new Date(now).toISOString().slice(0, 19)}Z, O=meshlens`,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + ROOT_TTL_MS),
    signingAlgorithm: EC_ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${trustDomain}` }]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { keys, cert: new X509Certificate(cert.toString('pem')) };
}

export { readSvid, type Svid };
