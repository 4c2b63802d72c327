import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CsvError, parseFeatureCsv } from './csv.ts';

test('parses ts and feature columns in any order, with empty cells and NaN as gaps', () => {
  const s = parseFeatureCsv('p99_ms,ts,requests\r\n12.5,1000,3\n,2000,NaN\n"7",3000,1e2\n\n', 'f.csv');
  assert.deepEqual(s.ts, [1000, 2000, 3000]);
  assert.deepEqual(s.names, ['p99_ms', 'requests']);
  assert.deepEqual(s.rows[0], [12.5, 3]);
  assert.ok(s.rows[1].every(Number.isNaN));
  assert.deepEqual(s.rows[2], [7, 100]);
});

const bad: [string, string, RegExp][] = [
  ['a non-numeric value', 'ts,a,b\n1,2,3\n2,4,oops\n', /^f\.csv: line 3, column 3 \(b\): "oops" is not a number$/],
  ['a row with too few fields', 'ts,a,b\n1,2,3\n2,4\n', /^f\.csv: line 3: 2 fields, the header has 3$/],
  ['a header without ts', 'time,a\n1,2\n', /^f\.csv: line 1: no "ts" column/],
  ['a timestamp that goes backwards', 'ts,a\n5,1\n4,2\n', /^f\.csv: line 3, column 1 \(ts\): 4 is not after the previous row's 5$/],
  ['a fractional timestamp', 'ts,a\n1.5,1\n', /^f\.csv: line 2, column 1 \(ts\): "1.5" is not an integer/],
  ['an infinite value', 'ts,a\n1,Infinity\n', /^f\.csv: line 2, column 2 \(a\): "Infinity" is not a number$/],
  ['a duplicate column', 'ts,a,a\n1,2,3\n', /^f\.csv: line 1, column 3 \(a\): duplicate column name/],
  ['an empty line inside the data', 'ts,a\n1,2\n\n3,4\n', /^f\.csv: line 3: empty line inside the data$/],
  ['a header only', 'ts,a\n', /^f\.csv: line 2: no data rows/],
  ['an empty file', '', /^f\.csv: line 1: empty file/],
];
for (const [what, text, message] of bad) {
  test(`rejects ${what}, naming the line and column`, () => {
    assert.throws(() => parseFeatureCsv(text, 'f.csv'), (e: unknown) => e instanceof CsvError && message.test(e.message));
  });
}
