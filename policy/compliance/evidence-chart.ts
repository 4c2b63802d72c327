// A control's evidence counts as a small inline SVG: one horizontal bar per
// count, every value written beside its bar so the chart reads without colour
// and without the bars (a zero has no bar; a huge count is still labelled).

import { escapeHtml } from './html-escape.ts';

const LABEL_W = 210; // names, right-aligned, cut at LABEL_CHARS with the full name as a tooltip
const LABEL_CHARS = 32;
const BAR_W = 230;
const VALUE_W = 150; // room for "12,345,678,901,234" or "1.235e+21" at 11px
const ROW_H = 18;

/** `12,345` up to 10^15; beyond that (and for fractions of huge numbers) exponent notation, so the label stays short. */
export function formatCount(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1e15) return v.toExponential(3);
  return v.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

/** The SVG, or a short note when the control recorded no counts. `label` names the chart for screen readers. */
export function evidenceChart(evidence: Record<string, unknown>, label: string): string {
  const rows = Object.entries(evidence ?? {}).filter((e): e is [string, number] => typeof e[1] === 'number');
  if (rows.length === 0) return '<p class="muted">No evidence counts recorded.</p>';
  const max = Math.max(0, ...rows.map(([, v]) => (Number.isFinite(v) ? v : 0)));
  const width = LABEL_W + BAR_W + VALUE_W;
  const height = rows.length * ROW_H + 4;
  const bars = rows.map(([name, v], i) => {
    const y = 2 + i * ROW_H;
    // A non-zero count keeps at least 1px, so "tiny" and "none" look different.
    const w = max > 0 && v > 0 ? Math.max(1, (v / max) * BAR_W) : 0;
    const shown = name.length > LABEL_CHARS ? `${name.slice(0, LABEL_CHARS - 1)}…` : name;
    return `<text x="${LABEL_W - 6}" y="${y + 12}" text-anchor="end">${escapeHtml(shown)}<title>${escapeHtml(name)}</title></text>`
      + `<rect x="${LABEL_W}" y="${y + 2}" width="${BAR_W}" height="12" fill="#eef1f4"/>`
      + (w > 0 ? `<rect x="${LABEL_W}" y="${y + 2}" width="${w.toFixed(1)}" height="12" fill="#4a6fa5"/>` : '')
      + `<text x="${(LABEL_W + w + 4).toFixed(1)}" y="${y + 12}">${escapeHtml(formatCount(v))}</text>`;
  });
  return `<svg class="chart" role="img" aria-label="${escapeHtml(label)}" `
    + `width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11" fill="#1f2328">`
    + `<title>${escapeHtml(label)}</title>${bars.join('')}</svg>`;
}
