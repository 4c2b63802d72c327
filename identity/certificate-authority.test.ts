import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import tls from 'node:tls';
import { CertificateAuthority, certificatesFromPem, IdentityError, JoinTokens, newKeyAndCsr, readSvid } from './index.ts';

const TD = 'test.local';

async function workload(ca: CertificateAuthority, service: string, proxy: string, ttlMs?: number) {
  const { keyPem, csrPem } = await newKeyAndCsr('asks-for-anything');
  const issued = await ca.sign({ csrPem, service, proxy, ttlMs });
  return { keyPem, ...issued };
}

test('an SVID carries the SPIFFE id and proxy the CA chose, not what the CSR asked for, and verifies against the bundle', async () => {
  const ca = await CertificateAuthority.open({ dir: null, trustDomain: TD });
  const w = await workload(ca, 'cart', 'cart-1');
  const [leaf] = certificatesFromPem(w.chainPem);
  assert.equal(w.svid.uri, 'spiffe://test.local/ns/default/sa/cart');
  assert.equal(w.svid.proxy, 'cart-1');
  assert.equal(ca.bundle.verify([leaf]).service, 'cart');
  assert.equal(leaf.ca, false);
});

test('a certificate from another CA, an expired one and a CA certificate are not believed', async () => {
  const ca = await CertificateAuthority.open({ dir: null, trustDomain: TD });
  const other = await CertificateAuthority.open({ dir: null, trustDomain: TD });
  const foreign = certificatesFromPem((await workload(other, 'cart', 'cart-1')).chainPem);
  assert.throws(() => ca.bundle.verify(foreign), /does not chain to the trust bundle/);
  const shortLived = certificatesFromPem((await workload(ca, 'cart', 'cart-1', 1_000)).chainPem);
  assert.throws(() => ca.bundle.verify(shortLived, Date.now() + 5_000), /expired/);
  assert.throws(() => ca.bundle.verify([ca.bundle.roots[0]]), /is a CA/);
});

