import assert from 'node:assert/strict';
import { verify, X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { certificatesFromPem, TrustBundle } from '../identity/index.ts';
import { BatchSigner, signedMessage } from './batch-signer.ts';
import { decodeBatch } from './batch-check.ts';
import { BatchVerifier } from './batch-verifier.ts';
import { encodeBatch, sealFrame, sealLines, type TapBatch } from './batch.ts';
import { eventLine } from './tap-lines.ts';
import { sampleChain, sampleL7 } from './sample-taps.ts';
import { sampleCa, sampleSidecar, signatureOf, withSignature } from './sample-svids.ts';

const events = (n: number) => Array.from({ length: n }, () => sampleL7());
const head = (frame: Buffer) => {
  const { events: _e, ...header } = decodeBatch(frame);
  return { header, label: `batch ${header.batch} of ${header.proxy}/${header.stream}` };
};
const unsealed = (b: TapBatch) => ({ proxy: b.proxy, stream: b.stream, batch: b.batch, first_seq: b.first_seq, lost: b.lost, events: b.events, prev_hash: b.prev_hash });

test('a signed frame is schema 4: the schema 3 lines, the hash line, then a signature line whose ECDSA signature of the hash verifies with the leaf certificate', async () => {
  const ca = await sampleCa();
  const web = await sampleSidecar(ca, 'web', 'web-1');
  const [b] = sampleChain('web-1', 's', [events(3)]);
  const { batch, frame } = sealFrame(unsealed(b), undefined, web.signer);
  const lines = frame.toString().split('\n');
  assert.equal(lines.length, 1 + 3 + 2 + 1, 'header, 3 events, hash line, signature line, and the final newline');
  assert.ok(lines[0].startsWith('{"schema":4,"proxy":"web-1",'));
  assert.equal(lines[4], `{"hash":"${batch.hash}"}`);
  const sig = JSON.parse(lines[5]) as { sig: string; x5c: string[] };
  assert.deepEqual(Object.keys(sig), ['sig', 'x5c']);
  const leaf = new X509Certificate(Buffer.from(sig.x5c[0], 'base64'));
  assert.equal(leaf.fingerprint256, certificatesFromPem(web.chainPem)[0].fingerprint256);
  assert.equal(sig.x5c.length, 1, 'our own root is in every bundle: only the leaf travels');
  assert.ok(verify('sha256', signedMessage(batch.hash), leaf.publicKey, Buffer.from(sig.sig, 'base64')));
  assert.deepEqual(signedMessage(batch.hash), Buffer.from(`meshlens-tap-batch-v1:${batch.hash}`));
  const decoded = decodeBatch(frame);
  assert.deepEqual(decoded.signature, sig);
  assert.deepEqual(encodeBatch(decoded), frame, 'a decoded signed batch encodes to the same bytes');
  assert.equal(sealFrame(unsealed(b)).frame.toString().slice(0, 11), '{"schema":3', 'without a signer: schema 3, unsigned');
  assert.throws(() => sealFrame(unsealed(b), 2, web.signer), /schema 2 cannot be signed/);
});

test('a BatchSigner refuses a key that is not its certificate\'s, and a chain with no certificate', async () => {
  const ca = await sampleCa();
  const web = await sampleSidecar(ca, 'web', 'web-1');
  const cart = await sampleSidecar(ca, 'cart', 'cart-1');
  assert.equal(web.signer.proxy, 'web-1');
  assert.equal(web.signer.svid.uri, 'spiffe://test.local/ns/default/sa/web');
  assert.throws(() => new BatchSigner(cart.keyPem, web.chainPem), { code: 'INGEST_ERR_CONFIG', message: /the key is not the key of certificate .*web-1/ });
  assert.throws(() => new BatchSigner(web.keyPem, ''), { code: 'INGEST_ERR_CONFIG', message: /no PEM certificate/ });
  assert.throws(() => new BatchSigner('not a key', web.chainPem), { code: 'INGEST_ERR_CONFIG' });
});

test('the verifier walks a certificate chain once and then checks one signature per batch; a renewed certificate is walked once more', async () => {
  const ca = await sampleCa();
  const web = await sampleSidecar(ca, 'web', 'web-1');
  const v = new BatchVerifier(ca.bundle);
  const chain = sampleChain('web-1', 's', [events(1), events(1), events(1)], { signer: web.signer });
  for (const b of chain) assert.equal(v.verify(head(encodeBatch(b))).uri, 'spiffe://test.local/ns/default/sa/web');
  assert.deepEqual(v.counters, { signatures_verified: 3, certificate_chains_verified: 1 });
  const renewed = await sampleSidecar(ca, 'web', 'web-1');
  const [next] = sampleChain('web-1', 's', [events(1)], { firstBatch: 3, firstSeq: 3, prevHash: chain[2].hash, signer: renewed.signer });
  const signed = v.verify(head(encodeBatch(next)));
  assert.equal(signed.fingerprint, renewed.signer.svid.fingerprint);
  assert.deepEqual(v.counters, { signatures_verified: 4, certificate_chains_verified: 2 });
});

test('a certificate that expired within the grace still verifies (a Kafka backlog read late); past the grace the batch is refused naming the expiry', async () => {
  const ca = await sampleCa();
  const web = await sampleSidecar(ca, 'web', 'web-1', 60_000);
  const frame = encodeBatch(sampleChain('web-1', 's', [events(2)], { signer: web.signer })[0]);
  const hour = 3600_000;
  assert.equal(new BatchVerifier(ca.bundle, { now: () => Date.now() + 2 * hour }).verify(head(frame)).proxy, 'web-1');
  assert.throws(() => new BatchVerifier(ca.bundle, { now: () => Date.now() + 2 * hour, expiredGraceMs: hour }).verify(head(frame)),
    { code: 'INGEST_ERR_SIGNATURE', message: /batch 0 of web-1\/s: certificate not believed: .*expired at/ });
  // A cached certificate is dropped at the end of its grace, too.
  let now = Date.now();
  const v = new BatchVerifier(ca.bundle, { now: () => now, expiredGraceMs: hour });
  v.verify(head(frame));
  now += 2 * hour;
  assert.throws(() => v.verify(head(frame)), /expired at/);
});

test('a bundle given as a function follows a CA rotation: a certificate of the new root verifies, one of a removed root no longer does', async () => {
  const ca = await sampleCa();
  const before = await sampleSidecar(ca, 'web', 'web-1');
  let bundle = ca.bundle;
  const v = new BatchVerifier(() => bundle);
  const frameBefore = encodeBatch(sampleChain('web-1', 's', [events(1)], { signer: before.signer })[0]);
  v.verify(head(frameBefore));
  await ca.rotate();
  bundle = ca.bundle;
  const after = await sampleSidecar(ca, 'web', 'web-1');
  assert.equal(v.verify(head(encodeBatch(sampleChain('web-1', 't', [events(1)], { signer: after.signer })[0]))).proxy, 'web-1');
  assert.equal(v.verify(head(frameBefore)).proxy, 'web-1', 'the old root is still in the bundle');
  bundle = new TrustBundle([ca.bundle.roots[0]]); // the old root removed
  assert.throws(() => v.verify(head(frameBefore)), /does not chain to the trust bundle/);
});

test('a signature line of the wrong shape is refused as malformed naming what is wrong, and a schema 4 frame without one as a frame one line short', async () => {
  const ca = await sampleCa();
  const web = await sampleSidecar(ca, 'web', 'web-1');
  const frame = encodeBatch(sampleChain('web-1', 's', [events(2)], { signer: web.signer })[0]);
  const sig = signatureOf(frame);
  const bad = (line: string) => Buffer.concat([frame.subarray(0, frame.lastIndexOf(0x0a, frame.length - 2) + 1), Buffer.from(line + '\n')]);
  assert.throws(() => decodeBatch(bad('{"sig":1,"x5c":[],"ts":5}')), { code: 'INGEST_ERR_MALFORMED', message: /batch 0 of web-1\/s: the signature line must be .*sig: must be base64.*x5c: must be 1 to 4.*ts: unknown field/ });
  assert.throws(() => decodeBatch(bad('{"sig":')), { code: 'INGEST_ERR_MALFORMED', message: /the signature line is not JSON/ });
  assert.throws(() => decodeBatch(withSignature(frame, { sig: sig.sig, x5c: ['not base64!'] })), { code: 'INGEST_ERR_MALFORMED', message: /x5c/ });
  const unsignedTail = frame.subarray(0, frame.lastIndexOf(0x0a, frame.length - 2) + 1);
  assert.throws(() => decodeBatch(unsignedTail), { code: 'INGEST_ERR_MALFORMED', message: /must have 5 lines \(header, events, hash line, signature line\); it has 4/ });
  assert.throws(() => decodeBatch(Buffer.concat([frame, Buffer.from('{}\n')])), { code: 'INGEST_ERR_MALFORMED', message: /must have 5 lines .* or more/ });
});

test('sealLines, from event lines, makes the frame sealFrame makes from the events: the same bytes unsigned, the same hash and a verifying signature signed', async () => {
  const ca = await sampleCa();
  const web = await sampleSidecar(ca, 'web', 'web-1');
  const [b] = sampleChain('web-1', 's', [[...events(2), sampleL7({ headers: { 'user-agent': 'é ☃' }, path: '/a\tb' })]]);
  const { events: evs, ...rest } = unsealed(b);
  const lines = evs.map(eventLine);
  assert.deepEqual(sealLines({ ...rest, lines }).frame, sealFrame(unsealed(b)).frame);
  const fromLines = sealLines({ ...rest, lines }, web.signer);
  const fromEvents = sealFrame(unsealed(b), undefined, web.signer);
  assert.equal(fromLines.batch.hash, fromEvents.batch.hash);
  assert.deepEqual([fromLines.batch.schema, fromLines.batch.count], [4, 3]);
  const end = (f: Buffer) => f.lastIndexOf(0x0a, f.length - 2);
  assert.deepEqual(fromLines.frame.subarray(0, end(fromLines.frame)), fromEvents.frame.subarray(0, end(fromEvents.frame)), 'all but the signature line (ECDSA signatures are randomised)');
  assert.equal(new BatchVerifier(ca.bundle).verify(head(fromLines.frame)).proxy, 'web-1');
  assert.deepEqual(sealLines({ ...rest, lines: [] }).frame, sealFrame({ ...unsealed(b), events: [] }).frame, 'an empty batch too');
});
