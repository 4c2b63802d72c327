// The one in-memory shape every part of models/ reads: a time series of rows,
// each row one step (10 s rollup) with one value per named feature. A missing
// value is NaN (a gap); timestamps are epoch milliseconds, ascending.

export interface Series {
  ts: number[];
  names: string[];
  rows: number[][];
}

/** Rows [from, to) of a series, sharing the row arrays. */
export function sliceSeries(s: Series, from: number, to: number): Series {
  return { ts: s.ts.slice(from, to), names: s.names, rows: s.rows.slice(from, to) };
}

/** The typical step between rows (median difference), for time-of-day and gap logic. */
export function stepMs(ts: number[]): number {
  const d: number[] = [];
  for (let i = 1; i < ts.length; i++) d.push(ts[i] - ts[i - 1]);
  if (d.length === 0) return 10_000;
  d.sort((a, b) => a - b);
  return d[d.length >> 1] || 10_000;
}
