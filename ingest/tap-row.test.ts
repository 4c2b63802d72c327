import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeRowBatch } from './batch-check.ts';
import { encodeBatch } from './batch.ts';
import { sampleChain, sampleL4Open, sampleL7 } from './sample-taps.ts';
import { TAP_FIELDS, TAP_KINDS, type TapEvent } from './schema/v1.ts';
import { TAP_COLUMNS } from './sql.ts';
import { batchRows, encodeTapRows, floatText, PRESENT_FIELDS, PRESENT_KNOWN, rowEvent, TAP_INSERT_COLUMNS, toRowBatch } from './tap-row.ts';
import { eventLine } from './tap-lines.ts';
import { LineChunks } from './line-chunks.ts';

const UNESCAPE: Record<string, string> = { t: '\t', n: '\n', r: '\r', '\\': '\\' };
/** Reads TabSeparated as ClickHouse does: \t and \n split, backslash escapes inside values. */
function readTsv(text: string): string[][] {
  return text.split('\n').filter((l) => l !== '').map((l) => l.split('\t').map((v) => v.replace(/\\(.)/g, (_, c: string) => UNESCAPE[c] ?? `\\${c}`)));
}

const oddBatch = () => sampleChain('web-1', 's"1\\\t', [[
  sampleL4Open(),
  sampleL7({ headers: { 'x-user': 'u"1\t', 'user-agent': 'é ☃' }, decision: 'allow' }),
  sampleL7({ path: "/it's\\odd\n\r\u2028", error: 'MESH_ERR_X' }),
  { v: 1, kind: 'l4.close', proxy: 'web-1', seq: 0, ts: 1, direction: 'inbound', conn_id: 'c', src_service: 'a', src_instance: 'a-1', src_addr: '1.2.3.4', src_port: 1,
    dst_service: 'b', dst_instance: 'b-1', dst_addr: '1.2.3.5', dst_port: 2, bytes_in: 1, bytes_out: 2, duration_ms: 0.5, end: 'timeout' },
]], { firstBatch: 7 })[0];

test('encodeTapRows writes one TabSeparated line per event with every taps column: the values of batchRows, defaults where a kind lacks a field, odd strings escaped', () => {
  const b = oddBatch();
  const rows = readTsv(Buffer.concat(encodeTapRows([b])).toString('utf8'));
  assert.equal(rows.length, 4);
  assert.deepEqual(TAP_INSERT_COLUMNS, TAP_COLUMNS.map((c) => c.name));
  const expected = batchRows(b);
  rows.forEach((row, i) => {
    assert.equal(row.length, TAP_COLUMNS.length, `row ${i} has every column`);
    TAP_COLUMNS.forEach((c, j) => {
      const v = expected[i][c.name];
      const want = v === undefined ? String(c.dflt) : c.type === 'Float64' ? floatText(v as number) : String(v);
      assert.equal(row[j], want, `row ${i} column ${c.name}`);
    });
  });
  assert.equal(rows[1][TAP_INSERT_COLUMNS.indexOf('headers')], JSON.stringify({ 'x-user': 'u"1\t', 'user-agent': 'é ☃' }));
  assert.equal(rows[0][TAP_INSERT_COLUMNS.indexOf('headers')], '{}', 'an l4 event takes the column default');
});

test('encodeTapRows cuts its output into chunks at row bounds, and the chunks together are the rows in order', () => {
  const batches = Array.from({ length: 3 }, (_, k) => sampleChain('web-1', 's1', [Array.from({ length: 50 }, () => sampleL7({ path: `/p/${k}/ü` }))], { firstBatch: k })[0]);
  const whole = Buffer.concat(encodeTapRows(batches)).toString('utf8');
  const chunks = encodeTapRows(batches, 4096);
  assert.ok(chunks.length > 3, `small chunks: got ${chunks.length}`);
  for (const c of chunks) assert.equal(c[c.length - 1], 0x0a, 'each chunk ends at a row end');
  assert.equal(Buffer.concat(chunks).toString('utf8'), whole);
  assert.equal(readTsv(whole).length, 150);
});

test('toRowBatch keeps a batch header and count with its rows encoded once; batches sharing one writer get their own rows, and encodeTapRows takes them mixed with TapBatches in order', () => {
  const batches = Array.from({ length: 4 }, (_, k) => sampleChain('web-1', 's1', [Array.from({ length: 40 + k }, () => sampleL7({ path: `/r/${k}/ü` }))], { firstBatch: k })[0]);
  const w = new LineChunks(3000); // smaller than one batch's rows: batches span chunks and share them
  const encoded = batches.map((b) => toRowBatch(b, w));
  encoded.forEach((r, k) => {
    const { events, ...head } = batches[k];
    assert.deepEqual({ ...r, rows: undefined }, { ...head, count: events.length, rows: undefined }, `batch ${k}: same header, count instead of events`);
    assert.ok(!('events' in r), 'the event objects are not kept');
    assert.equal(Buffer.concat(r.rows).toString('utf8'), Buffer.concat(encodeTapRows([batches[k]])).toString('utf8'), `batch ${k}: its own rows, no neighbour's`);
  });
  const mixed = [encoded[0], batches[1], encoded[2], batches[3]];
  assert.equal(Buffer.concat(encodeTapRows(mixed)).toString('utf8'), Buffer.concat(encodeTapRows(batches)).toString('utf8'));
});

