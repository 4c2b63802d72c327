// Sidecar configuration: one typed object, filled from flags by
// parseSidecarArgs (`meshlens sidecar …`) or built directly by tests and the
// demo. Every problem is reported at once.

import { readFileSync } from 'node:fs';
import { DEFAULT_MAX_BATCH_SIZE } from './taps.ts';
import { addLabel, labelProblems } from '../control/labels.ts';
import { DEFAULT_POLICY_HEADERS as POLICY_HEADERS } from '../../policy/index.ts';

export interface HostPort { host: string; port: number }

export interface StandaloneRoute {
  /** Authority (Host without port) the app uses, e.g. "catalog". */
  authority: string;
  endpoints: HostPort[];
}

export interface SidecarOptions {
  /** Proxy id used in taps and the config stream; default `${service}-${pid}`. */
  id?: string;
  /** Service this sidecar belongs to. */
  service: string;
  /** Workload instance name; default the proxy id. */
  instance?: string;
  /**
   * This instance's labels (`--label version=v2`), sent on the config stream:
   * route weights choose between subsets of a service by them. Metadata, not
   * identity (the certificate alone says which service this is). `version`
   * is also recorded on this sidecar's own side of its taps.
   */
  labels?: Record<string, string>;
  mode?: 'http' | 'tcp';
  /** Inbound listener (mesh → workload); port 0 picks a free port. */
  listen?: HostPort;
  /** The local workload the inbound listener forwards to. */
  upstream?: HostPort;
  /**
   * How requests reach the local workload: 'same' as the client spoke
   * (HTTP/2 stays HTTP/2, as h2c with prior knowledge), 'h1' always
   * HTTP/1.1, 'h2' always h2c. gRPC always goes as HTTP/2. Default 'same'.
   */
  upstreamProtocol?: 'same' | 'h1' | 'h2';
  /** Outbound listener (workload → mesh, HTTP proxy mode); http mode only. */
  outbound?: HostPort;
  /**
   * Ingress listener: plaintext HTTP from outside the mesh, to the local
   * workload; every caller is `external`. With an identity, the inbound
   * listener takes mTLS from other sidecars only (strict), so traffic from
   * outside enters here or nowhere.
   */
  ingress?: HostPort;
  /** PEM file of the mesh's trust bundle: how this sidecar checks the control plane before it has an identity. */
  trustBundleFile?: string;
  /** Join token for the first certificate (`meshlens sidecar` reads it from MESHLENS_JOIN_TOKEN, never argv). */
  joinToken?: string;
  /**
   * Where this sidecar keeps what must outlive its process: `identity/` (its
   * key, 0600, and certificate, so a restarted sidecar needs no new join
   * token) and `spool/` (unsent taps).
   */
  stateDir?: string;
  /** Identity material issued elsewhere (tests; other tooling): used as is, never renewed. */
  staticIdentity?: { keyPem: string; chainPem: string; bundlePem: string };
  /**
   * Control plane base URL; without it the sidecar runs standalone. https://
   * (meshlens control): the sidecar gets an SVID and speaks mTLS. http:// is
   * only for test doubles of the control plane: no identity, every caller external.
   */
  controlUrl?: string;
  /** Collector base URL for taps; defaults to controlUrl. */
  collectorUrl?: string;
  /** How taps leave: 'embedded' (HTTP to the collector, default) or 'kafka' (to `brokers`). */
  bus?: 'embedded' | 'kafka';
  /** Kafka bootstrap brokers (host:port), with bus 'kafka'. */
  brokers?: string[];
  /** Kafka topic for taps (default meshlens.taps.v1). */
  topic?: string;
  /** Standalone outbound routes (`--route name=addr:port[,addr:port]`). */
  routes?: StandaloneRoute[];
  /** Standalone tap capture allow-lists; the control plane's snapshot replaces them. */
  queryAllow?: string[];
  headerAllow?: string[];
  taps?: {
    enabled?: boolean;
    /** Events held while the collector is away; more are dropped and counted. */
    bufferSize?: number;
    batchSize?: number;
    /** Behind a backlog, a batch takes up to this many taps. */
    maxBatchSize?: number;
    lingerMs?: number;
    retryInitialMs?: number;
    retryMaxMs?: number;
    /** How long close() keeps trying to deliver buffered taps before counting them abandoned. */
    closeFlushMs?: number;
    /** With stateDir: the tap spool's size bound in bytes (unsent taps may take half; more are dropped and counted). */
    spoolMaxBytes?: number;
    /** With stateDir: fdatasync the tap spool at most this often (0: after every write). A crash of the process loses nothing written; of the machine, up to this much. */
    spoolFsyncMs?: number;
  };
  /**
   * A policy the control plane names but this sidecar could not load: deny
   * (false, the default: fail-closed) or let requests through with decision
   * 'none' (true). No policy named at all always lets them through.
   */
  policyFailOpen?: boolean;
  /** Request headers the inbound policy sees (lower-case); never recorded in taps. */
  policyHeaderAllow?: string[];
  /** How long fetching a policy bundle from the control plane may take. */
  policyFetchTimeoutMs?: number;
  /**
   * How long an inbound request met before the first snapshot's policy has
   * loaded waits for it before it is decided as things stand (fail-closed:
   * denied policy_unavailable).
   */
  policyWarmMs?: number;
  /** Inbound request timeout (outbound timeouts come from the cluster). */
  requestTimeoutMs?: number;
  /** A request head must arrive within this long of its first byte (slow-loris), or 408. */
  headersTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** An upgraded connection (WebSocket) or CONNECT tunnel with no byte either way for this long is closed. */
  tunnelIdleMs?: number;
  /** TCP mode: close a connection idle this long (0 = never). */
  tcpIdleMs?: number;
  /** Config stream reconnect backoff. */
  controlRetryMaxMs?: number;
  /** How long close() waits for in-flight requests and tap delivery. */
  closeGraceMs?: number;
  /**
   * Requests in flight per direction (inbound, outbound) before more wait or
   * are refused 503 MESH_ERR_OVERLOADED (stages/admission.ts); default 1024.
   */
  maxConcurrent?: number;
  /** Requests that may wait for a slot per direction (FIFO); default 0: refuse at once. */
  maxQueue?: number;
  /** Longest a request waits in any admission queue before it is refused; default 250. */
  maxQueueWaitMs?: number;
}

