import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchHeader, encodeBatch } from './batch.ts';
import { decodeBatch, decodeRowBatch } from './batch-check.ts';
import { LineChunks } from './line-chunks.ts';
import { rawFrame, sampleChain, sampleL4Open, sampleL7 } from './sample-taps.ts';
import { APPENDED_FIELDS, APPENDED_FIELDS_OF, TAP_FIELDS, TAP_KINDS, TAP_PROTOCOLS, type TapEvent } from './schema/v1.ts';
import { checkLine, eventLine, eventLineValues, LINE_FIELDS, LINE_MIN_VALUES } from './tap-lines.ts';
import { encodeTapRows, TAP_INSERT_COLUMNS } from './tap-row.ts';

// Every kind, with and without its optional fields, and strings TSV and JSON both escape.
const everyShape = (): TapEvent[] => [
  sampleL4Open(),
  sampleL4Open({ src_identity: 'spiffe://mesh/ns/a/sa/web', dst_identity: 'spiffe://mesh/ns/a/sa/cart', tls_version: 'TLSv1.3' }),
  { ...sampleL4Open(), kind: 'l4.close', bytes_in: 1, bytes_out: 2, duration_ms: 0.5, end: 'timeout' },
  { ...sampleL4Open(), kind: 'l4.close', bytes_in: 0, bytes_out: 0, duration_ms: 3, end: 'error', error: 'ECONNRESET' },
  sampleL7(),
  sampleL7({ headers: { 'x-user': 'u"1\t', 'user-agent': 'é ☃' }, decision: 'deny', decision_reason: 'no\\route\n', error: 'MESH_ERR_X', path: "/it's\r\u2028" }),
  sampleL7({ direction: 'outbound', src_version: 'v1', dst_version: 'v2.0-rc_1' }),
  sampleL7({ direction: 'inbound', dst_version: 'v2' }),
  sampleL7({ direction: 'outbound', src_version: 'v1' }),
  sampleL7({ direction: 'outbound', retries: 2, flags: 'retried,ejected_skip', protocol: 'http/1.1' }),
  sampleL7({ direction: 'inbound', protocol: 'grpc', grpc_service: 'shop.v1.Cart', grpc_method: 'Add', grpc_status: 0 }),
  sampleL7({ direction: 'inbound', grpc_status: -1 }),
  { ...sampleL4Open({ direction: 'inbound', dst_version: 'v2' }), kind: 'l4.close', bytes_in: 1, bytes_out: 2, duration_ms: 0.5, end: 'local_close' },
];

test('event lines leave out v, proxy and seq, put kind first and every other field in schema order, null for an absent optional one', () => {
  for (const k of TAP_KINDS) {
    assert.deepEqual(LINE_FIELDS[k], TAP_FIELDS[k].map((f) => f.name).filter((n) => !['v', 'proxy', 'seq'].includes(n)));
    assert.equal(LINE_FIELDS[k][0], 'kind');
  }
  const line = eventLine(sampleL4Open({ ts: 5, tls_version: 'TLSv1.3' }));
  assert.equal(line, '["l4.open",5,"outbound","c1","web","web-1","127.0.0.1",40000,"cart","cart-1","127.0.0.1",8080,null,null,"TLSv1.3"]');
  assert.throws(() => eventLine({ ...sampleL4Open(), kind: 'l9' } as unknown as TapEvent), /unknown kind "l9"/);
});

test('the version fields come last on a line and are left off while absent: a line without them is the line schema 3 always wrote', () => {
  for (const k of TAP_KINDS) assert.deepEqual(LINE_FIELDS[k].slice(LINE_MIN_VALUES[k]), [...APPENDED_FIELDS_OF[k]]);
  assert.deepEqual(APPENDED_FIELDS, ['src_version', 'dst_version']);
  assert.deepEqual(APPENDED_FIELDS_OF['l4.close'], APPENDED_FIELDS);
  assert.deepEqual(APPENDED_FIELDS_OF['l7.request'], ['src_version', 'dst_version', 'flags', 'protocol', 'grpc_service', 'grpc_method', 'grpc_status']);
  const base = '["l4.open",5,"outbound","c1","web","web-1","127.0.0.1",40000,"cart","cart-1","127.0.0.1",8080,null,null,null';
  assert.equal(eventLine(sampleL4Open({ ts: 5 })), `${base}]`);
  assert.equal(eventLine(sampleL4Open({ ts: 5, src_version: 'v1' })), `${base},"v1"]`);
  assert.equal(eventLine(sampleL4Open({ ts: 5, dst_version: 'v2' })), `${base},null,"v2"]`);
  assert.equal(eventLine(sampleL4Open({ ts: 5, src_version: 'v1', dst_version: 'v2' })), `${base},"v1","v2"]`);
});

test('a frame sealed before the version fields existed (its lines without them) decodes, rows and all, as taps without versions', () => {
  const [b] = sampleChain('web-1', 's', [[sampleL4Open(), sampleL7({ decision: 'allow' })]]);
  // Lines as an older sidecar wrote them: LINE_FIELDS without the appended ones.
  const old = b.events.map((e) => LINE_FIELDS[e.kind].slice(0, LINE_MIN_VALUES[e.kind]).map((f) => (e as unknown as Record<string, unknown>)[f] ?? null));
  const frame = rawFrame(batchHeader(b), old);
  assert.ok(frame.equals(encodeBatch(b)), 'the same bytes as today\'s encoding of taps without versions');
  assert.deepEqual(decodeBatch(frame), b);
  const rows = Buffer.concat(decodeRowBatch(frame, new LineChunks(1024)).rows).toString();
  assert.equal(rows, Buffer.concat(encodeTapRows([b])).toString());
  const at = ['src_version', 'dst_version'].map((c) => TAP_INSERT_COLUMNS.indexOf(c));
  assert.ok(rows.split('\n').filter(Boolean).every((r) => at.every((j) => r.split('\t')[j] === '')), 'src_version and dst_version stored as their default');
});

