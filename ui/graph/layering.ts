// Layered (Sugiyama-style) placement of services, left to right:
//   1. break cycles: a depth-first walk from the sources marks back edges;
//   2. longest-path layering: a service sits one layer right of its furthest
//      caller, so 'external' and other sources are at the left and every
//      forward edge points right;
//   3. order within a layer by the barycentre of neighbours (a few sweeps),
//      ties broken by name.
// Every step visits services and edges in name order, so the result depends
// only on which services and edges exist, never on input order or on the
// traffic numbers: the picture does not jump between refreshes.

/** Mirrors ingest's EXTERNAL_SERVICE (layout.test.ts checks they agree); kept
 *  local so this module stays dependency-free for the browser bundle. */
export const EXTERNAL = 'external';

export interface EdgeRef { src: string; dst: string }

export interface Layering {
  /** Services and waypoints per layer, left to right; each layer top to bottom. */
  layers: string[][];
  /** Layer of every service (waypoints not included). */
  layerOf: Map<string, number>;
  /** Keys (edgeKey) of edges that point left or stay within a layer. */
  backEdges: Set<string>;
  /**
   * Forward edges spanning more than one layer pass through one waypoint per
   * layer in between, ordered like services, so the line does not cut
   * through boxes. edgeKey → waypoint ids, left to right. A layer entry is
   * a service exactly when layerOf has it.
   */
  waypoints: Map<string, string[]>;
}

export const edgeKey = (src: string, dst: string): string => `${src}\u2192${dst}`;

const byName = (a: string, b: string): number => (a === b ? 0 : a === EXTERNAL ? -1 : b === EXTERNAL ? 1 : a < b ? -1 : 1);

export function layerServices(services: Iterable<string>, edges: readonly EdgeRef[]): Layering {
  const names = [...new Set([...services, ...edges.flatMap((e) => [e.src, e.dst])])].sort(byName);
  const out = new Map<string, string[]>(names.map((n) => [n, []]));
  for (const e of edges) {
    // Self-calls and calls back out to 'external' (egress) do not shape layers.
    if (e.src === e.dst || e.dst === EXTERNAL) continue;
    const next = out.get(e.src)!;
    if (!next.includes(e.dst)) next.push(e.dst);
  }
  for (const next of out.values()) next.sort(byName);

  const backEdges = findBackEdges(names, out);
  for (const e of edges) if (e.src === e.dst || e.dst === EXTERNAL) backEdges.add(edgeKey(e.src, e.dst));

  const forwardIn = new Map<string, string[]>(names.map((n) => [n, []]));
  for (const [src, dsts] of out) {
    for (const dst of dsts) if (!backEdges.has(edgeKey(src, dst))) forwardIn.get(dst)!.push(src);
  }
  const layerOf = longestPathLayers(names, out, forwardIn, backEdges);
  const layerCount = Math.max(0, ...layerOf.values()) + (names.length ? 1 : 0);
  const layers: string[][] = Array.from({ length: layerCount }, () => []);
  for (const n of names) layers[layerOf.get(n)!].push(n);

  // One-layer segments between services and waypoints: what the ordering sweeps look at.
  const segIn = new Map<string, string[]>(names.map((n) => [n, []]));
  const segOut = new Map<string, string[]>(names.map((n) => [n, []]));
  const link = (a: string, b: string): void => { segOut.get(a)!.push(b); segIn.get(b)!.push(a); };
  const waypoints = new Map<string, string[]>();
  for (const [src, dsts] of out) {
    for (const dst of dsts) {
      const key = edgeKey(src, dst);
      if (backEdges.has(key)) continue;
      const chain: string[] = [];
      for (let l = layerOf.get(src)! + 1; l < layerOf.get(dst)!; l++) {
        const id = `\u0000${key}#${l}`;
        segIn.set(id, []);
        segOut.set(id, []);
        layers[l].push(id);
        chain.push(id);
      }
      [src, ...chain, dst].reduce((a, b) => { link(a, b); return b; });
      if (chain.length) waypoints.set(key, chain);
    }
  }
  orderLayers(layers, segIn, segOut);
  return { layers, layerOf, backEdges, waypoints };
}

function findBackEdges(names: string[], out: Map<string, string[]>): Set<string> {
  const back = new Set<string>();
  const state = new Map<string, 'open' | 'done'>();
  const hasCaller = new Set([...out.values()].flat());
  // Sources first ('external' sorts first among them), then whatever cycles remain.
  const roots = [...names.filter((n) => !hasCaller.has(n)), ...names.filter((n) => hasCaller.has(n))];
  const visit = (n: string): void => {
    state.set(n, 'open');
    for (const m of out.get(n)!) {
      const s = state.get(m);
      if (s === 'open') back.add(edgeKey(n, m));
      else if (s === undefined) visit(m);
    }
    state.set(n, 'done');
  };
  for (const r of roots) if (!state.has(r)) visit(r);
  return back;
}

function longestPathLayers(
  names: string[], out: Map<string, string[]>, forwardIn: Map<string, string[]>, back: Set<string>,
): Map<string, number> {
  const layerOf = new Map<string, number>();
  const pending = new Map(names.map((n) => [n, forwardIn.get(n)!.length]));
  const ready = names.filter((n) => pending.get(n) === 0);
  while (ready.length) {
    const n = ready.shift()!;
    layerOf.set(n, Math.max(-1, ...forwardIn.get(n)!.map((p) => layerOf.get(p)!)) + 1);
    for (const m of out.get(n)!) {
      if (back.has(edgeKey(n, m))) continue;
      const left = pending.get(m)! - 1;
      pending.set(m, left);
      if (left === 0) ready.push(m);
    }
  }
  return layerOf;
}

const SWEEPS = 3;

function orderLayers(layers: string[][], segIn: Map<string, string[]>, segOut: Map<string, string[]>): void {
  const rank = new Map<string, number>();
  const rerank = (layer: string[]): void => layer.forEach((n, i) => rank.set(n, i - (layer.length - 1) / 2));
  for (const layer of layers) {
    layer.sort(byName);
    rerank(layer);
  }
  const sortBy = (layer: string[], neighbours: Map<string, string[]>): void => {
    const bary = new Map(layer.map((n) => {
      const ns = neighbours.get(n)!;
      return [n, ns.length ? ns.reduce((s, m) => s + rank.get(m)!, 0) / ns.length : rank.get(n)!];
    }));
    layer.sort((a, b) => bary.get(a)! - bary.get(b)! || byName(a, b));
    rerank(layer);
  };
  for (let i = 0; i < SWEEPS; i++) {
    for (let l = 1; l < layers.length; l++) sortBy(layers[l], segIn);
    for (let l = layers.length - 2; l >= 0; l--) sortBy(layers[l], segOut);
  }
  // End on a downward sweep: callees line up with their callers, which reads best left to right.
  for (let l = 1; l < layers.length; l++) sortBy(layers[l], segIn);
}
