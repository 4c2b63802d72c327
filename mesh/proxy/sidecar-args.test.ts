import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSidecarArgs, SidecarConfigError, startSidecar } from './index.ts';
import { request, startHttpServer } from './testing/servers.ts';

test('parses the standalone benchmark command line into options', () => {
  const o = parseSidecarArgs(['--listen', '127.0.0.1:0', '--upstream', '127.0.0.1:9000', '--no-taps',
    '--route', 'catalog=127.0.0.1:9001,127.0.0.1:9002', '--outbound', '127.0.0.1:0', '--tap-batch', '500']);
  assert.deepEqual(o.listen, { host: '127.0.0.1', port: 0 });
  assert.deepEqual(o.upstream, { host: '127.0.0.1', port: 9000 });
  assert.deepEqual(o.routes, [{ authority: 'catalog', endpoints: [{ host: '127.0.0.1', port: 9001 }, { host: '127.0.0.1', port: 9002 }] }]);
  assert.equal(o.taps?.enabled, false);
  assert.equal(o.taps?.batchSize, 500);
});

test('parses the inbound policy flags: fail-open, the headers a policy sees, the bundle fetch timeout, the warm-up bound', () => {
  const base = ['--listen', '127.0.0.1:0', '--upstream', '127.0.0.1:9000'];
  const o = parseSidecarArgs([...base, '--policy-fail-open', '--policy-header-allow', 'Authorization,X-Tenant', '--policy-fetch-timeout-ms', '2500', '--policy-warm-ms', '750']);
  assert.equal(o.policyFailOpen, true);
  assert.deepEqual(o.policyHeaderAllow, ['authorization', 'x-tenant']);
  assert.equal(o.policyFetchTimeoutMs, 2500);
  assert.equal(o.policyWarmMs, 750);
  assert.equal(parseSidecarArgs(base).policyFailOpen, undefined, 'fail-closed unless asked');
});

test('reports every problem in the sidecar flags at once', () => {
  assert.throws(() => parseSidecarArgs(['--mode', 'udp', '--listen', 'nowhere', '--tap-buffer', '-3', '--control', 'ftp://x', '--bogus', '1']), (e: unknown) => {
    assert.ok(e instanceof SidecarConfigError);
    assert.deepEqual(e.problems, [
      "--mode: expected http or tcp, got 'udp'",
      "--listen: expected ADDR:PORT, got 'nowhere'",
      "--tap-buffer: expected an integer >= 1, got '-3'",
      "--control: expected an https:// (or, for a test double, http://) URL, got 'ftp://x'",
      'unknown flag --bogus',
      'http mode needs --listen (inbound), --ingress or --outbound',
    ]);
    return true;
  });
});

test('an https control plane needs a trust bundle, and a certificate from files needs key, certificate and bundle together', () => {
  assert.throws(() => parseSidecarArgs(['--service', 'cart', '--listen', '127.0.0.1:0', '--upstream', '127.0.0.1:9000', '--control', 'https://127.0.0.1:7071']),
    (e: SidecarConfigError) => e.problems.includes('--trust-bundle: required with an https:// --control (how the control plane is checked)'));
  assert.throws(() => parseSidecarArgs(['--service', 'cart', '--listen', '127.0.0.1:0', '--upstream', '127.0.0.1:9000', '--svid-key', '/nonexistent']),
    (e: SidecarConfigError) => e.problems.includes('--svid-key, --svid-cert and --trust-bundle: give all three for a certificate issued elsewhere'));
  const o = parseSidecarArgs(['--service', 'cart', '--listen', '127.0.0.1:0', '--upstream', '127.0.0.1:9000'], { MESHLENS_JOIN_TOKEN: 'mlj_x' });
  assert.equal(o.joinToken, 'mlj_x', 'the join token comes from the environment, never argv');
});

test('a standalone sidecar started from flags serves traffic and counts its taps as not shipped', async (t) => {
  const workload = await startHttpServer((_req, res) => res.end('ok'));
  const sidecar = await startSidecar(parseSidecarArgs(['--service', 'cart', '--listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${workload.port}`]));
  t.after(async () => { await sidecar.close(); await workload.close(); });
  assert.equal((await request(sidecar.inboundAddress!.port, { path: '/' })).body, 'ok');
  await sidecar.close();
  const s = sidecar.stats();
  assert.equal(s.inbound.requests, 1);
  assert.equal(s.taps.not_shipped, 3); // l4.open, l7.request, l4.close
  assert.equal(s.taps.emitted, 0);
  assert.match(sidecar.id, /^cart-\d+$/);
});

test('--label KEY=VALUE is repeatable and each bad label is reported with the other flag problems', async () => {
  const base = ['--listen', '127.0.0.1:0', '--upstream', '127.0.0.1:9000'];
  assert.deepEqual(parseSidecarArgs([...base, '--label', 'version=v2', '--label', 'zone=eu-1.a']).labels, { version: 'v2', zone: 'eu-1.a' });
  assert.equal(parseSidecarArgs(base).labels, undefined, 'no labels unless given');
  assert.throws(() => parseSidecarArgs([...base, '--label', 'version', '--label', 'version=v1', '--label', 'version=v2', '--label', 'a=b,c=d', '--tap-batch', '0']), (e: unknown) => {
    assert.ok(e instanceof SidecarConfigError);
    assert.deepEqual(e.problems, [
      '--label: expected KEY=VALUE, each 1-63 of [A-Za-z0-9._-], got "version"',
      "--label: label 'version' given twice",
      '--label: expected KEY=VALUE, each 1-63 of [A-Za-z0-9._-], got "a=b,c=d"',
      "--tap-batch: expected an integer >= 1, got '0'",
    ]);
    return true;
  });
  // Options built in code are checked the same way.
  await assert.rejects(startSidecar({ service: 'cart', outbound: { host: '127.0.0.1', port: 0 }, labels: { version: 'v 2' } }),
    (e: SidecarConfigError) => e.problems.includes('--label.version: value "v 2" is not 1-63 of [A-Za-z0-9._-]'));
});
