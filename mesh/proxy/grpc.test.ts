import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { L7RequestTap } from '../../ingest/index.ts';
import type { ConfigSnapshot } from '../control/snapshot.ts';
import { startSidecar } from './index.ts';
import { startControlServer } from './testing/control-server.ts';
import { testIdentities } from './testing/identities.ts';
import { authzBundle } from './testing/policy-bundles.ts';
import { startRecordingCollector } from './testing/recording-collector.ts';

// A real gRPC service (grpc-js on both ends), messages as plain UTF-8 bytes:
// the sidecar never reads them, so no protobuf schema is needed.
const text = { serialize: (s: string) => Buffer.from(s, 'utf8'), deserialize: (b: Buffer) => b.toString('utf8') };
const method = (path: string, responseStream = false) => ({
  path, requestStream: false, responseStream,
  requestSerialize: text.serialize, requestDeserialize: text.deserialize, responseSerialize: text.serialize, responseDeserialize: text.deserialize,
});
const ECHO = {
  say: method('/demo.v1.Echo/Say'),
  count: method('/demo.v1.Echo/Count', true),
  missing: method('/demo.v1.Echo/Missing'),
  forbidden: method('/demo.v1.Echo/Forbidden'),
} satisfies grpc.ServiceDefinition;
const EchoClient = grpc.makeGenericClientConstructor(ECHO, 'Echo');
type Echo = grpc.Client & Record<keyof typeof ECHO, (...args: unknown[]) => unknown>;