export class SidecarConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`meshlens sidecar: invalid options:\n  - ${problems.join('\n  - ')}`);
    this.name = 'SidecarConfigError';
    this.problems = problems;
  }
}

export function parseHostPort(s: string): HostPort | null {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(s.trim());
  if (!m) return null;
  const port = Number(m[2]);
  if (port > 65535) return null;
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

export const SIDECAR_USAGE = 'meshlens sidecar [--mode http|tcp] --service NAME --listen ADDR:PORT --upstream ADDR:PORT [--upstream-protocol same|h1|h2] ' +
  '[--outbound ADDR:PORT] [--ingress ADDR:PORT] [--control URL --trust-bundle FILE] [--state-dir DIR] [--svid-key FILE --svid-cert FILE] [--collector URL] [--bus embedded|kafka --brokers HOST:PORT[,HOST:PORT] [--topic T]] [--route NAME=ADDR:PORT[,ADDR:PORT]] ' +
  '[--id ID] [--instance NAME] [--label KEY=VALUE]... [--no-taps] [--tap-buffer N] [--tap-batch N] [--tap-batch-max N] [--tap-linger-ms N] [--tap-flush-ms N] [--tap-spool-max-bytes N] [--tap-spool-fsync-ms N] ' +
  '[--query-allow K,K] [--header-allow H,H] [--timeout-ms N] [--connect-timeout-ms N] [--tunnel-idle-s N] ' +
  '[--policy-fail-open] [--policy-header-allow H,H] [--policy-fetch-timeout-ms N] [--policy-warm-ms N] ' +
  '[--max-concurrent N] [--max-queue N] [--max-queue-wait-ms N]';

/** Parses `meshlens sidecar` flags (and MESHLENS_JOIN_TOKEN from env); throws SidecarConfigError listing every problem. */
export function parseSidecarArgs(argv: string[], env: NodeJS.ProcessEnv = {}): SidecarOptions {
  const problems: string[] = [];
  const opts: SidecarOptions = { service: '', routes: [], taps: {} };
  const labels: Record<string, string> = {};
  if (env.MESHLENS_JOIN_TOKEN) opts.joinToken = env.MESHLENS_JOIN_TOKEN;
  let svidKey: string | undefined;
  let svidCert: string | undefined;
  const taps = opts.taps!;
  const hostPort = (flag: string, v: string): HostPort | undefined => {
    const hp = parseHostPort(v);
    if (!hp) problems.push(`${flag}: expected ADDR:PORT, got '${v}'`);
    return hp ?? undefined;
  };
  const int = (flag: string, v: string, min: number): number | undefined => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) { problems.push(`${flag}: expected an integer >= ${min}, got '${v}'`); return undefined; }
    return n;
  };
  const url = (flag: string, v: string): string | undefined => {
    try { const u = new URL(v); if (u.protocol === 'http:' || u.protocol === 'https:') return v; } catch { /* reported below */ }
    problems.push(`${flag}: expected an https:// (or, for a test double, http://) URL, got '${v}'`);
    return undefined;
  };
  const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);

  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--no-taps') { taps.enabled = false; continue; }
    if (flag === '--policy-fail-open') { opts.policyFailOpen = true; continue; }
    if (flag === '--help' || flag === '-h') { problems.push(`usage: ${SIDECAR_USAGE}`); continue; }
    if (!flag.startsWith('--')) { problems.push(`unexpected argument '${flag}'`); continue; }
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) { problems.push(`${flag}: missing value`); continue; }
    i++;
    switch (flag) {
      case '--mode':
        if (v === 'http' || v === 'tcp') opts.mode = v; else problems.push(`--mode: expected http or tcp, got '${v}'`);
        break;
      case '--service': opts.service = v; break;
      case '--instance': opts.instance = v; break;
      case '--id': opts.id = v; break;
      case '--label': {
        const problem = addLabel(labels, v);
        if (problem) problems.push(`--label: ${problem}`);
        break;
      }
      case '--listen': opts.listen = hostPort(flag, v); break;
      case '--upstream': opts.upstream = hostPort(flag, v); break;
      case '--upstream-protocol':
        if (v === 'same' || v === 'h1' || v === 'h2') opts.upstreamProtocol = v; else problems.push(`--upstream-protocol: expected same, h1 or h2, got '${v}'`);
        break;
      case '--outbound': opts.outbound = hostPort(flag, v); break;
      case '--ingress': opts.ingress = hostPort(flag, v); break;
      case '--trust-bundle': opts.trustBundleFile = v; break;
      case '--state-dir': opts.stateDir = v; break;
      case '--svid-key': svidKey = v; break;
      case '--svid-cert': svidCert = v; break;
      case '--control': opts.controlUrl = url(flag, v); break;
      case '--collector': opts.collectorUrl = url(flag, v); break;
      case '--bus':
        if (v === 'embedded' || v === 'kafka') opts.bus = v; else problems.push(`--bus: expected embedded or kafka, got '${v}'`);
        break;
      case '--brokers': opts.brokers = list(v).filter((b) => hostPort(flag, b)); break;
      case '--topic': opts.topic = v; break;
      case '--route': {
        const eq = v.indexOf('=');
        const authority = eq > 0 ? v.slice(0, eq) : '';
        const endpoints = eq > 0 ? list(v.slice(eq + 1)).map((e) => hostPort(flag, e)) : [];
        if (!authority || endpoints.length === 0) problems.push(`--route: expected NAME=ADDR:PORT[,ADDR:PORT], got '${v}'`);
        else if (endpoints.every(Boolean)) opts.routes!.push({ authority: authority.toLowerCase(), endpoints: endpoints as HostPort[] });
        break;
      }
      case '--query-allow': opts.queryAllow = list(v); break;
      case '--header-allow': opts.headerAllow = list(v).map((h) => h.toLowerCase()); break;
      case '--tap-buffer': taps.bufferSize = int(flag, v, 1); break;
      case '--tap-batch': taps.batchSize = int(flag, v, 1); break;
      case '--tap-batch-max': taps.maxBatchSize = int(flag, v, 1); break;
      case '--tap-linger-ms': taps.lingerMs = int(flag, v, 0); break;
      case '--tap-flush-ms': taps.closeFlushMs = int(flag, v, 0); break;
      case '--tap-spool-max-bytes': taps.spoolMaxBytes = int(flag, v, 1024 * 1024); break;
      case '--tap-spool-fsync-ms': taps.spoolFsyncMs = int(flag, v, 0); break;
      case '--policy-header-allow': opts.policyHeaderAllow = list(v).map((h) => h.toLowerCase()); break;
      case '--policy-fetch-timeout-ms': opts.policyFetchTimeoutMs = int(flag, v, 1); break;
      case '--policy-warm-ms': opts.policyWarmMs = int(flag, v, 0); break;
      case '--timeout-ms': opts.requestTimeoutMs = int(flag, v, 1); break;
      case '--headers-timeout-ms': opts.headersTimeoutMs = int(flag, v, 1); break;
      case '--connect-timeout-ms': opts.connectTimeoutMs = int(flag, v, 1); break;
      case '--tunnel-idle-s': { const s = int(flag, v, 1); if (s !== undefined) opts.tunnelIdleMs = s * 1000; break; }
      case '--tcp-idle-ms': opts.tcpIdleMs = int(flag, v, 0); break;
      case '--max-concurrent': opts.maxConcurrent = int(flag, v, 1); break;
      case '--max-queue': opts.maxQueue = int(flag, v, 0); break;
      case '--max-queue-wait-ms': opts.maxQueueWaitMs = int(flag, v, 1); break;
      default: problems.push(`unknown flag ${flag}`);
    }
  }
  if (Object.keys(labels).length > 0) opts.labels = labels;
  // A certificate issued by other tooling (cert-manager, your PKI): used as is, never renewed here.
  if (svidKey !== undefined || svidCert !== undefined) {
    if (!svidKey || !svidCert || !opts.trustBundleFile) problems.push('--svid-key, --svid-cert and --trust-bundle: give all three for a certificate issued elsewhere');
    else {
      try {
        opts.staticIdentity = { keyPem: readFileSync(svidKey, 'utf8'), chainPem: readFileSync(svidCert, 'utf8'), bundlePem: readFileSync(opts.trustBundleFile, 'utf8') };
      } catch (e) {
        problems.push(`--svid-key/--svid-cert/--trust-bundle: ${(e as Error).message}`);
      }
    }
  }
  problems.push(...checkSidecarOptions(opts));
  if (problems.length > 0) throw new SidecarConfigError(problems);
  return opts;
}

