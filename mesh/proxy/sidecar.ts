// Wires one sidecar: tap emitter, config (standalone or streamed), pools,
// per-cluster state and health checks, and listeners; close() stops health
// checks and accepting, lets in-flight work finish within the grace period,
// then flushes taps.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { BatchSigner, EmbeddedPublisher, KafkaPublisher, type SealedHead, type TapPublisher } from '../../ingest/index.ts';
import { ClusterStates, type ClusterResilienceStats } from './cluster-states.ts';
import { ConfigStream, type ConfigStreamCounters } from './config-stream.ts';
import { EndpointPools } from './endpoint-pools.ts';
import { InboundPolicy, type InboundPolicyCounters } from './inbound-policy.ts';
import { fetchAuthzPolicy } from './policy-bundle-fetch.ts';
import { HealthChecks } from './health-checks.ts';
import { startHttpListener, type Listener } from './http-listener.ts';
import { checkSidecarOptions, resolveOptions, SidecarConfigError, type HostPort, type SidecarOptions } from './options.ts';
import { RoutingTable, standaloneSnapshot } from './routing-table.ts';
import { newCounters, type SidecarCounters, type SidecarRuntime } from './runtime.ts';
import { TapEmitter, type TapEmitterCounters } from './taps.ts';
import { TapRecovery, type TapRecoveryStats } from './tap-recovery.ts';
import { startTcpListener } from './tcp-listener.ts';
import { WorkloadIdentity, type IdentityCounters } from './workload-identity.ts';

export interface SidecarStats extends SidecarCounters {
  proxy: string;
  stream: string;
  mode: 'http' | 'tcp';
  config: ConfigStreamCounters | { version: number; standalone: true };
  pools: { pools: number; sockets: number };
  taps: TapEmitterCounters;
  /** With --state-dir: streams earlier processes left in the tap spool, and their delivery. */
  tap_recovery: TapRecoveryStats | null;
  policy: InboundPolicyCounters;
  /** This sidecar's SVID, or null when it has none (no mTLS). */
  identity: IdentityCounters | null;
  /** Per outbound cluster: retries, ejections, health checks, drained endpoints, and each endpoint's state (./cluster-states.ts). */
  resilience: Record<string, ClusterResilienceStats>;
}

export interface Sidecar {
  readonly id: string;
  /** Bound inbound listener (actual port when 0 was asked), if any. */
  readonly inboundAddress: HostPort | undefined;
  /** Bound outbound (HTTP proxy) listener, if any. */
  readonly outboundAddress: HostPort | undefined;
  /** Bound ingress (plaintext, callers external) listener, if any. */
  readonly ingressAddress: HostPort | undefined;
  /** The SVID source, when the sidecar has an identity. */
  readonly identity: WorkloadIdentity | null;
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
  const identity = await obtainIdentity(opts, log);
  // Taps to an https:// collector go over mTLS; the pool is replaced when the certificate renews.
  let tapAgent: https.Agent | null = null;
  const tapsAgent = () => {
    if (tapAgent) return tapAgent;
    const { key, cert, ca, checkServerIdentity } = identity!.controlTls();
    return (tapAgent = new https.Agent({ key, cert, ca, checkServerIdentity, keepAlive: true, maxSockets: 1 }));
  };
  // Each tap batch is signed with the sidecar's key; the signer follows the certificate's renewals.
  let signer: BatchSigner | null = null;
  const tapSigner = () => {
    if (!identity) return null;
    if (!signer) { const m = identity.current(); signer = new BatchSigner(m.keyPem, m.chainPem); }
    return signer;
  };
  identity?.onRotate(() => { tapAgent = null; signer = null; });
  const publisher: TapPublisher | null = opts.bus === 'kafka'
    ? new KafkaPublisher({ brokers: opts.brokers!, topic: opts.topic, clientId: `meshlens-sidecar-${opts.id}` })
    : opts.collectorUrl ? new EmbeddedPublisher(opts.collectorUrl, identity && opts.collectorUrl.startsWith('https:') ? { agent: tapsAgent } : {}) : null;
  const onRejected = (b: SealedHead, code: string, message: string) => log(`tap batch ${b.batch} of stream ${b.stream} (${b.count} events) rejected for good: ${code}: ${message}`);
  // With a state dir, unsent taps are spooled to disk and an earlier process's spool is delivered first (./tap-recovery.ts).
  const recovery = opts.stateDir && publisher && opts.taps.enabled ? TapRecovery.open({
    stateDir: opts.stateDir, spool: { maxBytes: opts.taps.spoolMaxBytes, fsyncMs: opts.taps.spoolFsyncMs },
    publisher, emitter: { ...opts.taps, onRejected, onSpoolError: log, signer: tapSigner }, log,
  }) : null;
  const taps = new TapEmitter({
    proxy: opts.id, stream,
    publisher,
    ...opts.taps,
    onRejected, signer: tapSigner,
    spool: recovery?.spool, initialLost: recovery?.carriedLost, onSpoolError: log,
  });
  recovery?.start();
  const table = new RoutingTable(standaloneSnapshot(opts));
  const pools = new EndpointPools({ identity });
  const clusters = new ClusterStates({ now: Date.now, retire: (addr, port) => pools.retire(addr, port), log });
  clusters.reconcile(table.current);
  table.onApply((state) => clusters.reconcile(state));
  let config: ConfigStream | null = null;
  const policy = new InboundPolicy({
    failOpen: opts.policyFailOpen,
    awaitFirstSnapshot: Boolean(opts.controlUrl), warmMs: opts.policyWarmMs,
    // Without a control plane no snapshot ever names a bundle, so load is never called.
    load: (digest) => fetchAuthzPolicy(opts.controlUrl ?? '', digest, opts.policyFetchTimeoutMs, identity?.controlTls()),
    onRecovered: (version) => config?.confirm(version),
    log,
  });
  let conn = 0;
  const rt: SidecarRuntime = {
    opts, stream, table, pools, clusters, taps, policy, identity, counters: newCounters(), now: Date.now, log,
    nextConnId: () => `${stream.slice(0, 8)}-${(conn++).toString(36)}`,
  };

