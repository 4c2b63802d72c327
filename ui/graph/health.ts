// Health of a service or edge from its error rate, and the colour that shows
// it. Thresholds follow common SLO practice: under 1% errors is healthy,
// 1–5% degrades a typical 99% availability target, 5% and above is failing.

export type HealthLevel = 'idle' | 'ok' | 'warn' | 'error';

export const WARN_ERROR_RATE = 0.01;
export const FAIL_ERROR_RATE = 0.05;

/** Colours picked for contrast on a light background (and colour-blind-safe-ish: blue/amber/red). */
export const HEALTH_COLORS: Readonly<Record<HealthLevel, string>> = {
  idle: '#9aa5b1',
  ok: '#2f6fb0',
  warn: '#d98e04',
  error: '#c62828',
};

/** 'idle' when nothing was requested in the window; otherwise by error rate. */
export function healthLevel(stats: { requests: number; error_rate: number }): HealthLevel {
  if (stats.requests <= 0) return 'idle';
  if (stats.error_rate >= FAIL_ERROR_RATE) return 'error';
  if (stats.error_rate >= WARN_ERROR_RATE) return 'warn';
  return 'ok';
}
