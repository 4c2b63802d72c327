// Wires one sidecar: tap emitter, config (standalone or streamed), pools and
// listeners; close() stops accepting, lets in-flight work finish within the
// grace period, then flushes taps.

import { randomBytes } from 'node:crypto';
import { EmbeddedPublisher, KafkaPublisher, type TapPublisher } from '../../ingest/index.ts';
import { ConfigStream, type ConfigStreamCounters } from './config-stream.ts';
import { EndpointPools } from './endpoint-pools.ts';
import { InboundPolicy, type InboundPolicyCounters } from './inbound-policy.ts';
import { fetchAuthzPolicy } from './policy-bundle-fetch.ts';
import { startHttpListener, type Listener } from './http-listener.ts';
import { checkSidecarOptions, resolveOptions, SidecarConfigError, type HostPort, type SidecarOptions } from './options.ts';
import { RoutingTable, standaloneSnapshot } from './routing-table.ts';
import { newCounters, type SidecarCounters, type SidecarRuntime } from './runtime.ts';
import { TapEmitter, type TapEmitterCounters } from './taps.ts';
import { startTcpListener } from './tcp-listener.ts';

export interface SidecarStats extends SidecarCounters {
  proxy: string;
  stream: string;
  mode: 'http' | 'tcp';
  config: ConfigStreamCounters | { version: number; standalone: true };
  pools: { pools: number; sockets: number };
  taps: TapEmitterCounters;
  policy: InboundPolicyCounters;
}

export interface Sidecar {
  readonly id: string;
  /** Bound inbound listener (actual port when 0 was asked), if any. */
  readonly inboundAddress: HostPort | undefined;
  /** Bound outbound (HTTP proxy) listener, if any. */
  readonly outboundAddress: HostPort | undefined;
  readonly taps: TapEmitter;
  stats(): SidecarStats;
  close(): Promise<void>;
}

export async function startSidecar(options: SidecarOptions): Promise<Sidecar> {
  const problems = checkSidecarOptions(options);
  if (problems.length > 0) throw new SidecarConfigError(problems);
  const opts = resolveOptions(options);
  const stream = randomBytes(8).toString('hex');
  const log = (m: string) => process.stderr.write(`meshlens sidecar ${opts.id}: ${m}\n`);
  const publisher: TapPublisher | null = opts.bus === 'kafka'
    ? new KafkaPublisher({ brokers: opts.brokers!, topic: opts.topic, clientId: `meshlens-sidecar-${opts.id}` })
    : opts.collectorUrl ? new EmbeddedPublisher(opts.collectorUrl) : null;
  const taps = new TapEmitter({
    proxy: opts.id, stream,
    publisher,
    ...opts.taps,
    onRejected: (b, code, message) => log(`tap batch ${b.batch} (${b.events.length} events) rejected for good: ${code}: ${message}`),
  });
  const table = new RoutingTable(standaloneSnapshot(opts));
  const pools = new EndpointPools();
  let config: ConfigStream | null = null;
  const policy = new InboundPolicy({
    failOpen: opts.policyFailOpen,
    // Without a control plane no snapshot ever names a bundle, so load is never called.
    load: (digest) => fetchAuthzPolicy(opts.controlUrl ?? '', digest, opts.policyFetchTimeoutMs),
    onRecovered: (version) => config?.confirm(version),
    log,
  });
  let conn = 0;
  const rt: SidecarRuntime = {
    opts, stream, table, pools, taps, policy, counters: newCounters(), now: Date.now, log,
    nextConnId: () => `${stream.slice(0, 8)}-${(conn++).toString(36)}`,
  };

  const listeners: Listener[] = [];
  let inbound: Listener | undefined;
  let outbound: Listener | undefined;
  try {
    if (opts.mode === 'tcp') {
      inbound = await startTcpListener(rt, opts.listen!, opts.upstream!);
    } else {
      if (opts.listen) inbound = await startHttpListener(rt, 'inbound', opts.listen);
      if (opts.outbound) outbound = await startHttpListener(rt, 'outbound', opts.outbound);
    }
  } catch (e) {
    for (const l of [inbound, outbound]) await l?.close(0);
    await taps.close(0);
    policy.close();
    throw new Error(`sidecar ${opts.id}: cannot listen: ${(e as Error).message}`, { cause: e });
  }
  for (const l of [inbound, outbound]) if (l) listeners.push(l);

  config = opts.controlUrl
    ? new ConfigStream({
      controlUrl: opts.controlUrl, proxy: opts.id, service: opts.service, instance: opts.instance,
      inbound: inbound ? `${inbound.address.host}:${inbound.address.port}` : '', table, policy,
      retryMaxMs: opts.controlRetryMaxMs, log,
    })
    : null;
  config?.start();

  let closing: Promise<void> | null = null;
  return {
    id: opts.id,
    inboundAddress: inbound?.address,
    outboundAddress: outbound?.address,
    taps,
    stats: () => ({
      proxy: opts.id, stream, mode: opts.mode, ...rt.counters,
      config: config?.counters() ?? { version: table.current.version, standalone: true },
      pools: pools.stats(),
      taps: taps.counters(),
      policy: policy.counters(),
    }),
    close() {
      closing ??= (async () => {
        await config?.close();
        policy.close();
        await Promise.all(listeners.map((l) => l.close(opts.closeGraceMs)));
        pools.close();
        await taps.close(opts.taps.closeFlushMs);
      })();
      return closing;
    },
  };
}
