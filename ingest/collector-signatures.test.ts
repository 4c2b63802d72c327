import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { verifiedPeer, type CertificateAuthority } from '../identity/index.ts';
import { encodeBatch, sealFrame, type TapBatch } from './batch.ts';
import { createChdbStore } from './chdb-store.ts';
import { Collector } from './collector.ts';
import { GroupCommit } from './group-commit.ts';
import { handleTapPost } from './http.ts';
import { sampleChain, sampleL7 } from './sample-taps.ts';
import { forgeries, sampleCa, sampleSidecar, type SampleSidecar } from './sample-svids.ts';
import type { TapStore } from './store.ts';

// The attacks of the security review on the embedded bus (POST /v1/taps
// over mutual TLS, the sender taken from the client certificate), each
// beside web-1's honest stream, with a real chdb store and real certificates.
let store: TapStore;
let dir: string;
let ca: CertificateAuthority;
let web: SampleSidecar;
let cart: SampleSidecar;
/** web-1's identity as a forger makes it: CN web-1, URI of service web, from a CA of its own. */
let forger: SampleSidecar;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshlens-signatures-'));
  store = createChdbStore({ dataDir: dir });
  await store.init();
  ca = await sampleCa();
  web = await sampleSidecar(ca, 'web', 'web-1');
  cart = await sampleSidecar(ca, 'cart', 'cart-1');
  forger = await sampleSidecar(await sampleCa(), 'web', 'web-1');
});
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const events = (n: number, over: Parameters<typeof sampleL7>[0] = {}) => Array.from({ length: n }, () => sampleL7(over));
const unsealed = (b: TapBatch) => ({ proxy: b.proxy, stream: b.stream, batch: b.batch, first_seq: b.first_seq, lost: b.lost, events: b.events, prev_hash: b.prev_hash });

/** The control plane's tap endpoint: TLS with the mesh's SVID, client certificates asked for and checked against the bundle. */
async function tapServer(t: { after: (fn: () => unknown) => void }, c: Collector) {
  const own = await ca.issueOwn({ service: 'control', proxy: 'control-1', ips: ['127.0.0.1'] });
  const group = new GroupCommit(c, { lingerMs: 5 });
  const server = https.createServer({ key: own.keyPem, cert: own.chainPem, ca: ca.bundle.toPem(), requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const peer = verifiedPeer(req.socket);
      void handleTapPost(c, req, res, { group, sender: peer.ok ? peer.svid.proxy : undefined });
    });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;
  /** POSTs a frame, as `as` (its client certificate) or with none. */
  return (frame: Buffer, as?: SampleSidecar) => new Promise<{ status: number; code?: string; message?: string; duplicate?: boolean }>((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port, path: '/v1/taps', method: 'POST', ca: ca.bundle.toPem(), agent: false,
      ...(as ? { key: as.keyPem, cert: as.chainPem } : {}),
    }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ...JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(frame);
  });
}

