import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchHeader, encodeBatch } from './batch.ts';
import { decodeRowBatch } from './batch-check.ts';
import { LineChunks } from './line-chunks.ts';
import { rawFrame, sampleChain, sampleL4Open, sampleL7 } from './sample-taps.ts';
import type { TapEvent } from './schema/v1.ts';
import { LineRowWriter } from './tap-line-rows.ts';
import { checkLine, eventLine, eventLineValues, LINE_FIELDS } from './tap-lines.ts';
import { encodeTapRows, lineRow } from './tap-row.ts';

const head = { proxy: 'web-1', stream: 's"1\\\t', batch: 7 };

// What sidecars write, every kind, with and without optional fields.
const plainShapes = (): TapEvent[] => [
  sampleL4Open(),
  sampleL4Open({ direction: 'inbound', src_identity: 'spiffe://mesh/ns/a/sa/web', dst_identity: 'spiffe://mesh/ns/a/sa/cart', tls_version: 'TLSv1.3' }),
  { ...sampleL4Open(), kind: 'l4.close', bytes_in: 1, bytes_out: 2, duration_ms: 0.5, end: 'timeout' },
  { ...sampleL4Open(), kind: 'l4.close', bytes_in: 0, bytes_out: 12345678901, duration_ms: 3, end: 'error', error: 'ECONNRESET' },
  { ...sampleL4Open(), kind: 'l4.close', bytes_in: 0, bytes_out: 0, duration_ms: 60000.125, end: 'remote_close' },
  sampleL7(),
  sampleL7({ latency_ms: 12.34, headers: { 'x-request-id': '1-2', 'user-agent': 'shop/1.4' }, decision: 'allow', decision_reason: 'policy.authz.allow', trace_id: 'abc' }),
  sampleL7({ latency_ms: 0.001, headers: {}, decision: 'deny', error: 'MESH_ERR_UPSTREAM_RESET', status: 0 }),
  sampleL7({ direction: 'outbound', src_version: 'v1', dst_version: 'v2.0-rc_1' }),
  sampleL7({ direction: 'outbound', retries: 2, flags: 'retried,ejected_skip', protocol: 'http/1.1' }),
  sampleL7({ direction: 'inbound', protocol: 'grpc', grpc_service: 'shop.v1.Cart', grpc_method: 'Add', grpc_status: 0 }),
  sampleL7({ direction: 'inbound', grpc_status: -1, protocol: '' }),
];

/** The row LineRowWriter writes for a line, or null when it leaves the line to the full read. */
function plainRow(line: string, seq: number, service?: string): string | null {
  const w = new LineChunks(64);
  const buf = Buffer.from(`${line}\n`, 'utf8');
  const took = new LineRowWriter(head, w, service).put(buf, 0, buf.length - 1, seq);
  const rows = Buffer.concat(w.chunks()).toString('utf8');
  if (!took) assert.equal(rows, '', 'a line left to the full read leaves nothing written');
  return took ? rows : null;
}

/** The full read's verdict: the row lineRow writes, or null when JSON.parse or checkLine refuses the line. */
function fullRow(line: string, seq: number): string | null {
  let a: unknown;
  try { a = JSON.parse(line); } catch { return null; }
  return checkLine(a) === null ? lineRow(head, seq, a as unknown[]) : null;
}

test('a plain line is written as the same row the full read writes, for every kind with and without optional fields', () => {
  for (const e of plainShapes()) {
    const line = eventLine(e);
    assert.equal(plainRow(line, 41), fullRow(line, 41), line);
    assert.notEqual(plainRow(line, 41), null, `the plain reader takes ${line}`);
  }
});

