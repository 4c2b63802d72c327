// The tuning engine's hands on this control plane: the registry, route
// weights, ejections and rate limits it changes, and the config streams
// whose versions and ACKs its records carry (tuning/actuate.ts, MeshControl).

import type { ConfigStreams } from './config-stream.ts';
import type { Ejections } from './ejections.ts';
import type { RateLimits } from './rate-limits.ts';
import type { ServiceRegistry } from './registry.ts';
import type { RouteWeights } from './route-weights.ts';
import type { MeshControl } from './tuning/index.ts';

export function tuningControl(registry: ServiceRegistry, weights: RouteWeights, ejections: Ejections, limits: RateLimits, streams: ConfigStreams): MeshControl {
  return {
    instances: () => registry.registrations().filter((r) => r.port > 0)
      .map((r) => ({ service: r.service, instance: r.instance, version: r.labels?.version ?? '' })),
    routes: () => weights.status().routes,
    ejections: () => ejections.active(),
    rateLimits: () => limits.status(),
    configVersion: () => streams.version,
    proxies: () => streams.proxies(),
    setRoute(service, subsets) {
      if (subsets === null) weights.clear(service);
      else weights.set(service, subsets.map((s) => ({ version: s.version, weight: s.weight })));
      return streams.version;
    },
    eject(instance, untilMs, reason) {
      ejections.eject(instance, untilMs, reason);
      return streams.version;
    },
    lift: (instance) => (ejections.lift(instance) ? streams.version : null),
    setRateLimits(service, rules) {
      if (rules.length === 0) limits.clear(service);
      else limits.set(service, rules);
      return streams.version;
    },
  };
}