  const listeners: Listener[] = [];
  let inbound: Listener | undefined;
  let outbound: Listener | undefined;
  let ingress: Listener | undefined;
  try {
    if (opts.mode === 'tcp') {
      inbound = await startTcpListener(rt, opts.listen!, opts.upstream!);
    } else {
      if (opts.listen) inbound = await startHttpListener(rt, 'inbound', opts.listen);
      if (opts.outbound) outbound = await startHttpListener(rt, 'outbound', opts.outbound);
      if (opts.ingress) ingress = await startHttpListener(rt, 'ingress', opts.ingress);
    }
  } catch (e) {
    for (const l of [inbound, outbound, ingress]) await l?.close(0);
    identity?.close();
    await recovery?.close(0);
    await taps.close(0);
    recovery?.release();
    policy.close();
    throw new Error(`sidecar ${opts.id}: cannot listen: ${(e as Error).message}`, { cause: e });
  }
  for (const l of [inbound, outbound, ingress]) if (l) listeners.push(l);
  if (!identity && inbound) log('no workload identity (no https:// control plane): the inbound listener is plaintext and every caller is external');

  config = opts.controlUrl
    ? new ConfigStream({
      controlUrl: opts.controlUrl, proxy: opts.id, service: opts.service, instance: opts.instance, labels: opts.labels,
      inbound: inbound ? `${inbound.address.host}:${inbound.address.port}` : '', table, policy,
      retryMaxMs: opts.controlRetryMaxMs, log,
      tls: identity ? () => identity.controlTls() : undefined,
    })
    : null;
  config?.start();
  const health = new HealthChecks(rt);

  let closing: Promise<void> | null = null;
  return {
    id: opts.id,
    inboundAddress: inbound?.address,
    outboundAddress: outbound?.address,
    ingressAddress: ingress?.address,
    identity,
    taps,
    stats: () => ({
      proxy: opts.id, stream, mode: opts.mode, ...rt.counters,
      config: config?.counters() ?? { version: table.current.version, standalone: true },
      pools: pools.stats(),
      taps: taps.counters(),
      tap_recovery: recovery?.stats() ?? null,
      policy: policy.counters(),
      identity: identity?.counters() ?? null,
      resilience: clusters.stats(),
    }),
    close() {
      closing ??= (async () => {
        health.close();
        await config?.close();
        policy.close();
        await Promise.all(listeners.map((l) => l.close(opts.closeGraceMs)));
        pools.close();
        // The old streams first: the new stream's emitter closes the publisher they share.
        await recovery?.close(opts.taps.closeFlushMs);
        await taps.close(opts.taps.closeFlushMs);
        recovery?.release();
        identity?.close();
      })();
      return closing;
    },
  };
}

/** The sidecar's SVID: static material, or issued by an https:// control plane; null without either. */
async function obtainIdentity(opts: ReturnType<typeof resolveOptions>, log: (m: string) => void): Promise<WorkloadIdentity | null> {
  const https = opts.controlUrl?.startsWith('https:');
  if (!opts.staticIdentity && !https) return null;
  let bootstrapBundlePem: string | undefined;
  if (opts.trustBundleFile) {
    try {
      bootstrapBundlePem = readFileSync(opts.trustBundleFile, 'utf8');
    } catch (e) {
      throw new SidecarConfigError([`--trust-bundle: cannot read ${opts.trustBundleFile}: ${(e as Error).message}`]);
    }
  }
  return WorkloadIdentity.obtain({
    proxy: opts.id, service: opts.service, controlUrl: https ? opts.controlUrl : undefined,
    bootstrapBundlePem, joinToken: opts.joinToken, stateDir: opts.stateDir, static: opts.staticIdentity, log,
  });
}
