// The Kubernetes scale actuator against a recorded exchange
// (testdata/k8s-scale-exchange.json), served by a real HTTPS server on
// 127.0.0.1 with a self-signed certificate. The server expects the recorded
// requests in the order a test names them and answers each with its recorded
// response; any difference in method, path, content-type, authorization or
// body is kept as a mismatch, and every test asserts there was none.

import 'reflect-metadata';
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { inClusterAccess, KubernetesScaleActuator, KubernetesScaleError, type KubernetesAccess } from './kubernetes-scale.ts';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

interface Exchange {
  name: string;
  request: { method: string; path: string; headers: Record<string, string>; body: string | null };
  response: { status: number; headers: Record<string, string>; body: unknown };
}

const EXCHANGES: Exchange[] = JSON.parse(readFileSync(new URL('./testdata/k8s-scale-exchange.json', import.meta.url), 'utf8'));
const TOKEN = 'recorded-service-account-token';

function recorded(name: string): Exchange {
  const e = EXCHANGES.find((x) => x.name === name);
  if (!e) throw new Error(`no recorded exchange "${name}"`);
  return e;
}

/** A self-signed certificate for 127.0.0.1 (ECDSA P-256, as identity/ makes them). */
async function selfSigned(cn: string): Promise<{ key: string; cert: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '0a' + Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex'),
    name: `CN=${cn}`,
    notBefore: new Date(Date.now() - 3_600_000),
    notAfter: new Date(Date.now() + 3_600_000),
    signingAlgorithm: alg,
    keys,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }])],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { key: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'), cert: cert.toString('pem') };
}

const apiServerCert = await selfSigned('kube-apiserver');
const otherCert = await selfSigned('some other CA');
const servers: https.Server[] = [];
after(() => { for (const s of servers) s.close(); });

interface Replay { server: string; served: number; mismatches: string[] }