/** Problems with a complete options object (also used by startSidecar). */
export function checkSidecarOptions(o: SidecarOptions): string[] {
  const p: string[] = [];
  const mode = o.mode ?? 'http';
  if (!o.service && o.controlUrl) p.push('--service: required with --control');
  if (mode === 'tcp') {
    if (!o.listen || !o.upstream) p.push('tcp mode needs --listen and --upstream');
    if (o.outbound) p.push('--outbound: only in http mode');
  } else {
    if (!o.listen && !o.ingress && !o.outbound) p.push('http mode needs --listen (inbound), --ingress or --outbound');
    if ((o.listen || o.ingress) && !o.upstream) p.push('--upstream: required with --listen or --ingress (the workload address)');
  }
  if (o.bus === 'kafka' && (o.brokers ?? []).length === 0) p.push('--brokers: required with --bus kafka');
  if (o.bus !== 'kafka' && (o.brokers !== undefined || o.topic !== undefined)) p.push('--brokers/--topic: only with --bus kafka');
  if (o.controlUrl?.startsWith('https:') && !o.trustBundleFile && !o.staticIdentity) p.push('--trust-bundle: required with an https:// --control (how the control plane is checked)');
  if (o.ingress && mode === 'tcp') p.push('--ingress: only in http mode');
  if (o.labels !== undefined) p.push(...labelProblems(o.labels, '--label'));
  // No collector and no control plane is fine: taps are then counted as not_shipped.
  return p;
}

