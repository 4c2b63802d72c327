// A control's evidence ({name: number}) as horizontal bars: one row per
// figure in the report's order, bar length linear in the value (honest, so a
// few plaintext requests among a million are a sliver; the number is written
// beside every bar), a non-zero value never thinner than MIN_BAR.

export interface EvidenceBar { name: string; value: number; label: string; y: number; width: number }
export interface EvidenceBarsLayout { bars: EvidenceBar[]; width: number; height: number; labelWidth: number; barMax: number }

export const BAR_ROW = 18;
const MIN_BAR = 2;
const CHAR_W = 6.6;

export function evidenceBars(evidence: unknown, opts: { barMax?: number } = {}): EvidenceBarsLayout {
  const barMax = opts.barMax ?? 200;
  const entries = evidence !== null && typeof evidence === 'object'
    ? Object.entries(evidence as Record<string, unknown>).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1]))
    : [];
  const max = Math.max(0, ...entries.map(([, v]) => v));
  const labelWidth = Math.ceil(Math.min(28, Math.max(4, ...entries.map(([k]) => k.length))) * CHAR_W) + 8;
  const bars = entries.map(([name, value], i) => ({
    name, value, label: value.toLocaleString('en-US'), y: i * BAR_ROW,
    width: value <= 0 || max <= 0 ? 0 : Math.max(MIN_BAR, (value / max) * barMax),
  }));
  const numberWidth = Math.ceil(Math.max(1, ...bars.map((b) => b.label.length)) * CHAR_W) + 8;
  return { bars, width: labelWidth + barMax + numberWidth, height: bars.length * BAR_ROW, labelWidth, barMax };
}