async function echoServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server = new grpc.Server();
  server.addService(ECHO, {
    say: (call: grpc.ServerUnaryCall<string, string>, cb: grpc.sendUnaryData<string>) => cb(null, `hello ${call.request}`),
    count: (call: grpc.ServerWritableStream<string, string>) => { for (let i = 1; i <= Number(call.request); i++) call.write(String(i)); call.end(); },
    missing: (_call: grpc.ServerUnaryCall<string, string>, cb: grpc.sendUnaryData<string>) => cb({ code: grpc.status.NOT_FOUND, details: 'no such thing: 100% gone' }),
    forbidden: (_call: grpc.ServerUnaryCall<string, string>, cb: grpc.sendUnaryData<string>) => cb(null, 'should never run'),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { port, close: () => new Promise<void>((r) => server.tryShutdown(() => r())) };
}

const unary = (client: Echo, name: 'say' | 'missing' | 'forbidden', req: string) => new Promise<{ value?: string; error?: grpc.ServiceError }>((resolve) => {
  client[name](req, (error: grpc.ServiceError | null, value?: string) => resolve(error ? { error } : { value }));
});

test('gRPC through outbound → inbound (mTLS) → a grpc-js server: unary and server-streaming calls, OK and non-OK statuses with their messages, policy denial as PERMISSION_DENIED; taps carry service, method and status', async (t) => {
  const ids = await testIdentities();
  const server = await echoServer();
  const collector = await startRecordingCollector();
  const control = await startControlServer();
  const cart = await startSidecar({
    id: 'cart-1', service: 'cart', staticIdentity: await ids.identity('cart'), controlUrl: control.url, collectorUrl: collector.url, taps: { lingerMs: 5 },
    closeGraceMs: 100, controlRetryMaxMs: 50, listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: server.port },
  });
  const web = await startSidecar({
    id: 'web-1', service: 'web', staticIdentity: await ids.identity('web'), collectorUrl: collector.url, taps: { lingerMs: 5 }, closeGraceMs: 100,
    outbound: { host: '127.0.0.1', port: 0 }, routes: [{ authority: 'cart', endpoints: [{ host: '127.0.0.1', port: cart.inboundAddress!.port }] }],
  });
  // The callee's policy: every method but Forbidden.
  const policy = await authzBundle([
    'default decision := {"allow": true, "reason": "open"}',
    'decision := {"allow": false, "reason": "Forbidden is not for callers"} if input.request.path == "/demo.v1.Echo/Forbidden"',
  ].join('\n\n'));
  control.bundles.set(policy.digest, policy.bytes);
  const snapshot: ConfigSnapshot = { version: 1, proxy: 'cart-1', service: 'cart', routes: [], clusters: [], taps: { query_allow: [], header_allow: [] }, policy_digest: policy.digest };
  await control.send(snapshot);
  assert.equal((await control.ackFor(1)).ok, true);
  // The workload's client talks to its sidecar's outbound listener (h2c), naming the service as the authority.
  const client = new EchoClient(`127.0.0.1:${web.outboundAddress!.port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'cart' }) as unknown as Echo;
  t.after(async () => { client.close(); await web.close(); await cart.close(); await control.close(); await collector.close(); await server.close(); });

  assert.deepEqual(await unary(client, 'say', 'mesh'), { value: 'hello mesh' });
  const counted = await new Promise<string[]>((resolve, reject) => {
    const got: string[] = [];
    const call = client.count('3') as grpc.ClientReadableStream<string>;
    call.on('data', (d: string) => got.push(d));
    call.on('error', reject);
    call.on('end', () => resolve(got));
  });
  assert.deepEqual(counted, ['1', '2', '3']);
  const missing = await unary(client, 'missing', 'x');
  assert.equal(missing.error?.code, grpc.status.NOT_FOUND);
  assert.equal(missing.error?.details, 'no such thing: 100% gone', 'grpc-message passes through, percent-encoding and all');
  const denied = await unary(client, 'forbidden', 'x');
  assert.equal(denied.error?.code, grpc.status.PERMISSION_DENIED);
  assert.equal(denied.error?.details, 'MESH_ERR_POLICY_DENIED: Forbidden is not for callers');
  assert.equal(denied.error?.metadata.get('x-meshlens-error')[0], 'MESH_ERR_POLICY_DENIED');

  await web.taps.flush();
  await cart.taps.flush();
  assert.deepEqual(collector.problems, []);
  const taps = collector.events().filter((e): e is L7RequestTap => e.kind === 'l7.request');
  const row = (e: L7RequestTap) => [e.direction, e.protocol, e.grpc_service, e.grpc_method, e.grpc_status, e.status, e.decision ?? ''];
  assert.deepEqual(taps.filter((e) => e.direction === 'inbound').map(row), [
    ['inbound', 'grpc', 'demo.v1.Echo', 'Say', 0, 200, 'allow'],
    ['inbound', 'grpc', 'demo.v1.Echo', 'Count', 0, 200, 'allow'],
    ['inbound', 'grpc', 'demo.v1.Echo', 'Missing', 5, 200, 'allow'],
    ['inbound', 'grpc', 'demo.v1.Echo', 'Forbidden', 7, 200, 'deny'],
  ]);
  assert.deepEqual(taps.filter((e) => e.direction === 'outbound').map(row), [
    ['outbound', 'grpc', 'demo.v1.Echo', 'Say', 0, 200, ''],
    ['outbound', 'grpc', 'demo.v1.Echo', 'Count', 0, 200, ''],
    ['outbound', 'grpc', 'demo.v1.Echo', 'Missing', 5, 200, ''],
    ['outbound', 'grpc', 'demo.v1.Echo', 'Forbidden', 7, 200, ''],
  ]);
  assert.equal(taps.find((e) => e.grpc_method === 'Forbidden' && e.direction === 'inbound')?.error, 'MESH_ERR_POLICY_DENIED');
});

test('a gRPC call the sidecar cannot deliver is answered UNAVAILABLE with the sidecar\'s reason, not a transport error', async (t) => {
  const web = await startSidecar({
    id: 'web-1', service: 'web', taps: { enabled: false }, closeGraceMs: 100,
    outbound: { host: '127.0.0.1', port: 0 }, routes: [{ authority: 'cart', endpoints: [{ host: '127.0.0.1', port: 1 }] }],
  });
  const client = new EchoClient(`127.0.0.1:${web.outboundAddress!.port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'cart' }) as unknown as Echo;
  const stranger = new EchoClient(`127.0.0.1:${web.outboundAddress!.port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'nowhere' }) as unknown as Echo;
  t.after(async () => { client.close(); stranger.close(); await web.close(); });
  const down = await unary(client, 'say', 'x');
  assert.equal(down.error?.code, grpc.status.UNAVAILABLE);
  assert.match(down.error?.details ?? '', /^MESH_ERR_UPSTREAM_CONNECT: connect to 127\.0\.0\.1:1 failed/);
  const unrouted = await unary(stranger, 'say', 'x');
  assert.equal(unrouted.error?.code, grpc.status.UNIMPLEMENTED);
  assert.match(unrouted.error?.details ?? '', /^MESH_ERR_NO_ROUTE: no route for authority 'nowhere'/);
});
