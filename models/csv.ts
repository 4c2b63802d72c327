// Reading a feature CSV for `meshlens detect`: a header with a `ts` column
// (epoch ms, strictly increasing) and numeric feature columns, one row per
// step. Empty cells (or NaN/NA/null) are gaps. Anything else that is not a
// finite number is rejected with the line and column that hold it.

import type { Series } from './series.ts';

export class CsvError extends Error {
  readonly code = 'MODELS_ERR_CSV';
  constructor(readonly file: string, readonly line: number, readonly column: string | undefined, problem: string) {
    super(`${file}: line ${line}${column !== undefined ? `, column ${column}` : ''}: ${problem}`);
  }
}

const MISSING = new Set(['', 'nan', 'na', 'null']);

function cells(line: string): string[] {
  return line.split(',').map((c) => {
    const t = c.trim();
    return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).trim() : t;
  });
}

export function parseFeatureCsv(text: string, file = 'csv'): Series {
  const lines = text.split(/\r?\n/);
  while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
  if (lines.length === 0) throw new CsvError(file, 1, undefined, 'empty file, expected a header with a ts column');
  const header = cells(lines[0]);
  const seen = new Set<string>();
  header.forEach((h, j) => {
    if (h === '') throw new CsvError(file, 1, `${j + 1}`, 'empty column name');
    if (seen.has(h)) throw new CsvError(file, 1, `${j + 1} (${h})`, `duplicate column name "${h}"`);
    seen.add(h);
  });
  const tsCol = header.indexOf('ts');
  if (tsCol < 0) throw new CsvError(file, 1, undefined, `no "ts" column in header "${lines[0]}"`);
  if (header.length < 2) throw new CsvError(file, 1, undefined, 'no feature columns besides ts');
  const names = header.filter((_, j) => j !== tsCol);
  const ts: number[] = [];
  const rows: number[][] = [];
  for (let i = 1; i < lines.length; i++) {
    const n = i + 1;
    if (lines[i].trim() === '') throw new CsvError(file, n, undefined, 'empty line inside the data');
    const c = cells(lines[i]);
    if (c.length !== header.length) throw new CsvError(file, n, undefined, `${c.length} fields, the header has ${header.length}`);
    const t = Number(c[tsCol]);
    if (c[tsCol] === '' || !Number.isSafeInteger(t)) throw new CsvError(file, n, `${tsCol + 1} (ts)`, `"${c[tsCol]}" is not an integer epoch-millisecond timestamp`);
    if (ts.length && t <= ts[ts.length - 1]) throw new CsvError(file, n, `${tsCol + 1} (ts)`, `${t} is not after the previous row's ${ts[ts.length - 1]}`);
    const row: number[] = [];
    for (let j = 0; j < c.length; j++) {
      if (j === tsCol) continue;
      if (MISSING.has(c[j].toLowerCase())) { row.push(NaN); continue; }
      const v = Number(c[j]);
      if (!Number.isFinite(v)) throw new CsvError(file, n, `${j + 1} (${header[j]})`, `"${c[j]}" is not a number`);
      row.push(v);
    }
    ts.push(t);
    rows.push(row);
  }
  if (rows.length === 0) throw new CsvError(file, 2, undefined, 'no data rows after the header');
  return { ts, names, rows };
}