/** Serves the named recorded exchanges, in that order, once each. */
async function replay(names: string[]): Promise<Replay> {
  const script = names.map(recorded);
  const state: Replay = { server: '', served: 0, mismatches: [] };
  const srv = https.createServer({ key: apiServerCert.key, cert: apiServerCert.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const want = script[state.served];
      const got = {
        method: req.method, path: req.url,
        'content-type': req.headers['content-type'] ?? null,
        authorization: req.headers.authorization ?? null,
        body: chunks.length > 0 ? Buffer.concat(chunks).toString('utf8') : null,
      };
      const expected = want && {
        method: want.request.method, path: want.request.path,
        'content-type': want.request.headers['content-type'] ?? null,
        authorization: want.request.headers.authorization ?? null,
        body: want.request.body,
      };
      if (!want || JSON.stringify(got) !== JSON.stringify(expected)) {
        state.mismatches.push(`request ${state.served + 1}: got ${JSON.stringify(got)}, recorded ${JSON.stringify(expected ?? 'nothing')}`);
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'ReplayMismatch', message: 'not the recorded request', code: 500 }));
        return;
      }
      state.served++;
      const text = JSON.stringify(want.response.body);
      res.writeHead(want.response.status, { ...want.response.headers, 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  state.server = `https://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  return state;
}

function access(server: string, caPem = apiServerCert.cert): KubernetesAccess {
  return { server, token: TOKEN, caPem, namespace: 'shop' };
}

async function rejection(p: Promise<unknown>): Promise<KubernetesScaleError> {
  try { await p; } catch (e) { assert.ok(e instanceof KubernetesScaleError, String(e)); return e; }
  assert.fail('expected a KubernetesScaleError');
}

test('reads the desired replica count from the scale subresource of the mapped deployment', async () => {
  const api = await replay(['read scale']);
  const k8s = new KubernetesScaleActuator({ access: access(api.server), deployments: { basket: 'cart' } });
  assert.equal(await k8s.replicas('basket'), 2);
  assert.deepEqual(api.mismatches, []);
  assert.equal(api.served, 1);
  assert.match(k8s.describe(), /namespace shop at https:\/\/127\.0\.0\.1:\d+/);
});

test('scales by sending exactly the recorded merge patch and reports before and after', async () => {
  const api = await replay(['read scale', 'patch to 3']);
  const k8s = new KubernetesScaleActuator({ access: access(api.server) });
  assert.deepEqual(await k8s.scale('cart', 3), { before: 2, after: 3 });
  assert.deepEqual(api.mismatches, []);
  assert.equal(api.served, 2);
  assert.deepEqual({ reads: k8s.counters.reads, patches: k8s.counters.patches, failed: k8s.counters.failed }, { reads: 1, patches: 1, failed: 0 });
});

test('sends no patch when the deployment already has the asked count', async () => {
  const api = await replay(['read scale']);
  const k8s = new KubernetesScaleActuator({ access: access(api.server) });
  assert.deepEqual(await k8s.scale('cart', 2), { before: 2, after: 2 });
  assert.deepEqual(api.mismatches, []);
  assert.equal(k8s.counters.patches, 0);
});

test('an unknown deployment gives an error naming it, 404 and NotFound', async () => {
  const api = await replay(['read unknown deployment']);
  const k8s = new KubernetesScaleActuator({ access: access(api.server) });
  const e = await rejection(k8s.replicas('ghost'));
  assert.deepEqual(api.mismatches, []);
  assert.equal(e.deployment, 'shop/ghost');
  assert.equal(e.status, 404);
  assert.equal(e.reason, 'NotFound');
  assert.equal(e.retriable, false);
  assert.match(e.message, /deployment shop\/ghost: GET answered 404 NotFound: deployments\.apps "ghost" not found/);
  assert.equal(k8s.counters.failed, 1);
});

test('a forbidden patch gives an error naming the deployment, 403 Forbidden and the missing verb', async () => {
  const api = await replay(['read scale', 'patch forbidden']);
  const k8s = new KubernetesScaleActuator({ access: access(api.server) });
  const e = await rejection(k8s.scale('cart', 5));
  assert.deepEqual(api.mismatches, []);
  assert.equal(api.served, 2);
  assert.equal(e.status, 403);
  assert.equal(e.reason, 'Forbidden');
  assert.match(e.message, /deployment shop\/cart: PATCH answered 403 Forbidden: .*cannot patch resource "deployments\/scale"/);
});

test('refuses an API server whose certificate the configured CA did not sign', async () => {
  const api = await replay(['read scale']);
  const k8s = new KubernetesScaleActuator({ access: access(api.server, otherCert.cert) });
  const e = await rejection(k8s.replicas('cart'));
  assert.equal(e.reason, 'Transport');
  assert.match(e.message, /certificate/i);
  assert.equal(api.served, 0);
  assert.deepEqual(api.mismatches, []);
});

test('refuses negative, fractional and out-of-range replica counts without a request, and counts them', async () => {
  const api = await replay([]);
  const k8s = new KubernetesScaleActuator({ access: access(api.server) });
  for (const n of [-1, 2.5, Number.NaN, Infinity, 2 ** 31]) {
    const e = await rejection(k8s.scale('cart', n));
    assert.equal(e.reason, 'Refused');
    assert.match(e.message, /shop\/cart: replicas .* is not an integer in 0\.\.2147483647/);
  }
  const bad = await rejection(k8s.replicas('../secrets'));
  assert.equal(bad.reason, 'Refused');
  assert.equal(k8s.counters.refused, 6);
  assert.equal(api.served + api.mismatches.length, 0);
});

test('an answer larger than the cap is refused', async () => {
  const api = await replay(['read scale']);
  const k8s = new KubernetesScaleActuator({ access: access(api.server), maxBodyBytes: 64 });
  const e = await rejection(k8s.replicas('cart'));
  assert.equal(e.reason, 'TooLarge');
  assert.match(e.message, /shop\/cart: GET answer is larger than 64 bytes/);
});

test('a call the API server never answers ends with a Timeout error', async () => {
  const silent = https.createServer({ key: apiServerCert.key, cert: apiServerCert.cert }, () => {});
  servers.push(silent);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const k8s = new KubernetesScaleActuator({ access: access(`https://127.0.0.1:${(silent.address() as AddressInfo).port}`), timeoutMs: 200 });
  const e = await rejection(k8s.replicas('cart'));
  assert.equal(e.reason, 'Timeout');
  assert.equal(e.retriable, true);
  silent.closeAllConnections();
});

test('in-cluster access takes host, port, CA and namespace from the pod and reads the token again on every call', async () => {
  const api = await replay(['read scale']);
  const dir = mkdtempSync(join(tmpdir(), 'meshlens-sa-'));
  try {
    writeFileSync(join(dir, 'ca.crt'), apiServerCert.cert);
    writeFileSync(join(dir, 'namespace'), 'shop');
    writeFileSync(join(dir, 'token'), TOKEN + '\n');
    const env = { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: new URL(api.server).port };
    const inCluster = inClusterAccess(env, dir);
    const k8s = new KubernetesScaleActuator({ access: inCluster });
    assert.equal(await k8s.replicas('cart'), 2);
    assert.deepEqual(api.mismatches, []);
    writeFileSync(join(dir, 'token'), 'rotated-token');
    assert.equal(typeof inCluster.token === 'function' && await inCluster.token(), 'rotated-token');
    assert.throws(() => inClusterAccess({}, join(dir, 'missing')), /KUBERNETES_SERVICE_HOST is not set; .*; cannot read .*ca\.crt.*namespace.*token/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a configuration names every problem at once and never takes plain http', () => {
  assert.throws(
    () => new KubernetesScaleActuator({
      access: { server: 'http://10.0.0.1', token: '', caPem: 'nope', namespace: 'Shop' },
      deployments: { cart: 'Cart_v1' },
    }),
    /not https:\/\/; caPem holds no PEM certificate; token is empty; namespace "Shop" .*; deployment "Cart_v1" for service cart/,
  );
});
