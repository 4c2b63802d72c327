// The control plane's HTTPS face. Every client is asked for a certificate;
// what a route needs depends on who calls it:
//
//   sidecars, over mTLS with their SVID (identity from the certificate only):
//     GET  /v1/config/stream        config snapshots (the stream registers the endpoint)
//     POST /v1/config/ack           ACK/NACK of a version, for the certificate's own proxy
//     GET  /v1/policy/bundles/<d>   an authorization bundle by digest
//     POST /v1/taps                 the embedded collector (the batch's proxy must be the sender)
//     POST /v1/identity/renew       a fresh SVID for the same identity
//   workloads without a certificate yet, with a join token:
//     POST /v1/identity/svid
//   operators (Authorization: Bearer <operator token>; Host must be a name this
//   server answers to, against DNS rebinding; a foreign Origin is refused):
//     PUT  /v1/policy/bundle, GET /v1/status, POST /v1/identity/join-tokens,
//     GET /v1/routes, PUT|DELETE /v1/routes/<service> (route weights: ./route-weights-api.ts),
//     GET /v1/ejections, PUT|DELETE /v1/ejections/<instance> (./ejections-api.ts),
//     GET /v1/ratelimits, PUT|DELETE /v1/ratelimits/<service> (./rate-limits-api.ts),
//     GET /v1/resilience, PUT|DELETE /v1/resilience/<service> (per-route overrides: ./route-resilience-api.ts),
//     /v1/tuning, /v1/actions, /v1/rollouts (the tuning engine: ./tuning/tuning-api.ts),
//     /v1/reports (compliance reports: ./reports-api.ts),
//     POST /v1/policy/replay (a draft policy over recorded requests: ./policy-replay-api.ts),
//     POST /v1/identity/rotate-ca (a new root, trusted at once, signing once
//     every sidecar has renewed onto the new bundle: after one SVID lifetime)
//   anyone:
//     GET  /v1/identity/bundle, GET /healthz
//
// The control plane's own certificate: ./server-identity.ts.

import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { accessPolicy, judgeRequest, type AccessPolicy } from '../../access/index.ts';
import { CertificateAuthority, JoinTokens, DEFAULT_SVID_TTL_MS, isName } from '../../identity/index.ts';
import { ConfigStreams, type ProxyState } from './config-stream.ts';
import type { ConfigChangeSink, ConfigLog } from './config-log.ts';
import { ConfigWatch } from './config-watch.ts';
import { ejectionsApi } from './ejections-api.ts';
import { Ejections, type Ejection } from './ejections.ts';
import { IdentityApi, type IdentityCounters } from './identity-api.ts';
import { remoteAddress, verifiedPeer } from './peer.ts';
import { PolicyBundles, type PolicyStatus } from './policy-bundles.ts';
import { policyReplay, type PolicyReplayApi } from './policy-replay-api.ts';
import { rateLimitsApi } from './rate-limits-api.ts';
import { RateLimits, type ServiceRateLimits } from './rate-limits.ts';
import { ServiceRegistry } from './registry.ts';
import { routeWeightsApi } from './route-weights-api.ts';
import { serveKeyed } from './keyed-api.ts';
import { routeResilienceApi } from './route-resilience-api.ts';
import { RouteResilience, type ServiceRouteResilience } from './route-resilience.ts';
import { RouteWeights, type RouteWeightsStatus, type ServiceRouteWeights, type SubsetWeight } from './route-weights.ts';
import { DEFAULT_MESH_SETTINGS, meshSettingsProblems, overriddenCluster, type MeshSettings } from './snapshot-builder.ts';
import type { RateLimitRule, RouteResilienceRule } from './snapshot.ts';
import { readJson, reply } from './http-json.ts';
import { ServerIdentity, type RotationState } from './server-identity.ts';
import { tuningControl } from './tuning-control.ts';
import { isTuningPath, serveTuning } from './tuning/tuning-api.ts';
import { isReportsPath, serveReports, type ReportsApi } from './reports-api.ts';
import { TuningEngine, TuningPolicy, type ActionLog, type ScaleActuator, type TuningSettings, type TuningSources } from './tuning/index.ts';

