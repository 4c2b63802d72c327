// ServiceGraph → drawable picture: boxes with positions, edges as SVG paths
// with widths and colours. Pure; d3 in the page only draws what this returns.
//
// This file and everything it imports stay free of Node and npm imports: the
// UI server bundles ui/graph/index.ts with esbuild and serves it as
// /graph.js, so the browser runs exactly the code these tests check.

import type { ServiceEdge, ServiceGraph, ServiceNode } from '../../ingest/index.ts';
import { arrowSize, forwardPath, loopPath, round, type Point } from './edge-paths.ts';
import { HEALTH_COLORS, healthLevel, type HealthLevel } from './health.ts';
import { edgeKey, layerServices } from './layering.ts';

export interface LayoutOptions {
  nodeWidth: number;
  nodeHeight: number;
  /** Horizontal space between layers, room for edge labels. */
  layerGap: number;
  rowGap: number;
  /** Height of the slot a waypoint of a multi-layer edge takes in a layer. */
  waypointHeight: number;
  padding: number;
  minEdgeWidth: number;
  maxEdgeWidth: number;
}

export const DEFAULT_LAYOUT: Readonly<LayoutOptions> = {
  nodeWidth: 190, nodeHeight: 84, layerGap: 130, rowGap: 36, waypointHeight: 8, padding: 24, minEdgeWidth: 1.5, maxEdgeWidth: 10,
};

export interface LayoutNode extends ServiceNode {
  /** Top-left corner. */
  x: number;
  y: number;
  width: number;
  height: number;
  layer: number;
  /** Sum of rps of the calls this service makes (the only traffic 'external' has). */
  out_rps: number;
  health: HealthLevel;
  color: string;
}

export interface LayoutEdge extends ServiceEdge {
  /** SVG path data of the line, from the caller's box to the arrowhead's base. */
  path: string;
  /** SVG path data of the arrowhead, a closed triangle whose tip touches the callee's box. */
  arrow: string;
  /** Where the rps / error-rate label goes: the middle of the path. */
  labelX: number;
  labelY: number;
  width: number;
  health: HealthLevel;
  color: string;
  /** Points left, stays in its layer, or is a self-call: drawn as a loop under the boxes. */
  back: boolean;
}

export interface GraphLayout {
  width: number;
  height: number;
  window_s: number;
  until: number;
  nodes: LayoutNode[];
  edges: LayoutEdge[];
}

const ZERO_STATS = { rps: 0, requests: 0, errors: 0, error_rate: 0, p50_ms: 0, p99_ms: 0 };
const BACK_EDGE_DROP = 56;