test('over HTTPS: forged web-1 batches are refused for good (400, 409) and kept in tap_rejects with their reason, and web-1\'s own stream beside them is stored exactly, without loss', async (t) => {
  const c = new Collector(store, { trust: ca.bundle });
  const post = await tapServer(t, c);
  const honest = sampleChain('web-1', 'w', [events(3), events(2), events(4), events(1), events(5), events(2)], { signer: web.signer });
  for (const b of honest.slice(0, 2)) assert.deepEqual(await post(encodeBatch(b), web), { status: 200, accepted: true, duplicate: false });

  // What a forger sends next in web-1's stream (made-up traffic), from a connection without a client certificate,
  // and the one a sidecar with a valid certificate of its own (cart-1) sends over its own mTLS connection.
  const attacks: { what: string; frame: Buffer; as?: SampleSidecar; code: string; message: RegExp }[] = [
    ...forgeries(honest, 2, web, cart, forger),
    { what: 'sent by cart-1 over its own mTLS connection', frame: sealFrame(unsealed(honest[2]), undefined, cart.signer).frame, as: cart, code: 'INGEST_ERR_SENDER', message: /authenticated as cart-1, but the header names proxy web-1/ },
  ];
  for (const { what, frame, as, code, message } of attacks) {
    const r = await post(frame, as);
    assert.equal(r.status, code === 'INGEST_ERR_CHAIN' ? 409 : 400, `${what}: ${JSON.stringify(r)}`);
    assert.equal(r.code, code, what);
    assert.match(r.message ?? '', message, what);
  }

  // web-1 goes on as if nothing happened: every batch stored, none a gap, none stale.
  for (const b of honest.slice(2)) assert.deepEqual(await post(encodeBatch(b), web), { status: 200, accepted: true, duplicate: false });
  // Replays of web-1's genuine batches by someone else: the head is a duplicate, an older one stale (the embedded bus never goes back).
  assert.deepEqual(await post(encodeBatch(honest[5])), { status: 200, accepted: true, duplicate: true });
  const stale = await post(encodeBatch(honest[1]));
  assert.deepEqual([stale.status, stale.code], [409, 'INGEST_ERR_CHAIN']);
  assert.match(stale.message ?? '', /batch 1 of web-1\/w: stale: the stream is already at batch 5/);
  assert.equal(await store.countTaps({ proxy: 'web-1' }), 17);
  assert.equal(await store.countTaps({ dst_service: 'made-up' }), 0);
  assert.ok(!(await store.serviceGraph(600)).nodes.some((n) => n.service === 'made-up'), 'no made-up service in the graph');
  assert.deepEqual((await store.lossSummary()).filter((l) => l.proxy === 'web-1'), [], 'no loss recorded');
  const [h] = (await store.chainHeads()).filter((x) => x.proxy === 'web-1' && x.stream === 'w');
  assert.deepEqual([h.batch, h.hash, h.last_seq], [5, honest[5].hash, 16]);
  const counters = c.counters();
  assert.deepEqual(counters.rejected_by_code, { INGEST_ERR_SIGNATURE: 8, INGEST_ERR_SENDER: 1, INGEST_ERR_CHAIN: 2 });
  assert.deepEqual([counters.batches_accepted, counters.batches_duplicate, counters.events_written, counters.events_gap_lost, counters.rejects_recorded], [6, 1, 17, 0, 11]);
  assert.equal(counters.certificate_chains_verified, 2, 'web-1\'s certificate and cart-1\'s, each walked once');

  // Each forged frame is in tap_rejects with what it claimed, why, who signed it (if believed) and who sent it.
  const rows = await store.rejects({ proxy: 'web-1' }, 20);
  assert.equal(rows.length, attacks.length + 1, 'each forged frame, and the stale replay');
  const bySha = new Map(rows.map((r) => [r.frame_sha256, r]));
  for (const { what, frame, as, code, message } of attacks) {
    const r = bySha.get(createHash('sha256').update(frame).digest('hex'));
    assert.ok(r, what);
    assert.deepEqual([r.code, r.stream, r.frame_bytes, r.sender, r.frame_head], [code, 'w', frame.length, as?.proxy ?? '', frame.toString('utf8', 0, 1024)], what);
    assert.match(r.reason, message, what);
  }
  assert.deepEqual(rows.filter((r) => r.signer !== '').map((r) => r.signer).sort(), [
    'spiffe://test.local/ns/default/sa/cart', 'spiffe://test.local/ns/default/sa/cart',
    'spiffe://test.local/ns/default/sa/web', 'spiffe://test.local/ns/default/sa/web', 'spiffe://test.local/ns/default/sa/web',
  ], 'the signer is named where its certificate was believed: cart-1 signing for web-1; web-1\'s certificate under the forger\'s key, over altered events, on the stale replay');
  assert.deepEqual([...new Set(rows.map((r) => r.batch))].sort((a, b) => a - b), [1, 2, 1000]);
  // And the stored batches name who signed them.
  const rec = await store.batchRecord('web-1', 'w', 3);
  assert.deepEqual(rec && [rec.signer, rec.signer_cert, rec.signature], ['spiffe://test.local/ns/default/sa/web', web.signer.svid.fingerprint, honest[3].signature?.sig]);
});

test('a refused frame whose tap_rejects row cannot be written gets a retriable 503 instead, and is recorded once when it comes again', async () => {
  let rejectsDown = true;
  const failing = new Proxy(store, {
    get: (s, k: keyof TapStore) => (k === 'recordRejects'
      ? async (r: Parameters<TapStore['recordRejects']>[0]) => { if (rejectsDown) throw new Error('tap_rejects: disk full'); return s.recordRejects(r); }
      : (s[k] as (...a: unknown[]) => unknown).bind(s)),
  });
  const c = new Collector(failing, { trust: ca.bundle });
  const [b0, b1] = sampleChain('web-1', 'down', [events(2), events(1)], { signer: web.signer });
  const forged = encodeBatch(sampleChain('web-9', 'down', [events(1)])[0]);
  const [ok, refused] = await c.acceptMany([encodeBatch(b0), forged]);
  assert.deepEqual(ok, { ok: true, duplicate: false, events: 2 });
  assert.ok(!refused.ok && refused.retriable && refused.code === 'INGEST_ERR_STORE' && refused.message.includes('disk full'), JSON.stringify(refused));
  rejectsDown = false;
  const again = await c.accept(forged);
  assert.ok(!again.ok && again.code === 'INGEST_ERR_SIGNATURE');
  assert.deepEqual(await c.accept(encodeBatch(b1)), { ok: true, duplicate: false, events: 1 });
  assert.equal(await store.countRejects({ proxy: 'web-9' }), 1);
  assert.deepEqual(c.counters().rejected_by_code, { INGEST_ERR_STORE: 1, INGEST_ERR_SIGNATURE: 1 });
  assert.equal(c.counters().rejects_recorded, 1);
});

