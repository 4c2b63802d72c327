// Who may use the UI, over real sockets: the operator token (by the ?token=
// link's cookie or Authorization: Bearer), the Host check against DNS
// rebinding and the Origin check on state changes, against a real chdb store
// and a real live detector behind POST /api/models/retrain.
// (The same attacks from a real browser page: ui/cross-site.test.ts.)

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startUi, type RunningUi } from './index.ts';
import { startDetectorUi, type DetectorUi } from './testing/detector-ui.ts';

let stack: DetectorUi;
let ui: RunningUi;
let port: number;
let logs: string[];
/** Every subject POST /api/models/retrain handed to the detector ('*' = all). */
let retrains: string[];

before(async () => {
  stack = await startDetectorUi('ui-access', { hosts: ['meshlens.example'] });
  ({ ui, logs, retrains } = stack);
  port = Number(new URL(ui.url).port);
});

after(() => stack?.close());

interface Answer { status: number; headers: http.IncomingHttpHeaders; text: string; body: any }

/** One request with exactly these headers (Host defaults to the UI's own); the path is sent as written. */
function send(method: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, setHost: false, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      if (String(res.headers['content-type']).includes('event-stream')) {
        req.destroy();
        return resolve({ status: res.statusCode!, headers: res.headers, text: '', body: undefined });
      }
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({
        status: res.statusCode!, headers: res.headers, text,
        body: String(res.headers['content-type']).includes('json') ? JSON.parse(text) : undefined,
      }));
    });
    req.on('error', reject);
    req.end();
  });
}

const bearer = () => ({ authorization: `Bearer ${ui.token}` });
const own = () => `http://127.0.0.1:${port}`;
const cookie = () => ({ cookie: `meshlens_ui_${port}=${ui.token}` });

async function refusedCounters(): Promise<Record<string, number>> {
  const { body } = await send('GET', '/api/status', bearer());
  return Object.fromEntries(Object.entries(body.ui as Record<string, number>).filter(([k]) => k.startsWith('refused_')));
}

