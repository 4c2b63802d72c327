import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestControl, type TestControl } from '../control/testing/mesh-clients.ts';
import { startSidecar, type Sidecar } from './index.ts';
import { testIdentities } from './testing/identities.ts';
import { request, startHttpServer } from './testing/servers.ts';

/** Polls until `probe` holds (no time limit of its own: the test runner's timeout is the bound). */
async function until(probe: () => boolean): Promise<void> {
  while (!probe()) await new Promise((r) => setTimeout(r, 10));
}

/**
 * A real control plane; payments v1 and v2, each a workload behind its own
 * inbound sidecar labelled with its version; and web's sidecar, whose
 * outbound listener the test calls as the web workload would. Every sidecar
 * holds an SVID of the control plane's CA and speaks mTLS.
 */
async function paymentsV1V2(t: { after(fn: () => Promise<void>): void }) {
  const ids = await testIdentities();
  const control: TestControl = await startTestControl({ ca: ids.ca });
  const closers: (() => Promise<void>)[] = [() => control.close()];
  t.after(async () => { for (const c of closers.reverse()) await c(); });
  const common = { controlUrl: control.cp.url, taps: { enabled: false }, closeGraceMs: 200, controlRetryMaxMs: 50 };
  const payments = async (version: string) => {
    const workload = await startHttpServer((req, res) => { req.resume(); res.end(version); });
    closers.push(() => workload.close());
    const proxy = `payments-${version}`;
    const sidecar = await startSidecar({
      ...common, id: proxy, service: 'payments', labels: { version }, staticIdentity: await ids.identity('payments', proxy),
      listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: workload.port },
    });
    closers.push(() => sidecar.close());
    return sidecar;
  };
  await payments('v1');
  await payments('v2');
  const web: Sidecar = await startSidecar({ ...common, id: 'web-1', service: 'web', staticIdentity: await ids.identity('web', 'web-1'), outbound: { host: '127.0.0.1', port: 0 } });
  closers.push(() => web.close());
  /** Until web's sidecar runs `version` of the config (or a later one). */
  const applied = (version: number) => until(() => web.stats().config.version >= version);
  // Settled: all three registered and the push that follows a registration
  // has gone out (every stream holds the newest version), so no later
  // snapshot restarts the round robin under the test.
  await until(() => {
    const st = control.cp.status();
    return st.proxies.length === 3 && st.proxies.every((p) => p.connected && p.sent_version === st.version);
  });
  await applied(control.cp.status().version);
  const call = async () => {
    const r = await request(web.outboundAddress!.port, { path: '/charge', headers: { host: 'payments' } });
    return r.status === 200 ? r.body : `${r.status} ${r.headers['x-meshlens-error']}: ${r.body}`;
  };
  const calls = async (n: number) => { const out: string[] = []; for (let i = 0; i < n; i++) out.push(await call()); return out; };
  const setWeights = async (subsets: { version: string; weight: number }[]) => {
    const r = await control.operator().request('PUT', '/v1/routes/payments', { subsets });
    assert.equal(r.status, 200, r.body.toString());
    await applied(r.json<{ version: number }>().version);
  };
  return { control, web, call, calls, setWeights, applied };
}

const tally = (bodies: string[]) => Object.fromEntries([...new Set(bodies)].sort().map((b) => [b, bodies.filter((x) => x === b).length]));

test('weights 90/10 send exactly 90 of 100 requests to payments v1 and 10 to v2, interleaved; without weights both versions share round robin', async (t) => {
  const { calls, setWeights } = await paymentsV1V2(t);
  assert.deepEqual(tally(await calls(4)), { v1: 2, v2: 2 }, 'no weights: every endpoint in turn');

  await setWeights([{ version: 'v1', weight: 90 }, { version: 'v2', weight: 10 }]);
  const bodies = await calls(100);
  assert.deepEqual(tally(bodies), { v1: 90, v2: 10 });
  // Smooth, not 90 then 10: one v2 in every ten consecutive requests.
  for (let i = 0; i < 100; i += 10) assert.equal(bodies.slice(i, i + 10).filter((b) => b === 'v2').length, 1, `requests ${i}..${i + 9}: ${bodies.slice(i, i + 10).join(' ')}`);
});

test('weights changed from 90/10 to 0/100 while requests flow send everything to v2 with no failed request', async (t) => {
  const { calls, call, setWeights } = await paymentsV1V2(t);
  await setWeights([{ version: 'v1', weight: 90 }, { version: 'v2', weight: 10 }]);
  // A caller that keeps calling through the change.
  let stop = false;
  const during: string[] = [];
  const flowing = (async () => { while (!stop) during.push(await call()); })();
  await until(() => during.length >= 20);
  await setWeights([{ version: 'v1', weight: 0 }, { version: 'v2', weight: 100 }]);
  const countAtSwitch = during.length;
  await until(() => during.length >= countAtSwitch + 20);
  stop = true;
  await flowing;
  assert.deepEqual(during.filter((b) => b !== 'v1' && b !== 'v2'), [], 'no request failed during the change');
  assert.deepEqual(tally(await calls(100)), { v2: 100 });
});

test('a subset without endpoints is passed over while another has some, and is answered 503 MESH_ERR_NO_ENDPOINT naming it when it is all there is', async (t) => {
  const { calls, call, setWeights, web } = await paymentsV1V2(t);
  await setWeights([{ version: 'v1', weight: 50 }, { version: 'v3', weight: 50 }]);
  assert.deepEqual(tally(await calls(10)), { v1: 10 }, 'v3 has no instance: its share goes to v1');

  await setWeights([{ version: 'v1', weight: 0 }, { version: 'v3', weight: 100 }]);
  const r = await call();
  assert.match(r, /^503 MESH_ERR_NO_ENDPOINT: .*no endpoint for payments\{version=v3\} \(route 'payments', config version \d+\)/);
  assert.equal(web.stats().outbound.errors.MESH_ERR_NO_ENDPOINT, 1);
});
