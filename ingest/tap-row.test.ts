import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleChain, sampleL4Open, sampleL7 } from './sample-taps.ts';
import { batchJsonRows, batchRows } from './tap-row.ts';

test('batchJsonRows is the JSONEachRow text of batchRows (comma-separated objects): same rows, headers as a JSON string, odd strings intact', () => {
  const [b] = sampleChain('web-1', 's"1\\', [[
    sampleL4Open(),
    sampleL7({ headers: { 'x-user': 'u"1', 'user-agent': 'é ☃' }, decision: 'allow' }),
    sampleL7({ path: "/it's\\odd\n\u2028", error: 'MESH_ERR_X' }),
    { v: 1, kind: 'l4.close', proxy: 'web-1', seq: 0, ts: 1, direction: 'inbound', conn_id: 'c', src_service: 'a', src_instance: 'a-1', src_addr: '1.2.3.4', src_port: 1,
      dst_service: 'b', dst_instance: 'b-1', dst_addr: '1.2.3.5', dst_port: 2, bytes_in: 1, bytes_out: 2, duration_ms: 0.5, end: 'timeout' },
  ]], { firstBatch: 7 });
  const lines = (JSON.parse(`[${batchJsonRows(b)}]`) as unknown[]).map((r) => JSON.stringify(r));
  assert.equal(lines.length, 4);
  assert.deepEqual(lines.map((l) => JSON.parse(l)), batchRows(b).map((r) => (r.kind === 'l7.request' && r.headers === '{}' ? (({ headers: _, ...rest }) => rest)(r) : r)));
  assert.equal(JSON.parse(lines[1]).headers, JSON.stringify({ 'x-user': 'u"1', 'user-agent': 'é ☃' }));
});