test('startUi prints a login URL carrying its token, and makes a new token for each run when given none', async () => {
  assert.match(ui.token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(ui.loginUrl, `${ui.url}/?token=${ui.token}`);
  await assert.rejects(startUi({ store: stack.store, port: 0, token: 'short', hosts: ['bad name'] }), /token: must be 32\.\.256 characters.*; hosts: "bad name" is not a host name/);
});

test('every /api route answers 401 UI_ERR_UNAUTHENTICATED without credentials', async () => {
  const routes: [string, string, Record<string, string>][] = [
    ['GET', '/api/graph', {}], ['GET', '/api/taps?limit=5', {}], ['GET', '/api/status', {}], ['GET', '/api/alerts', {}],
    ['GET', '/api/events', {}], ['GET', '/api/nope', {}], ['GET', '/API/graph', {}], ['GET', '/api/graph/', {}],
    ['POST', '/api/models/retrain', { origin: own() }], ['GET', '/api/models/retrain', {}],
    ['GET', '/api/actions', {}], ['GET', '/api/actions/act-1', {}], ['GET', '/api/tuning', {}], ['POST', '/api/tuning/pause', { origin: own() }],
  ];
  for (const [method, path, headers] of routes) {
    const r = await send(method, path, headers);
    assert.equal(r.status, 401, `${method} ${path}`);
    assert.equal(r.body.code, 'UI_ERR_UNAUTHENTICATED', `${method} ${path}`);
    assert.match(r.body.message, /open the URL meshlens printed at start/);
    assert.equal(r.headers['www-authenticate'], 'Bearer realm="meshlens"');
  }
  assert.deepEqual(retrains, []);
});

test('the page, its scripts and d3 stay public; they carry no data', async () => {
  for (const path of ['/', '/index.html', '/app.js', '/graph.js', '/vendor/d3.min.js', '/style.css', '/favicon.svg']) {
    assert.equal((await send('GET', path)).status, 200, path);
  }
  const page = await send('GET', '/');
  assert.match(page.text, /id="signed-out"/, 'the page can say how to sign in');
  assert.equal(page.headers['x-frame-options'], 'DENY', 'no other page may frame it');
  assert.equal(page.headers['content-security-policy'], "frame-ancestors 'none'");
});

test('the ?token= link sets an HttpOnly, SameSite=Strict cookie for this port and redirects to the URL without the token', async () => {
  const r = await send('GET', `/?window=300&token=${ui.token}`);
  assert.equal(r.status, 303);
  assert.equal(r.headers.location, '/?window=300');
  assert.equal(r.headers['cache-control'], 'no-store');
  const set = String(r.headers['set-cookie']);
  assert.match(set, new RegExp(`^meshlens_ui_${port}=${ui.token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=\\d+$`));
  const c = set.split(';')[0];
  const status = await send('GET', '/api/status', { cookie: c });
  assert.equal(status.status, 200);
  assert.equal((await send('GET', `/api/graph?token=${ui.token}`)).headers.location, '/api/graph', 'any page or API URL signs in the same way');
});

test('the login redirect never leaves the server, whatever the path looks like', async () => {
  for (const [path, location] of [[`//evil.example/?token=${ui.token}`, '/evil.example/'], [`/\\evil.example?token=${ui.token}`, '/evil.example']]) {
    const r = await send('GET', path);
    assert.equal(r.status, 303, path);
    assert.equal(r.headers.location, location, path);
  }
});

test('a wrong token in the link, a wrong bearer token or a stale cookie get 401 and no cookie', async () => {
  for (const [path, headers] of [
    ['/?token=not-the-token-not-the-token-not-the-token', {}],
    [`/?token=${ui.token}&token=${ui.token}`, {}],
    ['/api/graph', { authorization: `Bearer ${ui.token.slice(1)}` }],
    ['/api/graph', { cookie: `meshlens_ui_${port}=${ui.token.slice(1)}` }],
  ] as [string, Record<string, string>][]) {
    const r = await send('GET', path, headers);
    assert.equal(r.status, 401, path);
    assert.equal(r.body.code, 'UI_ERR_UNAUTHENTICATED');
    assert.equal(r.headers['set-cookie'], undefined);
  }
  assert.equal((await send('GET', '/api/graph', bearer())).status, 200);
  assert.equal((await send('GET', '/api/graph', cookie())).status, 200);
});

test('DNS rebinding: a request with Host evil.example is refused with 421 even with a valid token, on the API and the page', async () => {
  for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1.evil.example:${port}`, `localhost:${port + 1}`]) {
    for (const [path, headers] of [['/api/graph', bearer()], ['/api/status', cookie()], ['/', {}], ['/app.js', {}], [`/?token=${ui.token}`, {}]] as [string, Record<string, string>][]) {
      const r = await send('GET', path, { ...headers, host });
      assert.equal(r.status, 421, `${host} ${path}`);
      assert.equal(r.body.code, 'UI_ERR_HOST_NOT_ALLOWED');
      assert.equal(r.headers['set-cookie'], undefined);
    }
    const post = await send('POST', '/api/models/retrain', { ...bearer(), host, origin: `http://${host}` });
    assert.equal(post.status, 421);
  }
  for (const host of [`localhost:${port}`, `[::1]:${port}`, `meshlens.example:${port}`]) {
    assert.equal((await send('GET', '/api/graph', { ...bearer(), host })).status, 200, host);
  }
  assert.deepEqual(retrains, []);
});

