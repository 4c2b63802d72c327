// ServiceGraph → drawable picture: boxes with positions, edges as SVG paths
// with widths and colours. Pure; d3 in the page only draws what this returns.
//
// This file and everything it imports stay free of Node and npm imports: the
// UI server bundles ui/graph/index.ts with esbuild and serves it as
// /graph.js, so the browser runs exactly the code these tests check.

import type { ServiceEdge, ServiceGraph, ServiceNode } from '../../ingest/index.ts';
import { HEALTH_COLORS, healthLevel, type HealthLevel } from './health.ts';
import { edgeKey, layerServices } from './layering.ts';

export interface LayoutOptions {
  nodeWidth: number;
  nodeHeight: number;
  /** Horizontal space between layers, room for edge labels. */
  layerGap: number;
  rowGap: number;
  padding: number;
  minEdgeWidth: number;
  maxEdgeWidth: number;
}

export const DEFAULT_LAYOUT: Readonly<LayoutOptions> = {
  nodeWidth: 190, nodeHeight: 84, layerGap: 130, rowGap: 36, padding: 24, minEdgeWidth: 1.5, maxEdgeWidth: 10,
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
  const { layers, layerOf, backEdges } = layerServices(stats.keys(), edges);

  const tallest = Math.max(0, ...layers.map((l) => l.length));
  const innerHeight = tallest ? tallest * o.nodeHeight + (tallest - 1) * o.rowGap : 0;
  const nodes: LayoutNode[] = [];
  const byName = new Map<string, LayoutNode>();
  layers.forEach((layer, li) => {
    const layerHeight = layer.length * o.nodeHeight + (layer.length - 1) * o.rowGap;
    layer.forEach((service, row) => {
      const s = stats.get(service) ?? { ...ZERO_STATS, service };
      const node: LayoutNode = {
        ...s, service,
        x: o.padding + li * (o.nodeWidth + o.layerGap),
        y: o.padding + (innerHeight - layerHeight) / 2 + row * (o.nodeHeight + o.rowGap),
        width: o.nodeWidth, height: o.nodeHeight, layer: li,
        out_rps: round(edges.filter((e) => e.src === service).reduce((sum, e) => sum + e.rps, 0)),
        health: healthLevel(s), color: HEALTH_COLORS[healthLevel(s)],
      };
      nodes.push(node);
      byName.set(service, node);
    });
  });

  const maxRps = Math.max(0, ...edges.map((e) => e.rps));
  const ports = assignPorts(edges, byName, backEdges);
  const laid: LayoutEdge[] = edges.map((e) => {
    const back = backEdges.has(edgeKey(e.src, e.dst)) || layerOf.get(e.dst)! <= layerOf.get(e.src)!;
    const width = edgeWidth(e.rps, maxRps, o);
    const geometry = back
      ? loopPath(byName.get(e.src)!, byName.get(e.dst)!, arrowSize(width))
      : forwardPath(ports.get(edgeKey(e.src, e.dst))!, arrowSize(width));
    const health = healthLevel(e);
    return { ...e, ...geometry, width, health, color: HEALTH_COLORS[health], back };
  });

  const hasLoops = laid.some((e) => e.back);
  return {
    width: layers.length ? 2 * o.padding + layers.length * o.nodeWidth + (layers.length - 1) * o.layerGap : 0,
    height: tallest ? 2 * o.padding + innerHeight + (hasLoops ? BACK_EDGE_DROP : 0) : 0,
    window_s: graph.window_s, until: graph.until, nodes, edges: laid,
  };
}

/** Edge stroke width: square-root scale of rps against the busiest edge, so small flows stay visible. */
export function edgeWidth(rps: number, maxRps: number, o: Pick<LayoutOptions, 'minEdgeWidth' | 'maxEdgeWidth'> = DEFAULT_LAYOUT): number {
  if (!(rps > 0) || !(maxRps > 0)) return o.minEdgeWidth;
  return round(o.minEdgeWidth + (o.maxEdgeWidth - o.minEdgeWidth) * Math.sqrt(Math.min(1, rps / maxRps)));
}

