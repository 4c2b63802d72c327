// Actions act only on what the mesh authenticated. The signals the engine
// reads are stored taps, and a tap is stored only when the collector
// believes its batch: signed by a certificate of the mesh CA, sent over mTLS
// by the proxy the header names, the events on the signer's own side of the
// call. Here forged taps say catalog-2 fails every request web-1 sends it;
// the shipped policy, in auto, must not move any traffic. The same taps sent
// honestly (web-1's own certificate, over its own connection) do move it:
// the test can fail.
//
// Alerts have no way in from the network: the detector writes them in the
// control plane's own process, from these same stored rollups.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeBatch, sealFrame, type BatchSigner, type TapBatch } from '../../../ingest/index.ts';
import { sampleChain, sampleL7 } from '../../../ingest/sample-taps.ts';
import { sampleCa, sampleSidecar, type SampleSidecar } from '../../../ingest/sample-svids.ts';
import { DEFAULT_TUNING_SETTINGS } from './settings.ts';
import { tuningRig, type Rig } from './testing/engine-rig.ts';
import { DEFAULT_TUNING_POLICY_DIR } from './tuning-policy.ts';

const shipped = readdirSync(DEFAULT_TUNING_POLICY_DIR).filter((f) => f === 'tuning.rego').map((f) => readFileSync(join(DEFAULT_TUNING_POLICY_DIR, f), 'utf8'))[0];
const auto = { modes: { shift: 'auto', eject: 'auto', scale: 'auto', ratelimit: 'auto' } as typeof DEFAULT_TUNING_SETTINGS.modes };

/** web-1's calls to catalog over the last seconds: catalog-2 fails all, catalog-1 none; as web-1's batch `stream`. */
function webCalls(stream: string, signer?: BatchSigner): TapBatch[] {
  const at = Date.now() - 10_000;
  const call = (instance: string, status: number, i: number) => sampleL7({
    ts: at + i, direction: 'outbound', src_service: 'web', src_instance: 'web-1', dst_service: 'catalog', dst_instance: instance, dst_version: 'v1', status,
  });
  const events = [...Array.from({ length: 40 }, (_, i) => call('catalog-2', 500, i)), ...Array.from({ length: 40 }, (_, i) => call('catalog-1', 200, i))];
  return sampleChain('web-1', stream, [events], signer ? { signer } : {});
}

/** POSTs a frame to the control plane's collector, with `as`'s client certificate or none. */
function post(r: Rig, frame: Buffer, as?: SampleSidecar): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(new URL('/v1/taps', r.mesh.control.cp.url), {
      method: 'POST', ca: r.mesh.control.ca.bundle.toPem(), agent: false, checkServerIdentity: () => undefined,
      ...(as ? { key: as.keyPem, cert: as.chainPem } : {}),
    }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
    req.on('error', reject);
    req.end(frame);
  });
}

test('forged taps saying catalog-2 fails are refused by the collector and move no traffic; the same taps sent by web-1 itself eject it', async (t) => {
  const r = await tuningRig(t, { rego: shipped, settings: auto, collector: true });
  const ca = r.mesh.control.ca;
  const web = await sampleSidecar(ca, 'web', 'web-1');
  const indexer = await sampleSidecar(ca, 'indexer', 'indexer-1'); // a workload of this mesh gone bad
  const stranger = await sampleSidecar(await sampleCa(), 'web', 'web-1'); // web-1's name from a CA of its own

  const forged: [string, Buffer, SampleSidecar | undefined, number][] = [
    ['unsigned, no client certificate', encodeBatch(webCalls('f1')[0]), undefined, 401],
    ['unsigned, sent by indexer-1', encodeBatch(webCalls('f2')[0]), indexer, 400],
    ['signed by indexer-1 under web-1\'s name', sealFrame({ ...webCalls('f3')[0] }, undefined, indexer.signer).frame, indexer, 400],
    ['signed under another CA, sent by indexer-1', encodeBatch(webCalls('f4', stranger.signer)[0]), indexer, 400],
  ];
  for (const [what, frame, as, status] of forged) assert.equal(await post(r, frame, as), status, what);
  // indexer-1 under its own name, reporting web's side of the calls: not its own traffic.
  const own = sampleChain('indexer-1', 'f5', [webCalls('x')[0].events.map((e) => ({ ...e, proxy: 'indexer-1' }))], { signer: indexer.signer });
  assert.equal(await post(r, encodeBatch(own[0]), indexer), 400, 'events on another service\'s side');

  await r.engine.tick();
  assert.deepEqual(await r.records(), [], 'no action: the forged figures never reached the store');
  assert.deepEqual(r.mesh.control.cp.status().ejections, []);
  assert.equal(await r.store.countTaps({}), 0);
  assert.ok(await r.store.countRejects({}) >= 4, 'the forgeries are on the record');

  // The same figures, honestly: web-1's certificate, over web-1's own connection.
  assert.equal(await post(r, encodeBatch(webCalls('honest', web.signer)[0]), web), 200);
  await r.engine.tick();
  const recs = await r.records();
  assert.deepEqual(recs.map((x) => [x.kind, x.subject, x.state]), [['eject', 'catalog-2', 'applied']]);
  assert.deepEqual(r.mesh.control.cp.status().ejections.map((e) => e.instance), ['catalog-2']);
});