test('state changes: a script with Bearer and no Origin, or the page with its own Origin, retrain; anything else is refused and retrains nothing', async () => {
  const refused: [string, Record<string, string>, number, string][] = [
    ['cookie, no Origin', cookie(), 403, 'UI_ERR_ORIGIN_NOT_ALLOWED'],
    ['cookie, another local origin (same-site)', { ...cookie(), origin: `http://127.0.0.1:${port + 1}`, 'sec-fetch-site': 'same-site' }, 403, 'UI_ERR_ORIGIN_NOT_ALLOWED'],
    ['bearer, foreign Origin', { ...bearer(), origin: 'http://evil.example' }, 403, 'UI_ERR_ORIGIN_NOT_ALLOWED'],
    ['cookie, Origin null', { ...cookie(), origin: 'null' }, 403, 'UI_ERR_ORIGIN_NOT_ALLOWED'],
    ['cookie, Sec-Fetch-Site cross-site', { ...cookie(), origin: own(), 'sec-fetch-site': 'cross-site' }, 403, 'UI_ERR_CROSS_SITE'],
    ['own Origin, no credentials', { origin: own() }, 401, 'UI_ERR_UNAUTHENTICATED'],
  ];
  for (const [name, headers, status, code] of refused) {
    const r = await send('POST', '/api/models/retrain?subject=cart', headers);
    assert.deepEqual([r.status, r.body.code], [status, code], name);
  }
  assert.deepEqual(retrains, [], 'no refused call reached the models');
  const script = await send('POST', '/api/models/retrain?subject=cart', bearer());
  assert.deepEqual([script.status, script.body], [202, { queued: ['service:cart'] }]);
  const page = await send('POST', '/api/models/retrain?subject=web', { ...cookie(), origin: own(), 'sec-fetch-site': 'same-origin' });
  assert.deepEqual([page.status, page.body], [202, { queued: ['service:web'] }]);
  assert.deepEqual(retrains, ['cart', 'web']);
});

test('GET (or PUT) /api/models/retrain never retrains: 405 naming POST', async () => {
  const before = retrains.length;
  const get = await send('GET', '/api/models/retrain', bearer());
  assert.deepEqual([get.status, get.body.code, get.headers.allow], [405, 'UI_ERR_METHOD_NOT_ALLOWED', 'POST']);
  const put = await send('PUT', '/api/models/retrain', { ...bearer(), origin: own() });
  assert.equal(put.status, 405);
  assert.equal(retrains.length, before);
});

test('each refusal is counted by kind in /api/status and logged once with method, path, host and origin, never the token', async () => {
  const was = await refusedCounters();
  const logged = logs.length;
  await send('GET', '/api/taps?token=nope', { host: 'evil.example' });
  await send('POST', '/api/models/retrain?subject=cart', { ...cookie(), origin: 'http://evil.example' });
  await send('POST', '/api/models/retrain', { ...cookie(), origin: own(), 'sec-fetch-site': 'cross-site' });
  await send('GET', '/api/alerts');
  await send('GET', '/?token=wrong-wrong-wrong-wrong-wrong-wrong-wrong');
  const now = await refusedCounters();
  assert.deepEqual(Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - (was[k] ?? 0)])), {
    refused_host_not_allowed: 1, refused_cross_site: 1, refused_origin_not_allowed: 1, refused_unauthenticated: 2,
  });
  assert.deepEqual(logs.slice(logged).map((l) => l.replace(/: ([A-Z_]+) .*$/, ': $1')), [
    'ui: refused GET "/api/taps" host "evil.example" origin "": UI_ERR_HOST_NOT_ALLOWED',
    `ui: refused POST "/api/models/retrain" host "127.0.0.1:${port}" origin "http://evil.example": UI_ERR_ORIGIN_NOT_ALLOWED`,
    `ui: refused POST "/api/models/retrain" host "127.0.0.1:${port}" origin "${own()}": UI_ERR_CROSS_SITE`,
    `ui: refused GET "/api/alerts" host "127.0.0.1:${port}" origin "": UI_ERR_UNAUTHENTICATED`,
    `ui: refused GET "/" host "127.0.0.1:${port}" origin "": UI_ERR_UNAUTHENTICATED`,
  ]);
  assert.ok(logs.every((l) => !l.includes(ui.token)), 'no log line holds the token');
});