export interface ControlPlaneOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  settings?: Partial<MeshSettings>;
  /** The mesh CA; its bundle is what every party trusts. */
  ca: CertificateAuthority;
  /** Join tokens for workloads' first certificates (default: a new, empty set). */
  tokens?: JoinTokens;
  /** Lifetime of the SVIDs issued (default 1 h). */
  svidTtlMs?: number;
  /** Extra DNS names the control plane's certificate is valid for (localhost and the listen address always are). */
  serverNames?: string[];
  /** The operator token (access/): required, there is no default that lets everyone in. */
  operatorToken: string;
  /** Handles POST /v1/taps (the embedded collector) with the proxy id the client certificate proves. Absent: 404. */
  taps?: (req: IncomingMessage, res: ServerResponse, sender: string) => void;
  /** Extra status merged into GET /v1/status (e.g. collector counters). */
  extraStatus?: () => Record<string, unknown>;
  /**
   * The tuning engine (./tuning/): its settings, the tuning policy bundle
   * (entrypoint meshlens/tuning/actions), where it reads signals and writes
   * its action records (the store), and what scales services. Absent: no
   * engine, and the /v1/tuning, /v1/actions and /v1/rollouts routes answer 404.
   */
  tuning?: {
    settings: TuningSettings; policyBundle: { bytes: Uint8Array; source: string }; sources: TuningSources; records: ActionLog; scaler?: ScaleActuator | null;
    /** The engine's clock (tests move it past a watch window). Default Date.now. */
    now?: () => number;
  };
  /** Compliance reports (./reports-api.ts): the service over the store and the pack names offered. Absent: /v1/reports answers 404. */
  reports?: ReportsApi;
  /**
   * Where every change to what sidecars enforce is recorded (./config-watch.ts): the store
   * (writeConfigChange), or a ConfigLog over it. Absent: changes are not recorded.
   */
  changes?: ConfigChangeSink | ConfigLog;
  /** Policy replay over the store's recorded requests (./policy-replay-api.ts). Absent: POST /v1/policy/replay answers 404. */
  policyReplay?: Omit<PolicyReplayApi, 'current'>;
  /** Inbound authorization bundle (OPA .tar.gz with entrypoint AUTHZ_ENTRYPOINT) in force from the start. */
  policyBundle?: { bytes: Uint8Array; source: string };
  log?: (m: string) => void;
}

export interface ControlStatus {
  version: number;
  services: Record<string, { instance: string; addr: string; port: number; labels?: Record<string, string> }[]>;
  proxies: ProxyState[];
  policy: PolicyStatus;
  /** Route weights between subsets, per service. */
  routes: RouteWeightsStatus;
  /** Instances left out of their cluster until `until` (epoch ms). */
  ejections: Ejection[];
  /** Rate limits per callee service, enforced by its sidecars. */
  rate_limits: ServiceRateLimits[];
  /** Per-route timeout and retry overrides per service, applied by its callers' sidecars. */
  route_resilience: ServiceRouteResilience[];
  /** Ejections, rate limits and route resilience refused (bad request) since start. */
  refused_changes: { ejections: number; rate_limits: number; route_resilience: number };
  identity: IdentityCounters & {
    trust_domain: string; refused_sidecar_requests: number;
    /** A CA rotation under way: the new root is trusted, and signs from complete_at on. */
    rotation: RotationState;
  };
  /** Connections refused at the TLS handshake, and operator requests refused (Host, Origin, token). */
  tls_handshake_failures: number;
  refused_operator_requests: number;
  [k: string]: unknown;
}

export interface ControlPlane {
  /** https://host:port */
  url: string;
  registry: ServiceRegistry;
  ca: CertificateAuthority;
  tokens: JoinTokens;
  status(): ControlStatus;
  /**
   * Checks and installs a new inbound authorization bundle; every sidecar gets
   * a new snapshot version naming its digest. Resolves with the digest and that
   * version; rejects with AuthzBundleError (nothing changes) for a bad bundle.
   */
  setPolicyBundle(bytes: Uint8Array, source: string): Promise<{ digest: string; version: number }>;
  /**
   * Splits a service's route between subsets by weight
   * ([{version: 'v1', weight: 90}, {version: 'v2', weight: 10}]); every sidecar
   * gets a new snapshot version. Throws RouteWeightsError naming every problem
   * (nothing changes). An empty list returns the route to the default.
   */
  setRouteWeights(service: string, subsets: SubsetWeight[]): ServiceRouteWeights & { version: number };
  /**
   * Leaves a registered instance's endpoint out of its cluster in every other
   * sidecar's snapshot until `untilMs` (epoch ms), when it returns by itself
   * (./ejections.ts). Throws EjectionError (an unknown instance, a bad time or
   * reason; nothing changes).
   */
  eject(instance: string, untilMs: number, reason: string): { version: number };
  /** Returns an ejected instance now; null if it was not ejected. */
  lift(instance: string): { version: number } | null;
  /** Rate limits at the service's sidecars ([] clears them). Throws RateLimitsError naming every problem (nothing changes). */
  setRateLimits(service: string, rules: RateLimitRule[]): { version: number };
  /** Per-route resilience overrides on the service's route ([] clears them). Throws RouteResilienceError naming every problem (nothing changes). */
  setRouteResilience(service: string, rules: RouteResilienceRule[]): { version: number };
  /** The tuning engine, when `tuning` was given. */
  tuning: TuningEngine | null;
  close(): Promise<void>;
}

