// Store behaviours of the chain audit (./chain-audit.ts): honest batches of
// every frame schema verify from their stored rows, and what someone with
// write access to ClickHouse could do to them is found and named. Run
// inside the shared store suite (./store-suite.ts) so they hold on chdb and
// on the 18.16 server alike.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeRowBatch } from './batch-check.ts';
import { BatchVerifier } from './batch-verifier.ts';
import { encodeBatch, type StorableBatch, type TapBatch } from './batch.ts';
import type { ChainAudit } from './chain-audit.ts';
import { LineChunks } from './line-chunks.ts';
import { sampleChain, sampleL4Open, sampleL7 } from './sample-taps.ts';
import { sampleCa, sampleSidecar } from './sample-svids.ts';
import { TAP_FIELDS, type TapEvent } from './schema/v1.ts';
import type { TapStore } from './store.ts';
import type { StoreBackend } from './store-suite.ts';
import { TAP_INSERT_COLUMNS } from './tap-row.ts';
import { CertificateAuthority, TrustBundle } from '../identity/index.ts';
import { Collector } from './collector.ts';
import { SAMPLE_TRUST_DOMAIN } from './sample-svids.ts';
import { tamperStoredChain } from './testing/tamper.ts';

type Open = (place?: string, now?: () => number) => Promise<TapStore>;

/** A tap with its fields in schema order, as a schema 2 sidecar wrote its JSON object. */
const inSchemaOrder = (e: TapEvent): TapEvent =>
  Object.fromEntries(TAP_FIELDS[e.kind].filter((f) => f.name in e).map((f) => [f.name, (e as unknown as Record<string, unknown>)[f.name]])) as unknown as TapEvent;

const EMPTY = { src_identity: '', dst_identity: '', tls_version: '', src_version: '', dst_version: '' };
const SET = { src_identity: 'spiffe://test.local/ns/default/sa/web', dst_identity: 'spiffe://test.local/ns/default/sa/cart', tls_version: 'TLSv1.3', src_version: 'v1', dst_version: 'v2' };
const close = (over: Record<string, unknown>): TapEvent => ({ ...sampleL4Open(), kind: 'l4.close', bytes_in: 10, bytes_out: 20, duration_ms: 1.785, end: 'local_close', ...over } as TapEvent);

/** Every optional field present but empty, absent, and set, on each kind; latencies a 18.16 server parses inexactly when written as JS prints them. */
function mixedEvents(at: number, n: number): TapEvent[] {
  let r = at % 2147483647 || 1;
  const micros = () => { r = (r * 16807) % 2147483647; return Math.round((r / 2147483647) * 3_000_000) / 1000; };
  const events: TapEvent[] = [
    sampleL7({ ...EMPTY, headers: {}, decision: 'none', decision_reason: '', error: '', latency_ms: 3.47, flags: '', protocol: '', grpc_service: '', grpc_method: '', grpc_status: -1 }),
    sampleL7({ latency_ms: 1.785 }),
    sampleL7({
      ...SET, headers: { 'x-user': 'u"1\t', 'user-agent': 'é ☃' }, decision: 'allow', decision_reason: 'web may', error: 'MESH_ERR_X', latency_ms: 0.001,
      retries: 1, flags: 'retried,ejected', protocol: 'grpc', grpc_service: 'shop.v1.Cart', grpc_method: 'Add', grpc_status: 14,
    }),
    sampleL4Open(EMPTY), sampleL4Open(), sampleL4Open(SET),
    close({ error: '' }), close({ duration_ms: 4.396 }), close({ ...SET, error: 'downstream: ECONNRESET', duration_ms: 1234.567 }),
  ];
  while (events.length < n) events.push(sampleL7({ latency_ms: micros(), path: `/p/${events.length}` }));
  return events.map((e, i) => ({ ...e, ts: at + i }));
}

const shown = (a: ChainAudit) => ({ ...a, problems: a.problems.map((p) => [p.proxy, p.stream, p.batch, p.problem]) });

