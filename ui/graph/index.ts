// The graph module's public door; also the entry point of the browser bundle
// (/graph.js), so nothing exported here may pull in Node-only code.

export { layoutGraph, edgeWidth, DEFAULT_LAYOUT } from './layout.ts';
export { arrowSize } from './edge-paths.ts';
export type { GraphLayout, LayoutEdge, LayoutNode, LayoutOptions } from './layout.ts';
export { layerServices, edgeKey, EXTERNAL } from './layering.ts';
export type { Layering } from './layering.ts';
export { healthLevel, HEALTH_COLORS, WARN_ERROR_RATE, FAIL_ERROR_RATE } from './health.ts';
export type { HealthLevel } from './health.ts';
export { formatRps, formatLatency, formatErrorRate, formatClock } from './format.ts';
export { summarizeMeshStatus } from './status-summary.ts';
export type { StatusPart } from './status-summary.ts';
export { meshMarks, splitLabel, formatLeft, ejectedLine } from './mesh-marks.ts';
export type { ServiceMarks, EjectedMark } from './mesh-marks.ts';
export { rolloutChoices, parseSteps } from './rollout-start.ts';
export type { RolloutChoice } from './rollout-start.ts';
export { parseRoute, tapPointer, tapHref, reportHref, REPORT_ID } from './page-route.ts';
export type { PageRoute, TapPointer } from './page-route.ts';
export { tapContextPaths, tapContextRows, isPointedTap, TAPS_AROUND, AFTER_MS } from './tap-context.ts';
export { statusWord, totalsParts, clauseLabels, formatInstant, formatSpan, formatPeriod, shortDigest, counterexampleLine, visibleText, STATUS_ORDER } from './report-text.ts';
export { evidenceBars, BAR_ROW } from './evidence-bars.ts';
export type { EvidenceBar, EvidenceBarsLayout } from './evidence-bars.ts';