test('a signer\'s certificate is stored before the first batch it signed; if that write fails the batch gets a retriable store error and nothing of it is stored', async () => {
  let signersDown = true;
  const failing = new Proxy(store, {
    get: (s, k: keyof TapStore) => (k === 'writeSigners'
      ? async (r: Parameters<TapStore['writeSigners']>[0]) => { if (signersDown) throw new Error('tap_signers: disk full'); return s.writeSigners(r); }
      : (s[k] as (...a: unknown[]) => unknown).bind(s)),
  });
  const own = await sampleSidecar(ca, 'web', 'web-7');
  const c = new Collector(failing, { trust: ca.bundle });
  const [b0, b1] = sampleChain('web-7', 'certs', [events(2), events(1)], { signer: own.signer });
  const down = await c.accept(encodeBatch(b0));
  assert.ok(!down.ok && down.retriable && down.code === 'INGEST_ERR_STORE' && down.message.includes('disk full'), JSON.stringify(down));
  assert.equal(await store.countTaps({ proxy: 'web-7' }), 0);
  assert.equal(await store.batchRecord('web-7', 'certs', 0), null);
  signersDown = false;
  for (const b of [b0, b1]) assert.deepEqual(await c.accept(encodeBatch(b)), { ok: true, duplicate: false, events: b.events.length });
  assert.deepEqual((await store.signers([own.signer.svid.fingerprint])).map((x) => [x.uri, x.proxy, x.x5c]), [[own.signer.svid.uri, 'web-7', b0.signature?.x5c]]);
  assert.equal(c.counters().signers_recorded, 1, 'once for both batches');
});

test('without a trust bundle, unsigned and signed batches are accepted unverified (tests, benchmarks), and a sender is still checked', async () => {
  const c = new Collector(store);
  const chain = sampleChain('web-1', 'open', [events(1), events(1)]);
  const signed = sampleChain('cart-1', 'open', [events(2)], { signer: cart.signer });
  assert.equal((await c.accept(encodeBatch(chain[0]))).ok, true);
  assert.equal((await c.accept(encodeBatch(signed[0]))).ok, true);
  const r = await c.accept(encodeBatch(chain[1]), 'cart-1');
  assert.ok(!r.ok && r.code === 'INGEST_ERR_SENDER' && r.status === 400 && !r.retriable, JSON.stringify(r));
  assert.equal((await c.accept(encodeBatch(chain[1]), 'web-1')).ok, true, 'the refusal changed nothing in the stream');
  assert.equal((await store.batchRecord('cart-1', 'open', 0))?.signer, '', 'a signature nobody checked names no signer');
  assert.deepEqual([c.counters().signatures_verified, c.counters().rejects_recorded], [0, 1]);
});

test('a sidecar signs only for its own side: cart-1\'s genuine key cannot record web\'s calls or payments\' answers; its own taps beside them are stored', async () => {
  const c = new Collector(store, { trust: ca.bundle });
  const [tapsBefore, rejectsBefore] = [await store.countTaps({ proxy: 'cart-1' }), await store.countRejects({ proxy: 'cart-1' })];
  const own = [sampleL7({ direction: 'outbound', src_service: 'cart', dst_service: 'payments' }), sampleL7({ direction: 'inbound', src_service: 'web', dst_service: 'cart' })];
  const [b0, b1, b2] = sampleChain('cart-1', 'own-side', [own, [sampleL7({ direction: 'outbound', src_service: 'web', dst_service: 'made-up' })], [sampleL7({ direction: 'inbound', src_service: 'cart', dst_service: 'payments' })]], { signer: cart.signer });
  assert.deepEqual(await c.accept(encodeBatch(b0), 'cart-1'), { ok: true, duplicate: false, events: 2 });
  for (const [b, claim] of [[b1, /outbound with caller "web"/], [b2, /inbound with callee "payments"/]] as const) {
    const r = await c.accept(encodeBatch(b), 'cart-1');
    assert.ok(!r.ok && r.code === 'INGEST_ERR_FOREIGN_SERVICE' && !r.retriable, JSON.stringify(r));
    assert.match(r.message, claim);
    assert.match(r.message, /signed by a sidecar of cart: a sidecar records only its own side/);
  }
  assert.equal(await store.countTaps({ proxy: 'cart-1', dst_service: 'made-up' }), 0);
  assert.equal(await store.countTaps({ proxy: 'cart-1' }), tapsBefore + 2);
  assert.equal(await store.countRejects({ proxy: 'cart-1' }), rejectsBefore + 2, 'both refusals kept with their reason');
  assert.equal(c.counters().batches_after_gap, 0, 'the refused batches opened no gap');
});