export function chainAuditStoreTests(openStore: Open, backend: StoreBackend): void {
  // Received an hour ago, inside the TTL of every table.
  const t0 = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
  const period = [t0, t0 + 60_000] as const;
  const clocked = async (place?: string) => {
    const clock = { t: t0 };
    const s = await openStore(place, () => clock.t);
    return { s, clock, write: async (at: number, bs: readonly StorableBatch[]) => { clock.t = at; await s.writeBatches(bs); } };
  };
  const columns = (change: Record<string, string>) => TAP_INSERT_COLUMNS.map((c) => change[c] ?? (c === 'end' ? '`end`' : c)).join(', ');
  const insertCols = TAP_INSERT_COLUMNS.map((c) => (c === 'end' ? '`end`' : c)).join(', ');

  test('chainAudit verifies honest signed, unsigned and schema 2 batches from their stored rows, optional fields present but empty, absent or set, and every float as sealed', async () => {
    const ca = await sampleCa();
    const web = await sampleSidecar(ca, 'web', 'web-1');
    const verifier = new BatchVerifier(ca.bundle);
    const { s, write } = await clocked();
    const w = new LineChunks(1 << 16);
    // Batch 0 before the period (recorded and received), batch 3 after it: neither is the period's.
    const signed = sampleChain('web-1', 'signed', [mixedEvents(t0 - 5_000, 40), mixedEvents(t0 + 100, 30), mixedEvents(t0 + 200, 30), mixedEvents(period[1], 9)], { signer: web.signer });
    const plain = sampleChain('web-1', 'plain', [mixedEvents(t0, 50), mixedEvents(t0 + 100, 20)]);
    const old = sampleChain('web-1', 'old', [mixedEvents(t0, 20).map(inSchemaOrder)], { schema: 2 });
    const noBundle = sampleChain('web-1', 'nobundle', [mixedEvents(t0, 12)], { signer: web.signer });
    // What a collector stores: rows decoded from the frames (signed ones verified); events written as they are.
    const collected = (b: TapBatch, admit = false) => decodeRowBatch(encodeBatch(b), w, admit ? (f) => verifier.verify(f) : undefined);
    await write(t0 - 5_000, [collected(signed[0], true)]); // before the period: not audited, but batch 1 links to it
    await write(t0 + 1_000, [collected(signed[1], true), ...plain, collected(noBundle[0])]);
    await write(t0 + 2_000, [collected(signed[2], true), old[0]]);
    await write(period[1], [collected(signed[3], true)]); // at the period's end: not in it
    // A batch whose taps fall in the period is the period's, whenever its record says it arrived (a record rewritten later).
    const late = sampleChain('web-1', 'late', [mixedEvents(t0 + 400, 7)]);
    await write(period[1] + 60_000, late);
    const audit = await s.chainAudit(...period);
    assert.deepEqual(shown(audit), { streams: 5, batches: 7, events: 30 + 30 + 70 + 20 + 12 + late[0].events.length, verified_batches: 7, unsigned_batches: 5, verified_signatures: 0, problems: [], gaps: [] });
    assert.equal((await s.chainAudit(period[1], period[1] + 1)).batches, 1);
    // Every stored tap reads back as the very event sealed: '' and {} as sent, floats to the last bit (through each backend's JSON output).
    for (const chain of [signed, plain, old, noBundle]) {
      const sent = new Map(chain.flatMap((b) => b.events.map((e) => [e.seq, e] as const)));
      const rows = (await s.recentTaps({ proxy: 'web-1' }, 1000)).filter((r) => r.stream === chain[0].stream);
      assert.equal(rows.length, sent.size);
      for (const { stream: _s, batch: _b, ...e } of rows) assert.deepEqual(e, sent.get(e.seq as number), `${chain[0].stream} seq ${String(e.seq)}`);
    }
  });

  test('chainAudit finds a stored row rewritten in place (a modified copy the ReplacingMergeTree keeps) as a hash mismatch of its batch, before and after the merge', async () => {
    const place = backend.freshPlace();
    let { s, write } = await clocked(place);
    const chain = sampleChain('web-1', 't', [mixedEvents(t0, 10), mixedEvents(t0 + 100, 10), mixedEvents(t0 + 200, 10)]);
    await write(t0 + 1_000, chain);
    await s.close();
    // The response to seq 11 (batch 1) said 200; make it say 201.
    await backend.sql(place, `INSERT INTO taps (${insertCols}) SELECT ${columns({ status: 'status + 1' })} FROM taps WHERE proxy = 'web-1' AND stream = 't' AND seq = 11`);
    for (const merged of [false, true]) {
      if (merged) {
        await s.close();
        await backend.sql(place, 'OPTIMIZE TABLE taps FINAL');
      }
      ({ s } = await clocked(place));
      const audit = await s.chainAudit(...period);
      assert.deepEqual(audit.problems.map((p) => [p.proxy, p.stream, p.batch, p.first_seq, p.events, p.ts, p.problem]), [['web-1', 't', 1, 10, 10, t0 + 100, 'hash_mismatch']], `merged: ${merged}`);
      assert.match(audit.problems[0].detail, merged ? /hashes to [0-9a-f]{12}… \(schema 3\), its chain record says/ : /more than one version under one seq \(seq 11\)/);
      assert.deepEqual([audit.batches, audit.verified_batches, audit.gaps], [3, 2, []]);
    }
    const [tampered] = (await s.recentTaps({ proxy: 'web-1' }, 100)).filter((r) => r.seq === 11);
    assert.equal(tampered.status, 201, 'the store now says what the tamperer wrote');
  });

  test('chainAudit finds a deleted row as missing rows of its batch', async () => {
    const place = backend.freshPlace();
    let { s, write } = await clocked(place);
    await write(t0 + 1_000, sampleChain('web-1', 'd', [mixedEvents(t0, 10), mixedEvents(t0 + 100, 10)]));
    await s.close();
    await backend.sql(place, "ALTER TABLE taps DELETE WHERE proxy = 'web-1' AND stream = 'd' AND seq = 13");
    ({ s } = await clocked(place));
    for (let i = 0; await s.countTaps({ proxy: 'web-1' }) !== 19; i++) { // a mutation runs in the background
      assert.ok(i < 600, 'the DELETE mutation did not finish');
      await new Promise((r) => setTimeout(r, 50));
    }
    const audit = await s.chainAudit(...period);
    assert.deepEqual(audit.problems.map((p) => [p.stream, p.batch, p.problem, p.detail]), [['d', 1, 'missing_rows', '1 of its 10 rows are not stored (seq 13)']]);
    assert.equal(audit.verified_batches, 1);
  });

  test('chainAudit reports a skipped batch as a gap, accounted when a tap_loss record covers its seqs, and a prev_hash that is not the stored hash before it as a broken link', async () => {
    const { s, write } = await clocked();
    const events = (at: number) => Array.from({ length: 5 }, (_, i) => sampleL7({ ts: at + i }));
    const lost = sampleChain('web-1', 'g1', [events(t0), events(t0 + 10), events(t0 + 20), events(t0 + 30)]);
    const known = sampleChain('web-1', 'g2', [events(t0), events(t0 + 10), events(t0 + 20), events(t0 + 30)]);
    const honest = sampleChain('web-1', 'b', [events(t0)]);
    const forged = sampleChain('web-1', 'b', [events(t0 + 10), events(t0 + 20)], { firstBatch: 1, firstSeq: 5, prevHash: 'ab'.repeat(32) });
    await write(t0 + 1_000, [lost[0], lost[1], lost[3], known[0], known[1], known[3], ...honest, ...forged]);
    await s.recordLoss({ proxy: 'web-1', stream: 'g2', ts: t0 + 1_000, from_seq: 10, count: 5, reason: 'sequence_gap' });
    const audit = await s.chainAudit(...period);
    assert.deepEqual(audit.gaps, [
      { proxy: 'web-1', stream: 'g1', from_seq: 10, count: 5, ts: t0 + 30, accounted: false },
      { proxy: 'web-1', stream: 'g2', from_seq: 10, count: 5, ts: t0 + 30, accounted: true },
    ]);
    assert.deepEqual(audit.problems.map((p) => [p.stream, p.batch, p.problem]), [['b', 1, 'broken_link']]);
    assert.match(audit.problems[0].detail, new RegExp(`prev_hash abababababab… is not the stored hash ${honest[0].hash.slice(0, 12)}… of batch 0`));
    assert.deepEqual([audit.batches, audit.verified_batches], [9, 8], 'batch 2 of b links to the forged batch 1 as stored, and hashes');
  });

  test('chainAudit pages through a long stream and still checks the link across a page boundary', async () => {
    const { s, write } = await clocked();
    const one = (i: number) => [sampleL7({ ts: t0 + i })];
    const honest = sampleChain('web-1', 'long', Array.from({ length: 1000 }, (_, i) => one(i)));
    const forged = sampleChain('web-1', 'long', Array.from({ length: 100 }, (_, i) => one(1000 + i)), { firstBatch: 1000, firstSeq: 1000, prevHash: 'cd'.repeat(32) });
    await write(t0 + 1_000, [...honest, ...forged]);
    const expected = { streams: 1, batches: 1100, events: 1100, verified_batches: 1099, unsigned_batches: 1100, verified_signatures: 0, problems: [['web-1', 'long', 1000, 'broken_link']], gaps: [] };
    assert.deepEqual(shown(await s.chainAudit(...period)), expected);
    // Pages of 500 (batch 1000 begins the third) read in chunks of 30, each read while the one before is checked.
    assert.deepEqual(shown(await s.chainAudit(...period, { pageBatches: 500, chunkEvents: 30 })), expected);
  });

  test('chainAudit reads a batch whose taps lie outside the period and its margin whole: received in the period it verifies, and a row deleted from it is missing', async () => {
    const place = backend.freshPlace();
    let { s, write } = await clocked(place);
    // Spooled by a sidecar and delivered late: taps of 3 h before the period, received in it; and a batch sealed across the period's start.
    const late = sampleChain('web-1', 'late', [mixedEvents(t0 - 3 * 3_600_000, 10), mixedEvents(t0 - 3 * 3_600_000 + 100, 10)]);
    const across = sampleChain('web-1', 'across', [[...mixedEvents(t0 - 40 * 60_000, 9), ...mixedEvents(t0, 9)]]);
    await write(t0 + 1_000, [...late, ...across]);
    const audit = await s.chainAudit(...period, { chunkEvents: 10 });
    assert.deepEqual(shown(audit), { streams: 2, batches: 3, events: 38, verified_batches: 3, unsigned_batches: 3, verified_signatures: 0, problems: [], gaps: [] });
    await s.close();
    await backend.sql(place, "ALTER TABLE taps DELETE WHERE proxy = 'web-1' AND stream = 'late' AND seq = 13");
    ({ s } = await clocked(place));
    for (let i = 0; await s.countTaps({ proxy: 'web-1' }) !== 37; i++) { // a mutation runs in the background
      assert.ok(i < 600, 'the DELETE mutation did not finish');
      await new Promise((r) => setTimeout(r, 50));
    }
    const after = await s.chainAudit(...period);
    assert.deepEqual(after.problems.map((p) => [p.stream, p.batch, p.problem, p.detail]), [['late', 1, 'missing_rows', '1 of its 10 rows are not stored (seq 13)']]);
    assert.equal(after.verified_batches, 2);
  });

  test('chainAudit says unverifiable, and why, for a batch of a store older than the present and schema columns whose rows cannot rebuild it; one they can rebuild verifies', async () => {
    const place = backend.freshPlace();
    let { s, write } = await clocked(place);
    // Batch 0 has an error sent as '' (which a row of an older store reads as absent); batch 1 has no empty field.
    await write(t0 + 1_000, sampleChain('web-1', 'o', [[sampleL7({ ts: t0, error: '' })], [sampleL7({ ts: t0 + 1, decision: 'allow', decision_reason: 'ok' })]]));
    await s.close();
    // As an older release left the store: without the columns, which init adds again (ALTER TABLE), older rows reading 0.
    await backend.sql(place, 'ALTER TABLE taps DROP COLUMN present');
    await backend.sql(place, 'ALTER TABLE tap_batches DROP COLUMN schema');
    ({ s } = await clocked(place));
    const audit = await s.chainAudit(...period);
    assert.deepEqual(audit.problems.map((p) => [p.batch, p.problem]), [[0, 'unverifiable']]);
    assert.match(audit.problems[0].detail, /stored before the schema column.*1 of its rows were stored before the present column, so an optional field sent as '' or \{\} reads as absent/);
    assert.equal(audit.verified_batches, 1);
  });
  // Signatures checked again (./signature-audit.ts): a CA whose certificates were valid when the batches arrived, an hour ago.
  const signedMesh = async (place?: string) => {
    const ca = await CertificateAuthority.open({ dir: null, trustDomain: SAMPLE_TRUST_DOMAIN, now: () => t0 - 600_000 });
    const web = await sampleSidecar(ca, 'web', 'web-1');
    const store = await clocked(place);
    store.clock.t = t0 + 1_000;
    const collector = new Collector(store.s, { trust: ca.bundle, now: () => store.clock.t });
    return { ca, web, ...store, collector };
  };
  const taps = (at: number, n: number) => Array.from({ length: n }, (_, i) => sampleL7({ ts: at + i }));

  test('chainAudit with a trust bundle checks each stored signature again over its stored hash with the certificate the collector stored, and names a batch whose root left the bundle unverifiable', async () => {
    const { ca, web, s, collector } = await signedMesh();
    const signed = sampleChain('web-1', 'sig', [taps(t0, 4), taps(t0 + 100, 3), taps(t0 + 200, 5)], { signer: web.signer });
    for (const r of await collector.acceptMany(signed.map(encodeBatch))) assert.equal(r.ok, true, JSON.stringify(r));
    await s.writeBatches(sampleChain('web-1', 'plain', [taps(t0, 2)]));
    assert.deepEqual((await s.signers([web.signer.svid.fingerprint])).map((x) => [x.x5c, x.uri, x.proxy, x.first_seen]),
      [[signed[0].signature?.x5c, web.signer.svid.uri, 'web-1', t0 + 1_000]], 'the certificate as the frames carried it');
    assert.equal(collector.counters().signers_recorded, 1, 'once, for three batches');
    const audit = await s.chainAudit(...period, { trust: ca.bundle });
    assert.deepEqual(shown(audit), { streams: 2, batches: 4, events: 14, verified_batches: 4, unsigned_batches: 1, verified_signatures: 3, problems: [], gaps: [] });
    assert.equal((await s.chainAudit(...period)).verified_signatures, 0, 'without a bundle nothing is checked');

    // After a CA rotation the old root leaves the bundle: the batches it anchored can no longer be traced, which is not tampering.
    const old = ca.bundle.roots[0];
    await ca.rotate();
    const rotated = await s.chainAudit(...period, { trust: new TrustBundle(ca.bundle.roots.filter((r) => r.fingerprint256 !== old.fingerprint256)) });
    assert.deepEqual(rotated.problems.map((p) => [p.stream, p.batch, p.first_seq, p.events, p.ts, p.problem]),
      [['sig', 0, 0, 4, t0, 'unverifiable'], ['sig', 1, 4, 3, t0 + 100, 'unverifiable'], ['sig', 2, 7, 5, t0 + 200, 'unverifiable']]);
    assert.match(rotated.problems[0].detail, /whose signature verifies, but its root \(CN=meshlens CA test\.local [^)]+\) is not in the trust bundle \(one that left it after a CA rotation/);
    assert.deepEqual([rotated.verified_batches, rotated.verified_signatures], [1, 0]);
    assert.equal((await s.chainAudit(...period, { trust: ca.bundle })).verified_signatures, 3, 'the rotated bundle still holds the old root until it expires');
  });

  test('chainAudit names a signed batch whose certificate is missing from a store that kept certificates a bad signature, and one stored before certificates were kept unverifiable', async () => {
    const { ca, web, s, write, clock, collector } = await signedMesh();
    const verifier = new BatchVerifier(ca.bundle, { now: () => t0 + 1_000 });
    const w = new LineChunks(1 << 16);
    const chain = sampleChain('web-1', 'nocert', [taps(t0, 2), taps(t0 + 10, 2)], { signer: web.signer });
    // Stored as a collector stores them, but without the certificate: a store written before tap_signers existed.
    await write(t0 + 1_000, chain.map((b) => decodeRowBatch(encodeBatch(b), w, (f) => verifier.verify(f))));
    const before = await s.chainAudit(...period, { trust: ca.bundle });
    assert.deepEqual(before.problems.map((p) => [p.stream, p.batch, p.problem]), [['nocert', 0, 'unverifiable'], ['nocert', 1, 'unverifiable']]);
    assert.match(before.problems[0].detail, /stored before this store kept certificates \(tap_signers\)/);
    // From now on the store keeps certificates (cart-1's first, at t0 + 500): a missing one is no longer honest.
    const cart = await sampleSidecar(ca, 'cart', 'cart-1');
    clock.t = t0 + 500;
    for (const r of await collector.acceptMany(sampleChain('cart-1', 'kept', [taps(t0, 2).map((e) => ({ ...e, proxy: 'cart-1', direction: 'inbound' as const, dst_service: 'cart' }))], { signer: cart.signer }).map(encodeBatch))) {
      assert.equal(r.ok, true, JSON.stringify(r));
    }
    const audit = await s.chainAudit(...period, { trust: ca.bundle });
    const nocert = audit.problems.filter((p) => p.stream === 'nocert');
    assert.deepEqual(nocert.map((p) => [p.batch, p.problem]), [[0, 'bad_signature'], [1, 'bad_signature']]);
    assert.match(nocert[0].detail, /^signed by spiffe:\/\/test\.local\/ns\/default\/sa\/web with certificate [0-9A-F:]{23}…: the certificate is not stored \(tap_signers\)/);
    assert.equal(audit.verified_signatures, 1, 'cart-1\'s batch verifies');
  });

  test('chainAudit finds a row rewritten with its batch\'s hash and every later hash recomputed (a consistent chain, merged) by its signatures: bad_signature from that batch to the head', async () => {
    const place = backend.freshPlace();
    const { ca, web, s, collector } = await signedMesh(place);
    const chain = sampleChain('web-1', 'c', [taps(t0, 3), taps(t0 + 100, 3), taps(t0 + 200, 3), taps(t0 + 300, 3)], { signer: web.signer });
    for (const r of await collector.acceptMany(chain.map(encodeBatch))) assert.equal(r.ok, true, JSON.stringify(r));
    const tampered = await tamperStoredChain(s, 'web-1', 1, { path: '/rewritten' });
    await s.close();
    for (const q of tampered.statements) await backend.sql(place, q);
    const { s: after } = await clocked(place);
    const [row] = (await after.recentTaps({ proxy: 'web-1' }, 100)).filter((r) => r.seq === tampered.seq);
    assert.equal(row.path, '/rewritten', 'the store says what the tamperer wrote');
    const rehashed = await after.chainAudit(...period);
    assert.deepEqual([rehashed.problems, rehashed.verified_batches], [[], 4], 'rows and hashes agree: re-hashing alone finds nothing');
    const audit = await after.chainAudit(...period, { trust: ca.bundle });
    assert.deepEqual(audit.problems.map((p) => [p.stream, p.batch, p.first_seq, p.events, p.ts, p.problem]),
      [['c', 1, 3, 3, t0 + 100, 'bad_signature'], ['c', 2, 6, 3, t0 + 200, 'bad_signature'], ['c', 3, 9, 3, t0 + 300, 'bad_signature']]);
    assert.match(audit.problems[0].detail, /the signature does not verify over its stored hash [0-9a-f]{12}… with web-1's key: the hash \(or the signature\) was rewritten/);
    assert.deepEqual([audit.verified_batches, audit.verified_signatures], [1, 1]);
  });
}