test('a schema 3 frame decodes to the events that were sealed, for every kind with and without optional fields', () => {
  const chain = sampleChain('web-1', 's', [everyShape(), everyShape().reverse()]);
  for (const b of chain) {
    const frame = encodeBatch(b);
    assert.ok(frame.toString().startsWith('{"schema":3,'));
    assert.deepEqual(decodeBatch(frame), b);
  }
});

test('decodeRowBatch writes the same TSV rows as encoding the decoded events, without making them', () => {
  const chain = sampleChain('web-1', 's"1\\\t', [everyShape(), everyShape()], { firstBatch: 3, firstSeq: 40 });
  const w = new LineChunks(256);
  for (const b of chain) {
    const rb = decodeRowBatch(encodeBatch(b), w);
    assert.equal(rb.count, b.events.length);
    const { rows, count: _c, ...rowHead } = rb;
    const { events: _e, ...head } = b;
    assert.deepEqual(rowHead, head);
    assert.ok(rows.length > 1, 'rows span several of the writer\'s chunks');
    assert.equal(Buffer.concat(rows).toString(), Buffer.concat(encodeTapRows([b])).toString());
  }
});

test('a frame refused halfway through its lines leaves nothing in the row writer', () => {
  const [good, next] = sampleChain('web-1', 's', [everyShape(), everyShape()]);
  const w = new LineChunks(64); // small chunks: the refused rows span several
  const lines = next.events.map(eventLineValues);
  lines[5][LINE_FIELDS['l7.request'].indexOf('latency_ms')] = -1;
  assert.throws(() => decodeRowBatch(rawFrame(batchHeader(next), lines), w), new RegExp(`event 5 \\(line 7, seq ${next.first_seq + 5}\\): latency_ms: must be a finite number >= 0`));
  const rb = decodeRowBatch(encodeBatch(good), w);
  assert.equal(Buffer.concat(rb.rows).toString(), Buffer.concat(encodeTapRows([good])).toString());
});

test('checkLine names each bad value by field, accepts null only for optional fields', () => {
  const a = eventLineValues(sampleL7({ decision: 'allow' }));
  assert.equal(checkLine(a), null);
  const at = (f: string) => LINE_FIELDS['l7.request'].indexOf(f);
  a[at('decision')] = null;
  assert.equal(checkLine(a), null, 'an optional field may be null');
  a[at('ts')] = '2026-11-29';
  a[at('headers')] = { authorization: 'Bearer x' };
  a[at('trace_id')] = null;
  assert.deepEqual(checkLine(a), ['ts: must be an integer in 0..9007199254740991', 'trace_id: missing (null)', 'headers: header authorization must never be captured']);
  assert.deepEqual(checkLine({ kind: 'l7.request' }), ['event line must be a JSON array']);
  assert.deepEqual(checkLine([]), ['kind: must be one of l4.open, l4.close, l7.request (the line\'s first value)']);
});

test('checkLine takes a line of the original length up to every appended field, checks the appended values, and refuses any other length', () => {
  const n = LINE_MIN_VALUES['l7.request'];
  const a = eventLineValues(sampleL7());
  assert.equal(a.length, n);
  assert.equal(checkLine([...a, 'v1']), null);
  assert.equal(checkLine([...a, null, 'v2']), null);
  assert.deepEqual(checkLine([...a, 7, 'x'.repeat(65)]), ['src_version: must be a string', 'dst_version: longer than 64 characters']);
  assert.equal(checkLine([...a, null, null, 'retried,ejected', 'http/1.1', 'shop.Cart', 'Add', 14]), null);
  assert.equal(checkLine([...a, null, null, null, 'h2']), null, 'a line may end after any appended field');
  assert.deepEqual(checkLine([...a, null, null, 'ejected,retried', 'http/9', 'x'.repeat(257), 5, -2]), [
    'flags: must name each flag once, in the order of TAP_FLAGS', `protocol: must be one of ${TAP_PROTOCOLS.join(', ')}`,
    'grpc_service: longer than 256 characters', 'grpc_method: must be a string', 'grpc_status: must be an integer in -1..999',
  ]);
  assert.deepEqual(checkLine([...a, null, null, 'retried,DROP TABLE']), ['flags: "DROP TABLE" is not one of retried, retry_budget_exhausted, retry_not_allowed, per_try_timeout, timed_out, ejected_skip, health_excluded, panic, ejected, breaker_open']);
  for (const bad of [a.slice(0, -1), [...a, 'v1', 'v2', 'retried', 'h2', 's', 'm', 0, 'extra']]) {
    assert.deepEqual(checkLine(bad), [`a l7.request line has ${n} values (${LINE_FIELDS['l7.request'].slice(0, n).join(', ')}), then up to 7 more (src_version, dst_version, flags, protocol, grpc_service, grpc_method, grpc_status); this one has ${bad.length}`]);
  }
});
