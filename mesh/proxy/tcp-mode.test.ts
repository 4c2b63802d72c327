import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import type { L4CloseTap } from '../../ingest/index.ts';
import { startSidecar } from './index.ts';
import { startRecordingCollector } from './testing/recording-collector.ts';
import { freePort, startTcpServer } from './testing/servers.ts';

/** Sends `payload`, half-closes, and collects everything until the proxy closes. */
function exchange(port: number, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.end(payload));
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
}

test('tcp mode pipes bytes both ways, passing a half-close through, and emits l4.open/l4.close with exact byte counts', async (t) => {
  const collector = await startRecordingCollector();
  let received = 0;
  // Answers 2.5 bytes for every byte, once the client has finished sending.
  const upstream = await startTcpServer((s) => {
    s.on('data', (c: Buffer) => { received += c.length; });
    s.on('end', () => s.end(Buffer.alloc(received * 2.5, 'z')));
  });
  const sidecar = await startSidecar({
    id: 'db-1', service: 'db', mode: 'tcp', collectorUrl: collector.url, closeGraceMs: 300,
    listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: upstream.port },
  });
  t.after(async () => { await sidecar.close(); await upstream.close(); await collector.close(); });

  const reply = await exchange(sidecar.inboundAddress!.port, Buffer.alloc(100_000, 'q'));
  assert.equal(received, 100_000);
  assert.equal(reply.length, 250_000);
  await sidecar.close();
  assert.deepEqual(collector.problems, []);
  const events = collector.events();
  assert.deepEqual(events.map((e) => e.kind), ['l4.open', 'l4.close']);
  const close = events[1] as L4CloseTap;
  assert.equal(close.conn_id, events[0].conn_id);
  assert.deepEqual([close.bytes_in, close.bytes_out, close.end], [100_000, 250_000, 'remote_close']);
  assert.deepEqual([close.src_service, close.dst_service, close.dst_instance, close.dst_addr, close.dst_port], ['external', 'db', 'db-1', '127.0.0.1', upstream.port]);
});

test('tcp mode records end=error with MESH_ERR_UPSTREAM_CONNECT when the upstream refuses', async (t) => {
  const collector = await startRecordingCollector();
  const port = await freePort();
  const sidecar = await startSidecar({
    id: 'db-1', service: 'db', mode: 'tcp', collectorUrl: collector.url, closeGraceMs: 300,
    listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port },
  });
  t.after(async () => { await sidecar.close(); await collector.close(); });
  const reply = await exchange(sidecar.inboundAddress!.port, Buffer.from('hello'));
  assert.equal(reply.length, 0);
  await sidecar.close();
  const close = collector.events().find((e): e is L4CloseTap => e.kind === 'l4.close')!;
  assert.equal(close.end, 'error');
  assert.match(close.error ?? '', /^MESH_ERR_UPSTREAM_CONNECT: 127\.0\.0\.1:\d+: ECONNREFUSED/);
  assert.equal(close.bytes_out, 0);
});