test('the plain reader never takes a line the full read refuses, and writes the full read\'s row for any line it takes', () => {
  const lines = plainShapes().map(eventLineValues);
  const at = (k: string, f: string) => LINE_FIELDS[k as 'l7.request'].indexOf(f);
  const hostile: unknown[][] = [];
  const edit = (i: number, j: number, v: unknown) => { const a = [...lines[i]]; a[j] = v; hostile.push(a); };
  // Bad values of every check kind, and values the full read takes but the plain one must not misread.
  for (const v of [-1, -0, 1.5, 1e21, 2 ** 53, 65536, '80', null, true, {}, [], 'x'.repeat(200)]) edit(0, at('l4.open', 'src_port'), v);
  for (const v of [-0.5, -0, 1e-7, 0.12345, 1e21, 2.5e3, '1', null, 12345678901234.5]) edit(2, at('l4.close', 'duration_ms'), v);
  for (const v of ['sideways', 'Inbound', '', 1, null]) edit(5, at('l7.request', 'direction'), v);
  for (const v of ['retried,retried', 'ejected,retried', 'bogus', '', 3]) edit(9, at('l7.request', 'flags'), v);
  for (const v of [{ authorization: 'x' }, { Cookie: 'a' }, { a: 1 }, { 1: 'a', b: 'c', 0: 'd' }, 'x', { 'a"b': 'c' }]) edit(6, at('l7.request', 'headers'), v);
  for (const v of [-2, 1000, -1, 999, 0.5, '-1']) edit(10, at('l7.request', 'grpc_status'), v);
  for (const v of ['h3', 'grpc', 7]) edit(10, at('l7.request', 'protocol'), v);
  for (const v of ['x'.repeat(129), 'x'.repeat(128), 'tab\there', 'é', 'back\\slash', '\u2028']) edit(5, at('l7.request', 'conn_id'), v);
  hostile.push([...lines[5], null, null, null, null, null, null, null, null], lines[5].slice(0, 4), ['l9.request', ...lines[5].slice(1)], []);
  const texts = hostile.map((a) => JSON.stringify(a));
  // And bytes JSON.stringify never writes: whitespace, exponents, leading zeros, duplicate header keys, broken JSON.
  const base = eventLine(plainShapes()[6]);
  texts.push(base.replace(',', ', '), base.replace('12.34', '1234e-2'), base.replace('12.34', '012.34'), base.replace('12.34', '12.340'),
    base.replace('"x-request-id":"1-2"', '"x-request-id":"1-2","x-request-id":"3"'), base.replace('"web"', '"w\\u0065b"'), base.slice(0, -1), `${base} `,
    base.replace('null', 'nul'), base.replace('"GET"', '"GET'), base.replace('[', '[ '));
  let taken = 0;
  for (const line of texts) {
    const plain = plainRow(line, 9);
    if (plain !== null) { taken++; assert.equal(plain, fullRow(line, 9), `the plain reader took ${line}`); }
  }
  assert.ok(taken > 10, `some hostile lines are plain and valid (${taken} taken)`);
  assert.ok(taken < texts.length - 40, `most are left to the full read (${taken} of ${texts.length} taken)`);
});

test('a signed batch\'s line whose own side is another service is left to the full read, which refuses it by name', () => {
  const inbound = eventLine(sampleL7({ direction: 'inbound', src_service: 'web', dst_service: 'cart' }));
  const outbound = eventLine(sampleL7({ direction: 'outbound', src_service: 'web', dst_service: 'cart' }));
  assert.notEqual(plainRow(inbound, 1, 'cart'), null);
  assert.equal(plainRow(inbound, 1, 'web'), null);
  assert.notEqual(plainRow(outbound, 1, 'web'), null);
  assert.equal(plainRow(outbound, 1, 'cart'), null);
});

test('decodeRowBatch over plain and escaped lines mixed writes the rows of encoding the events, and refuses a bad line after plain ones by name', () => {
  const shapes = [...plainShapes(), sampleL7({ path: "/it's\t\u2028", headers: { 'x-user': 'u"1\t' } }), ...plainShapes()];
  const [b, next] = sampleChain('web-1', 's1', [shapes, shapes], { firstSeq: 5 });
  const w = new LineChunks(128);
  const rb = decodeRowBatch(encodeBatch(b), w);
  assert.equal(Buffer.concat(rb.rows).toString(), Buffer.concat(encodeTapRows([b])).toString());
  const bad = next.events.map(eventLineValues);
  bad[18][LINE_FIELDS['l7.request'].indexOf('status')] = 1000;
  assert.throws(() => decodeRowBatch(rawFrame(batchHeader(next), bad), w), /event 18 \(line 20, seq \d+\): status: must be an integer in 0\.\.999/);
  assert.equal(Buffer.concat(w.chunks()).length, 0, 'the refused batch left no rows');
});