test('LineChunks.cut returns what was written since the previous cut, across chunk bounds, and chunks() what came after the last cut', () => {
  const w = new LineChunks(16);
  w.put('aaaa', true);
  w.put('bbbbbbbbbbbb', true); // does not fit the first chunk's rest
  assert.equal(Buffer.concat(w.cut()).toString(), 'aaaa\nbbbbbbbbbbbb\n');
  assert.deepEqual(w.cut(), [], 'nothing new');
  w.put('cc', true);
  assert.equal(Buffer.concat(w.cut()).toString(), 'cc\n');
  w.put('dd', false);
  assert.equal(Buffer.concat(w.chunks()).toString(), 'dd');
});

/** TSV rows as the store reads them back: objects of the taps columns, numbers where the column is one. */
function storedRows(text: string): Record<string, unknown>[] {
  return readTsv(text).map((vals) => Object.fromEntries(TAP_COLUMNS.map((c, j) => [c.name, /^(U?Int|Float)/.test(c.type) ? Number(vals[j]) : vals[j]])));
}

test('PRESENT_FIELDS gives every optional field of every tap kind its bit, in the order stored rows keep', () => {
  // Stored data depends on this order: a new optional field is appended, never inserted.
  assert.deepEqual(PRESENT_FIELDS, [
    'src_identity', 'dst_identity', 'tls_version', 'error', 'headers', 'decision', 'decision_reason', 'src_version', 'dst_version',
    'flags', 'protocol', 'grpc_service', 'grpc_method', 'grpc_status',
  ]);
  const optional = new Set(TAP_KINDS.flatMap((k) => TAP_FIELDS[k].filter((f) => !f.required).map((f) => f.name)));
  assert.deepEqual([...optional].sort(), [...PRESENT_FIELDS].sort());
  assert.equal(PRESENT_KNOWN, 0x8000);
});

test("a stored row gives back the exact event, an optional field sent as '' or {} kept apart from an absent one, whether the row was encoded from the event or from its schema 3 line", () => {
  const empty = { src_identity: '', dst_identity: '', tls_version: '', src_version: '', dst_version: '' };
  const set = { src_identity: 'spiffe://t/ns/default/sa/web', dst_identity: 'spiffe://t/ns/default/sa/cart', tls_version: 'TLSv1.3', src_version: 'v1', dst_version: 'v2' };
  const close = (over: Partial<TapEvent>): TapEvent => ({ ...sampleL4Open(), kind: 'l4.close', bytes_in: 3, bytes_out: 4, duration_ms: 12.345, end: 'remote_close', ...over } as TapEvent);
  const events: TapEvent[] = [
    sampleL7({ ...empty, headers: {}, decision: 'none', decision_reason: '', error: '', latency_ms: 0.001, flags: '', protocol: '', grpc_service: '', grpc_method: '', grpc_status: -1 }),
    sampleL7({ latency_ms: 3.47 }),
    sampleL7({
      ...set, headers: { 'x-user': 'u"1\t', 'user-agent': 'é' }, decision: 'deny', decision_reason: 'no', error: 'MESH_ERR_X', latency_ms: 1785.001,
      flags: 'retried,per_try_timeout,breaker_open', protocol: 'grpc', grpc_service: 'shop.v1.Cart', grpc_method: 'Add', grpc_status: 14,
    }),
    sampleL4Open(empty), sampleL4Open(), sampleL4Open({ dst_version: 'v2' }),
    close({ error: '' }), close({}), close({ ...set, error: 'downstream: ECONNRESET' }),
  ];
  const [b] = sampleChain('web-1', 's1', [events]);
  const encodings = {
    events: Buffer.concat(encodeTapRows([b])).toString('utf8'),
    'schema 3 lines': Buffer.concat(decodeRowBatch(encodeBatch(b), new LineChunks(4096)).rows).toString('utf8'),
  };
  for (const [how, text] of Object.entries(encodings)) {
    storedRows(text).forEach((row, i) => {
      const e = rowEvent(row);
      assert.deepEqual(e, b.events[i], `${how}: event ${i}`);
      assert.deepEqual(Object.keys(e), TAP_FIELDS[e.kind].map((f) => f.name).filter((n) => n in e), `${how}: event ${i} in schema order`);
      assert.equal(eventLine(e), eventLine(b.events[i]));
    });
  }
  assert.equal(encodings.events, encodings['schema 3 lines'], 'both encoders write the same rows');
  const present = storedRows(encodings.events).map((r) => r.present);
  assert.deepEqual(present.slice(0, 3), [0x8000 | 0x3fff, 0x8000, 0x8000 | 0x3fff]);
});

test("a row stored before the present column (0) takes an optional field as present when it is not empty", () => {
  const [row] = storedRows(Buffer.concat(encodeTapRows(sampleChain('web-1', 's1', [[sampleL7({ error: '', headers: {}, tls_version: 'TLSv1.3' })]]))).toString('utf8'));
  const old = { ...row, present: 0 };
  const e = rowEvent(old) as unknown as Record<string, unknown>;
  assert.deepEqual(['error' in e, 'headers' in e, e.tls_version], [false, false, 'TLSv1.3']);
});

test('floatText writes an integer plain and a whole number of microseconds as <m>e-3, each reading back as the same double; anything else as JS prints it', () => {
  assert.deepEqual([5, 0, 0.5, 3.47, 1785.001, 0.001].map(floatText), ['5', '0', '500e-3', '3470e-3', '1785001e-3', '1e-3']);
  assert.deepEqual([1 / 3, 0.1 + 0.2, 1e-7].map(floatText), [String(1 / 3), String(0.1 + 0.2), String(1e-7)]);
  for (let m = 0; m < 200_000; m += 7) {
    const v = Math.round(m * 1.37) / 1000;
    assert.equal(Number(floatText(v)), v, `${v}`);
  }
});
