// judgeRequest on real requests: a node http server on 127.0.0.1 answers each
// request with the verdict, so headers go through node's own parser.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  describeRequest, judgeRequest, loginUrl, normalizeHost, sameToken, servedHosts, servedOrigins, hostNameProblems,
  type AccessPolicy, type AccessVerdict,
} from './index.ts';

const TOKEN = 'tok_0123456789abcdefghijklmnopqrstuvwxyz';
let server: http.Server;
let port: number;
let policy: AccessPolicy;

before(async () => {
  server = http.createServer((req, res) => {
    const credentials = req.headers['x-test-credentials'] !== 'no';
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ verdict: judgeRequest(req, policy, { credentials }), described: describeRequest(req) }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  const hosts = servedHosts('127.0.0.1', port, ['mesh.example']);
  policy = { token: TOKEN, hosts, origins: servedOrigins(hosts), codePrefix: 'UI_ERR', cookieName: `meshlens_ui_${port}` };
});
after(() => new Promise<void>((r) => server.close(() => r())));

/** Sends `method /path` with exactly these headers (Host included); answers the verdict (node itself answers 400 to a request with no Host). */
function judge(method: string, headers: Record<string, string>, path = '/api/graph?token=secret'): Promise<{ verdict: AccessVerdict; described: string; status: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, setHost: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve(res.statusCode === 200 ? { ...JSON.parse(body), status: 200 } : { status: res.statusCode, verdict: null, described: '' }));
    });
    req.on('error', reject);
    req.end();
  });
}

const host = () => `127.0.0.1:${port}`;
const bearer = { authorization: `Bearer ${TOKEN}` };
const cookie = () => ({ cookie: `other=1; meshlens_ui_${port}=${TOKEN}` });

test('served hosts are the listen address, localhost, 127.0.0.1, [::1] on the port, plus extra names', () => {
  assert.deepEqual(servedHosts('0.0.0.0', 7070, ['Mesh.Example', 'proxy.example:443', '::1', '[fd00::2]:9000']),
    ['0.0.0.0:7070', 'localhost:7070', '127.0.0.1:7070', '[::1]:7070', 'mesh.example:7070', 'proxy.example:443', '[fd00::2]:9000']);
  assert.deepEqual(servedOrigins(['localhost:7070', 'mesh.example:80']), ['http://localhost:7070', 'http://mesh.example']);
  assert.deepEqual(hostNameProblems(['ok.example', 'bad name', 'x/y', '']), ['"bad name" is not a host name, address or name:port', '"x/y" is not a host name, address or name:port', '"" is not a host name, address or name:port']);
  assert.equal(normalizeHost('LOCALHOST'), 'localhost:80');
  assert.equal(normalizeHost('localhost:99999'), undefined);
  assert.equal(loginUrl('http://127.0.0.1:7070', 'a b'), 'http://127.0.0.1:7070/?token=a%20b');
});

test('token comparison accepts only the exact token, whatever the length', () => {
  assert.equal(sameToken(TOKEN, TOKEN), true);
  assert.equal(sameToken(TOKEN.slice(0, -1), TOKEN), false);
  assert.equal(sameToken(`${TOKEN}x`, TOKEN), false);
  assert.equal(sameToken(TOKEN.toUpperCase(), TOKEN), false);
  assert.equal(sameToken('', TOKEN), false);
});

test('each served Host passes with the token; any other Host is refused with 421 even with the token', async () => {
  for (const h of [host(), `localhost:${port}`, `[::1]:${port}`, `MESH.example:${port}`]) {
    assert.deepEqual((await judge('GET', { host: h, ...bearer })).verdict, { ok: true, credentials: 'bearer' }, h);
  }
  for (const h of ['evil.example', `evil.example:${port}`, `127.0.0.1.evil.example:${port}`, '127.0.0.1', `127.0.0.1:${port + 1}`, `mesh.example`, `localhost.:${port}`, 'a b', `${host()}@evil.example`]) {
    const { verdict } = await judge('GET', { host: h, ...bearer });
    assert.equal(verdict.ok, false, h);
    assert.deepEqual(verdict.ok ? null : [verdict.status, verdict.code, verdict.refusal], [421, 'UI_ERR_HOST_NOT_ALLOWED', 'HOST_NOT_ALLOWED'], h);
  }
  assert.equal((await judge('GET', { ...bearer })).status, 400, 'node refuses a request without Host before any handler');
});

test('the Host check comes first: a foreign Host is refused even for a public request', async () => {
  const { verdict } = await judge('GET', { host: 'evil.example', 'x-test-credentials': 'no' }, '/');
  assert.equal(verdict.ok ? 0 : verdict.status, 421);
});