const MAX_ACK_BYTES = 64 * 1024;
const MAX_TOKEN_REQUEST_BYTES = 4 * 1024;

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`meshlens control: ${m}\n`));
  const registry = new ServiceRegistry();
  const policy = new PolicyBundles();
  const weights = new RouteWeights();
  const ejections = new Ejections((instance) => registry.registrations().find((r) => r.instance === instance && r.port > 0)?.service);
  const limits = new RateLimits();
  if (opts.policyBundle) await policy.set(opts.policyBundle.bytes, opts.policyBundle.source);
  const ca = opts.ca;
  const tokens = opts.tokens ?? new JoinTokens();
  const svidTtlMs = opts.svidTtlMs ?? DEFAULT_SVID_TTL_MS;
  const identity = new IdentityApi(ca, tokens, svidTtlMs, log);
  const settings = { ...DEFAULT_MESH_SETTINGS, ...opts.settings };
  const settingsProblems = meshSettingsProblems(settings);
  if (settingsProblems.length > 0) throw new Error(`control plane settings: ${settingsProblems.join('; ')}`);
  const overrides = new RouteResilience((s) => overriddenCluster(settings, s));
  const streams = new ConfigStreams(registry, settings, Date.now, () => policy.digest, (s) => weights.backends(s),
    () => ({ ejected: ejections.ejected(), rateLimits: (s) => limits.rules(s), routeResilience: (s) => overrides.rules(s) }));
  policy.onChange(() => streams.pushAll());
  weights.onChange(() => streams.pushAll());
  ejections.onChange(() => streams.pushAll());
  limits.onChange(() => streams.pushAll());
  overrides.onChange(() => streams.pushAll());
  // Every change, with the version that carried it, when and who made it (./config-watch.ts); it starts below, after tuning.
  const changes = opts.changes ? new ConfigWatch(opts.changes, { registry, policy, weights, ejections, limits, resilience: overrides, streams }, { log: (m) => log(`config log: ${m}`) }) : null;
  // Route weights, ejections, rate limits and route resilience: one operator API shape (./keyed-api.ts).
  const keyed = [routeWeightsApi(weights), ejectionsApi(ejections), rateLimitsApi(limits), routeResilienceApi(overrides)];
  let tuning: TuningEngine | null = null;
  if (opts.tuning) {
    const tuningPolicy = new TuningPolicy();
    await tuningPolicy.set(opts.tuning.policyBundle.bytes, opts.tuning.policyBundle.source);
    changes?.watchTuningPolicy(tuningPolicy);
    const mesh = tuningControl(registry, weights, ejections, limits, streams);
    tuning = new TuningEngine({
      settings: opts.tuning.settings, policy: tuningPolicy, sources: opts.tuning.sources, records: opts.tuning.records,
      scaler: opts.tuning.scaler, now: opts.tuning.now, mesh: changes ? changes.actingAs('tuning', mesh) : mesh, log: (m) => log(`tuning: ${m}`),
    });
  }
  changes?.start();
  // Against the bundle enforced now, unless the operator names another.
  const replay = opts.policyReplay ? policyReplay({ ...opts.policyReplay, current: () => policy.get(policy.digest) }) : null;
  let refusedSidecar = 0;
  let refusedOperator = 0;
  let handshakeFailures = 0;

  const status = (): ControlStatus => ({
    version: streams.version,
    services: Object.fromEntries(registry.services()),
    proxies: streams.proxies(),
    policy: policy.status(),
    routes: weights.status(),
    ejections: ejections.active(),
    rate_limits: limits.status(),
    route_resilience: overrides.status(),
    refused_changes: { ejections: ejections.refused, rate_limits: limits.refused, route_resilience: overrides.refused },
    ...(tuning ? { tuning: tuning.status() } : {}),
    ...(changes ? { config_log: changes.status() } : {}),
    ...(replay ? { policy_replay: { ...replay.counters } } : {}),
    identity: {
      ...identity.counters, trust_domain: ca.trustDomain, refused_sidecar_requests: refusedSidecar,
      rotation: own.rotation(),
    },
    tls_handshake_failures: handshakeFailures,
    refused_operator_requests: refusedOperator,
    ...opts.extraStatus?.(),
  });

  const host = opts.host ?? '127.0.0.1';
  // `apply` runs only on a renewal or rotation, long after `server` below exists.
  const own = await ServerIdentity.start(ca, svidTtlMs, [host, ...(opts.serverNames ?? [])], (ctx) => server.setSecureContext(ctx), log);

  const server = https.createServer({
    ...own.context(), requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2',
  }, (req, res) => { void route(req, res); });

  const refuse = (req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string) => {
    req.resume();
    reply(res, status, { code, message });
  };

  /** The sidecar the client certificate proves, or a 401 already sent. */
  const sidecar = (req: IncomingMessage, res: ServerResponse) => {
    const peer = verifiedPeer(req);
    if (peer.ok) return peer.svid;
    refusedSidecar++;
    log(`refused ${req.method} ${req.url?.slice(0, 200)} from ${remoteAddress(req)}: ${peer.message}`);
    refuse(req, res, 401, 'MESH_ERR_UNAUTHENTICATED', peer.message);
    return null;
  };

  let access: AccessPolicy; // set once the port is known
  const operator = (req: IncomingMessage, res: ServerResponse): boolean => {
    const v = judgeRequest(req, access, { credentials: true });
    if (v.ok) return true;
    refusedOperator++;
    log(`refused operator request ${req.method} ${req.url?.split('?')[0].slice(0, 200)} from ${remoteAddress(req)} (Host ${JSON.stringify(req.headers.host ?? '')}, Origin ${JSON.stringify(req.headers.origin ?? '')}): ${v.code}`);
    refuse(req, res, v.status, v.code, v.message);
    return false;
  };

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://control');
    const r = `${req.method} ${url.pathname}`;
    const BUNDLE = 'GET /v1/policy/bundles/';
    try {
      if (r.startsWith(BUNDLE)) {
        if (sidecar(req, res)) policy.serve(res, r.slice(BUNDLE.length));
        return;
      }
      const setting = keyed.find((k) => url.pathname === k.path || url.pathname.startsWith(`${k.path}/`));
      if (setting) {
        if (operator(req, res)) serveKeyed(req, res, url.pathname, setting, () => streams.version);
        return;
      }
      if (isTuningPath(url.pathname)) {
        if (!tuning) return refuse(req, res, 404, 'MESH_ERR_NOT_FOUND', 'this control plane runs no tuning engine');
        if (operator(req, res)) await serveTuning(req, res, url, tuning, opts.tuning!.records);
        return;
      }
      if (isReportsPath(url.pathname)) {
        if (!opts.reports) return refuse(req, res, 404, 'MESH_ERR_NOT_FOUND', 'this control plane issues no reports (it runs without a store)');
        if (operator(req, res)) await serveReports(req, res, url, opts.reports);
        return;
      }
      switch (r) {
        case 'GET /healthz': return reply(res, 200, { ok: true });
        case 'GET /v1/identity/bundle': return identity.bundle(res);
        case 'POST /v1/identity/svid': return await identity.svid(req, res);
        case 'POST /v1/identity/renew': return await identity.renew(req, res);
        case 'GET /v1/config/stream': {
          const svid = sidecar(req, res);
          if (svid) streams.open(req, res, url.searchParams, { proxy: svid.proxy, service: svid.service, addr: remoteAddress(req) });
          return;
        }
        case 'POST /v1/config/ack': {
          const svid = sidecar(req, res);
          if (!svid) return;
          return readJson(req, MAX_ACK_BYTES, (err, body) => {
            const problem = err ?? streams.ack(body, svid.proxy);
            if (problem) return reply(res, 400, { code: 'MESH_ERR_BAD_ACK', message: problem });
            res.writeHead(204).end();
          });
        }
        case 'POST /v1/taps': {
          if (!opts.taps) return refuse(req, res, 404, 'MESH_ERR_NO_COLLECTOR', 'this control plane runs no collector');
          const svid = sidecar(req, res);
          if (svid) opts.taps(req, res, svid.proxy);
          return;
        }
        case 'PUT /v1/policy/bundle':
          if (operator(req, res)) policy.put(req, res, () => streams.version);
          return;
        case 'POST /v1/policy/replay':
          if (!operator(req, res)) return;
          if (!replay) return refuse(req, res, 404, 'MESH_ERR_NOT_FOUND', 'this control plane replays no policies (it runs without a store)');
          return replay.serve(req, res);
        case 'GET /v1/status':
          if (operator(req, res)) reply(res, 200, status());
          return;
        case 'POST /v1/identity/rotate-ca':
          if (!operator(req, res)) return;
          req.resume();
          try {
            return reply(res, 202, await own.beginRotation());
          } catch (e) {
            return reply(res, 409, { code: 'MESH_ERR_ROTATION', message: (e as Error).message });
          }
        case 'POST /v1/identity/join-tokens':
          if (!operator(req, res)) return;
          return readJson(req, MAX_TOKEN_REQUEST_BYTES, (err, body) => {
            const b = body as { service?: unknown; proxy?: unknown; ttl_s?: unknown } | undefined;
            const problem = err ?? (typeof b?.service !== 'string' || !isName(b.service) ? 'service: 1-128 of [A-Za-z0-9._-]'
              : typeof b.proxy !== 'string' || !isName(b.proxy) ? 'proxy: 1-128 of [A-Za-z0-9._-]'
                : b.ttl_s !== undefined && (typeof b.ttl_s !== 'number' || !(b.ttl_s > 0 && b.ttl_s <= 86_400)) ? 'ttl_s: seconds in (0, 86400]' : null);
            if (problem) return reply(res, 400, { code: 'MESH_ERR_BAD_REQUEST', message: problem });
            const token = tokens.issue({ service: b!.service as string, proxy: b!.proxy as string }, b!.ttl_s ? Number(b!.ttl_s) * 1000 : undefined);
            reply(res, 201, { token, service: b!.service, proxy: b!.proxy });
          });
        default: return refuse(req, res, 404, 'MESH_ERR_NOT_FOUND', `no route for ${r.slice(0, 200)}`);
      }
    } catch (e) {
      log(`${r.slice(0, 200)}: ${(e as Error).stack}`);
      if (!res.headersSent) reply(res, 500, { code: 'MESH_ERR_INTERNAL', message: 'internal error' });
      else res.destroy();
    }
  }

  // Config streams live for hours: no idle or request deadline on them.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 30_000;
  // A handshake that fails (no TLS, a bad certificate) is counted and logged, never a crash.
  server.on('tlsClientError', (e: Error, s: TLSSocket) => {
    handshakeFailures++;
    if (handshakeFailures <= 20 || handshakeFailures % 1000 === 0) log(`TLS handshake from ${s.remoteAddress} failed (${handshakeFailures} so far): ${e.message}`);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  access = accessPolicy({ token: opts.operatorToken, listenHost: host, port, names: opts.serverNames, codePrefix: 'MESH_ERR', scheme: 'https' });

  await tuning?.start();
  return {
    url: `https://${address.includes(':') ? `[${address}]` : address}:${port}`,
    registry, ca, tokens,
    status,
    async setPolicyBundle(bytes, source) {
      const digest = await policy.set(bytes, source);
      return { digest, version: streams.version };
    },
    setRouteWeights(service, subsets) {
      if (subsets.length === 0) {
        weights.clear(service);
        return { service, subsets: [], set_at: Date.now(), version: streams.version };
      }
      return { ...weights.set(service, subsets), version: streams.version };
    },
    eject(instance, untilMs, reason) {
      ejections.eject(instance, untilMs, reason);
      return { version: streams.version };
    },
    lift: (instance) => (ejections.lift(instance) ? { version: streams.version } : null),
    setRateLimits(service, rules) {
      limits.set(service, rules);
      return { version: streams.version };
    },
    setRouteResilience(service, rules) {
      overrides.set(service, rules);
      return { version: streams.version };
    },
    tuning,
    async close() {
      await tuning?.close();
      await changes?.close();
      own.close();
      ejections.close();
      streams.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
