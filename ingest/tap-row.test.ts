import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleChain, sampleL4Open, sampleL7 } from './sample-taps.ts';
import { TAP_COLUMNS } from './sql.ts';
import { batchRows, encodeTapRows, TAP_INSERT_COLUMNS, toRowBatch } from './tap-row.ts';
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
      const want = v === undefined ? String(c.dflt) : String(v);
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
