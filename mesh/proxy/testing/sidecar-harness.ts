// One sidecar (cart-1) in front of a recording workload, inbound or
// outbound, with a recording collector: the set-up of the request-path
// tests, which send raw bytes and check what the workload parsed and what
// was tapped.

import assert from 'node:assert/strict';
import type { L7RequestTap } from '../../../ingest/index.ts';
import { startSidecar, type Sidecar, type SidecarOptions } from '../index.ts';
import { startRecordingCollector, type RecordingCollector } from './recording-collector.ts';
import { startRecordingWorkload, type RecordingWorkload } from './recording-workload.ts';

export interface Harness { workload: RecordingWorkload; collector: RecordingCollector; sidecar: Sidecar; port: number }

/**
 * Inbound: the sidecar's listener in front of the workload; outbound: its
 * proxy listener with a route `cart` to it. `extra` options (labels, …) go
 * to the sidecar as well.
 */
export async function sidecarHarness(
  t: { after(fn: () => Promise<void>): void }, direction: 'inbound' | 'outbound' = 'inbound', extra: Partial<SidecarOptions> = {},
): Promise<Harness> {
  const workload = await startRecordingWorkload();
  const collector = await startRecordingCollector();
  const sidecar = await startSidecar({
    id: 'cart-1', service: 'cart', collectorUrl: collector.url, closeGraceMs: 200, taps: { lingerMs: 5 }, ...extra,
    ...(direction === 'inbound'
      ? { listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: workload.port } }
      : { outbound: { host: '127.0.0.1', port: 0 }, routes: [{ authority: 'cart', endpoints: [{ host: '127.0.0.1', port: workload.port }] }] }),
  });
  t.after(async () => { await sidecar.close(); await collector.close(); await workload.close(); });
  return { workload, collector, sidecar, port: (direction === 'inbound' ? sidecar.inboundAddress : sidecar.outboundAddress)!.port };
}

/** The l7.request taps so far, after a flush; the collector must have found nothing wrong with the batches. */
export async function l7Taps(h: Harness): Promise<L7RequestTap[]> {
  await h.sidecar.taps.flush();
  assert.deepEqual(h.collector.problems, []);
  return h.collector.events().filter((e): e is L7RequestTap => e.kind === 'l7.request');
}