test('credentials: bearer or cookie pass; none, a wrong token, a stale cookie or a malformed header get 401', async () => {
  assert.deepEqual((await judge('GET', { host: host(), ...cookie() })).verdict, { ok: true, credentials: 'cookie' });
  const cases: [string, Record<string, string>, RegExp][] = [
    ['none', {}, /open the URL meshlens printed at start/],
    ['wrong bearer', { authorization: `Bearer ${TOKEN}x` }, /not this server's operator token/],
    ['basic', { authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` }, /must be "Bearer/],
    ['stale cookie', { cookie: `meshlens_ui_${port}=old-token` }, /open the URL meshlens printed at start again/],
    ['cookie of another port', { cookie: `meshlens_ui_${port + 1}=${TOKEN}` }, /no operator credentials/],
    ['token in the query only', {}, /no operator credentials/],
  ];
  for (const [name, headers, message] of cases) {
    const { verdict } = await judge('GET', { host: host(), ...headers });
    assert.equal(verdict.ok, false, name);
    if (!verdict.ok) {
      assert.deepEqual([verdict.status, verdict.code], [401, 'UI_ERR_UNAUTHENTICATED'], name);
      assert.match(verdict.message, message, name);
    }
  }
  assert.deepEqual((await judge('GET', { host: host(), 'x-test-credentials': 'no' })).verdict, { ok: true, credentials: 'none' }, 'public when asked');
});

test('origin matrix for a state change: own origin passes; foreign, null, cross-site or missing without bearer are refused', async () => {
  const own = `http://127.0.0.1:${port}`;
  const matrix: [string, Record<string, string>, number | 'ok'][] = [
    ['own origin + cookie', { origin: own, ...cookie() }, 'ok'],
    ['localhost origin + cookie', { origin: `http://localhost:${port}`, ...cookie() }, 'ok'],
    ['own origin, same-origin fetch', { origin: own, 'sec-fetch-site': 'same-origin', ...cookie() }, 'ok'],
    ['no origin + bearer (curl)', { ...bearer }, 'ok'],
    ['no origin + cookie', { ...cookie() }, 403],
    ['no origin, no credentials', {}, 403],
    ['no origin + wrong bearer', { authorization: 'Bearer nope-nope-nope-nope-nope-nope-nope' }, 401],
    ['another port on 127.0.0.1 + cookie (same-site)', { origin: `http://127.0.0.1:${port + 1}`, 'sec-fetch-site': 'same-site', ...cookie() }, 403],
    ['foreign origin + bearer', { origin: 'http://evil.example', ...bearer }, 403],
    ['https variant of own origin', { origin: `https://127.0.0.1:${port}`, ...cookie() }, 403],
    ['origin null (sandboxed page, file:)', { origin: 'null', ...cookie() }, 403],
    ['cross-site even with own origin', { origin: own, 'sec-fetch-site': 'cross-site', ...cookie() }, 403],
    ['cross-site + bearer', { 'sec-fetch-site': 'cross-site', ...bearer }, 403],
    ['own origin, no credentials', { origin: own }, 401],
  ];
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
    for (const [name, headers, want] of matrix) {
      const { verdict } = await judge(method, { host: host(), ...headers });
      assert.equal(verdict.ok ? 'ok' : verdict.status, want, `${method} ${name}: ${JSON.stringify(verdict)}`);
    }
  }
});

test('refusal codes name the check: cross-site, origin, with the prefix the server chose', async () => {
  const cross = await judge('POST', { host: host(), 'sec-fetch-site': 'cross-site', ...cookie() });
  assert.equal(cross.verdict.ok ? '' : cross.verdict.code, 'UI_ERR_CROSS_SITE');
  const foreign = await judge('POST', { host: host(), origin: 'http://evil.example', ...cookie() });
  assert.equal(foreign.verdict.ok ? '' : foreign.verdict.code, 'UI_ERR_ORIGIN_NOT_ALLOWED');
  assert.match(foreign.verdict.ok ? '' : foreign.verdict.message, /Origin "http:\/\/evil\.example" is not this server's/);
  const saved = policy;
  policy = { ...policy, codePrefix: 'MESH_ERR' };
  try {
    const mesh = await judge('PUT', { host: host() });
    assert.equal(mesh.verdict.ok ? '' : mesh.verdict.code, 'MESH_ERR_ORIGIN_NOT_ALLOWED');
  } finally {
    policy = saved;
  }
});

test('reads: a foreign Origin is refused on GET too; GET without Origin or with Sec-Fetch-Site: cross-site is judged by credentials', async () => {
  const foreign = await judge('GET', { host: host(), origin: `http://localhost:${port + 1}`, ...cookie() });
  assert.equal(foreign.verdict.ok ? 0 : foreign.verdict.status, 403);
  assert.deepEqual((await judge('GET', { host: host(), 'sec-fetch-site': 'cross-site', ...cookie() })).verdict, { ok: true, credentials: 'cookie' });
  assert.deepEqual((await judge('OPTIONS', { host: host(), ...bearer })).verdict, { ok: true, credentials: 'bearer' });
});

test('the refusal log line has method, path without the query, host and origin', async () => {
  const { described } = await judge('POST', { host: 'evil.example', origin: 'http://evil.example' }, '/api/models/retrain?token=secret');
  assert.equal(described, 'POST "/api/models/retrain" host "evil.example" origin "http://evil.example"');
});