test('a CSR whose signature does not match its key is refused (proof of possession)', async () => {
  const ca = await CertificateAuthority.open({ dir: null, trustDomain: TD });
  const { csrPem } = await newKeyAndCsr('x');
  const der = Buffer.from(csrPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  der[der.length - 5] ^= 0xff; // inside the signature
  const bad = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  await assert.rejects(ca.sign({ csrPem: bad, service: 'cart', proxy: 'cart-1' }), IdentityError);
  await assert.rejects(ca.sign({ csrPem: 'not a csr', service: 'cart', proxy: 'cart-1' }), /not PKCS#10/);
});

test('two SVIDs complete a mutual TLS handshake, and each side reads the other\'s SPIFFE id from the certificate', async () => {
  const ca = await CertificateAuthority.open({ dir: null, trustDomain: TD });
  const server = await workload(ca, 'payments', 'payments-1');
  const client = await workload(ca, 'cart', 'cart-1');
  const seen: string[] = [];
  const srv = tls.createServer({ key: server.keyPem, cert: server.chainPem, ca: ca.bundle.toPem(), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' }, (s) => {
    seen.push(readSvid(s.getPeerX509Certificate()!).uri);
    s.end('ok');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  const got = await new Promise<{ peer: string; data: string; version: string }>((resolve, reject) => {
    const s = tls.connect({
      host: '127.0.0.1', port, key: client.keyPem, cert: client.chainPem, ca: ca.bundle.toPem(),
      checkServerIdentity: (_h, cert) => (cert.subjectaltname === 'URI:spiffe://test.local/ns/default/sa/payments' ? undefined : new Error(`unexpected peer ${cert.subjectaltname}`)),
    }, () => {
      let data = '';
      s.on('data', (d) => { data += d; });
      s.on('end', () => resolve({ peer: readSvid(new X509Certificate(s.getPeerCertificate().raw)).uri, data, version: s.getProtocol() ?? '' }));
    });
    s.on('error', reject);
  });
  srv.close();
  assert.deepEqual(seen, ['spiffe://test.local/ns/default/sa/cart']);
  assert.equal(got.peer, 'spiffe://test.local/ns/default/sa/payments');
  assert.equal(got.data, 'ok');
  assert.equal(got.version, 'TLSv1.3');
});

test('a CA kept on disk has its key 0600, is found again, and refuses a key file others can read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlens-ca-'));
  try {
    const first = await CertificateAuthority.open({ dir, trustDomain: TD });
    assert.equal(statSync(join(dir, 'key.pem')).mode & 0o777, 0o600);
    const w = await workload(first, 'web', 'web-1');
    const again = await CertificateAuthority.open({ dir, trustDomain: TD });
    assert.equal(again.bundle.verify(certificatesFromPem(w.chainPem)).proxy, 'web-1');
    chmodSync(join(dir, 'key.pem'), 0o644);
    await assert.rejects(CertificateAuthority.open({ dir, trustDomain: TD }), /mode 0600.*0644/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('after rotation new SVIDs come from the new root and those of the old root still verify', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlens-ca-'));
  try {
    const ca = await CertificateAuthority.open({ dir, trustDomain: TD });
    const before = certificatesFromPem((await workload(ca, 'web', 'web-1')).chainPem);
    const oldRoot = ca.bundle.roots[0].fingerprint256;
    await ca.rotate();
    const after = certificatesFromPem((await workload(ca, 'web', 'web-1')).chainPem);
    assert.notEqual(ca.bundle.roots[0].fingerprint256, oldRoot);
    assert.equal(ca.bundle.roots.length, 2);
    assert.ok(ca.bundle.verify(before));
    assert.ok(ca.bundle.verify(after));
    assert.ok(!after[0].checkIssued(ca.bundle.roots[1]), 'the new SVID is signed by the new root');
    const reopened = await CertificateAuthority.open({ dir, trustDomain: TD });
    assert.equal(reopened.bundle.roots.length, 2, 'the old root is still trusted after a restart');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a join token is good once, for the grant it was issued with, and not after it expires', () => {
  let now = 1_000_000;
  const tokens = new JoinTokens(() => now);
  const t = tokens.issue({ service: 'cart', proxy: 'cart-1' }, 60_000);
  assert.deepEqual(tokens.redeem(t), { service: 'cart', proxy: 'cart-1', namespace: 'default' });
  assert.throws(() => tokens.redeem(t), /unknown or already used/);
  const late = tokens.issue({ service: 'cart', proxy: 'cart-2' }, 60_000);
  now += 61_000;
  assert.throws(() => tokens.redeem(late), /unknown or already used|expired/);
  assert.throws(() => tokens.redeem('mlj_guess'), /unknown/);
  assert.throws(() => tokens.issue({ service: '../etc', proxy: 'x' }), /service/);
});

test('a two-step rotation trusts the new root before it signs anything, survives a restart half-way, then signs with it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlens-ca-'));
  try {
    const ca = await CertificateAuthority.open({ dir, trustDomain: TD });
    const old = ca.bundle.roots[0];
    await ca.beginRotation();
    assert.equal(ca.bundle.roots.length, 2);
    const during = certificatesFromPem((await workload(ca, 'web', 'web-1')).chainPem);
    assert.ok(during[0].checkIssued(old), 'still signed by the old root while the new one spreads');
    await assert.rejects(ca.beginRotation(), /already under way/);
    const reopened = await CertificateAuthority.open({ dir, trustDomain: TD });
    assert.equal(reopened.pendingRoot?.fingerprint256, ca.pendingRoot?.fingerprint256, 'the pending root is kept on disk');
    await reopened.completeRotation();
    const after = certificatesFromPem((await workload(reopened, 'web', 'web-1')).chainPem);
    assert.ok(!after[0].checkIssued(old), 'signed by the new root');
    assert.ok(reopened.bundle.verify(during) && reopened.bundle.verify(after));
    assert.equal(reopened.pendingRoot, null);
    await assert.rejects(reopened.completeRotation(), /no rotation under way/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