export interface ResolvedOptions extends Required<Omit<SidecarOptions, 'listen' | 'upstream' | 'outbound' | 'ingress' | 'trustBundleFile' | 'joinToken' | 'staticIdentity' | 'stateDir' | 'controlUrl' | 'collectorUrl' | 'taps' | 'brokers' | 'topic'>> {
  ingress?: HostPort;
  trustBundleFile?: string;
  joinToken?: string;
  staticIdentity?: SidecarOptions['staticIdentity'];
  stateDir?: string;
  brokers?: string[];
  topic?: string;
  listen?: HostPort;
  upstream?: HostPort;
  outbound?: HostPort;
  controlUrl?: string;
  collectorUrl?: string;
  taps: Required<NonNullable<SidecarOptions['taps']>>;
}

/** Headers a policy commonly needs: who (authorization), what (content-type), correlation; one list with replay's (policy/authz-input.ts). */
export const DEFAULT_POLICY_HEADERS = [...POLICY_HEADERS];

export function resolveOptions(o: SidecarOptions, pid = process.pid): ResolvedOptions {
  const service = o.service || 'workload';
  const id = o.id ?? `${service}-${pid}`;
  return {
    ...o,
    id,
    service,
    instance: o.instance ?? id,
    mode: o.mode ?? 'http',
    upstreamProtocol: o.upstreamProtocol ?? 'same',
    routes: o.routes ?? [],
    labels: o.labels ?? {},
    queryAllow: o.queryAllow ?? [],
    headerAllow: o.headerAllow ?? ['user-agent', 'content-type', 'x-request-id'],
    collectorUrl: o.collectorUrl ?? o.controlUrl,
    bus: o.bus ?? 'embedded',
    taps: {
      enabled: o.taps?.enabled ?? true,
      bufferSize: o.taps?.bufferSize ?? 100_000,
      batchSize: o.taps?.batchSize ?? 1_000,
      maxBatchSize: o.taps?.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE,
      lingerMs: o.taps?.lingerMs ?? 100,
      retryInitialMs: o.taps?.retryInitialMs ?? 50,
      retryMaxMs: o.taps?.retryMaxMs ?? 5_000,
      closeFlushMs: o.taps?.closeFlushMs ?? 10_000,
      // Its unsent half (128 MiB, well over 100,000 taps) no tighter than the memory buffer (bufferSize): a
      // spool of 64 MiB dropped taps at ~30,000 unsent while memory still had room (bench:proxy at 15,000 req/s).
      spoolMaxBytes: o.taps?.spoolMaxBytes ?? 256 * 1024 * 1024,
      spoolFsyncMs: o.taps?.spoolFsyncMs ?? 1_000,
    },
    policyFailOpen: o.policyFailOpen ?? false,
    policyHeaderAllow: o.policyHeaderAllow ?? DEFAULT_POLICY_HEADERS,
    policyFetchTimeoutMs: o.policyFetchTimeoutMs ?? 10_000,
    policyWarmMs: o.policyWarmMs ?? 5_000,
    requestTimeoutMs: o.requestTimeoutMs ?? 30_000,
    headersTimeoutMs: o.headersTimeoutMs ?? 60_000,
    connectTimeoutMs: o.connectTimeoutMs ?? 2_000,
    // As Envoy's tcp_proxy idle_timeout: an hour.
    tunnelIdleMs: o.tunnelIdleMs ?? 3_600_000,
    tcpIdleMs: o.tcpIdleMs ?? 300_000,
    controlRetryMaxMs: o.controlRetryMaxMs ?? 5_000,
    closeGraceMs: o.closeGraceMs ?? 2_000,
    maxConcurrent: o.maxConcurrent ?? 1024,
    maxQueue: o.maxQueue ?? 0,
    maxQueueWaitMs: o.maxQueueWaitMs ?? 250,
  };
}
