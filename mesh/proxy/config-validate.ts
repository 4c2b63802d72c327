// Checks a config snapshot before the sidecar applies it. Returns the first
// problem, with the path to the offending field, for the NACK; null if valid.

import { labelProblems } from '../control/labels.ts';
import { rateLimitProblems } from '../control/rate-limit-rules.ts';
import { connectTunnelProblems } from '../control/connect-tunnels.ts';
import { clusterResilienceProblems } from '../control/resilience.ts';
import { routeResilienceProblems, type OverriddenCluster } from '../control/route-resilience-rules.ts';
import type { ConfigSnapshot } from '../control/snapshot.ts';

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isStr = (v: unknown, allowEmpty = false): v is string => typeof v === 'string' && (allowEmpty || v.length > 0);
const isPosInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;
const isStrList = (v: unknown) => Array.isArray(v) && v.every((x) => isStr(x));

export function snapshotProblem(s: unknown, expectedProxy: string): string | null {
  if (!isObj(s)) return 'snapshot: must be an object';
  if (typeof s.version !== 'number' || !Number.isInteger(s.version) || s.version < 0) return 'version: must be an integer >= 0';
  if (s.proxy !== expectedProxy) return `proxy: snapshot is for '${String(s.proxy)}', this sidecar is '${expectedProxy}'`;
  if (!isStr(s.service)) return 'service: must be a non-empty string';
  if (!Array.isArray(s.clusters)) return 'clusters: must be an array';
  const names = new Set<string>();
  for (const [i, c] of s.clusters.entries()) {
    const at = `clusters[${i}]`;
    if (!isObj(c)) return `${at}: must be an object`;
    if (!isStr(c.service)) return `${at}.service: must be a non-empty string`;
    if (names.has(c.service)) return `${at}.service: duplicate cluster '${c.service}'`;
    names.add(c.service);
    if (!isPosInt(c.connect_timeout_ms)) return `${at}.connect_timeout_ms: must be a positive integer`;
    if (!isPosInt(c.request_timeout_ms)) return `${at}.request_timeout_ms: must be a positive integer`;
    if (c.max_concurrent !== undefined && !isPosInt(c.max_concurrent)) return `${at}.max_concurrent: must be a positive integer`;
    const resilience = clusterResilienceProblems(c, at);
    if (resilience.length > 0) return resilience[0];
    if (c.connect !== undefined) { const p = connectTunnelProblems(c.connect, `${at}.connect`); if (p.length > 0) return p[0]; }
    if (!Array.isArray(c.endpoints)) return `${at}.endpoints: must be an array`;
    for (const [j, e] of c.endpoints.entries()) {
      const eat = `${at}.endpoints[${j}]`;
      if (!isObj(e)) return `${eat}: must be an object`;
      if (!isStr(e.instance)) return `${eat}.instance: must be a non-empty string`;
      if (!isStr(e.addr)) return `${eat}.addr: must be a non-empty string`;
      if (!isPosInt(e.port) || (e.port as number) > 65535) return `${eat}.port: must be an integer in 1..65535`;
      if (e.labels !== undefined) { const p = labelProblems(e.labels, `${eat}.labels`); if (p.length > 0) return p[0]; }
    }
  }
  if (!Array.isArray(s.routes)) return 'routes: must be an array';
  const authorities = new Set<string>();
  for (const [i, r] of s.routes.entries()) {
    const at = `routes[${i}]`;
    if (!isObj(r)) return `${at}: must be an object`;
    if (!isStr(r.authority) || /[:/\s]/.test(r.authority)) return `${at}.authority: must be a host name without port`;
    if (authorities.has(r.authority.toLowerCase())) return `${at}.authority: duplicate route '${r.authority}'`;
    authorities.add(r.authority.toLowerCase());
    if (!Array.isArray(r.backends) || r.backends.length === 0) return `${at}.backends: must be a non-empty array`;
    for (const [j, b] of r.backends.entries()) {
      const bat = `${at}.backends[${j}]`;
      if (!isObj(b)) return `${bat}: must be an object`;
      if (!isStr(b.cluster) || !names.has(b.cluster)) return `${bat}.cluster: unknown cluster '${String(b.cluster)}'`;
      if (typeof b.weight !== 'number' || !Number.isFinite(b.weight) || b.weight < 0) return `${bat}.weight: must be a number >= 0`;
      if (b.subset !== undefined) {
        const p = labelProblems(b.subset, `${bat}.subset`);
        if (p.length > 0) return p[0];
        if (Object.keys(b.subset as object).length === 0) return `${bat}.subset: must name at least one label (or be absent)`;
      }
    }
    if (!r.backends.some((b) => (b as { weight: number }).weight > 0)) return `${at}.backends: at least one weight must be > 0`;
    if (r.resilience !== undefined) {
      // Judged against every cluster the route may send to: what a rule leaves out is that cluster's.
      for (const b of r.backends as { cluster: string }[]) {
        const c = s.clusters.find((x) => (x as { service: string }).service === b.cluster) as OverriddenCluster;
        const p = routeResilienceProblems(r.resilience, `${at}.resilience`, c);
        if (p.length > 0) return p[0];
      }
    }
  }
  if (!isObj(s.taps)) return 'taps: must be an object';
  if (!isStrList(s.taps.query_allow)) return 'taps.query_allow: must be an array of strings';
  if (!isStrList(s.taps.header_allow)) return 'taps.header_allow: must be an array of strings';
  if (!isStr(s.policy_digest, true) || !/^([0-9a-f]{64})?$/.test(s.policy_digest)) return 'policy_digest: must be "" or a sha256 in lower-case hex';
  if (s.rate_limits !== undefined) { const p = rateLimitProblems(s.rate_limits, 'rate_limits'); if (p.length > 0) return p[0]; }
  return null;
}

export function isValidSnapshot(s: unknown, proxy: string): s is ConfigSnapshot {
  return snapshotProblem(s, proxy) === null;
}
