// SVG geometry of one edge: the line, its arrowhead and where its label goes.
// Forward edges run left to right as horizontal S-curves, passing straight
// through their waypoints; back edges dip under the boxes.

export interface Point { x: number; y: number }

export interface EdgeGeometry {
  path: string;
  arrow: string;
  labelX: number;
  labelY: number;
}

export interface Arrow { length: number; half: number }

/** Arrowheads grow with the line so a thick edge still ends in a visible point. */
export function arrowSize(width: number): Arrow {
  return { length: round(7 + width * 0.9), half: round(3.5 + width * 0.75) };
}

/**
 * From the caller's port to the callee's port, through waypoints (each a
 * stretch [left, right] at one height). The line stops where the arrowhead
 * begins; the arrowhead's tip is the callee's port.
 */
export function forwardPath(from: Point, through: readonly { left: Point; right: Point }[], to: Point, a: Arrow): EdgeGeometry {
  const base = { x: to.x - a.length, y: to.y };
  let d = `M${r(from.x)},${r(from.y)}`;
  let at = from;
  for (const w of through) {
    d += curve(at, w.left) + ` L${r(w.right.x)},${r(w.right.y)}`;
    at = w.right;
  }
  d += curve(at, base);
  // The label sits on the first straight stretch when there is one (free room), else mid-curve.
  const label = through.length
    ? { x: (through[0].left.x + through[0].right.x) / 2, y: through[0].left.y }
    : { x: (from.x + to.x) / 2, y: (from.y + to.y) / 2 };
  return {
    path: d,
    arrow: `M${r(to.x)},${r(to.y)} L${r(base.x)},${r(to.y - a.half)} L${r(base.x)},${r(to.y + a.half)} Z`,
    labelX: round(label.x), labelY: round(label.y),
  };
}

/** Under the boxes: from the caller's bottom edge down to `low` and up into the callee's bottom edge. */
export function loopPath(from: Point, to: Point, low: number, a: Arrow): EdgeGeometry {
  const by = to.y + a.length;
  return {
    path: `M${r(from.x)},${r(from.y)} C${r(from.x)},${r(low)} ${r(to.x)},${r(low)} ${r(to.x)},${r(by)}`,
    arrow: `M${r(to.x)},${r(to.y)} L${r(to.x - a.half)},${r(by)} L${r(to.x + a.half)},${r(by)} Z`,
    // Bézier midpoint at t = 1/2: (P0 + 3·P1 + 3·P2 + P3) / 8.
    labelX: round((from.x + to.x) / 2), labelY: round((from.y + 6 * low + by) / 8),
  };
}

/** Cubic Bézier with both control points half way across: leaves and arrives horizontally. */
function curve(p: Point, q: Point): string {
  const mx = (p.x + q.x) / 2;
  return ` C${r(mx)},${r(p.y)} ${r(mx)},${r(q.y)} ${r(q.x)},${r(q.y)}`;
}

export const round = (v: number): number => Math.round(v * 100) / 100;
const r = (v: number): string => String(round(v));