export function layoutGraph(graph: ServiceGraph, options: Partial<LayoutOptions> = {}): GraphLayout {
  const o = { ...DEFAULT_LAYOUT, ...options };
  const edges = [...graph.edges].sort((a, b) => cmp(a.src, b.src) || cmp(a.dst, b.dst));
  const stats = new Map(graph.nodes.map((n) => [n.service, n]));
  const { layers, layerOf, backEdges, waypoints } = layerServices(stats.keys(), edges);

  // Stack each layer's boxes and waypoint slots; centre every layer on the tallest.
  const slotHeight = (id: string): number => (layerOf.has(id) ? o.nodeHeight : o.waypointHeight);
  const stacks = layers.map((layer) => stack(layer.map(slotHeight), o.rowGap));
  const innerHeight = Math.max(0, ...stacks.map((s) => s.height));
  const nodes: LayoutNode[] = [];
  const byName = new Map<string, LayoutNode>();
  const waypointAt = new Map<string, Point>();
  layers.forEach((layer, li) => {
    const x = o.padding + li * (o.nodeWidth + o.layerGap);
    const top = o.padding + (innerHeight - stacks[li].height) / 2;
    layer.forEach((id, row) => {
      const y = top + stacks[li].offsets[row];
      if (!layerOf.has(id)) {
        waypointAt.set(id, { x, y: y + o.waypointHeight / 2 });
        return;
      }
      const s = stats.get(id) ?? { ...ZERO_STATS, service: id };
      const health = healthLevel(s);
      const node: LayoutNode = {
        ...s, service: id, x, y, width: o.nodeWidth, height: o.nodeHeight, layer: li,
        out_rps: round(edges.filter((e) => e.src === id).reduce((sum, e) => sum + e.rps, 0)),
        health, color: HEALTH_COLORS[health],
      };
      nodes.push(node);
      byName.set(id, node);
    });
  });

  // Where each forward edge goes next / comes from: its first or last waypoint, else the other box.
  const centre = (n: LayoutNode): number => n.y + n.height / 2;
  const hops = (e: ServiceEdge): Point[] => (waypoints.get(edgeKey(e.src, e.dst)) ?? []).map((id) => waypointAt.get(id)!);
  const nextY = (e: ServiceEdge): number => hops(e)[0]?.y ?? centre(byName.get(e.dst)!);
  const prevY = (e: ServiceEdge): number => hops(e).at(-1)?.y ?? centre(byName.get(e.src)!);
  const isBack = (e: ServiceEdge): boolean => backEdges.has(edgeKey(e.src, e.dst)) || layerOf.get(e.dst)! <= layerOf.get(e.src)!;
  const forward = edges.filter((e) => !isBack(e));

  const maxRps = Math.max(0, ...edges.map((e) => e.rps));
  const laid: LayoutEdge[] = edges.map((e) => {
    const width = edgeWidth(e.rps, maxRps, o);
    const src = byName.get(e.src)!;
    const dst = byName.get(e.dst)!;
    const back = isBack(e);
    let geometry;
    if (back) {
      const self = src === dst;
      geometry = loopPath(
        { x: src.x + src.width * (self ? 0.7 : 0.6), y: src.y + src.height },
        { x: dst.x + dst.width * (self ? 0.3 : 0.4), y: dst.y + dst.height },
        Math.max(src.y + src.height, dst.y + dst.height) + BACK_EDGE_DROP * 0.9, arrowSize(width));
    } else {
      // Spread the edges leaving (right side) and entering (left side) a box, ordered by the
      // height of the other end, so they do not cross at the box.
      const outs = forward.filter((f) => f.src === e.src).sort((a, b) => nextY(a) - nextY(b) || cmp(a.dst, b.dst));
      const ins = forward.filter((f) => f.dst === e.dst).sort((a, b) => prevY(a) - prevY(b) || cmp(a.src, b.src));
      geometry = forwardPath(
        { x: src.x + src.width, y: port(src, outs.indexOf(e), outs.length) },
        hops(e).map((p) => ({ left: p, right: { x: p.x + o.nodeWidth, y: p.y } })),
        { x: dst.x, y: port(dst, ins.indexOf(e), ins.length) },
        arrowSize(width));
    }
    const health = healthLevel(e);
    return { ...e, ...geometry, width, health, color: HEALTH_COLORS[health], back };
  });

  const hasLoops = laid.some((e) => e.back);
  return {
    width: layers.length ? 2 * o.padding + layers.length * o.nodeWidth + (layers.length - 1) * o.layerGap : 0,
    height: layers.length ? 2 * o.padding + innerHeight + (hasLoops ? BACK_EDGE_DROP : 0) : 0,
    window_s: graph.window_s, until: graph.until, nodes, edges: laid,
  };
}

/** Edge stroke width: square-root scale of rps against the busiest edge, so small flows stay visible. */
export function edgeWidth(rps: number, maxRps: number, o: Pick<LayoutOptions, 'minEdgeWidth' | 'maxEdgeWidth'> = DEFAULT_LAYOUT): number {
  if (!(rps > 0) || !(maxRps > 0)) return o.minEdgeWidth;
  return round(o.minEdgeWidth + (o.maxEdgeWidth - o.minEdgeWidth) * Math.sqrt(Math.min(1, rps / maxRps)));
}

/** Offsets of items stacked top to bottom with `gap` between them, and the stack's height. */
function stack(heights: number[], gap: number): { offsets: number[]; height: number } {
  const offsets: number[] = [];
  let y = 0;
  for (const h of heights) {
    offsets.push(y);
    y += h + gap;
  }
  return { offsets, height: heights.length ? y - gap : 0 };
}

/** The i-th of `count` attachment points spread evenly down a box's side. */
function port(n: LayoutNode, i: number, count: number): number {
  return n.y + (n.height * (i + 1)) / (count + 1);
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
