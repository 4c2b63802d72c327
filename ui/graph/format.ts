// Number formatting for the service graph and the taps table. Shared by the
// server-side tests and the browser page (bundled into /graph.js), so it
// must stay dependency-free.

/** Requests per second: "123.4/s", "1.2k/s", "<0.1/s", "0/s". */
export function formatRps(rps: number): string {
  if (!Number.isFinite(rps) || rps <= 0) return '0/s';
  if (rps < 0.1) return '<0.1/s';
  if (rps < 1000) return `${trimZero(rps.toFixed(1))}/s`;
  if (rps < 1_000_000) return `${trimZero((rps / 1000).toFixed(1))}k/s`;
  return `${trimZero((rps / 1_000_000).toFixed(1))}M/s`;
}

/** Latency in milliseconds: "12 ms", "2.5 ms", "0.4 ms", "1.23 s". */
export function formatLatency(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 10) return `${trimZero(ms.toFixed(1))} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${trimZero((ms / 1000).toFixed(2))} s`;
}

/** Error rate given as a fraction (0.012 → "1.2%"); tiny non-zero rates show as "<0.1%". */
export function formatErrorRate(rate: number): string {
  if (!Number.isFinite(rate) || rate <= 0) return '0%';
  const pct = rate * 100;
  if (pct < 0.1) return '<0.1%';
  if (pct >= 100) return '100%';
  return `${trimZero(pct.toFixed(1))}%`;
}

/** Wall-clock time of an epoch-ms timestamp, "HH:MM:SS" in UTC (stable across test machines). */
export function formatClock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

function trimZero(s: string): string {
  return s.endsWith('.0') ? s.slice(0, -2) : s;
}
