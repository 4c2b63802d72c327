import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchHeader, encodeBatch } from './batch.ts';
import { decodeBatch, decodeRowBatch } from './batch-check.ts';
import { LineChunks } from './line-chunks.ts';
import { rawFrame, sampleChain, sampleL4Open, sampleL7 } from './sample-taps.ts';
import { TAP_FIELDS, TAP_KINDS, type TapEvent } from './schema/v1.ts';
import { checkLine, eventLine, eventLineValues, LINE_FIELDS } from './tap-lines.ts';
import { encodeTapRows } from './tap-row.ts';

// Every kind, with and without its optional fields, and strings TSV and JSON both escape.
const everyShape = (): TapEvent[] => [
  sampleL4Open(),
  sampleL4Open({ src_identity: 'spiffe://mesh/ns/a/sa/web', dst_identity: 'spiffe://mesh/ns/a/sa/cart', tls_version: 'TLSv1.3' }),
  { ...sampleL4Open(), kind: 'l4.close', bytes_in: 1, bytes_out: 2, duration_ms: 0.5, end: 'timeout' },
  { ...sampleL4Open(), kind: 'l4.close', bytes_in: 0, bytes_out: 0, duration_ms: 3, end: 'error', error: 'ECONNRESET' },
  sampleL7(),
  sampleL7({ headers: { 'x-user': 'u"1\t', 'user-agent': 'é ☃' }, decision: 'deny', decision_reason: 'no\\route\n', error: 'MESH_ERR_X', path: "/it's\r\u2028" }),
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
  assert.throws(() => decodeRowBatch(rawFrame(batchHeader(next), lines), w), /event 5 \(line 7, seq 11\): latency_ms: must be a finite number >= 0/);
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
