// Instance labels (`meshlens sidecar --label version=v2`): a sidecar's own
// metadata, never its identity (proxy and service come from its certificate
// only). The registry keeps them per registration, snapshots carry them on
// each Endpoint, and a route backend may name a subset of a cluster by them
// ({version: 'v2'}). One set of rules for the flag, the config stream query,
// the operator API and the snapshot check.
//
// Keys and values are 1-63 of [A-Za-z0-9._-] (a Kubernetes label value's
// length), so the wire form "version=v2,zone=a" needs no escaping.

export type Labels = Record<string, string>;

const TEXT = /^[A-Za-z0-9._-]{1,63}$/;
/** Most labels one instance (or one subset) may carry. */
export const MAX_LABELS = 16;

export const isLabelText = (v: unknown): v is string => typeof v === 'string' && TEXT.test(v);

const shown = (v: unknown) => JSON.stringify(typeof v === 'string' ? v.slice(0, 80) : v);

/** Every problem with a labels object, each prefixed with `where`; [] when valid. */
export function labelProblems(labels: unknown, where: string): string[] {
  if (labels === null || typeof labels !== 'object' || Array.isArray(labels)) return [`${where}: must be an object of KEY: VALUE`];
  const entries = Object.entries(labels);
  const problems: string[] = [];
  if (entries.length > MAX_LABELS) problems.push(`${where}: ${entries.length} labels, at most ${MAX_LABELS}`);
  for (const [k, v] of entries.slice(0, MAX_LABELS + 1)) {
    if (!isLabelText(k)) problems.push(`${where}: key ${shown(k)} is not 1-63 of [A-Za-z0-9._-]`);
    else if (!isLabelText(v)) problems.push(`${where}.${k}: value ${shown(v)} is not 1-63 of [A-Za-z0-9._-]`);
  }
  return problems;
}

/** Adds one "KEY=VALUE" to `into`; returns the problem, or null. */
export function addLabel(into: Labels, text: string): string | null {
  const eq = text.indexOf('=');
  const [k, v] = eq > 0 ? [text.slice(0, eq), text.slice(eq + 1)] : ['', ''];
  if (!isLabelText(k) || !isLabelText(v)) return `expected KEY=VALUE, each 1-63 of [A-Za-z0-9._-], got ${shown(text)}`;
  if (Object.hasOwn(into, k)) return `label '${k}' given twice`;
  if (Object.keys(into).length >= MAX_LABELS) return `at most ${MAX_LABELS} labels`;
  into[k] = v;
  return null;
}

/** Parses the wire form "k=v,k=v"; "" is no labels. */
export function parseLabels(text: string): { labels: Labels; problems: string[] } {
  const labels: Labels = {};
  const problems: string[] = [];
  for (const part of text === '' ? [] : text.split(',')) {
    const p = addLabel(labels, part);
    if (p) problems.push(p);
  }
  return { labels, problems };
}

/** The wire form, keys in order so equal label sets read the same. */
export function formatLabels(labels: Labels): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(',');
}

/** Whether an instance's labels carry every KEY=VALUE of the subset (an absent subset matches all). */
export function matchesSubset(labels: Labels | undefined, subset: Labels | undefined): boolean {
  if (!subset) return true;
  for (const [k, v] of Object.entries(subset)) if (labels?.[k] !== v) return false;
  return true;
}

/** How errors and status name a backend: "payments", or "payments{version=v2}". */
export const describeBackend = (cluster: string, subset?: Labels): string =>
  subset ? `${cluster}{${formatLabels(subset)}}` : cluster;
