// Instances taken out of their cluster for a while, set by an operator
// (PUT /v1/ejections/<instance>, ./ejections-api.ts) or in process
// (ControlPlane.eject, e.g. the tuning engine after an outlier alert).
//
// While now < until, the snapshot builder leaves the instance's endpoint out
// of its cluster in every other sidecar's snapshot, so callers stop sending
// to it; the registry keeps it (its sidecar stays connected, is still shown
// in status, and its own snapshot still lists it). At `until` a timer drops
// the ejection and listeners hear of it, so a new snapshot version brings
// the endpoint back without anyone asking. Ejecting an instance again
// replaces its ejection (new until, new reason, and it counts as the latest).
//
// Safety floor (endpointsKept): ejections never empty a cluster. When every
// endpoint of a cluster is ejected, the one ejected LAST stays in. As with
// Envoy's max_ejection_percent, it is the ejection that would take the last
// capacity away that is not honoured: the earlier ones were decided while
// other endpoints still served, and the latest is the one most likely to
// have been made on thin evidence (everything already looking bad). The
// tuning engine's own cap on the ejected share comes on top of this.
//
// Kept in memory: a restarted control plane has no ejections.

import type { Endpoint } from './snapshot.ts';

export interface Ejection {
  service: string;
  instance: string;
  /** Epoch ms the endpoint returns at. */
  until: number;
  reason: string;
}

/** Longest ejection taken: a day. An instance out for longer should be scaled away instead. */
export const MAX_EJECTION_MS = 24 * 3600 * 1000;
export const MAX_REASON_CHARS = 256;
// setTimeout's longest delay; a later `until` is reached by re-arming.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Instances ejected now, each with its order: a higher number was ejected later. */
export type EjectedInstances = ReadonlyMap<string, number>;

export class EjectionError extends Error {
  readonly problems: string[];
  constructor(instance: string, problems: string[]) {
    super(`ejection of "${instance.slice(0, 128)}": ${problems.join('; ')}`);
    this.name = 'EjectionError';
    this.problems = problems;
  }
}

export class Ejections {
  readonly #byInstance = new Map<string, Ejection & { order: number }>();
  readonly #listeners = new Set<() => void>();
  #timer: NodeJS.Timeout | null = null;
  #order = 0;
  #refused = 0;

  constructor(
    /** The service an instance is an endpoint of, or undefined when no such endpoint is registered. */
    private readonly serviceOf: (instance: string) => string | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Ejects a registered endpoint until `until` (epoch ms; null when the
   * caller has already named in `found` why there is none); listeners hear of
   * it. Throws EjectionError naming every problem, `found` (the caller's own,
   * e.g. the body's shape) first, and nothing changes.
   */
  eject(instance: string, until: unknown, reason: unknown, found: string[] = []): Ejection {
    const problems = [...found];
    const service = this.serviceOf(instance);
    if (service === undefined) problems.push(`instance: "${instance.slice(0, 128)}" is not an endpoint of any registered service`);
    const now = this.now();
    if ((until !== null || found.length === 0) && (typeof until !== 'number' || !Number.isFinite(until) || until <= now || until > now + MAX_EJECTION_MS)) {
      problems.push(`until: must be epoch ms after now and at most ${MAX_EJECTION_MS / 1000} s from now, got ${JSON.stringify(until) ?? 'nothing'}`);
    }
    if (typeof reason !== 'string' || reason.length === 0 || reason.length > MAX_REASON_CHARS || /\p{Cc}/u.test(reason)) {
      problems.push(`reason: must be 1-${MAX_REASON_CHARS} characters without control characters`);
    }
    if (problems.length > 0) this.refuse(instance, problems);
    const e = { service: service!, instance, until: until as number, reason: reason as string, order: ++this.#order };
    this.#byInstance.set(instance, e);
    this.#arm();
    this.#changed();
    return view(e);
  }

  /** Counts a refused ejection and throws EjectionError naming its problems. */
  refuse(instance: string, problems: string[]): never {
    this.#refused++;
    throw new EjectionError(instance, problems);
  }

  /** Returns an ejected instance now; false if it was not ejected. */
  lift(instance: string): boolean {
    const e = this.#byInstance.get(instance);
    if (!e || e.until <= this.now()) return false;
    this.#byInstance.delete(instance);
    this.#arm();
    this.#changed();
    return true;
  }

  /** Ejections in force, by instance name. */
  active(): Ejection[] {
    const now = this.now();
    return [...this.#byInstance.values()].filter((e) => now < e.until)
      .sort((a, b) => a.instance.localeCompare(b.instance)).map(view);
  }

  /** What the snapshot builder needs: the instances ejected now, with their order. */
  ejected(): EjectedInstances {
    const now = this.now();
    return new Map([...this.#byInstance.values()].filter((e) => now < e.until).map((e) => [e.instance, e.order]));
  }

  /** Ejections refused (unknown instance, bad until or reason) since start. */
  get refused(): number { return this.#refused; }

  onChange(fn: () => void): void { this.#listeners.add(fn); }

  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** One timer, for the ejection that ends first. */
  #arm(): void {
    this.close();
    let first = Infinity;
    for (const e of this.#byInstance.values()) first = Math.min(first, e.until);
    if (first === Infinity) return;
    this.#timer = setTimeout(() => this.#expire(), Math.min(Math.max(0, first - this.now()), MAX_TIMER_MS));
    this.#timer.unref();
  }

  #expire(): void {
    this.#timer = null;
    const now = this.now();
    let ended = false;
    for (const [instance, e] of this.#byInstance) {
      if (e.until <= now) { this.#byInstance.delete(instance); ended = true; }
    }
    this.#arm();
    if (ended) this.#changed();
  }

  #changed(): void {
    for (const fn of this.#listeners) fn();
  }
}

/**
 * The endpoints of one cluster that `viewer`'s snapshot carries: all but the
 * ejected ones (the viewer always keeps its own), and never none because of
 * ejections: if every endpoint is ejected, the one ejected last.
 */
export function endpointsKept(endpoints: Endpoint[], ejected: EjectedInstances, viewer: string): Endpoint[] {
  if (ejected.size === 0 || endpoints.length === 0) return endpoints;
  const kept = endpoints.filter((e) => e.instance === viewer || !ejected.has(e.instance));
  if (kept.length > 0) return kept;
  const last = endpoints.reduce((a, b) => ((ejected.get(b.instance) ?? 0) > (ejected.get(a.instance) ?? 0) ? b : a));
  return [last];
}

const view = (e: Ejection): Ejection => ({ service: e.service, instance: e.instance, until: e.until, reason: e.reason });