interface Ports { sx: number; sy: number; tx: number; ty: number }

/** Spreads the edges leaving (right side) and entering (left side) each box, ordered by the other end's height so they do not cross at the box. */
function assignPorts(edges: ServiceEdge[], nodes: Map<string, LayoutNode>, back: Set<string>): Map<string, Ports> {
  const forward = edges.filter((e) => !back.has(edgeKey(e.src, e.dst)) && nodes.get(e.dst)!.layer > nodes.get(e.src)!.layer);
  const spread = (n: LayoutNode, i: number, count: number): number => n.y + (n.height * (i + 1)) / (count + 1);
  const centre = (n: LayoutNode): number => n.y + n.height / 2;
  const ports = new Map<string, Ports>();
  for (const e of forward) {
    const src = nodes.get(e.src)!;
    const dst = nodes.get(e.dst)!;
    const outs = forward.filter((f) => f.src === e.src).sort((a, b) => centre(nodes.get(a.dst)!) - centre(nodes.get(b.dst)!) || cmp(a.dst, b.dst));
    const ins = forward.filter((f) => f.dst === e.dst).sort((a, b) => centre(nodes.get(a.src)!) - centre(nodes.get(b.src)!) || cmp(a.src, b.src));
    ports.set(edgeKey(e.src, e.dst), {
      sx: src.x + src.width, sy: spread(src, outs.indexOf(e), outs.length),
      tx: dst.x, ty: spread(dst, ins.indexOf(e), ins.length),
    });
  }
  return ports;
}

interface Arrow { length: number; half: number }

/** Arrowheads grow with the line so a thick edge still ends in a visible point. */
export function arrowSize(width: number): Arrow {
  return { length: round(7 + width * 0.9), half: round(3.5 + width * 0.75) };
}

type Geometry = { path: string; arrow: string; labelX: number; labelY: number };

/** A horizontal S-curve: cubic Bézier with control points half way across, ending where the arrowhead starts. */
function forwardPath(p: Ports, a: Arrow): Geometry {
  const mx = (p.sx + p.tx) / 2;
  const bx = p.tx - a.length;
  return {
    path: `M${r(p.sx)},${r(p.sy)} C${r(mx)},${r(p.sy)} ${r(mx)},${r(p.ty)} ${r(bx)},${r(p.ty)}`,
    arrow: `M${r(p.tx)},${r(p.ty)} L${r(bx)},${r(p.ty - a.half)} L${r(bx)},${r(p.ty + a.half)} Z`,
    labelX: round(mx), labelY: round((p.sy + p.ty) / 2),
  };
}

/** Edges that cannot point right dip under the boxes: bottom of caller to bottom of callee, arriving upwards. */
function loopPath(src: LayoutNode, dst: LayoutNode, a: Arrow): Geometry {
  const self = src === dst;
  const sx = src.x + src.width * (self ? 0.7 : 0.6);
  const tx = dst.x + dst.width * (self ? 0.3 : 0.4);
  const sy = src.y + src.height;
  const ty = dst.y + dst.height;
  const by = ty + a.length;
  const low = Math.max(sy, ty) + BACK_EDGE_DROP * 0.9;
  return {
    path: `M${r(sx)},${r(sy)} C${r(sx)},${r(low)} ${r(tx)},${r(low)} ${r(tx)},${r(by)}`,
    arrow: `M${r(tx)},${r(ty)} L${r(tx - a.half)},${r(by)} L${r(tx + a.half)},${r(by)} Z`,
    // Bézier midpoint at t = 1/2: (P0 + 3·P1 + 3·P2 + P3) / 8.
    labelX: round((sx + tx) / 2), labelY: round((sy + 3 * low + 3 * low + by) / 8),
  };
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const round = (v: number): number => Math.round(v * 100) / 100;
const r = (v: number): string => String(round(v));
