import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { join } from 'node:path';
import { assertNoSidecarLoss, eventually, sidecarFinalStats, withDemoMesh } from './stack.ts';

interface Sent { trace: string; start: number; end: number; status: number }

/** Open-loop front-door traffic at `rps`, each request with its own trace id, every outcome recorded. */
function steadyTraffic(target: string, rps: number) {
  const url = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const sent: Sent[] = [];
  const inflight = new Set<Promise<void>>();
  const started = Date.now();
  let n = 0;
  const timer = setInterval(() => {
    for (; n < ((Date.now() - started) / 1000) * rps; n++) {
      const trace = randomBytes(16).toString('hex');
      const start = Date.now();
      const p = new Promise<void>((resolve) => {
        const done = (status: number) => { sent.push({ trace, start, end: Date.now(), status }); resolve(); };
        const req = http.request({ host: url.hostname, port: url.port, path: '/cart', agent, headers: { traceparent: `00-${trace}-${randomBytes(8).toString('hex')}-01` } }, (res) => {
          res.resume();
          res.on('end', () => done(res.statusCode ?? 0));
          res.on('error', () => done(0));
        });
        req.on('error', () => done(0));
        req.end();
      }).then(() => { inflight.delete(p); });
      inflight.add(p);
    }
  }, 20);
  return {
    sent,
    async stop() { clearInterval(timer); await Promise.all(inflight); agent.destroy(); },
  };
}

test('a sidecar killed with kill -9 mid-stream: callers get 503 (not 404) while it is down, the supervisor restarts it, traffic flows again, and every tap it had emitted is stored or counted lost', { timeout: 240_000 }, () =>
  withDemoMesh('crash', [], {
    stateDir: (dir) => join(dir, 'sidecars'),
    // Long enough that the outage outlasts the control plane's push of the empty endpoint list to web-1.
    restartBackoffMs: 1_000,
    // Batches wait 3 s for more taps: cart-1 is killed while it holds taps it has not even sealed.
    sidecarFlags: ['--tap-linger-ms', '3000'],
  }, async ({ core, mesh, lines }) => {
    const traffic = steadyTraffic(mesh.ingressUrl, 40);
    await eventually('100 front-door requests answered', () => traffic.sent.filter((s) => s.status === 200).length >= 100, 60_000);
    // Kill 1.5 s after one of cart-1's batches landed: the next one is 1.5 s from being sealed, so every
    // tap cart-1 recorded since is in its spool only.
    const headBatch = async () => (await core.store.chainHeads()).find((h) => h.proxy === 'cart-1')?.batch ?? -1;
    const before = await headBatch();
    await eventually('a cart-1 batch lands', async () => await headBatch() > before, 60_000);
    const landedAt = Date.now();
    await new Promise((r) => setTimeout(r, 1_500));

    const victim = mesh.sidecars.get('cart-1')!;
    const killedAt = Date.now();
    victim.kill('SIGKILL');
    assert.equal((await victim.ended).signal, 'SIGKILL');
    await eventually('the supervisor started cart-1 again and it registered', async () =>
      mesh.sidecars.get('cart-1') !== victim && ((await core.control.status()).services.cart?.length ?? 0) > 0, 60_000);
    const backAt = Date.now();
    await eventually('front-door requests succeed again', () => traffic.sent.filter((s) => s.start > backAt && s.status === 200).length >= 40, 60_000);
    await traffic.stop();
    await mesh.close();

    assert.ok(lines.includes('supervisor: sidecar cart-1 exited (signal SIGKILL), restarting in 1000 ms (restart 1)'), 'the restart is logged');
    assert.deepEqual(mesh.restarts(), { 'web-1': 0, 'catalog-1': 0, 'cart-1': 1, 'payments-1': 0, 'inventory-1': 0 });
    assertNoSidecarLoss(lines, mesh.sidecars.size);

    // While cart had no sidecar, web-1 answered its workload's calls to cart 503 (no endpoint), never 404 (no route).
    const calls = (await core.store.recentTaps({ proxy: 'web-1', kind: 'l7.request', direction: 'outbound' }, 1_000_000))
      .filter((x) => x.ts as number >= killedAt);
    assert.deepEqual(calls.filter((x) => x.status === 404).map((x) => x.error), [], 'no caller got 404');
    assert.ok(calls.some((x) => x.dst_service === 'cart' && x.status === 503 && x.error === 'MESH_ERR_NO_ENDPOINT'),
      `callers got 503 MESH_ERR_NO_ENDPOINT while cart-1 was down; got ${JSON.stringify([...new Set(calls.map((x) => `${x.dst_service} ${x.status} ${x.error}`))])}`);
    assert.deepEqual([...new Set(traffic.sent.map((s) => s.status))].filter((s) => s !== 200 && s !== 502), [], 'the front door answered 200, or 502 while cart was down');

    const heads = (await core.store.chainHeads()).filter((h) => h.proxy === 'cart-1');
    assert.equal(heads.length, 2, 'cart-1 has two streams: the killed process\'s and its successor\'s');
    const taps = await core.store.recentTaps({ proxy: 'cart-1' }, 1_000_000);
    const oldStream = taps.find((x) => (x.ts as number) < killedAt)!.stream as string;
    const old = taps.filter((x) => x.stream === oldStream);
    const head = heads.find((h) => h.stream === oldStream)!;
    const loss = (await core.store.lossSummary()).filter((l) => l.proxy === 'cart-1');
    const lost = loss.reduce((s, l) => s + l.events, 0);
    // Every seq of the old stream is stored: nothing vanished between the first tap and the last.
    assert.deepEqual(old.map((x) => x.seq as number).sort((a, b) => a - b), Array.from({ length: head.last_seq + 1 }, (_, i) => i));
    assert.deepEqual(loss.filter((l) => l.reason === 'sequence_gap'), []);
    // Every request cart-1 had answered before the kill (300 ms before: its tap was pushed in an
    // earlier event-loop turn) has its inbound tap, or is counted lost; among them those it answered
    // after its last batch had landed, whose taps were in its spool only.
    const answered = traffic.sent.filter((s) => s.status === 200 && s.end < killedAt - 300);
    const onlySpooled = answered.filter((s) => s.end > landedAt + 100);
    const seen = new Set(old.filter((x) => x.kind === 'l7.request' && x.direction === 'inbound').map((x) => x.trace_id));
    const missing = answered.filter((s) => !seen.has(s.trace));
    assert.ok(onlySpooled.length >= 10, `${onlySpooled.length} requests answered between cart-1's last batch and the kill`);
    assert.ok(missing.length <= lost, `${missing.length} of ${answered.length} requests cart-1 served before the kill have no tap (${missing.filter((s) => onlySpooled.includes(s)).length} of the ${onlySpooled.length} only spooled), and ${lost} taps are counted lost`);
    // It was the restarted sidecar that found the killed process's stream in the spool and delivered it.
    const restarted = sidecarFinalStats(lines).get('cart-1') as unknown as { tap_recovery: { streams_found: number; taps_resealed: number; resumed: { taps: { emitted: number; acked: number } }[] } };
    assert.equal(restarted.tap_recovery.streams_found, 1);
    assert.ok(restarted.tap_recovery.taps_resealed > 0, 'the killed process left unsealed taps, and its successor sealed them');
    for (const r of restarted.tap_recovery.resumed) assert.equal(r.taps.acked, r.taps.emitted);
  }));
